"""Which backend serves the models: SentiSight.ai, or the local models in lib/vision/local.

`config.vision_backend` is already resolved ("sentisight" when a token is set
under VISION_BACKEND=auto). Both backends are imported on first use only, so
a deployed function never loads the local models' code. The local backend is
written separately and may be missing: then every model is unavailable, with
the reason, and nothing is charged.
"""

from __future__ import annotations

import logging

from lib import config
from lib.errors import ApiError
from lib.vision import catalog

log = logging.getLogger("nexuspoint.vision")
HOW_TO_CONFIGURE = "Set SENTISIGHT_API_TOKEN (and VISION_BACKEND=auto or sentisight) to run the models on SentiSight.ai."

_local_backend = None


def _local():
    """The LocalBackend instance, or the reason there is none."""
    global _local_backend
    if _local_backend is None:
        try:
            from lib.vision.local import LocalBackend
        except ImportError as exc:
            log.warning("local vision backend unavailable: %s", exc)
            return None, f"the local vision backend can't be loaded ({exc})"
        _local_backend = LocalBackend()
    return _local_backend, None


def selected():
    """(name, backend or None, reason it is None)."""
    name = config.settings().vision_backend
    if name == "sentisight":
        from lib.vision import sentisight

        return name, sentisight, None
    backend, reason = _local()
    return name, backend, reason


def availability() -> dict[str, dict]:
    """Per model slug: {"backend", "available", "engine", "licence", "reason"} (licence: of local weights, else None)."""
    return _statuses(*selected())


def _statuses(name: str, backend, reason: str | None) -> dict[str, dict]:
    statuses = backend.availability() if backend is not None else {}
    out = {}
    for slug in catalog.MODELS:
        status = statuses.get(slug) or {"available": False, "engine": None, "reason": reason or "not offered by this backend"}
        out[slug] = {"backend": name, "available": bool(status.get("available")), "engine": status.get("engine"),
                     "licence": status.get("licence"), "reason": status.get("reason")}
    return out


def backend_for(slug: str):
    """The backend that will run `slug`, checked before anything is charged.

    A model the local backend can't serve (no weights offline, packages missing) is
    501 `model_unavailable_offline`, as the README says; 503 `vision_unavailable` is
    for no backend at all.
    """
    name, backend, reason = selected()
    status = _statuses(name, backend, reason)[slug]
    if backend is not None and status["available"]:
        return backend
    why = status["reason"] or reason or "no backend is configured"
    if backend is not None and name == "local":
        raise ApiError(501, "model_unavailable_offline",
                       f"The model '{slug}' is not available offline: {why}. {HOW_TO_CONFIGURE} You were not charged.", backend=name)
    raise ApiError(503, "vision_unavailable", f"The model '{slug}' can't run right now: {why}. {HOW_TO_CONFIGURE} You were not charged.",
                   backend=name)
