"""The one way a local model says it can't serve a request."""

from __future__ import annotations

from lib.vision.types import ModelUnavailable


def unavailable(slug: str, reason: str, *, detail: str = "") -> ModelUnavailable:
    """A 501 that says why, and where the model can be had instead."""
    return ModelUnavailable(
        f"The model '{slug}' is not available offline: {reason}. Set SENTISIGHT_API_TOKEN to run it on SentiSight.ai.",
        detail=detail,
    )
