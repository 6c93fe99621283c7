"""Test tokens (`np_test_`): sandbox answers with the live shape, never charged, never fetching; chosen errors."""

from __future__ import annotations

import base64

import pytest
from bson import ObjectId

from lib import credits, db
from lib.vision import catalog, inputs
from tests.api.test_tokens import create_token
from tests.fixtures.sentisight import image_bytes, ledger_rows

ERROR_URL = "https://sandbox.nexuspoint.invalid/error/"
LIVE_KEYS = {"model", "credits_charged", "credits_remaining", "usage_id", "engine", "image", "results"}


@pytest.fixture
def test_token(client, user) -> dict:
    """A test-mode token of `user`."""
    return create_token(client, "sandbox", mode="test")


def call(anon, secret: str, slug: str = "object-detection", **kw):
    return anon.post(f"/api/vision/{slug}", headers={"authorization": f"Bearer {secret}", **kw.pop("headers", {})}, origin=None, **kw)


def png_call(anon, secret: str, slug: str = "object-detection", data: bytes | None = None, **kw):
    return call(anon, secret, slug, data=data or image_bytes(), headers={"content-type": "image/png", **kw.pop("headers", {})}, **kw)


def balance(user: dict) -> int:
    return db.collection("users").find_one({"_id": ObjectId(user["id"])})["credits"]


def set_balance_to_zero(user: dict) -> None:
    credits.adjust(ObjectId(user["id"]), -balance(user), ObjectId(), "test: empty the balance")


def test_a_test_token_starts_np_test_and_is_listed_as_test(client, user, test_token):
    assert test_token["secret"].startswith("np_test_") and len(test_token["secret"]) == 8 + 43
    assert test_token["prefix"] == test_token["secret"][:12] and test_token["mode"] == "test"
    [row] = client.get("/api/tokens").json()["tokens"]
    assert row["mode"] == "test"


@pytest.mark.parametrize("slug", list(catalog.MODELS))
def test_every_model_answers_in_the_live_shape_for_free_at_balance_zero(anon, user, test_token, sentisight, slug):
    set_balance_to_zero(user)
    r = png_call(anon, test_token["secret"], slug)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == LIVE_KEYS | {"sandbox"} and body["sandbox"] is True
    assert body["model"] == slug and body["credits_charged"] == 0 and body["engine"] == "sandbox"
    assert body["image"] == {"width": 64, "height": 48}
    assert r.headers["x-sandbox"] == "true" and r.headers["x-credits-charged"] == "0"
    assert r.headers["x-usage-id"] == body["usage_id"]
    kind = catalog.get(slug).output
    results = body["results"]
    if kind == "labels":
        assert results["labels"] and all(0 <= label["score"] <= 1 for label in results["labels"])
        assert [lab["score"] for lab in results["labels"]] == sorted((lab["score"] for lab in results["labels"]), reverse=True)
    elif kind in ("boxes", "polygons"):
        assert results["objects"] and all(0 <= o["box"]["x0"] < o["box"]["x1"] <= 64 for o in results["objects"])
        assert kind == "boxes" or all(len(o["polygon"]) >= 3 for o in results["objects"])
    elif kind == "text":
        assert results["text"] == "\n".join(line["text"] for line in results["lines"])
        assert results["words"] and [w["text"] for w in results["words"]] == [line["text"] for line in results["lines"]]
    elif kind == "keypoints":
        assert results["people"][0]["keypoints"] and results["skeleton"]
    else:
        png = base64.b64decode(results["image"].removeprefix("data:image/png;base64,"))
        assert inputs.check_image(png).width == 64  # a real PNG of the image's size
    assert balance(user) == 0 and sentisight.requests == []


def test_the_same_image_gets_the_same_answer_and_another_image_may_not(anon, user, test_token, sentisight):
    first = png_call(anon, test_token["secret"], "general-classification").json()["results"]
    again = png_call(anon, test_token["secret"], "general-classification").json()["results"]
    other = png_call(anon, test_token["secret"], "general-classification", data=image_bytes(size=(80, 80))).json()["results"]
    assert first == again and other != first


