"""A cut-out that came back too large for the response (an image URL the backend fetched) is scaled to the format asked for."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image

from lib.vision import cutout
from lib.vision.types import Prediction

PNG_LIMIT, JSON_LIMIT = cutout.MAX_CUTOUT_BYTES["png"], cutout.MAX_CUTOUT_BYTES["json"]


def noise_png(width: int, height: int) -> bytes:
    """4 bytes a pixel whatever zlib does: random RGBA."""
    out = io.BytesIO()
    Image.frombytes("RGBA", (width, height), os.urandom(width * height * 4)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def between_limits() -> bytes:
    """Too large for JSON's base64, small enough to go back as a PNG."""
    png = noise_png(1000, 900)
    assert JSON_LIMIT < len(png) <= PNG_LIMIT
    return png


def test_a_png_answer_keeps_a_cut_out_json_could_not_carry(between_limits):
    prediction = Prediction(results={}, png=between_limits)
    cutout.fit_cutout(prediction, as_png=True)
    assert prediction.png == between_limits and prediction.extra == {}


@pytest.mark.parametrize(("size", "as_png"), [((1000, 900), False), ((1200, 1000), True)])
def test_a_cut_out_too_large_for_its_format_is_scaled_down_not_lost(size, as_png):
    png = noise_png(*size)
    limit = PNG_LIMIT if as_png else JSON_LIMIT
    assert len(png) > limit
    prediction = Prediction(results={}, png=png)
    cutout.fit_cutout(prediction, as_png=as_png)
    assert len(prediction.png) <= limit
    width, height = Image.open(io.BytesIO(prediction.png)).size
    assert (prediction.extra["width"], prediction.extra["height"]) == (width, height)
    assert abs(width / height - size[0] / size[1]) < 0.01 and width > 0.7 * size[0]  # scaled only as far as needed
