"""lib/http and lib/tokens: what both need is in lib/caller, and the arrows run one way."""

import subprocess
import sys
from pathlib import Path


def loaded_after(module: str) -> set[str]:
    code = f"import sys, {module}; print(' '.join(m for m in sys.modules if m.startswith('lib.')))"
    return set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split())


def test_lib_tokens_does_not_load_lib_http():
    assert not {m for m in loaded_after("lib.tokens") if m == "lib.http" or m.startswith("lib.http.")}


def test_lib_caller_loads_neither():
    assert not {m for m in loaded_after("lib.caller") if m.startswith(("lib.http", "lib.tokens"))}


def test_the_old_names_still_work():
    from lib.caller import Caller as below
    from lib.http import Caller, load_user

    assert Caller is below and load_user.__module__ == "lib.caller"


def test_a_vision_function_loads_neither_stripe_nor_boto3():
    """A function imports only what it uses: payments and mail SDKs stay out of every vision function's cold start."""
    code = (
        "import importlib.util, pathlib, sys\n"
        "for path in sorted(pathlib.Path('api/vision').glob('*.py')):\n"
        "    spec = importlib.util.spec_from_file_location(path.stem.replace('-', '_'), path)\n"
        "    spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules} & {'stripe', 'boto3', 'botocore'})))"
    )
    root = Path(__file__).resolve().parents[2]
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root).stdout.split()
    assert loaded == []
