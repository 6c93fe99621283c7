"""SentiSight.ai's pre-trained models: one HTTPS call each, answers normalized.

`POST {SENTISIGHT_BASE_URL}/pm-predict/<Model>` with header `X-Auth-token`;
the image as the raw body (`application/octet-stream`) or JSON `{"url": ...}`.
Answers are bare JSON arrays with scores 0-100 and pixel coordinates; they are
turned into the shapes of lib/vision/types.py (scores 0-1). Anything that goes
wrong becomes an UpstreamError/UpstreamTimeout with a message fit for the
caller; SentiSight's own text and our token stay in the server log.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from urllib.parse import urlencode

from lib import config, outbound_http
from lib.vision import catalog
from lib.vision.sentisight_langs import easyocr_code
from lib.vision.textlines import text_result
from lib.vision.types import BadImage, ImageInput, Prediction, UpstreamError, UpstreamTimeout

log = logging.getLogger("nexuspoint.vision.sentisight")
ENGINE = "sentisight"
MAX_RESPONSE_BYTES = 32 * 1024 * 1024  # a background-removal PNG in base64 is the largest answer
UNREACHABLE = "The vision service SentiSight.ai is unreachable right now. You were not charged; try again in a moment."
TIMED_OUT = "The vision service SentiSight.ai took too long to answer. You were not charged; try again in a moment."
# The only option SentiSight itself takes; min_confidence and max_results are applied to its answer
# here (lib/vision/options.py), on the 0-1 scores, never sent as parameters it doesn't document.
SENT_OPTIONS = ("lang",)
USER_AGENT = "NexusPoint"  # names the service calling, never the person behind the call
FAILED = "The vision service SentiSight.ai could not process this image. You were not charged; try again in a moment."


def availability() -> dict[str, dict]:
    token = config.settings().sentisight_api_token
    reason = None if token else "SENTISIGHT_API_TOKEN is not set"
    return {slug: {"available": bool(token), "engine": ENGINE, "reason": reason} for slug in catalog.MODELS}


def prepare(slug: str, image: ImageInput, options: dict) -> tuple[ImageInput, dict]:
    """Before the charge: the language tag as SentiSight's OCR names it (400 for one it can't read)."""
    if options.get("lang"):
        options = {**options, "lang": easyocr_code(options["lang"])}
    return image, options


def predict(slug: str, image: ImageInput, options: dict) -> Prediction:
    model = catalog.get(slug)
    raw = _call(model, image, options)
    try:
        results, png = normalize(model.output, raw)
    except ShapeError as exc:
        log.error("SentiSight %s answered an unexpected shape: %s", model.sentisight_name, exc)
        raise UpstreamError(FAILED, detail=f"unexpected shape: {exc}") from None
    return Prediction(results=results, raw=raw, png=png, engine=ENGINE)


def _call(model: catalog.Model, image: ImageInput, options: dict):
    settings = config.settings()
    params = {name: options[name] for name in SENT_OPTIONS if name in options}
    url = f"{settings.sentisight_base_url}/pm-predict/{model.sentisight_name}" + (f"?{urlencode(params)}" if params else "")
    headers = {"X-Auth-token": settings.sentisight_api_token, "Accept": "application/json", "Accept-Encoding": "gzip",
               "User-Agent": USER_AGENT}
    if image.data is not None:
        body, headers["Content-Type"] = image.data, "application/octet-stream"
    else:
        body, headers["Content-Type"] = json.dumps({"url": image.url}).encode(), "application/json"
    # The read timeout (at most 25 s) also bounds the whole call, so a refund
    # still fits inside the function's 30 s on Vercel.
    try:
        status, _, body = outbound_http.request("POST", url, body, headers, connect_timeout=settings.sentisight_connect_timeout,
                                                read_timeout=settings.sentisight_read_timeout, max_bytes=MAX_RESPONSE_BYTES)
    except outbound_http.TimedOut as exc:
        log.warning("SentiSight %s timed out: %s", model.sentisight_name, exc)
        raise UpstreamTimeout(TIMED_OUT, detail=str(exc)) from None
    except outbound_http.Unreachable as exc:
        log.warning("SentiSight %s unreachable: %s", model.sentisight_name, exc)
        raise UpstreamError(UNREACHABLE, detail=str(exc)) from None
    except outbound_http.TooLarge:
        raise UpstreamError(FAILED, detail="response too large") from None
    if not 200 <= status < 300:
        raise _status_error(model, status, body, from_url=image.url is not None)
    try:
        return json.loads(body)
    except ValueError:
        log.error("SentiSight %s answered HTTP %s with non-JSON: %r", model.sentisight_name, status, body[:300])
        raise UpstreamError(FAILED, detail="response is not JSON") from None


def _status_error(model: catalog.Model, status: int, body: bytes, *, from_url: bool):
    text = body[:500].decode("utf-8", "replace")
    log.error("SentiSight %s answered HTTP %s: %s", model.sentisight_name, status, text)
    detail = f"HTTP {status}"
    if status in (400, 413, 415, 422):
        hint = ("Check that the URL is public and points straight at a JPEG, PNG, WebP, GIF or BMP file."
                if from_url else "Check that the file is a complete JPEG, PNG, WebP, GIF or BMP image.")
        return BadImage(f"SentiSight.ai could not read this image. You were not charged. {hint}", detail=detail)
    if status == 404 and from_url:  # SentiSight could not fetch the caller's URL
        return BadImage("SentiSight.ai could not fetch the image at this URL. You were not charged. "
                        "Check that the URL is public and points straight at the image file.", detail=detail, code="image_url_unreachable")
    if status in (504, 408):  # a gateway in front of SentiSight gave up waiting
        return UpstreamTimeout(TIMED_OUT, detail=detail)
    if status in (401, 403):  # our credentials: the caller can't fix it, so the message stays generic
        return UpstreamError("The vision service is misconfigured on our side. You were not charged; we have been notified.", detail=detail)
    return UpstreamError(FAILED, detail=detail)


# --- SentiSight's answers -> lib/vision/types.py shapes ------------------------
# Documented shapes: classification `[{"label","score"}]` (NSFW: labels "safe"/
# "unsafe"); detection `[{"label","score","x0","y0","x1","y1"}]`; text
# `[{"label","score","points":[{"x","y"},...]}]`; background removal
# `[{"image": "<base64 PNG>"}]`. Assumed (not documented where we could see):
# segmentation is detection plus `points`; pose is `[{"score","keypoints":
# [{"label"|"name","x","y","score"?}]}]`, keypoints also accepted as a mapping
# name -> {"x","y","score"} or name -> [x, y, score?].

COCO_SKELETON = (
    ("left_ankle", "left_knee"), ("left_knee", "left_hip"), ("right_ankle", "right_knee"), ("right_knee", "right_hip"),
    ("left_hip", "right_hip"), ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"),
    ("left_shoulder", "right_shoulder"), ("left_shoulder", "left_elbow"), ("right_shoulder", "right_elbow"),
    ("left_elbow", "left_wrist"), ("right_elbow", "right_wrist"), ("left_eye", "right_eye"), ("nose", "left_eye"),
    ("nose", "right_eye"), ("left_eye", "left_ear"), ("right_eye", "right_ear"),
    ("left_ear", "left_shoulder"), ("right_ear", "right_shoulder"),
)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class ShapeError(ValueError):
    """SentiSight answered JSON we don't understand."""


