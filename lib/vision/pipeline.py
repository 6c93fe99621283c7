"""One paid vision call: check the input, charge, predict, refund on any failure, answer.

Order matters for the bill: everything that can be refused for free (the
image, the query, whether any backend can serve the model) is checked before
the debit; after the debit, every failure gives the credits back.

A successful dashboard call costs three MongoDB commands (the debit's update,
ledger insert and commit): the caller check (account not disabled, session
still current) rides in the debit's filter instead of a separate read.
"""

from __future__ import annotations

import base64
import logging

from lib import alerts, credits
from lib.caller import debit_filter, require_model
from lib.errors import ApiError, bad_request, unauthorized
from lib.http import Response
from lib.http.auth import SESSION_EXPIRED
from lib.vision import admission, backends, catalog, inputs
from lib.vision import options as vision_options
from lib.vision.types import ImageInput, Prediction, UpstreamError, VisionError

log = logging.getLogger("nexuspoint.vision")
FORMATS = ("json", "png")


def run(req, slug: str) -> Response:
    model = catalog.get(slug)
    image, fields = inputs.image_from_request(req)
    options = vision_options.parse(model, fields)
    as_png = _wants_png(req, model)
    include_raw = req.query.get("raw", "").lower() in ("1", "true", "yes")
    require_model(req.caller, slug)  # a token scoped to other models: 403, before anything is charged
    if req.caller.mode == "test":
        from lib.vision import sandbox  # test tokens only: live calls never load it

        return sandbox.run(req, model, image, as_png, include_raw)
    backend = backends.backend_for(slug)
    image, options = admission.admit(backend, model, image, options, as_png=as_png)
    use_row, user = _charge(req.caller, model, image)
    prediction = _predict(req, backend, model, image, options, use_row)
    _alert_if_low(user, model.cost)
    _credit_headers(req, model.cost, user["credits"])
    req.response_headers["X-Usage-Id"] = str(use_row["_id"])
    if as_png:
        return Response(prediction.png, content_type="image/png")
    body = {
        "model": slug,
        "credits_charged": model.cost,
        "credits_remaining": user["credits"],
        "usage_id": use_row["_id"],
        "engine": prediction.engine,
        "image": _size(image, prediction),
        "results": vision_options.apply(model, _results(model, prediction), options),
    }
    if include_raw:
        body["raw"] = prediction.raw
    return Response.json(body)


def _wants_png(req, model: catalog.Model) -> bool:
    """`?format=png`, or `Accept: image/png` without JSON, for the image model only."""
    fmt = req.query.get("format", "").lower()
    if fmt and fmt not in FORMATS:
        raise bad_request("invalid_parameter", "Query parameter 'format' must be 'json' or 'png'.", field="format")
    if fmt == "png" and model.output != "image":
        raise bad_request("invalid_parameter", f"'{model.slug}' answers JSON only; format=png is for background-removal.", field="format")
    if fmt:
        return fmt == "png"
    accepted = {part.split(";")[0].strip().lower() for part in req.header("accept").split(",")}
    return model.output == "image" and "image/png" in accepted and "application/json" not in accepted


def _charge(caller, model: catalog.Model, image: ImageInput) -> tuple[dict, dict]:
    api = caller.source == "api"
    try:
        return credits.debit(
            caller.user_id, model.cost, model=model.slug, source=caller.source,
            token_id=caller.token_id if api else None,
            image_url=image.url if api else None,  # the policy: URLs are logged for API calls only
            user_filter=debit_filter(caller),
        )
    except LookupError:
        if api:
            raise unauthorized("Invalid API token.", "invalid_token") from None
        raise unauthorized(SESSION_EXPIRED, "session_invalid") from None


def _predict(req, backend, model: catalog.Model, image: ImageInput, options: dict, use_row: dict) -> Prediction:
    try:
        prediction = backend.predict(model.slug, image, options)
        if model.output == "image" and not prediction.png:
            raise UpstreamError("The vision service returned no image. You were not charged; try again in a moment.", detail="no PNG")
        return prediction
    except VisionError as exc:
        balance = credits.refund(use_row, exc.code)
        log.warning("vision %s failed (use %s refunded): %s %s", model.slug, use_row["_id"], exc.code, exc.detail)
        _credit_headers(req, 0, balance)
        raise ApiError(exc.status, exc.code, exc.message, credits_charged=0, credits_remaining=balance) from None
    except Exception:
        credits.refund(use_row, "internal_error")
        raise  # logged as a 500 by the HTTP layer: it is a bug, but the caller doesn't pay for it


def _size(image: ImageInput, prediction: Prediction) -> dict:
    """The size the coordinates refer to: the backend's when it says (a fetched URL, an EXIF-rotated
    photo), else the one read from the header; None for a URL nobody here fetched."""
    if prediction.extra.get("width") and prediction.extra.get("height"):
        return {"width": prediction.extra["width"], "height": prediction.extra["height"]}
    return {"width": image.width, "height": image.height}


def _results(model: catalog.Model, prediction: Prediction) -> dict:
    if model.output == "image":
        return {"image": "data:image/png;base64," + base64.b64encode(prediction.png).decode("ascii")}
    return prediction.results


def _credit_headers(req, charged: int, remaining) -> None:
    req.response_headers["X-Credits-Charged"] = str(charged)
    if remaining is not None:
        req.response_headers["X-Credits-Remaining"] = str(remaining)


def _alert_if_low(user: dict, cost: int) -> None:
    """The person's low-credit alert (their own threshold) and the one at 0 credits; see lib.alerts."""
    alerts.after_debit(user, cost)
