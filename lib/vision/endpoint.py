"""The function files' builders: `POST /api/vision/<slug>` and `GET /api/vision/models`."""

from __future__ import annotations

from lib.caller import debit_refusal
from lib.errors import ApiError
from lib.http import endpoint
from lib.vision import backends, catalog, pipeline

# What the pipeline answers when the debit's caller filter did not match (a vision call's only 401 after auth).
REFUSED_DEBIT = frozenset({"session_invalid", "invalid_token"})


def vision_app(slug: str):
    """The WSGI app of one model's function file."""
    catalog.get(slug)  # a typo in a function file fails at import, not on the first call

    def run_model(req):
        try:
            return pipeline.run(req, slug)
        except ApiError as err:
            if err.status != 401 or err.code not in REFUSED_DEBIT:
                raise
            raise debit_refusal(req.caller) from None  # e.g. 403 email_unverified; one read, on the refused path only

    # The pipeline checks the caller inside its debit (one round trip fewer than load_user).
    run_model.verifies_caller_itself = True
    return endpoint(POST=run_model, auth="session_or_token")


def list_models(req) -> dict:
    """The catalogue, with which backend serves each model and whether it can right now."""
    status = backends.availability()
    return {"models": [{**model.public(), **status[slug]} for slug, model in catalog.MODELS.items()]}
