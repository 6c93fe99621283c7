"""One paid vision call: check the input, charge, predict, refund on any failure, answer.

Order matters for the bill: everything that can be refused for free (the
image, the query, whether any backend can serve the model) is checked before
the debit; after the debit, every failure gives the credits back.

A successful dashboard call costs three MongoDB commands (the debit with its
pending entry, the usage row's insert, the entry's removal: lib/credits/calls.py);
the caller check (account not disabled, session still current) and a token's
credit cap ride in the debit's filter instead of separate reads. An
`Idempotency-Key` adds one insert (lib/idempotency.py).
"""

from __future__ import annotations

import base64
import logging
import time
from datetime import UTC, datetime
from typing import NamedTuple

from lib import alerts, credits, db, idempotency
from lib.caller import debit_filter, debit_refusal, require_model
from lib.errors import ApiError, bad_request
from lib.http import Response
from lib.tokens import periods
from lib.vision import admission, backends, catalog, cutout, inputs
from lib.vision import options as vision_options
from lib.vision.types import ImageInput, Prediction, UpstreamError, VisionError

log = logging.getLogger("nexuspoint.vision")
FORMATS = ("json", "png")


def run(req, slug: str) -> Response:
    started = time.perf_counter()
    model = catalog.get(slug)
    image, fields = inputs.image_from_request(req)
    options = vision_options.parse(model, fields)
    as_png = _wants_png(req, model)
    include_raw = req.query.get("raw", "").lower() in ("1", "true", "yes")
    key = idempotency.key_of(req)
    require_model(req.caller, slug)  # a token scoped to other models: 403, before anything is charged
    if req.caller.mode == "test":
        from lib.vision import sandbox  # test tokens only: live calls never load it

        return sandbox.run(req, model, image, options, as_png, include_raw, lambda: _ms(started))
    digest = key and idempotency.fingerprint(slug, req.query, fields, image.data, image.url)  # the request as sent
    backend = backends.backend_for(slug)
    image, options = admission.admit(backend, model, image, options, as_png=as_png)
    call = _Call(model, backend, image, options, as_png, include_raw)
    claim = idempotency.claim(req.caller.user_id, key, slug, digest) if key else None
    if claim and claim.replay:
        return _replay(req, call, claim)
    charge = _charge(req, model, image, claim)
    prediction = _predict(req, call, charge, started)
    charged = model.cost if credits.succeed(charge, latency_ms=_ms(started)) else 0  # 0: settled as failed meanwhile
    if charged:
        _alert_if_low(charge.user, model.cost)
    balance = charge.user["credits"] + model.cost - charged
    return _answer(req, call, prediction, charged, balance, charge.use_id)


class _Call(NamedTuple):  # a NamedTuple: cheaper to define than a frozen dataclass on a cold start (bench/cold_start.py)
    """One admitted call: what the backend runs and how the answer is shaped."""

    model: catalog.Model
    backend: object
    image: ImageInput
    options: dict
    as_png: bool
    include_raw: bool


def _replay(req, call: _Call, claim: idempotency.Claim) -> Response:
    """A repeat of a call that succeeded: the model runs again (outputs are never stored), nothing is charged."""
    req.response_headers["Idempotent-Replayed"] = "true"
    prediction = _predict(req, call, None, time.perf_counter())
    return _answer(req, call, prediction, 0, _balance(req.caller.user_id), claim.usage_id)


def _answer(req, call: _Call, prediction: Prediction, charged: int, balance, usage_id) -> Response:
    _credit_headers(req, charged, balance)
    req.response_headers["X-Usage-Id"] = str(usage_id)
    model, image = call.model, call.image
    if call.as_png:
        return Response(prediction.png, content_type="image/png")
    body = {
        "model": model.slug,
        "credits_charged": charged,
        "credits_remaining": balance,
        "usage_id": usage_id,
        "engine": prediction.engine,
        "image": _size(image, prediction),
        "results": vision_options.apply(model, _results(model, prediction), call.options),
    }
    if call.include_raw:
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


def _charge(req, model: catalog.Model, image: ImageInput, claim) -> credits.Charge:
    caller = req.caller
    api = caller.source == "api"
    try:
        return credits.debit(
            caller.user_id, model.cost, model=model.slug, source=caller.source, use_id=claim.usage_id if claim else None,
            user_filter=debit_filter(caller), cap=_cap(caller), request_id=req.id,
            token_id=caller.token_id if api else None, token_name=caller.token_name if api else None,
            image_url=image.url if api else None,  # the policy: URLs are logged for API calls only
        )
    except LookupError:  # the caller filter did not match: why (e.g. 403 email_unverified) costs one read, on this path only
        if claim:
            idempotency.release(claim)
        raise debit_refusal(caller) from None
    except BaseException:
        if claim:
            idempotency.release(claim)  # refused before any charge: the key may be used again
        raise


def _cap(caller) -> credits.Cap | None:
    """The token's credit cap in the current period, for the debit to enforce in its own write."""
    limit = caller.credit_limit
    if not limit or caller.source != "api":
        return None
    now = datetime.now(UTC)
    return credits.Cap(caller.token_id, limit["credits"], limit["period"], periods.key(limit["period"], now),
                       periods.resets_at(limit["period"], now))


def _predict(req, call: _Call, charge: credits.Charge | None, started: float) -> Prediction:
    """The backend's answer; on any failure the charge (if any: a replay has none) goes back."""
    model = call.model
    try:
        prediction = call.backend.predict(model.slug, call.image, call.options)
        if model.output == "image" and not prediction.png:
            raise UpstreamError("The vision service returned no image. You were not charged; try again in a moment.", detail="no PNG")
        cutout.fit_cutout(prediction, as_png=call.as_png)
        return prediction
    except VisionError as exc:
        balance = credits.fail(charge, exc.code, latency_ms=_ms(started)) if charge else _balance(req.caller.user_id)
        log.warning("vision %s failed (use %s refunded): %s %s", model.slug, charge and charge.use_id, exc.code, exc.detail)
        _credit_headers(req, 0, balance)
        raise ApiError(exc.status, exc.code, exc.message, credits_charged=0, credits_remaining=balance) from None
    except Exception:
        if charge:
            credits.fail(charge, "internal_error", latency_ms=_ms(started))
        raise  # logged as a 500 by the HTTP layer: it is a bug, but the caller doesn't pay for it


def _balance(user_id) -> int | None:
    user = db.collection("users").find_one({"_id": user_id}, {"credits": 1})
    return user["credits"] if user else None


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


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
