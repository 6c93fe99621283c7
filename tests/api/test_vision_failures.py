"""A failed call costs nothing: every fault is refunded, and refusals before the debit charge nothing."""

from __future__ import annotations

import struct
import sys
import tempfile
import zlib

import pytest
from bson import ObjectId

from lib import credits, db
from lib.vision import backends
from lib.vision import sentisight as sentisight_backend
from lib.vision.types import ModelUnavailable, Prediction
from tests.fakes.sentisight import ERROR_500_TEXT
from tests.fixtures.sentisight import image_bytes, ledger_rows

URL = "/api/vision/object-detection"


def post_image(client, path: str = URL, **kw):
    return client.post(path, data=image_bytes(), headers={"content-type": "image/png"}, **kw)


def balance(client) -> int:
    return client.get("/api/auth/me").json()["user"]["credits"]


def assert_refunded(client, user, code: str) -> None:
    """The use row is marked failed, a refund row gives the credits back, the balance is whole."""
    use, refund = ledger_rows(user, "use"), ledger_rows(user, "refund")
    assert [(u["status"], u["failure"]) for u in use] == [("failed", code)]
    assert [(r["use_id"], r["delta"], r["model"], r["source"]) for r in refund] == [(use[0]["_id"], 2, "object-detection", "dashboard")]
    assert balance(client) == 50


@pytest.mark.parametrize(("mode", "status", "code"), [
    ("http_500", 502, "upstream_error"),
    ("slow", 504, "upstream_timeout"),
    ("refused", 502, "upstream_error"),
    ("non_json", 502, "upstream_error"),
    ("wrong_shape", 502, "upstream_error"),
])
def test_every_upstream_fault_is_refunded(client, user, sentisight, mode, status, code):
    sentisight.fail(mode)
    r = post_image(client)
    assert (r.status_code, r.error_code) == (status, code), r.text
    error = r.json()["error"]
    assert "not charged" in error["message"]
    assert (error["credits_charged"], error["credits_remaining"]) == (0, 50)
    assert (r.headers["x-credits-charged"], r.headers["x-credits-remaining"]) == ("0", "50")
    assert ERROR_500_TEXT not in r.text and sentisight.token not in r.text and "Bad Gateway" not in r.text
    assert_refunded(client, user, code)


def test_slow_then_ok_recovers(client, user, sentisight):
    sentisight.fail("slow_then_ok")
    assert post_image(client).status_code == 504
    r = post_image(client)
    assert r.status_code == 200 and r.json()["credits_remaining"] == 48


def test_calls_work_again_when_sentisight_is_back(client, user, sentisight):
    sentisight.fail("refused")
    assert post_image(client).status_code == 502
    sentisight.fail(None)  # listening again on the same port
    assert post_image(client).json()["credits_remaining"] == 48


def test_sentisight_refusing_our_token_is_not_shown_to_the_caller(client, user, sentisight, settings):
    settings(SENTISIGHT_API_TOKEN="sk-wrong-token-0123")
    r = post_image(client)
    assert (r.status_code, r.error_code) == (502, "upstream_error")
    assert "sk-wrong-token-0123" not in r.text and "X-Auth-token" not in r.text
    assert_refunded(client, user, "upstream_error")


def test_an_image_sentisight_cannot_decode_is_422_and_refunded(client, user, sentisight):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header_only = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 10, 10, 8, 2, 0, 0, 0)) + chunk(b"IEND", b"")
    r = client.post(URL, data=header_only, headers={"content-type": "image/png"})
    assert (r.status_code, r.error_code) == (422, "image_unreadable"), r.text
    assert_refunded(client, user, "image_unreadable")


