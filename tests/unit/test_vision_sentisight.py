"""SentiSight's answers turned into lib/vision/types.py shapes, and answers we refuse."""

from __future__ import annotations

import base64

import pytest

from lib.errors import ApiError
from lib.vision import sentisight
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


def test_text_words_as_given_and_lines_grouped_in_reading_order():
    raw = [{"label": "world", "score": 80, "x0": 60, "y0": 1, "x1": 100, "y1": 11},  # same line as HELLO, right of it
           {"label": "second line", "score": 90, "x0": 0, "y0": 20, "x1": 90, "y1": 30},
           {"label": "HELLO", "score": 100, "points": [[0, 0], [50, 0], [50, 10], [0, 10]]}]
    results, _ = normalize("text", raw)
    assert [w["text"] for w in results["words"]] == ["world", "second line", "HELLO"]
    assert results["words"][0]["polygon"] == [[60, 1], [100, 1], [100, 11], [60, 11]]
    assert results["lines"] == [{"text": "HELLO world", "score": 0.9, "polygon": [[0, 0], [100, 0], [100, 11], [0, 11]]},
                                {"text": "second line", "score": 0.9, "polygon": [[0, 20], [90, 20], [90, 30], [0, 30]]}]
    assert results["text"] == "HELLO world\nsecond line"


def test_pose_returns_however_many_points_come_named_when_known():
    coco = [{"x": i, "y": i, "score": 50} for i in range(17)]  # unnamed: COCO's order
    results, _ = normalize("keypoints", [{"score": 80, "keypoints": coco}])
    names = [k["name"] for k in results["people"][0]["keypoints"]]
    assert names[0] == "nose" and names[-1] == "right_ankle" and ["left_shoulder", "right_shoulder"] in results["skeleton"]
    results, _ = normalize("keypoints", [{"score": 80, "keypoints": [{"x": i, "y": i} for i in range(21)]}])
    assert [k["name"] for k in results["people"][0]["keypoints"]][:2] == ["keypoint_0", "keypoint_1"]
    assert len(results["people"][0]["keypoints"]) == 21 and results["skeleton"] == []


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
    ("keypoints", [{"score": 90, "keypoints": [{"name": "nose", "y": 2}]}]),
    ("polygons", [{"label": "dog", "score": 90, "x0": 1, "y0": 2, "x1": 3, "y1": 4, "points": []}]),  # charged for no outline
    ("polygons", [{"label": "dog", "score": 90, "x0": 1, "y0": 2, "x1": 3, "y1": 4}]),
    ("image", []),
    ("image", [{"image": "not base64!"}]),
    ("image", [{"image": base64.b64encode(image_bytes("JPEG")).decode()}]),
])
def test_unexpected_shapes_are_refused(output, raw):
    with pytest.raises(ShapeError):
        normalize(output, raw)


@pytest.mark.parametrize(("tag", "code"), [("zh-Hans", "ch_sim"), ("zh-Hant", "ch_tra"), ("sr-Latn", "rs_latin"), ("sr", "rs_cyrillic"),
                                           ("pt-BR", "pt"), ("DE", "de"), ("ch_sim", "ch_sim"), ("en_US", "en")])
def test_ocr_language_tags_become_easyocr_codes(tag, code):
    assert sentisight.prepare("text-recognition", None, {"lang": tag})[1] == {"lang": code}


def test_an_unknown_ocr_language_is_refused_with_the_supported_list():
    with pytest.raises(ApiError) as caught:
        sentisight.prepare("text-recognition", None, {"lang": "xx-Latn"})
    assert (caught.value.status, caught.value.code, caught.value.extra.get("field")) == (400, "invalid_parameter", "lang")
    assert "ch_sim" in caught.value.message and "rs_latin" in caught.value.message
