"""Turn the caller's image into RGB pixels, in memory only.

The privacy policy says images are never stored: nothing here touches the disk.
"""

from __future__ import annotations

import io
import warnings
from typing import TYPE_CHECKING

from lib.vision.types import BadImage, ImageInput

if TYPE_CHECKING:
    from PIL.Image import Image


def image_bytes(image: ImageInput) -> bytes:
    """The encoded image: the bytes sent, or those fetched from its URL."""
    if image.data is not None:
        return image.data
    if image.url:
        from lib.vision.local.fetch import fetch_image

        return fetch_image(image.url)
    raise BadImage("No image was given: send the image bytes or an image URL.")


def decode_rgb(data: bytes) -> Image:
    """An upright RGB image; transparent areas become white, so dark text stays readable."""
    from PIL import Image, ImageOps

    try:
        with warnings.catch_warnings():
            # Pillow only warns below twice its pixel limit; a bomb is a bad image either way.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            img = ImageOps.exif_transpose(img)
            if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
                rgba = img.convert("RGBA")
                img = Image.new("RGBA", rgba.size, "white")
                img.alpha_composite(rgba)
            return img.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadImage("The image could not be decoded: send a JPEG, PNG, GIF, WebP or BMP file.", detail=repr(exc)) from exc


def load_rgb(image: ImageInput) -> Image:
    return decode_rgb(image_bytes(image))


def encode_png(img: Image) -> bytes:
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()
