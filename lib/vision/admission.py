"""What is settled before the charge: shapes a model can't take (refused), a background removal too
large to send back (scaled down, lib/vision/cutout.py), and whatever the backend itself checks first
(a local fetch of the image URL, SentiSight's languages).
"""

from __future__ import annotations

import logging

from lib.errors import ApiError
from lib.vision import catalog, cutout
from lib.vision.types import ImageInput, VisionError

log = logging.getLogger("nexuspoint.vision")

# Text recognition resizes to a fixed side and fails on a sliver (a 1x4000 PNG): beyond 50:1 there
# is no line of text to read anyway.
MAX_ASPECT = {"text-recognition": 50}


def admit(backend, model: catalog.Model, image: ImageInput, options: dict, *, as_png: bool) -> tuple[ImageInput, dict]:
    """The image and options to run, or the ApiError that refuses them for free."""
    prepare = getattr(backend, "prepare", None)
    if prepare is not None:
        try:
            image, options = prepare(model.slug, image, options)
        except VisionError as exc:
            log.info("vision %s refused before the charge: %s %s", model.slug, exc.code, exc.detail)
            raise ApiError(exc.status, exc.code, f"{exc.message} You were not charged.") from None
    check_shape(model, image)
    if model.output == "image":
        image = cutout.fit(image, as_png=as_png)
    return image, options


def check_shape(model: catalog.Model, image: ImageInput) -> None:
    if not (image.width and image.height):
        return  # a URL SentiSight fetches: its size is known only to SentiSight
    long_side, short_side = max(image.width, image.height), min(image.width, image.height)
    limit = MAX_ASPECT.get(model.slug)
    if limit and long_side > limit * short_side:
        raise ApiError(422, "unsupported_image_shape",
                       f"{model.name} can't read a {image.width}x{image.height} image: the long side may be at most {limit} times the short one. "
                       "Crop it to the text or pad it. You were not charged.", width=image.width, height=image.height)
