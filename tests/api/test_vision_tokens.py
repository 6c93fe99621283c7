"""Vision calls from scripts with an API token (source "api"): the usage row, the caller checks, the round trips."""

from __future__ import annotations

import pytest
from bson import ObjectId

from lib import db
from tests.fixtures.sentisight import image_bytes, ledger_rows

URL = "/api/vision/object-detection"


@pytest.fixture
def token(client, user) -> dict:
    """A fresh API token of `user` (its one-time value under "secret")."""
    r = client.post("/api/tokens", json={"name": "vision tests"})
    assert r.status_code == 201, r.text
    return r.json()["token"]


def with_token(anon, secret: str, **kw):
    return anon.post(URL, headers={"authorization": f"Bearer {secret}", **kw.pop("headers", {})}, origin=None, **kw)


def test_url_call_keeps_the_url_and_the_token(anon, user, token, sentisight):
    r = with_token(anon, token["secret"], json={"url": "https://example.com/street.jpg"})
    assert r.status_code == 200, r.text
    assert r.json()["credits_remaining"] == 48
    [use] = ledger_rows(user, "use")
    assert (use["source"], use["token_id"], use["image_url"], use["status"]) == ("api", ObjectId(token["id"]), "https://example.com/street.jpg", "succeeded")


def test_uploaded_image_keeps_no_url(anon, user, token, sentisight):
    r = with_token(anon, token["secret"], data=image_bytes(), headers={"content-type": "image/png"})
    assert r.status_code == 200, r.text
    [use] = ledger_rows(user, "use")
    assert use["source"] == "api" and use["token_id"] == ObjectId(token["id"]) and "image_url" not in use


def test_a_disabled_account_cannot_spend_with_its_token(anon, user, token, sentisight):
    db.collection("users").update_one({"_id": ObjectId(user["id"])}, {"$set": {"disabled": True}})
    r = with_token(anon, token["secret"], json={"url": "https://example.com/a.jpg"})
    assert (r.status_code, r.error_code) == (401, "invalid_token")
    assert sentisight.requests == [] and ledger_rows(user, "use") == []


def test_a_deleted_token_is_refused_for_free(client, anon, user, token, sentisight):
    assert client.delete(f"/api/tokens/{token['id']}").status_code == 204
    r = with_token(anon, token["secret"], json={"url": "https://example.com/a.jpg"})
    assert (r.status_code, r.error_code) == (401, "invalid_token")
    assert sentisight.requests == [] and ledger_rows(user, "use") == []


def test_an_api_call_costs_three_database_commands(anon, user, token, sentisight, mongo_commands):
    assert with_token(anon, token["secret"], data=image_bytes(), headers={"content-type": "image/png"}).status_code == 200
    # the token check, the debit with the account check in its filter, the usage row
    assert mongo_commands.counted() == ["findAndModify", "findAndModify", "insert"]
