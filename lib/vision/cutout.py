"""Background removal's answer must fit Vercel's 4.5 MB response, so a large photo is scaled down
before the charge instead of being refused (a phone photo is 12 MP; its cut-out may need 48 MB).

A cut-out PNG is at most 4 bytes a pixel (RGBA that zlib can't shrink), and base64 in JSON adds a
third: an image within PIXEL_BUDGET always fits. A larger one is resized to the budget, aspect kept,
upright (EXIF), and the response's `image` then gives the size of the cut-out, not of the upload.
"""

from __future__ import annotations

import io
import logging
import math

from lib.errors import ApiError
from lib.vision.types import ImageInput, Prediction

log = logging.getLogger("nexuspoint.vision")

RESPONSE_LIMIT = 4_500_000
ENVELOPE_BYTES = 2_000  # the JSON around the image, generously
PIXEL_BUDGET = {"png": (RESPONSE_LIMIT - ENVELOPE_BYTES) // 4, "json": (RESPONSE_LIMIT - ENVELOPE_BYTES) * 3 // 4 // 4}
# The largest cut-out each format can send back: a PNG body as it is, or base64 in JSON (a third more).
MAX_CUTOUT_BYTES = {"png": RESPONSE_LIMIT - ENVELOPE_BYTES, "json": (RESPONSE_LIMIT - ENVELOPE_BYTES) * 3 // 4}


def fit(image: ImageInput, *, as_png: bool) -> ImageInput:
    """`image`, or a copy scaled down so that its cut-out fits the response limit in the format asked for."""
    budget = PIXEL_BUDGET["png" if as_png else "json"]
    if not (image.width and image.height) or image.width * image.height <= budget or image.data is None:
        return image  # small enough, or a URL SentiSight fetches (its size is known only there)
    try:
        scaled = _scaled(image, budget)
    except ImportError:  # a deployment without Pillow can only refuse, still for free
        raise _too_large(image, budget, as_png) from None
    except (OSError, ValueError) as exc:  # a sound header over damaged pixels
        log.info("background-removal: could not scale %sx%s: %r", image.width, image.height, exc)
        raise ApiError(422, "image_unreadable", "The image could not be decoded: send a complete JPEG, PNG, GIF, WebP or BMP file. "
                       "You were not charged.") from None
    log.info("background-removal: %sx%s scaled to %sx%s to fit the response", image.width, image.height, scaled.width, scaled.height)
    return scaled


def _scaled(image: ImageInput, budget: int) -> ImageInput:
    from PIL import Image, ImageOps  # only here: Pillow's import would slow every cold start

    scale = math.sqrt(budget / (image.width * image.height))
    img = Image.open(io.BytesIO(image.data))
    swapped = img.getexif().get(0x0112) in (5, 6, 7, 8)  # EXIF orientations that turn the picture a quarter
    upright = (image.height, image.width) if swapped else (image.width, image.height)
    size = (max(1, math.floor(upright[0] * scale)), max(1, math.floor(upright[1] * scale)))
    img.draft("RGB", (math.ceil(image.width * scale), math.ceil(image.height * scale)))  # a JPEG decodes at 1/2, 1/4 or 1/8 already
    img = ImageOps.exif_transpose(img)
    keeps_alpha = img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info
    img = img.convert("RGBA" if keeps_alpha else "RGB").resize(size, Image.LANCZOS)
    out = io.BytesIO()
    if keeps_alpha:
        img.save(out, "PNG")
    else:
        img.save(out, "JPEG", quality=95)  # visually lossless, and a small upload to SentiSight
    return ImageInput(data=out.getvalue(), url=image.url, mime="image/png" if keeps_alpha else "image/jpeg", width=size[0], height=size[1])


def fit_cutout(prediction: Prediction, *, as_png: bool) -> None:
    """A cut-out too large for the response in the format asked for (from an image URL the backend fetched,
    whose size was unknown before the charge), scaled down in place: after the charge, it is never lost."""
    limit = MAX_CUTOUT_BYTES["png" if as_png else "json"]
    png = prediction.png
    if not png or len(png) <= limit:
        return
    from PIL import Image

    img = Image.open(io.BytesIO(png))
    img.load()
    while len(png) > limit:
        scale = math.sqrt(limit / len(png)) * 0.95
        img = img.resize((max(1, math.floor(img.width * scale)), max(1, math.floor(img.height * scale))), Image.LANCZOS)
        out = io.BytesIO()
        img.save(out, "PNG")
        png = out.getvalue()
    log.info("background-removal: a %s byte cut-out scaled to %sx%s", len(prediction.png), img.width, img.height)
    prediction.png = png
    prediction.extra.update(width=img.width, height=img.height)


def _too_large(image: ImageInput, budget: int, as_png: bool) -> ApiError:
    how = "as a PNG" if as_png else "as JSON (add ?format=png for a larger one)"
    return ApiError(413, "image_too_many_pixels",
                    f"The cut-out of a {image.width}x{image.height} image might not fit the 4.5 MB response limit {how}, and this "
                    f"server can't scale it down: send at most {budget / 1_000_000:.2f} megapixels. You were not charged.",
                    width=image.width, height=image.height, limit_pixels=budget)
