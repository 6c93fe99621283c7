"""lib/http and lib/tokens: what both need is in lib/caller, and the arrows run one way."""

import subprocess
import sys
from pathlib import Path


def loaded_after(module: str) -> set[str]:
    code = f"import sys, {module}; print(' '.join(m for m in sys.modules if m.startswith('lib.')))"
    return set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split())


def test_lib_tokens_does_not_load_lib_http():
    every_module = "lib.tokens.check, lib.tokens.routes, lib.tokens.expiry, lib.tokens.fields, lib.tokens.periods"
    loaded = loaded_after(every_module)
    assert "lib.tokens.routes" in loaded
    assert not {m for m in loaded if m == "lib.http" or m.startswith("lib.http.")}


def test_lib_caller_loads_neither():
    assert not {m for m in loaded_after("lib.caller") if m.startswith(("lib.http", "lib.tokens"))}


def test_the_old_names_still_work():
    from lib.caller import Caller as below
    from lib.http import Caller, load_user

    assert Caller is below and load_user.__module__ == "lib.caller"


# What a cold vision function must not pay for: payments and mail SDKs, PyJWT's optional
# `cryptography` backend, dnspython (a mongodb+srv:// URI), and `requests` or `urllib3` (the SentiSight
# call is on http.client: lib/outbound_http.py).
NOT_IN_A_VISION_FUNCTION = ("stripe", "boto3", "botocore", "cryptography", "dns", "requests", "urllib3")


def test_a_vision_function_loads_no_sdk_it_does_not_use():
    """Every api/vision/*.py in a fresh interpreter, plus the backend a first request picks (SentiSight, as deployed)."""
    code = (
        "import importlib.util, os, pathlib, sys\n"
        "os.environ.update(VISION_BACKEND='sentisight', SENTISIGHT_API_TOKEN='cold-import-test')\n"
        "files = sorted(pathlib.Path('api/vision').glob('*.py'))\n"
        "for path in files:\n"
        "    spec = importlib.util.spec_from_file_location(path.stem.replace('-', '_'), path)\n"
        "    spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "from lib.vision import backends\n"
        "assert len(files) == 9 and backends.selected()[0] == 'sentisight'\n"
        "from lib.vision import sentisight\n"
        "assert 'lib.outbound_http' in sys.modules\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    root = Path(__file__).resolve().parents[2]
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root).stdout.split()
    assert "lib" in loaded  # the probe did load the functions and the SentiSight client (asserted in the child)
    assert sorted(set(loaded) & set(NOT_IN_A_VISION_FUNCTION)) == []
