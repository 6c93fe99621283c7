"""Background removal: MediaPipe Selfie Segmentation (Apache-2.0).

It separates people from their background, so it does well on portraits and
poorly on products or animals; the result is an RGBA PNG whose alpha is the
model's soft person mask.
"""

from __future__ import annotations

import threading
from typing import Any

from lib.vision.local import packages
from lib.vision.local.imaging import encode_png
from lib.vision.types import Prediction

SLUG = "background-removal"
ENGINE = "mediapipe-selfie-segmentation"
LICENCE = "Apache-2.0 (PyPI mediapipe)"

# A MediaPipe graph processes one image at a time.
_run_lock = threading.Lock()


def unavailable_reason() -> str | None:
    return packages.mediapipe_problem()


def load() -> Any:
    from mediapipe.python.solutions import selfie_segmentation

    # 0 is the general model (256x256 input); 1 is the faster landscape one (144x256).
    return selfie_segmentation.SelfieSegmentation(model_selection=0)


def predict(model, img, options: dict) -> Prediction:
    import numpy as np
    from PIL import Image

    pixels = np.ascontiguousarray(np.asarray(img))
    with _run_lock:
        mask = model.process(pixels).segmentation_mask  # float32 0-1, image size
    alpha = np.clip(mask * 255.0 + 0.5, 0, 255).astype(np.uint8)
    cutout = img.convert("RGBA")
    cutout.putalpha(Image.fromarray(alpha))
    return Prediction(results={}, png=encode_png(cutout), engine=ENGINE)
