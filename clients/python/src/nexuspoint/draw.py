"""Copies of images with the results drawn on them (`nexuspoint predict --save DIR`), with Pillow when installed."""

from __future__ import annotations

import io
from pathlib import Path

from nexuspoint.results import Detection, PoseEstimation, Prediction, TextRecognition

COLOURS = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6", "#bcf60c")


def pillow_available() -> bool:
    try:
        import PIL.Image  # noqa: F401
    except ImportError:
        return False
    return True


def can_draw(prediction: Prediction) -> bool:
    """Whether this kind of result has shapes to draw (classification has none)."""
    return isinstance(prediction, (Detection, TextRecognition, PoseEstimation))


def overlay(image_bytes: bytes, prediction: Prediction) -> bytes | None:
    """PNG bytes of the image with boxes, polygons, text lines or key points drawn; None without Pillow."""
    try:
        from PIL import Image, ImageDraw
    except ImportError:
        return None
    with Image.open(io.BytesIO(image_bytes)) as source:
        picture = source.convert("RGB")
    pen = ImageDraw.Draw(picture)
    width = max(2, round(max(picture.size) / 300))
    if isinstance(prediction, Detection):
        for i, obj in enumerate(prediction.objects):
            colour = COLOURS[i % len(COLOURS)]
            if len(obj.polygon) >= 3:
                pen.polygon(obj.polygon, outline=colour, width=width)
            if obj.box:
                pen.rectangle((obj.box.x0, obj.box.y0, obj.box.x1, obj.box.y1), outline=colour, width=width)
                pen.text((obj.box.x0 + width, obj.box.y0 + width), f"{obj.label} {obj.score:.2f}", fill=colour)
    elif isinstance(prediction, TextRecognition):
        for line in prediction.lines:
            if len(line.polygon) >= 3:
                pen.polygon(line.polygon, outline=COLOURS[0], width=width)
    elif isinstance(prediction, PoseEstimation):
        for i, person in enumerate(prediction.people):
            colour = COLOURS[i % len(COLOURS)]
            at = {k.name: (k.x, k.y) for k in person.keypoints}
            for a, b in prediction.skeleton:
                if a in at and b in at:
                    pen.line((at[a], at[b]), fill=colour, width=width)
            for x, y in at.values():
                pen.ellipse((x - width * 2, y - width * 2, x + width * 2, y + width * 2), fill=colour)
    out = io.BytesIO()
    picture.save(out, "PNG")
    return out.getvalue()


def save_name(input_name: str, suffix: str = ".png") -> str:
    """A flat file name for an input ("photos/a/cat.jpg" -> "photos_a_cat.png") so folders don't collide."""
    stem = input_name.split("://", 1)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in Path(stem).name else stem
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem).strip("._") or "image"
    return safe[-150:] + suffix
