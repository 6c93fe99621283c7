"""Answers for test tokens (`np_test_`): the live call's shape, headers and statuses, at no cost.

Nothing here fetches a URL, calls a backend or touches a balance. The input was
already validated by the pipeline exactly as for a live call. Results are fixed
per model and picked by the image's SHA-256, so the same image always gets the
same answer. An image URL under ERROR_URL answers the named error with its real
status and body, so integrators can test their error handling.

Cost: the token check plus one call-log row (lib.credits.log_test_call).
"""

from __future__ import annotations

import base64
import hashlib
import math
import struct
import zlib
from collections.abc import Callable

from lib import credits
from lib.errors import ApiError, bad_request, rate_limited
from lib.http import Response
from lib.vision import catalog
from lib.vision import options as vision_options
from lib.vision.sentisight import COCO_SKELETON
from lib.vision.textlines import text_result
from lib.vision.types import ImageInput

ENGINE = "sandbox"
ERROR_URL = "https://sandbox.nexuspoint.invalid/error/"
URL_FRAME = (640, 480)  # the size a URL image is "seen" at: nothing is fetched
MAX_PNG_SIDE = 1024  # the cut-out is drawn at most this large (aspect ratio kept)
NOT_CHARGED = "This is a sandbox error from a test token; nothing was charged."

LABELS = {
    "general-classification": [("dog", "grass", "park", "animal", "outdoor"), ("coffee cup", "table", "laptop", "indoor", "wood"),
                               ("car", "street", "building", "road", "city"), ("cat", "sofa", "pillow", "indoor", "animal")],
    "places-classification": [("park", "forest path", "botanical garden"), ("kitchen", "dining room", "restaurant kitchen"),
                              ("street", "downtown", "parking lot"), ("beach", "coast", "ocean")],
}
OBJECTS = [("person", (0.12, 0.18, 0.46, 0.95)), ("dog", (0.52, 0.55, 0.86, 0.93)), ("bicycle", (0.40, 0.40, 0.98, 0.90)),
           ("car", (0.05, 0.45, 0.55, 0.85)), ("cup", (0.60, 0.20, 0.75, 0.42))]
TEXT_LINES = [("NEXUSPOINT SANDBOX", (0.10, 0.12, 0.90, 0.24)), ("Open daily 9:00 - 18:00", (0.15, 0.40, 0.85, 0.50)),
              ("Thank you for visiting", (0.20, 0.70, 0.80, 0.80))]
# A standing person facing the camera, as fractions of the frame (COCO's 17 key points).
POSE = {"nose": (0.50, 0.16), "left_eye": (0.52, 0.14), "right_eye": (0.48, 0.14), "left_ear": (0.55, 0.15), "right_ear": (0.45, 0.15),
        "left_shoulder": (0.60, 0.28), "right_shoulder": (0.40, 0.28), "left_elbow": (0.64, 0.42), "right_elbow": (0.36, 0.42),
        "left_wrist": (0.66, 0.55), "right_wrist": (0.34, 0.55), "left_hip": (0.57, 0.56), "right_hip": (0.43, 0.56),
        "left_knee": (0.58, 0.73), "right_knee": (0.42, 0.73), "left_ankle": (0.58, 0.90), "right_ankle": (0.42, 0.90)}


def _errors(model: catalog.Model) -> dict:
    """The errors a test token can ask for, each as a live call would answer it."""
    upstream = {"credits_charged": 0, "credits_remaining": None}
    return {
        "insufficient_credits": lambda: credits.InsufficientCredits(0, model.cost),
        "token_credit_limit": lambda: ApiError(402, "token_credit_limit", f"This token's cap of 10 credits a day is used up. {NOT_CHARGED}",
                                               limit=10, period="day", used=10, resets_at="2030-01-02T00:00:00Z"),
        "rate_limited": lambda: rate_limited(30, f"This token may make 60 requests a minute. Try again in 30 seconds. ({NOT_CHARGED})"),
        "image_unreadable": lambda: ApiError(422, "image_unreadable", f"The image at this URL could not be downloaded or read. {NOT_CHARGED}", **upstream),
        "upstream_error": lambda: ApiError(502, "upstream_error", f"The vision service could not process this image. {NOT_CHARGED}", **upstream),
        "upstream_timeout": lambda: ApiError(504, "upstream_timeout", f"The vision service took too long to answer. {NOT_CHARGED}", **upstream),
        "vision_unavailable": lambda: ApiError(503, "vision_unavailable", f"The model '{model.slug}' can't run right now. {NOT_CHARGED}"),
    }


ERROR_CODES = tuple(_errors(catalog.get("general-classification")))


