"""The dashboard's token routes: create (shown once), list, rename, pause, resume, delete."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

import bson
import pytest

from lib import db
from tests.fixtures.accounts import sign_up

LIST_KEYS = {"id", "name", "prefix", "mode", "models", "credit_limit", "expires_at", "expired", "created_at", "last_used_at", "active"}


def create_token(client, name: str = "my script", **settings) -> dict:
    """A new token through the dashboard route; the result carries the one-time `secret`."""
    r = client.post("/api/tokens", json={"name": name, **settings})
    assert r.status_code == 201, r.text
    return r.json()["token"]


def with_token(client, method: str, path: str, secret: str, **kw):
    """A script's request: Bearer token, no cookie, no Origin."""
    return client.request(method, path, headers={"Authorization": f"Bearer {secret}"}, cookies=False, origin=None, **kw)


def test_create_shows_the_token_once_and_lists_it_without_it(client, user):
    token = create_token(client, "CI pipeline")
    secret = token["secret"]
    assert secret.startswith("np_live_") and len(secret) == 8 + 43
    assert token["prefix"] == secret[:12] and token["name"] == "CI pipeline"
    assert token["active"] is True and token["last_used_at"] is None

    listed = client.get("/api/tokens").json()
    assert listed["limit"] == 10
    [row] = listed["tokens"]
    assert set(row) == LIST_KEYS
    assert row["id"] == token["id"] and row["prefix"] == secret[:12]
    assert secret not in client.get("/api/tokens").text


def test_only_the_hash_is_stored_anywhere(client, user):
    secret = create_token(client)["secret"]
    assert with_token(client, "GET", "/api/account/balance", secret).status_code == 200
    stored = db.collection("tokens").find_one()
    assert stored["hash"] == hashlib.sha256(secret.encode()).hexdigest()
    random_part = secret[len("np_live_"):].encode()
    database = db.database()
    scanned = 0
    for name in database.list_collection_names():
        for doc in database[name].find():
            scanned += 1
            assert random_part not in bson.encode(doc), f"the token's value is stored in {name}"
    assert scanned > 3  # users, ledger, tokens, outbox, request_log were all looked at


def test_tokens_are_listed_newest_first_and_each_has_its_own_prefix(client, user):
    first, second = create_token(client, "one"), create_token(client, "two")
    rows = client.get("/api/tokens").json()["tokens"]
    assert [r["name"] for r in rows] == ["two", "one"]
    assert first["prefix"] != second["prefix"]


def test_using_a_token_records_when(client, user):
    secret = create_token(client)["secret"]
    with_token(client, "GET", "/api/account/balance", secret)
    [row] = client.get("/api/tokens").json()["tokens"]
    assert row["last_used_at"] and row["last_used_at"].endswith("Z")


def test_rename_pause_resume(client, user):
    token = create_token(client)
    path = f"/api/tokens/{token['id']}"
    r = client.patch(path, json={"name": "  nightly batch  "})
    assert r.status_code == 200 and r.json()["token"]["name"] == "nightly batch"
    assert "secret" not in r.json()["token"]

    assert client.patch(path, json={"active": False}).json()["token"]["active"] is False
    paused = with_token(client, "GET", "/api/account/balance", token["secret"])
    assert paused.status_code == 401 and paused.error_code == "invalid_token"

    assert client.patch(path, json={"active": True}).json()["token"]["active"] is True
    assert with_token(client, "GET", "/api/account/balance", token["secret"]).status_code == 200


def test_delete_takes_effect_at_once(client, user):
    token = create_token(client)
    path = f"/api/tokens/{token['id']}"
    assert client.delete(path).status_code == 204
    r = with_token(client, "GET", "/api/account/balance", token["secret"])
    assert r.status_code == 401 and r.error_code == "invalid_token"
    assert client.get("/api/tokens").json()["tokens"] == []
    assert db.collection("tokens").count_documents({}) == 0
    assert client.delete(path).status_code == 404


def test_unknown_paused_and_deleted_tokens_get_the_same_answer(client, user):
    paused, deleted = create_token(client, "paused"), create_token(client, "deleted")
    client.patch(f"/api/tokens/{paused['id']}", json={"active": False})
    client.delete(f"/api/tokens/{deleted['id']}")
    answers = [
        with_token(client, "GET", "/api/account/balance", secret)
        for secret in ("np_live_" + "A" * 43, "not-even-a-token", paused["secret"], deleted["secret"])
    ]
    assert {(r.status_code, r.body) for r in answers} == {(401, answers[0].body)}
    assert answers[0].error_code == "invalid_token"


def test_at_most_ten_tokens_and_deleting_frees_a_place(client, user):
    made = [create_token(client, f"t{i}") for i in range(10)]
    r = client.post("/api/tokens", json={"name": "eleventh"})
    assert r.status_code == 409 and r.error_code == "token_limit"
    assert client.delete(f"/api/tokens/{made[0]['id']}").status_code == 204
    create_token(client, "replacement")
    assert client.post("/api/tokens", json={"name": "twelfth"}).error_code == "token_limit"
    assert len(client.get("/api/tokens").json()["tokens"]) == 10