def test_background_removal_as_png_is_a_real_transparent_png(anon, user, test_token, sentisight):
    import io

    from PIL import Image

    r = png_call(anon, test_token["secret"], "background-removal", headers={"accept": "image/png"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png" and r.headers["x-sandbox"] == "true"
    picture = Image.open(io.BytesIO(r.body))
    assert picture.mode == "RGBA" and picture.size == (64, 48)
    assert picture.getpixel((0, 0))[3] == 0 and picture.getpixel((32, 24))[3] == 255


def test_a_url_is_never_fetched(anon, user, test_token, sentisight):
    r = call(anon, test_token["secret"], json={"url": "https://example.com/street.jpg"})
    assert r.status_code == 200 and r.json()["sandbox"] is True
    assert sentisight.requests == []


@pytest.mark.parametrize(("kw", "status", "code"), [
    ({"data": b"not an image", "headers": {"content-type": "image/png"}}, 415, "unsupported_image_type"),
    ({"data": b"\x89PNG\r\n\x1a\n" + b"\x00" * 4, "headers": {"content-type": "image/png"}}, 422, "invalid_image"),
    ({"json": {"url": "http://127.0.0.1/a.png"}}, 400, "invalid_url"),
    ({"json": {"url": "https://a.example/x.png", "base64": "AAAA"}}, 400, "invalid_field"),
    ({"json": {}}, 400, "missing_image"),
])
def test_bad_input_gets_the_live_answer(anon, user, client, sentisight, kw, status, code):
    live, test = create_token(client, "live"), create_token(client, "test", mode="test")
    answers = [call(anon, t["secret"], **kw) for t in (live, test)]
    assert [(r.status_code, r.error_code) for r in answers] == [(status, code)] * 2
    assert answers[0].json()["error"]["message"] == answers[1].json()["error"]["message"]
    assert ledger_rows(user, "use") == [] and balance(user) == 50


@pytest.mark.parametrize(("code", "status"), [
    ("insufficient_credits", 402), ("token_credit_limit", 402), ("rate_limited", 429), ("image_unreadable", 422),
    ("upstream_error", 502), ("upstream_timeout", 504), ("vision_unavailable", 503),
])
def test_chosen_errors_answer_with_their_real_status_and_body(anon, user, test_token, sentisight, code, status):
    r = call(anon, test_token["secret"], json={"url": ERROR_URL + code})
    assert (r.status_code, r.error_code) == (status, code)
    assert r.headers["x-sandbox"] == "true" and r.headers["x-credits-charged"] == "0"
    error = r.json()["error"]
    if code == "insufficient_credits":
        assert error["cost"] == 2 and error["balance"] == 0
    if code == "rate_limited":
        assert int(r.headers["retry-after"]) == error["retry_after"] > 0
    if code == "token_credit_limit":
        assert {"limit", "used", "period", "resets_at"} <= set(error)
    assert balance(user) == 50 and sentisight.requests == []


def test_an_unknown_chosen_error_is_a_400_listing_the_known_ones(anon, user, test_token, sentisight):
    r = call(anon, test_token["secret"], json={"url": ERROR_URL + "teapot"})
    assert (r.status_code, r.error_code) == (400, "invalid_url") and "upstream_timeout" in r.json()["error"]["message"]


def test_the_error_url_is_just_a_url_for_a_live_token(anon, client, user, sentisight):
    live = create_token(client, "live")
    r = call(anon, live["secret"], json={"url": ERROR_URL + "upstream_error"})
    assert "x-sandbox" not in r.headers  # handed to the backend like any URL (the fake answers it)
    assert r.status_code == 200 and r.json()["credits_charged"] == 2


def test_test_calls_are_in_the_call_log_marked_test_and_out_of_the_charts(client, anon, user, test_token, sentisight):
    png_call(anon, test_token["secret"])
    call(anon, test_token["secret"], json={"url": ERROR_URL + "upstream_error"})
    [failed, ok] = client.get("/api/account/usage/calls").json()["calls"]
    assert ok["test"] is True and ok["credits"] == 0 and ok["status"] == "succeeded" and ok["token_name"] == "sandbox"
    assert failed["test"] is True and failed["status"] == "failed"
    assert isinstance(ok["latency_ms"], int) and isinstance(failed["latency_ms"], int)  # support reads it like a live call's
    [row, _] = ledger_rows(user, "use")
    assert (row["delta"], row["credits"], row["token_id"], row["token_name"]) == (0, 0, ObjectId(test_token["id"]), "sandbox")
    assert row["request_id"]
    summary = client.get("/api/account/usage?days=7").json()
    assert summary["totals"] == {"calls": 0, "credits": 0, "failed": 0}


def test_test_calls_stay_out_of_the_admin_figures(anon, admin_client, sentisight):
    token = create_token(admin_client, "admin sandbox", mode="test")
    assert png_call(anon, token["secret"]).status_code == 200
    usage = admin_client.get("/api/admin/stats?days=7").json()["usage"]
    assert usage["totals"] == {"calls": 0, "credits": 0, "failed": 0}


def test_no_low_credit_mail_from_test_calls(anon, user, test_token, sentisight):
    credits.adjust(ObjectId(user["id"]), -40, ObjectId(), "test: just above the threshold")
    for _ in range(3):
        assert png_call(anon, test_token["secret"]).status_code == 200
    assert db.collection("outbox").count_documents({"template": "low_credits"}) == 0


def test_a_test_call_costs_two_database_commands(anon, user, test_token, sentisight, mongo_commands):
    assert png_call(anon, test_token["secret"]).status_code == 200
    # the token check, then the call-log row
    assert mongo_commands.counted() == ["findAndModify", "insert"]


def test_options_apply_to_sandbox_results_as_to_live_ones(anon, user, test_token):
    every = png_call(anon, test_token["secret"], "general-classification").json()["results"]["labels"]
    [best] = png_call(anon, test_token["secret"], "general-classification", query={"max_results": "1"}).json()["results"]["labels"]
    assert len(every) > 1 and best == every[0]
    confident = png_call(anon, test_token["secret"], "general-classification", query={"min_confidence": str(every[0]["score"])})
    assert [label["score"] for label in confident.json()["results"]["labels"]] == [every[0]["score"]]
