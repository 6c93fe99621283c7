"""Typed results, one class per output kind of the API (see the docs' "What results looks like").

Parsing is lenient on purpose: a field the server doesn't send yet is None or
empty, a field it adds later is kept in ``raw``, so this client works against
older and newer servers alike.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Point = tuple[float, float]

# The output kind of each model; a model this client doesn't know yet gives a plain Prediction.
MODEL_OUTPUTS = {
    "general-classification": "labels", "places-classification": "labels", "nsfw-classification": "labels",
    "object-detection": "boxes", "instance-segmentation": "polygons", "text-recognition": "text",
    "pose-estimation": "keypoints", "background-removal": "image",
}


@dataclass
class Box:
    x0: float
    y0: float
    x1: float
    y1: float


@dataclass
class Label:
    label: str
    score: float


@dataclass
class DetectedObject:
    label: str
    score: float
    box: Box | None = None
    polygon: list[Point] = field(default_factory=list)  # instance segmentation only


@dataclass
class Word:
    text: str
    score: float | None = None
    polygon: list[Point] = field(default_factory=list)


@dataclass
class TextLine:
    text: str
    score: float | None = None
    polygon: list[Point] = field(default_factory=list)
    words: list[Word] = field(default_factory=list)


@dataclass
class Keypoint:
    name: str
    x: float
    y: float
    score: float | None = None


@dataclass
class Person:
    score: float | None
    keypoints: list[Keypoint] = field(default_factory=list)


@dataclass
class Prediction:
    """What every model answers; the subclasses add the model's results as typed fields.

    ``credits_charged`` is what this call cost (0 for a replayed or sandbox call),
    ``raw`` the answer's JSON as received (None for a PNG answer).
    """

    model: str
    credits_charged: int = 0
    credits_remaining: int | None = None
    usage_id: str | None = None
    request_id: str | None = None
    sandbox: bool = False
    replayed: bool = False  # the server answered from its idempotency record: nothing charged twice
    engine: str | None = None
    width: int | None = None
    height: int | None = None
    results: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] | None = None


@dataclass
class Classification(Prediction):
    labels: list[Label] = field(default_factory=list)

    @property
    def top(self) -> Label | None:
        return self.labels[0] if self.labels else None


@dataclass
class Detection(Prediction):
    """Object detection (boxes) and instance segmentation (boxes and polygons)."""

    objects: list[DetectedObject] = field(default_factory=list)


@dataclass
class TextRecognition(Prediction):
    text: str = ""
    lines: list[TextLine] = field(default_factory=list)
    words: list[Word] = field(default_factory=list)  # every word of every line, when the server sends words


@dataclass
class PoseEstimation(Prediction):
    people: list[Person] = field(default_factory=list)
    skeleton: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class BackgroundRemoval(Prediction):
    png: bytes = b""

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_bytes(self.png)
        return path


@dataclass
class Balance:
    credits: int
    sandbox: bool = False
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class ModelInfo:
    slug: str
    name: str
    cost: int
    output: str
    description: str = ""
    options: list[str] | None = None  # the option names it takes; None when the server doesn't say
    available: bool = True
    backend: str | None = None
    engine: str | None = None
    reason: str | None = None


@dataclass
class Usage:
    """GET /api/account/usage: ``daily`` rows, ``by_model`` rows and ``totals`` (calls, credits, failed)."""

    days: int
    start: str | None
    end: str | None
    daily: list[dict[str, Any]] = field(default_factory=list)
    by_model: list[dict[str, Any]] = field(default_factory=list)
    by_source: dict[str, Any] = field(default_factory=dict)
    totals: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)


# --- parsing -------------------------------------------------------------------

def _num(value, default=None):
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _int(value, default=None):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _truthy(value) -> bool:
    return value is True or str(value).lower() in ("true", "1", "yes")


def _points(value) -> list[Point]:
    out = []
    for p in value or []:
        if isinstance(p, (list, tuple)) and len(p) >= 2:
            out.append((_num(p[0], 0.0), _num(p[1], 0.0)))
        elif isinstance(p, Mapping):
            out.append((_num(p.get("x"), 0.0), _num(p.get("y"), 0.0)))
    return out


def _box(value) -> Box | None:
    if not isinstance(value, Mapping):
        return None
    return Box(*(_num(value.get(k), 0.0) for k in ("x0", "y0", "x1", "y1")))


def _word(w: Mapping) -> Word:
    return Word(text=str(w.get("text", "")), score=_num(w.get("score")), polygon=_points(w.get("polygon")))


def _dicts(value) -> list[Mapping]:
    return [v for v in (value or []) if isinstance(v, Mapping)]


def _kind_fields(kind: str, results: Mapping) -> dict[str, Any]:
    if kind == "labels":
        return {"labels": [Label(str(x.get("label", "")), _num(x.get("score"), 0.0)) for x in _dicts(results.get("labels"))]}
    if kind in ("boxes", "polygons"):
        return {"objects": [DetectedObject(str(o.get("label", "")), _num(o.get("score"), 0.0), _box(o.get("box")), _points(o.get("polygon")))
                            for o in _dicts(results.get("objects"))]}
    if kind == "text":
        lines = [TextLine(str(line.get("text", "")), _num(line.get("score")), _points(line.get("polygon")),
                          [_word(w) for w in _dicts(line.get("words"))]) for line in _dicts(results.get("lines"))]
        words = [_word(w) for w in _dicts(results.get("words"))] or [w for line in lines for w in line.words]
        text = results.get("text")
        return {"text": text if isinstance(text, str) else "\n".join(line.text for line in lines), "lines": lines, "words": words}
    if kind == "keypoints":
        people = [Person(_num(p.get("score")), [Keypoint(str(k.get("name", "")), _num(k.get("x"), 0.0), _num(k.get("y"), 0.0), _num(k.get("score")))
                                                for k in _dicts(p.get("keypoints"))]) for p in _dicts(results.get("people"))]
        skeleton = [(str(a), str(b)) for a, b in (pair for pair in results.get("skeleton") or [] if isinstance(pair, (list, tuple)) and len(pair) == 2)]
        return {"people": people, "skeleton": skeleton}
    return {}


CLASSES = {"labels": Classification, "boxes": Detection, "polygons": Detection, "text": TextRecognition,
           "keypoints": PoseEstimation, "image": BackgroundRemoval}


def decode_data_url(value) -> bytes:
    """The bytes of a ``data:image/png;base64,...`` string (the JSON form of background removal)."""
    if not isinstance(value, str):
        return b""
    try:
        return base64.b64decode(value.split(",", 1)[-1], validate=False)
    except (binascii.Error, ValueError):
        return b""


def parse_prediction(model: str, body: Mapping | None, headers: Mapping[str, str], png: bytes | None = None) -> Prediction:
    """A typed result from a vision answer: JSON ``body``, or PNG bytes with the metadata in ``headers``.

    What the call cost comes from ``X-Credits-Charged`` when present: a replayed answer
    repeats the first answer's body, but the replay itself costs nothing.
    """
    body = body if isinstance(body, Mapping) else {}
    kind = MODEL_OUTPUTS.get(model) or ("image" if png is not None else "")
    results = body.get("results") if isinstance(body.get("results"), Mapping) else {}
    image = body.get("image") if isinstance(body.get("image"), Mapping) else {}
    charged = _int(headers.get("X-Credits-Charged"), _int(body.get("credits_charged"), 0))
    common = {
        "model": str(body.get("model") or model),
        "credits_charged": charged,
        "credits_remaining": _int(body.get("credits_remaining"), _int(headers.get("X-Credits-Remaining"))),
        "usage_id": body.get("usage_id") or headers.get("X-Usage-Id"),
        "request_id": headers.get("X-Request-Id"),
        "sandbox": _truthy(body.get("sandbox")) or _truthy(headers.get("X-Sandbox")),
        "replayed": _truthy(headers.get("Idempotent-Replayed")),
        "engine": body.get("engine"),
        "width": _int(image.get("width")),
        "height": _int(image.get("height")),
        "results": dict(results),
        "raw": dict(body) if body else None,
    }
    cls = CLASSES.get(kind, Prediction)
    if cls is BackgroundRemoval:
        return BackgroundRemoval(**common, png=png if png is not None else decode_data_url(results.get("image")))
    return cls(**common, **_kind_fields(kind, results))


def _keep(items: list, score_of, min_confidence: float | None, max_results: int | None) -> list:
    if min_confidence is not None:
        items = [i for i in items if score_of(i) is None or score_of(i) >= min_confidence]
    return items[:max_results] if max_results is not None else items


def filter_scores(prediction: Prediction, min_confidence: float | None, max_results: int | None) -> Prediction:
    """Apply min_confidence / max_results to labels, objects and people (typed and in ``results``),
    whether or not the server already did: older servers ignore these options."""
    if min_confidence is None and max_results is None:
        return prediction
    for name in ("labels", "objects", "people"):
        if isinstance(getattr(prediction, name, None), list):
            setattr(prediction, name, _keep(getattr(prediction, name), lambda i: i.score, min_confidence, max_results))
        if isinstance(prediction.results.get(name), list):
            prediction.results[name] = _keep(prediction.results[name], lambda i: _num(i.get("score")) if isinstance(i, Mapping) else None,
                                             min_confidence, max_results)
    return prediction


def parse_models(body: Mapping) -> list[ModelInfo]:
    out = []
    for m in _dicts(body.get("models") if isinstance(body, Mapping) else None):
        out.append(ModelInfo(
            slug=str(m.get("slug", "")), name=str(m.get("name", m.get("slug", ""))), cost=_int(m.get("cost"), 0),
            output=str(m.get("output", "")), description=str(m.get("description", "")), options=list(m["options"] or []) if "options" in m else None,
            available=m.get("available", True) is not False, backend=m.get("backend"), engine=m.get("engine"), reason=m.get("reason"),
        ))
    return out


def parse_usage(body: Mapping) -> Usage:
    return Usage(days=_int(body.get("days"), 0), start=body.get("from"), end=body.get("to"), daily=_dicts(body.get("daily")),
                 by_model=_dicts(body.get("by_model")), by_source=dict(body.get("by_source") or {}), totals=dict(body.get("totals") or {}),
                 raw=dict(body))