def test_an_unexpected_error_is_refunded_then_logged_as_500(client, user, sentisight, monkeypatch):
    def explode(*args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(sentisight_backend, "predict", explode)
    r = post_image(client)
    assert (r.status_code, r.error_code) == (500, "internal_error")
    assert "a bug" not in r.text
    assert_refunded(client, user, "internal_error")


def test_no_backend_is_503_and_free(client, user, settings, monkeypatch):
    settings(VISION_BACKEND="local")
    monkeypatch.setitem(sys.modules, "lib.vision.local", None)  # as if lib/vision/local were not there
    monkeypatch.setattr(backends, "_local_backend", None)
    r = post_image(client)
    assert (r.status_code, r.error_code) == (503, "vision_unavailable")
    assert "SENTISIGHT_API_TOKEN" in r.json()["error"]["message"]
    assert balance(client) == 50 and ledger_rows(user, "use") == []
    models = client.get("/api/vision/models").json()["models"]
    assert all(m["backend"] == "local" and not m["available"] and "can't be loaded" in m["reason"] for m in models)


class StubLocal:
    """Stands in for lib.vision.local.LocalBackend: detection is installed, pose is not."""

    def availability(self):
        return {
            "object-detection": {"available": True, "engine": "stub-onnx", "reason": None},
            "pose-estimation": {"available": False, "engine": None, "reason": "the pose model's weights are not downloaded"},
        }

    def predict(self, slug, image, options):
        if image.url:
            return Prediction(results={"objects": []}, engine="stub-onnx", extra={"width": 640, "height": 480})
        raise ModelUnavailable("The model 'object-detection' failed to load offline.")


@pytest.fixture
def stub_local(settings, monkeypatch):
    settings(VISION_BACKEND="local")
    monkeypatch.setattr(backends, "_local", lambda: (StubLocal(), None))


def test_local_model_not_installed_is_501_and_free(client, user, stub_local):
    r = post_image(client, "/api/vision/pose-estimation")
    assert (r.status_code, r.error_code) == (501, "model_unavailable_offline")
    assert "weights are not downloaded" in r.text and "SENTISIGHT_API_TOKEN" in r.text
    assert balance(client) == 50 and ledger_rows(user) == ledger_rows(user, "signup_bonus")


def test_local_model_failing_at_run_time_is_501_and_refunded(client, user, stub_local):
    r = post_image(client)
    assert (r.status_code, r.error_code) == (501, "model_unavailable_offline")
    assert_refunded(client, user, "model_unavailable_offline")


def test_local_backend_reports_the_size_of_an_image_it_fetched(client, user, stub_local):
    r = client.post(URL, json={"url": "https://example.com/a.png"})
    assert r.status_code == 200
    assert r.json()["engine"] == "stub-onnx" and r.json()["image"] == {"width": 640, "height": 480}


def test_not_enough_credits_is_402_with_balance_and_cost(client, user, sentisight):
    credits.adjust(ObjectId(user["id"]), -49, ObjectId(), "test: leave one credit")
    r = post_image(client)
    assert (r.status_code, r.error_code) == (402, "insufficient_credits")
    assert (r.json()["error"]["balance"], r.json()["error"]["cost"]) == (1, 2)
    assert sentisight.requests == [] and ledger_rows(user, "use") == []
    assert post_image(client, "/api/vision/general-classification").status_code == 200  # 1 credit is enough for 1


@pytest.mark.parametrize(("change", "code"), [
    ({"$set": {"sessions": []}}, "session_invalid"),  # e.g. the password was changed elsewhere
    ({"$set": {"disabled": True}}, "session_invalid"),
])
def test_a_session_no_longer_valid_is_401_and_free(client, user, sentisight, change, code):
    db.collection("users").update_one({"_id": ObjectId(user["id"])}, change)
    r = post_image(client)
    assert (r.status_code, r.error_code) == (401, code)
    assert sentisight.requests == [] and ledger_rows(user, "use") == []


def test_anonymous_and_cross_site_calls_are_refused(client, user, anon, sentisight):
    assert post_image(anon).error_code == "unauthenticated"
    assert post_image(client, origin="http://evil.example").error_code == "csrf"
    assert sentisight.requests == [] and ledger_rows(user, "use") == []


def test_no_temporary_files_are_written(client, user, sentisight, tmp_path, monkeypatch):
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))  # whatever uses tempfile writes here
    big = image_bytes("PNG", (1000, 800)) + b"\0" * 3_000_000  # large enough that a parser might spool it
    assert tempfile.gettempdir() == str(private_tmp)
    for kwargs in ({"files": {"image": ("big.png", big, "image/png")}}, {"data": big, "headers": {"content-type": "image/png"}}):
        assert client.post("/api/vision/background-removal", **kwargs).status_code == 200
    assert list(private_tmp.iterdir()) == []