def run(req, model: catalog.Model, image: ImageInput, options: dict, as_png: bool, include_raw: bool,
        elapsed_ms: Callable[[], int]) -> Response:
    """The sandbox answer to a validated call of a test token; its options apply as on a live call.

    `elapsed_ms()` is the time since the call started: the call log shows a test call's latency like a live one's.
    """
    caller = req.caller
    req.response_headers.update({"X-Sandbox": "true", "X-Credits-Charged": "0"})
    log = {"model": model.slug, "token_id": caller.token_id, "token_name": caller.token_name, "request_id": req.id, "image_url": image.url}
    if image.url and image.url.startswith(ERROR_URL):
        code = image.url[len(ERROR_URL):].split("?")[0].strip("/")
        errors = _errors(model)
        if code not in errors:
            raise bad_request("invalid_url", f"Unknown sandbox error '{code[:40]}'. Choose one of: {', '.join(errors)}.", field="url")
        error = errors[code]()
        if error.status >= 422 and error.status != 429:  # the live call was charged, then refunded: it is in the log
            credits.log_test_call(caller.user_id, status="failed", failure=code, latency_ms=elapsed_ms(), **log)
        raise error
    width, height = (image.width, image.height) if image.data else URL_FRAME
    seed = hashlib.sha256(image.data or image.url.encode()).digest()
    results, png = _results(model, seed, width, height)
    results = vision_options.apply(model, results, options)
    row = credits.log_test_call(caller.user_id, status="succeeded", latency_ms=elapsed_ms(), **log)
    req.response_headers["X-Usage-Id"] = str(row["_id"])
    if as_png:
        return Response(png, content_type="image/png")
    body = {
        "model": model.slug, "credits_charged": 0, "credits_remaining": None, "usage_id": row["_id"], "engine": ENGINE,
        "image": {"width": width, "height": height}, "results": results, "sandbox": True,
    }
    if include_raw:
        body["raw"] = {"sandbox": True, "results": results}
    return Response.json(body)


def _score(seed: bytes, i: int, lo: float, hi: float) -> float:
    return round(lo + (hi - lo) * seed[i % len(seed)] / 255, 4)


def _box(frac: tuple, width: int, height: int) -> dict:
    x0, y0, x1, y1 = frac
    return {"x0": round(x0 * width, 1), "y0": round(y0 * height, 1), "x1": round(x1 * width, 1), "y1": round(y1 * height, 1)}


def _corners(box: dict) -> list[list[float]]:
    return [[box["x0"], box["y0"]], [box["x1"], box["y0"]], [box["x1"], box["y1"]], [box["x0"], box["y1"]]]


def _results(model: catalog.Model, seed: bytes, width: int, height: int) -> tuple[dict, bytes | None]:
    if model.slug == "nsfw-classification":
        safe = _score(seed, 1, 0.90, 0.995)
        return {"labels": [{"label": "safe", "score": safe}, {"label": "unsafe", "score": round(1 - safe, 4)}]}, None
    if model.output == "labels":
        choices = LABELS[model.slug]
        labels = choices[seed[0] % len(choices)]
        scores = sorted((_score(seed, i + 1, 0.05, 0.6) for i in range(len(labels) - 1)), reverse=True)
        return {"labels": [{"label": labels[0], "score": _score(seed, 0, 0.80, 0.98)},
                           *({"label": lab, "score": s} for lab, s in zip(labels[1:], scores, strict=True))]}, None
    if model.output in ("boxes", "polygons"):
        count = 2 + seed[0] % 3
        objects = []
        for i, (label, frac) in enumerate(OBJECTS[seed[1] % 2:][:count]):
            box = _box(frac, width, height)
            found = {"label": label, "score": _score(seed, i + 2, 0.62, 0.97), "box": box}
            if model.output == "polygons":
                found["polygon"] = _ellipse(box)
            objects.append(found)
        return {"objects": sorted(objects, key=lambda o: -o["score"])}, None
    if model.output == "text":
        words = [{"text": text, "score": _score(seed, i, 0.85, 0.99), "polygon": _corners(_box(frac, width, height))}
                 for i, (text, frac) in enumerate(TEXT_LINES)]
        return text_result(words), None  # words, lines and text, as a live answer has them
    if model.output == "keypoints":
        keypoints = [{"name": name, "x": round(x * width, 1), "y": round(y * height, 1), "score": _score(seed, i, 0.7, 0.99)}
                     for i, (name, (x, y)) in enumerate(POSE.items())]
        return {"people": [{"score": _score(seed, 20, 0.85, 0.97), "keypoints": keypoints}],
                "skeleton": [list(pair) for pair in COCO_SKELETON]}, None
    png = cutout_png(width, height, seed)
    return {"image": "data:image/png;base64," + base64.b64encode(png).decode("ascii")}, png


def _ellipse(box: dict, points: int = 16) -> list[list[float]]:
    cx, cy = (box["x0"] + box["x1"]) / 2, (box["y0"] + box["y1"]) / 2
    rx, ry = (box["x1"] - box["x0"]) / 2, (box["y1"] - box["y0"]) / 2
    return [[round(cx + rx * math.cos(2 * math.pi * k / points), 1), round(cy + ry * math.sin(2 * math.pi * k / points), 1)]
            for k in range(points)]


def cutout_png(width: int, height: int, seed: bytes) -> bytes:
    """A real RGBA PNG: an opaque oval "subject" on a transparent background, at most MAX_PNG_SIDE a side."""
    scale = min(1.0, MAX_PNG_SIDE / max(width, height))
    w, h = max(1, round(width * scale)), max(1, round(height * scale))
    colour = bytes((seed[0], seed[1], seed[2], 255))
    clear = b"\x00\x00\x00\x00"
    rows = []
    for y in range(h):
        dy = (y + 0.5 - h / 2) / (h * 0.4)
        half = int(w * 0.3 * max(0.0, 1 - dy * dy) ** 0.5) if abs(dy) < 1 else 0
        left = w // 2 - half
        rows.append(b"\x00" + clear * left + colour * (2 * half) + clear * (w - left - 2 * half))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows), 6)) + chunk(b"IEND", b"")