def normalize(output: str, raw) -> tuple[dict, bytes | None]:
    """(results, png) for a model of this output kind; ShapeError for an answer of another shape."""
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise ShapeError("expected a JSON array of objects")
    if output == "image":
        return {}, _png(raw)
    return _NORMALIZERS[output](raw), None


def _as_number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ShapeError(f"'{what}' is missing or not a number")
    return value


def _number(item: dict, key: str) -> float:
    return _as_number(item.get(key), key)


def _score(item: dict, key: str = "score") -> float:
    return round(min(max(_number(item, key) / 100, 0.0), 1.0), 4)


def _label(item: dict) -> str:
    value = item.get("label")
    if not isinstance(value, str):
        raise ShapeError("'label' is missing or not a string")
    return value


def _box(item: dict) -> dict:
    return {key: _number(item, key) for key in ("x0", "y0", "x1", "y1")}


def _polygon(points) -> list[list[float]]:
    if not isinstance(points, list):
        raise ShapeError("'points' is not a list")
    out = []
    for point in points:
        if isinstance(point, dict):
            out.append([_number(point, "x"), _number(point, "y")])
        elif isinstance(point, list) and len(point) >= 2:
            out.append([_as_number(point[0], "x"), _as_number(point[1], "y")])
        else:
            raise ShapeError("a point is neither {x, y} nor [x, y]")
    return out


