"""What each model answers, in the shapes the pages draw, and the usage row a call leaves."""

from __future__ import annotations

import base64
import io

import pytest
from bson import ObjectId
from PIL import Image

from lib.vision import catalog
from tests.fixtures.sentisight import image_bytes, ledger_rows

SIZE = (200, 100)


def call(client, slug: str, **kw):
    return client.post(f"/api/vision/{slug}", files={"image": ("a.png", image_bytes("PNG", SIZE), "image/png")}, **kw)


@pytest.mark.parametrize("slug", list(catalog.MODELS))
def test_every_model_charges_its_cost_and_reports_it(client, user, sentisight, slug):
    cost = catalog.get(slug).cost
    r = call(client, slug)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == slug and body["engine"] == "sentisight"
    assert body["credits_charged"] == cost and body["credits_remaining"] == 50 - cost
    assert r.headers["x-credits-charged"] == str(cost) and r.headers["x-credits-remaining"] == str(50 - cost)
    assert body["image"] == {"width": 200, "height": 100}
    assert "raw" not in body
    [use] = ledger_rows(user, "use")
    assert str(use["_id"]) == body["usage_id"] == r.headers["x-usage-id"]
    assert sentisight.requests[0]["model"] == catalog.get(slug).sentisight_name


def test_classification_labels_best_first_scores_as_fractions(client, user, sentisight):
    labels = call(client, "nsfw-classification").json()["results"]["labels"]
    assert labels == [{"label": "safe", "score": 0.968}, {"label": "unsafe", "score": 0.032}]


def test_detection_boxes_in_pixels_of_the_image(client, user, sentisight):
    objects = call(client, "object-detection").json()["results"]["objects"]
    assert objects[0] == {"label": "person", "score": 0.912, "box": {"x0": 20, "y0": 20, "x1": 90, "y1": 95}}
    assert all(0 <= o["box"]["x0"] < o["box"]["x1"] <= 200 and 0 <= o["box"]["y0"] < o["box"]["y1"] <= 100 for o in objects)


def test_segmentation_polygons(client, user, sentisight):
    person = call(client, "instance-segmentation").json()["results"]["objects"][0]
    assert person["label"] == "person" and person["box"] == {"x0": 20, "y0": 20, "x1": 90, "y1": 95}
    assert len(person["polygon"]) == 8 and all(len(point) == 2 for point in person["polygon"])


def test_text_lines(client, user, sentisight):
    results = call(client, "text-recognition").json()["results"]
    assert results["text"] == "NEXUSPOINT\nComputer vision by the credit"
    assert results["lines"][0]["score"] == 0.975 and len(results["lines"][0]["polygon"]) == 4


def test_pose_keypoints_and_skeleton(client, user, sentisight):
    results = call(client, "pose-estimation").json()["results"]
    [person] = results["people"]
    assert person["score"] == 0.894 and len(person["keypoints"]) == 17
    assert person["keypoints"][0] == {"name": "nose", "x": 55, "y": 26, "score": 0.88}
    assert ["left_shoulder", "right_shoulder"] in results["skeleton"] and len(results["skeleton"]) == 19


def _png_size(data: bytes) -> tuple[int, int]:
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG" and image.mode == "RGBA"
    return image.size


def test_background_removal_as_a_data_url(client, user, sentisight):
    url = call(client, "background-removal").json()["results"]["image"]
    assert url.startswith("data:image/png;base64,")
    assert _png_size(base64.b64decode(url.split(",", 1)[1])) == SIZE


@pytest.mark.parametrize("how", [{"query": {"format": "png"}}, {"headers": {"accept": "image/png"}}])
def test_background_removal_as_png_with_credit_headers(client, user, sentisight, how):
    r = call(client, "background-removal", **how)
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    assert _png_size(r.body) == SIZE
    assert r.headers["x-credits-charged"] == "5" and r.headers["x-credits-remaining"] == "45"


def test_accepting_json_and_png_gets_json(client, user, sentisight):
    r = call(client, "background-removal", headers={"accept": "application/json, image/png"})
    assert r.headers["content-type"] == "application/json"


def test_raw_adds_sentisights_own_answer(client, user, sentisight):
    body = call(client, "object-detection", query={"raw": "1"}).json()
    assert body["raw"][0] == {"label": "person", "score": 91.2, "x0": 20, "y0": 20, "x1": 90, "y1": 95}


def test_dashboard_usage_row(client, user, sentisight):
    call(client, "object-detection")
    client.post("/api/vision/general-classification", json={"url": "https://example.com/secret-holiday.jpg"})
    detection, classification = ledger_rows(user, "use")
    assert detection["user_id"] == ObjectId(user["id"])
    assert {k: detection[k] for k in ("kind", "model", "credits", "delta", "source", "status", "balance_after")} == {
        "kind": "use", "model": "object-detection", "credits": 2, "delta": -2, "source": "dashboard", "status": "succeeded", "balance_after": 48}
    assert detection["created_at"] is not None
    # the policy keeps image URLs for API calls only, and never the image itself
    for row in (detection, classification):
        assert "image_url" not in row and "token_id" not in row
        assert not any(isinstance(v, bytes) for v in row.values())


def test_models_listing_says_who_serves_each_model(anon, sentisight):
    r = anon.get("/api/vision/models")
    assert r.status_code == 200
    models = {m["slug"]: m for m in r.json()["models"]}
    assert list(models) == list(catalog.MODELS)
    for slug, m in models.items():
        assert m["cost"] == catalog.get(slug).cost and m["name"] and m["description"]
        assert (m["backend"], m["available"], m["engine"], m["reason"]) == ("sentisight", True, "sentisight", None)
    assert models["text-recognition"]["options"] == ["lang"]


def test_models_listing_without_a_token(anon, settings):
    settings(VISION_BACKEND="sentisight", SENTISIGHT_API_TOKEN=None)
    models = anon.get("/api/vision/models").json()["models"]
    assert all(not m["available"] and "SENTISIGHT_API_TOKEN" in m["reason"] for m in models)
