"""Privacy policy §4: images are held in memory only, never written to disk (dashboard uploads, API uploads, URLs).

Python's audit hooks see every file the process opens, whichever way (open(), os.open,
tempfile, a library's own spooling): during a vision call, none may be opened for writing.
"""

from __future__ import annotations

import os
import sys
import threading

import pytest

from tests.fixtures.vision_calls import CALL_KINDS, noisy_image

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_watch = {"writes": None}  # a list while a call is watched; audit hooks cannot be removed, so one hook checks this
_lock = threading.Lock()


def _opened_for_writing(mode, flags) -> bool:
    if isinstance(mode, str):
        return any(letter in mode for letter in "wax+")
    return isinstance(flags, int) and bool(flags & WRITE_FLAGS)


def _hook(event: str, args: tuple) -> None:
    if event == "open" and _watch["writes"] is not None:
        path, mode, flags = (tuple(args) + (None, None, None))[:3]
        if _opened_for_writing(mode, flags):
            _watch["writes"].append((event, path, mode, flags))


with _lock:
    if not getattr(sys, "_nexuspoint_write_watch", False):
        sys.addaudithook(_hook)
        sys._nexuspoint_write_watch = True


@pytest.fixture
def file_writes(monkeypatch):
    """A context manager: `with file_writes() as writes:` records every file opened for writing in it."""
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # a first import's .pyc is not the image

    class Watch:
        def __enter__(self):
            _watch["writes"] = []
            return _watch["writes"]

        def __exit__(self, *exc):
            _watch["writes"] = None

    yield Watch
    _watch["writes"] = None


def test_the_watch_sees_a_file_opened_for_writing(file_writes, tmp_path):
    with file_writes() as writes:
        with open(tmp_path / "seen.bin", "wb") as out:
            out.write(b"x")
        os.close(os.open(tmp_path / "seen-too.bin", os.O_WRONLY | os.O_CREAT))
        (tmp_path / "seen.bin").read_bytes()  # reading is fine
    assert [str(w[1]) for w in writes] == [str(tmp_path / "seen.bin"), str(tmp_path / "seen-too.bin")]


@pytest.mark.parametrize("kind", CALL_KINDS)
@pytest.mark.parametrize("model", ["object-detection", "background-removal"])
def test_a_vision_call_writes_no_file(vision_call, file_writes, kind, model):
    big = noisy_image((900, 900))  # megabytes (noise does not compress), yet under the cut-out size limit
    assert vision_call(kind, model).status_code == 200  # the first call imports what the route needs
    with file_writes() as writes:
        r = vision_call(kind, model, image=big)
    assert r.status_code == 200, r.text
    assert writes == []