def _bounds(polygon: list[list[float]]) -> dict:
    if not polygon:
        raise ShapeError("an object has neither a box nor points")
    xs, ys = [p[0] for p in polygon], [p[1] for p in polygon]
    return {"x0": min(xs), "y0": min(ys), "x1": max(xs), "y1": max(ys)}


def _labels(raw: list) -> dict:
    labels = [{"label": _label(item), "score": _score(item)} for item in raw]
    return {"labels": sorted(labels, key=lambda entry: -entry["score"])}


def _boxes(raw: list) -> dict:
    return {"objects": [{"label": _label(item), "score": _score(item), "box": _box(item)} for item in raw]}


def _polygons(raw: list) -> dict:
    objects = []
    for item in raw:
        polygon = _polygon(item.get("points", []))
        if len(polygon) < 3:  # an outline is what this model is paid for: without one the answer is unusable
            raise ShapeError("an object has no usable polygon")
        box = _box(item) if "x0" in item else _bounds(polygon)
        objects.append({"label": _label(item), "score": _score(item), "box": box, "polygon": polygon})
    return {"objects": objects}


def _text(raw: list) -> dict:
    """SentiSight's boxes are words or phrases, not lines: lines are grouped from them."""
    words = []
    for item in raw:
        polygon = _polygon(item["points"]) if "points" in item else _corners(_box(item))
        if not polygon:
            raise ShapeError("a word has no points")
        words.append({"text": _label(item), "score": _score(item), "polygon": polygon})
    return text_result(words)


def _corners(box: dict) -> list[list[float]]:
    return [[box["x0"], box["y0"]], [box["x1"], box["y0"]], [box["x1"], box["y1"]], [box["x0"], box["y1"]]]


COCO_KEYPOINTS = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
                  "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")


def _keypoint_name(name, index: int, count: int) -> str:
    """The point's own name; else COCO's name for its place when there are 17, else keypoint_<n>."""
    if isinstance(name, str) and name.strip():
        return re.sub(r"[\s-]+", "_", re.sub(r"(?<=[a-z])(?=[A-Z])", "_", name.strip())).lower()
    return COCO_KEYPOINTS[index] if count == len(COCO_KEYPOINTS) else f"keypoint_{index}"


def _keypoint(name: str, value) -> dict:
    if isinstance(value, list) and len(value) >= 2:
        value = dict(zip(("x", "y", "score"), value))
    if not isinstance(value, dict):
        raise ShapeError("a keypoint is neither an object nor [x, y, score]")
    score = _score(value) if value.get("score") is not None else None
    return {"name": name, "x": _number(value, "x"), "y": _number(value, "y"), "score": score}


def _keypoints(raw: list) -> dict:
    """Whatever number of key points SentiSight sends; the skeleton joins the COCO pairs present."""
    people, seen = [], set()
    for item in raw:
        points = item.get("keypoints")
        if isinstance(points, dict):
            keypoints = [_keypoint(_keypoint_name(name, i, len(points)), value) for i, (name, value) in enumerate(points.items())]
        elif isinstance(points, list):
            keypoints = [_keypoint(_keypoint_name(p.get("name") or p.get("label") if isinstance(p, dict) else None, i, len(points)), p)
                         for i, p in enumerate(points)]
        else:
            raise ShapeError("a person has no 'keypoints'")
        seen.update(k["name"] for k in keypoints)
        people.append({"score": _score(item) if item.get("score") is not None else None, "keypoints": keypoints})
    skeleton = [list(pair) for pair in COCO_SKELETON if pair[0] in seen and pair[1] in seen]
    return {"people": people, "skeleton": skeleton}


def _png(raw: list) -> bytes:
    encoded = raw[0].get("image") if raw else None
    if not isinstance(encoded, str):
        raise ShapeError("no 'image' in the answer")
    encoded = encoded.split(",", 1)[1] if encoded.startswith("data:") else encoded
    try:
        png = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ShapeError("'image' is not base64") from None
    if not png.startswith(PNG_MAGIC):
        raise ShapeError("'image' is not a PNG")
    return png


_NORMALIZERS = {"labels": _labels, "boxes": _boxes, "polygons": _polygons, "text": _text, "keypoints": _keypoints}
