"""The shapes every vision backend speaks, so the pipeline never knows which one ran.

Normalized ``results`` per output kind (scores are 0-1 floats, coordinates are
pixels of the submitted image):

``min_confidence`` / ``max_results`` are applied afterwards by lib/vision/options.py.

- ``labels`` (general/places/nsfw classification):
  ``{"labels": [{"label": str, "score": float}, ...]}`` best first.
- ``boxes`` (object detection):
  ``{"objects": [{"label", "score", "box": {"x0", "y0", "x1", "y1"}}]}``
- ``polygons`` (instance segmentation):
  ``{"objects": [{"label", "score", "box": {...}, "polygon": [[x, y], ...]}]}``
- ``text`` (text recognition):
  ``{"text": "the lines joined by newlines",
     "words": [{"text", "score", "polygon": [[x, y], ...]}],  (a word or phrase, as the engine read it)
     "lines": [{"text", "score", "polygon"}]}``  (words grouped by lib/vision/textlines.py)
- ``keypoints`` (pose estimation): as many key points as the engine gives (COCO's 17, BlazePose's 33, ...):
  ``{"people": [{"score", "keypoints": [{"name", "x", "y", "score"}]}],
     "skeleton": [["left_shoulder", "right_shoulder"], ...]}``
- ``image`` (background removal): the backend returns PNG bytes in
  ``Prediction.png``; the pipeline turns them into ``{"image": "data:..."}``. A large
  input was scaled down first (lib/vision/cutout.py): the PNG has the size ``image`` gives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple


class ImageInput(NamedTuple):  # a NamedTuple: cheaper to define than a frozen dataclass on a cold start (bench/cold_start.py)
    """An image as the caller sent it: bytes in memory, or a URL; both once a URL was fetched
    before the charge (the URL stays for the usage log)."""

    data: bytes | None = None
    url: str | None = None
    mime: str | None = None
    width: int | None = None
    height: int | None = None


@dataclass
class Prediction:
    results: dict[str, Any]
    raw: Any = None
    png: bytes | None = None
    engine: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class VisionError(Exception):
    """Base for the errors a backend may raise; the pipeline refunds on any of them."""

    status = 502
    code = "upstream_error"

    def __init__(self, message: str, *, detail: str = "", code: str | None = None):
        super().__init__(message)
        self.message = message
        self.detail = detail  # for the server log only, never for the caller
        if code:
            self.code = code  # a more precise code than the class's (e.g. image_url_unreachable)


class UpstreamError(VisionError):
    status = 502
    code = "upstream_error"


class UpstreamTimeout(VisionError):
    status = 504
    code = "upstream_timeout"


class ModelUnavailable(VisionError):
    """The chosen backend cannot serve this model (no local weights)."""

    status = 501
    code = "model_unavailable_offline"


class BadImage(VisionError):
    """The backend could not use the image it was given (e.g. a URL that can't be fetched)."""

    status = 422
    code = "image_unreadable"
