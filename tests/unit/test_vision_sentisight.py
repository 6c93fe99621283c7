"""SentiSight's answers turned into lib/vision/types.py shapes, and answers we refuse."""

from __future__ import annotations

import base64

import pytest

from lib.vision.sentisight import ShapeError, normalize
from tests.fixtures.sentisight import image_bytes


def test_scores_become_fractions_best_first_and_stay_in_range():
    results, png = normalize("labels", [{"label": "unsafe", "score": 3.2}, {"label": "safe", "score": 96.8},
                                        {"label": "odd", "score": 140}, {"label": "neg", "score": -1}])
    assert png is None
    assert results == {"labels": [{"label": "odd", "score": 1.0}, {"label": "safe", "score": 0.968},
                                  {"label": "unsafe", "score": 0.032}, {"label": "neg", "score": 0.0}]}


def test_detection_boxes_keep_pixel_coordinates():
    results, _ = normalize("boxes", [{"label": "dog", "score": 84.7, "x0": 10, "y0": 20, "x1": 110.5, "y1": 220}])
    assert results == {"objects": [{"label": "dog", "score": 0.847, "box": {"x0": 10, "y0": 20, "x1": 110.5, "y1": 220}}]}


def test_segmentation_polygon_and_a_box_derived_when_missing():
    points = [{"x": 5, "y": 7}, {"x": 50, "y": 9}, {"x": 30, "y": 60}]
    results, _ = normalize("polygons", [{"label": "cat", "score": 50, "points": points}])
    assert results["objects"][0]["polygon"] == [[5, 7], [50, 9], [30, 60]]
    assert results["objects"][0]["box"] == {"x0": 5, "y0": 7, "x1": 50, "y1": 60}


def test_text_lines_joined_and_each_with_its_polygon():
    raw = [{"label": "HELLO", "score": 99, "points": [[0, 0], [10, 0], [10, 5], [0, 5]]},
           {"label": "world", "score": 80, "x0": 0, "y0": 10, "x1": 20, "y1": 15}]
    results, _ = normalize("text", raw)
    assert results["text"] == "HELLO\nworld"
    assert results["lines"][0] == {"text": "HELLO", "score": 0.99, "polygon": [[0, 0], [10, 0], [10, 5], [0, 5]]}
    assert results["lines"][1]["polygon"] == [[0, 10], [20, 10], [20, 15], [0, 15]]


@pytest.mark.parametrize("keypoints", [
    [{"label": "left_shoulder", "x": 1, "y": 2, "score": 90}, {"label": "right_shoulder", "x": 3, "y": 4, "score": 80}],
    [{"name": "Left Shoulder", "x": 1, "y": 2, "score": 90}, {"name": "right-shoulder", "x": 3, "y": 4, "score": 80}],
    {"leftShoulder": {"x": 1, "y": 2, "score": 90}, "rightShoulder": [3, 4, 80]},
])
def test_pose_is_read_from_any_of_the_plausible_shapes(keypoints):
    results, _ = normalize("keypoints", [{"score": 75, "keypoints": keypoints}])
    assert results["people"] == [{"score": 0.75, "keypoints": [
        {"name": "left_shoulder", "x": 1, "y": 2, "score": 0.9}, {"name": "right_shoulder", "x": 3, "y": 4, "score": 0.8}]}]
    assert results["skeleton"] == [["left_shoulder", "right_shoulder"]]  # only bones whose two ends were found


def test_pose_without_scores_says_so():
    results, _ = normalize("keypoints", [{"keypoints": [{"label": "nose", "x": 1, "y": 2}]}])
    assert results["people"] == [{"score": None, "keypoints": [{"name": "nose", "x": 1, "y": 2, "score": None}]}]


def test_background_removal_png_is_decoded():
    png = image_bytes("PNG")
    for encoded in (base64.b64encode(png).decode(), "data:image/png;base64," + base64.b64encode(png).decode()):
        assert normalize("image", [{"image": encoded}]) == ({}, png)


@pytest.mark.parametrize(("output", "raw"), [
    ("labels", {"labels": []}),
    ("labels", "dog"),
    ("labels", [["dog", 90]]),
    ("labels", [{"label": "dog"}]),
    ("labels", [{"label": "dog", "score": "90"}]),
    ("labels", [{"label": "dog", "score": True}]),
    ("labels", [{"score": 90}]),
    ("boxes", [{"label": "dog", "score": 90, "x0": 1, "y0": 2}]),
    ("polygons", [{"label": "dog", "score": 90}]),
    ("polygons", [{"label": "dog", "score": 90, "points": [{"x": 1}]}]),
    ("text", [{"label": "hi", "score": 90, "points": "0,0 1,1"}]),
    ("keypoints", [{"score": 90}]),
    ("keypoints", [{"score": 90, "keypoints": [{"x": 1, "y": 2}]}]),
    ("image", []),
    ("image", [{"image": "not base64!"}]),
    ("image", [{"image": base64.b64encode(image_bytes("JPEG")).decode()}]),
])
def test_unexpected_shapes_are_refused(output, raw):
    with pytest.raises(ShapeError):
        normalize(output, raw)