def test_twenty_concurrent_creates_make_exactly_ten(client, user):
    client.get("/api/tokens")  # load the function once before the threads race
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(lambda i: client.post("/api/tokens", json={"name": f"race {i}"}).status_code, range(20)))
    assert sorted(statuses) == [201] * 10 + [409] * 10
    assert db.collection("tokens").count_documents({}) == 10
    assert len(client.get("/api/tokens").json()["tokens"]) == 10


def test_another_users_token_is_not_found(client, user, new_client):
    token = create_token(client, "mine")
    other = new_client()
    sign_up(other)
    path = f"/api/tokens/{token['id']}"
    for r in (other.patch(path, json={"name": "stolen"}), other.patch(path, json={"active": False}), other.delete(path)):
        assert r.status_code == 404 and r.error_code == "not_found"
    assert other.get("/api/tokens").json()["tokens"] == []
    [row] = client.get("/api/tokens").json()["tokens"]
    assert row["name"] == "mine" and row["active"] is True
    assert with_token(client, "GET", "/api/account/balance", token["secret"]).status_code == 200


@pytest.mark.parametrize("token_id", ["nope", "123", "6b09101c4d7a3db8696dabf", "6b09101c4d7a3db8696dabf7"])
def test_malformed_or_unknown_ids_are_not_found(client, user, token_id):
    assert client.patch(f"/api/tokens/{token_id}", json={"name": "x"}).status_code == 404
    assert client.delete(f"/api/tokens/{token_id}").status_code == 404


@pytest.mark.parametrize(("body", "code"), [
    ({"name": 5}, "invalid_field"),
    ({"name": {"$ne": None}}, "invalid_field"),
    ({"name": ["a"]}, "invalid_field"),
    ({"name": "x" * 61}, "field_too_long"),
    ({"name": "   "}, "missing_field"),
    ({"name": "two\nlines"}, "invalid_field"),
    ({}, "missing_field"),
    ({"name": "ok", "scopes": ["all"]}, "unknown_field"),
])
def test_bad_create_input_is_refused(client, user, body, code):
    r = client.post("/api/tokens", json=body)
    assert r.status_code == 400 and r.error_code == code
    assert db.collection("tokens").count_documents({}) == 0


def test_a_sixty_character_name_is_fine(client, user):
    assert create_token(client, "n" * 60)["name"] == "n" * 60


@pytest.mark.parametrize(("body", "code"), [
    ({}, "missing_field"),
    ({"active": "no"}, "invalid_field"),
    ({"active": {"$ne": None}}, "invalid_field"),
    ({"name": None}, "missing_field"),
    ({"name": "x" * 61}, "field_too_long"),
    ({"hash": "0" * 64}, "unknown_field"),
])
def test_bad_update_input_is_refused(client, user, body, code):
    token = create_token(client, "kept")
    r = client.patch(f"/api/tokens/{token['id']}", json=body)
    assert r.status_code == 400 and r.error_code == code
    [row] = client.get("/api/tokens").json()["tokens"]
    assert row["name"] == "kept" and row["active"] is True


def test_token_routes_need_a_signed_in_person(anon):
    assert anon.get("/api/tokens").status_code == 401
    assert anon.post("/api/tokens", json={"name": "x"}).status_code == 401


def test_a_token_cannot_manage_tokens(client, user):
    token = create_token(client)
    for method, path, body in (
        ("GET", "/api/tokens", None),
        ("POST", "/api/tokens", {"name": "made by a script"}),
        ("PATCH", f"/api/tokens/{token['id']}", {"active": False}),
        ("DELETE", f"/api/tokens/{token['id']}", None),
    ):
        r = with_token(client, method, path, token["secret"], json=body)
        assert r.status_code == 401 and r.error_code == "session_required", (method, path)
    assert len(client.get("/api/tokens").json()["tokens"]) == 1


def test_cookie_writes_from_another_site_are_refused(client, user):
    for origin in ("http://evil.example", None):
        r = client.post("/api/tokens", json={"name": "csrf"}, origin=origin)
        assert r.status_code == 403 and r.error_code == "csrf"
    token = create_token(client)
    assert client.delete(f"/api/tokens/{token['id']}", origin="http://evil.example").status_code == 403
    assert db.collection("tokens").count_documents({}) == 1


def test_a_new_token_sends_a_security_mail(client, user):
    token = create_token(client, "deploy bot")
    [mail] = list(db.collection("outbox").find({"template": "new_token"}))
    assert mail["to"] == user["email"]
    assert "deploy bot" in mail["text"] and token["prefix"] in mail["text"]
    assert token["secret"] not in mail["text"] and token["secret"] not in mail["html"]
    assert "http://testserver/dashboard/tokens" in mail["text"]


def test_no_security_mail_when_security_alerts_are_off(client, user):
    r = client.patch("/api/account/profile", json={"notifications": {"security_alerts": False}})
    assert r.status_code == 200
    create_token(client)
    assert db.collection("outbox").count_documents({"template": "new_token"}) == 0
