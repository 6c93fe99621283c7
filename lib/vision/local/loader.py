"""Each local model is loaded once per process, on first use, under its own lock.

The dev server is threaded: two first requests for the same model must not load it
twice, and a request for one model must not wait while another model loads.
A load that failed is remembered, so later requests answer at once with the same
reason instead of paying for the failure again (restart the process to retry).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

_loaded: dict[str, Any] = {}
_failed: dict[str, str] = {}
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


class LoadFailed(Exception):
    """The model's loader raised; the message says why."""


def get(key: str, load: Callable[[], Any]) -> Any:
    """The model under ``key``, calling ``load()`` the first time only."""
    if key in _loaded:
        return _loaded[key]
    with _locks_guard:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:
        if key in _loaded:
            return _loaded[key]
        if key in _failed:
            raise LoadFailed(_failed[key])
        try:
            _loaded[key] = load()
        except Exception as exc:  # any failure to load means "not available here"
            _failed[key] = f"{type(exc).__name__}: {exc}"
            raise LoadFailed(_failed[key]) from exc
        return _loaded[key]


def loaded() -> list[str]:
    """Keys of the models loaded in this process."""
    return sorted(_loaded)


def failure(key: str) -> str | None:
    """Why the model under ``key`` failed to load in this process, if it did."""
    return _failed.get(key)
