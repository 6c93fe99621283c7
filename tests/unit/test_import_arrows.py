"""lib/http and lib/tokens: what both need is in lib/caller, and the arrows run one way."""

import subprocess
import sys


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
