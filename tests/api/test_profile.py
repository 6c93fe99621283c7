"""GET/PATCH /api/account/profile: names, company and the four notification preferences."""

from __future__ import annotations

import pytest
from bson import ObjectId

from lib import db
from tests.fixtures.accounts import sign_up

DEFAULTS = {"email": True, "usage_alerts": True, "security_alerts": True, "marketing": False}
INJECTIONS = [{"$ne": None}, {"$set": {"role": "admin"}}, ["x"], [], {}, 1, True]


def stored(user) -> dict:
    return db.collection("users").find_one({"_id": ObjectId(user["id"])})


def test_get_shows_the_profile_with_marketing_off(client, user):
    r = client.get("/api/account/profile")
    assert r.status_code == 200
    profile = r.json()["user"]
    assert profile == client.get("/api/auth/me").json()["user"]
    assert profile["notifications"] == DEFAULTS
    assert "password_hash" not in r.text and "$2b$" not in r.text


def test_profile_needs_a_session(anon):
    assert anon.get("/api/account/profile").status_code == 401
    assert anon.patch("/api/account/profile", json={"company": "X"}).status_code == 401


def test_profile_is_for_the_dashboard_not_api_tokens(anon):
    r = anon.get("/api/account/profile", headers={"Authorization": "Bearer np_anything"})
    assert r.status_code == 401 and r.error_code == "session_required"


def test_patch_updates_names_and_company_trimmed(client, user):
    r = client.patch("/api/account/profile", json={"first_name": "  Augusta ", "last_name": "King ", "company": " Babbage & Co "})
    assert r.status_code == 200, r.text
    profile = r.json()["user"]
    assert (profile["first_name"], profile["last_name"], profile["company"]) == ("Augusta", "King", "Babbage & Co")
    assert client.get("/api/account/profile").json()["user"] == profile
    doc = stored(user)
    assert doc["first_name"] == "Augusta" and doc["updated_at"] >= doc["created_at"]
    assert profile["email"] == user["email"] and profile["credits"] == 50  # untouched


@pytest.mark.parametrize("empty", ["", "   ", None])
def test_company_can_be_cleared(client, user, empty):
    client.patch("/api/account/profile", json={"company": "Something"})
    r = client.patch("/api/account/profile", json={"company": empty})
    assert r.status_code == 200 and r.json()["user"]["company"] == ""


def test_patch_changes_only_the_preferences_named(client, user):
    r = client.patch("/api/account/profile", json={"notifications": {"marketing": True}})
    assert r.status_code == 200 and r.json()["user"]["notifications"] == {**DEFAULTS, "marketing": True}
    r = client.patch("/api/account/profile", json={"notifications": {"usage_alerts": False, "security_alerts": False}})
    assert r.json()["user"]["notifications"] == {"email": True, "usage_alerts": False, "security_alerts": False, "marketing": True}
    r = client.patch("/api/account/profile", json={"notifications": {"email": False, "marketing": False}})
    assert r.json()["user"]["notifications"] == {"email": False, "usage_alerts": False, "security_alerts": False, "marketing": False}
    assert stored(user)["notifications"] == r.json()["user"]["notifications"]
    assert client.get("/api/auth/me").json()["user"]["notifications"] == r.json()["user"]["notifications"]


def test_an_empty_patch_changes_nothing(client, user):
    r = client.patch("/api/account/profile", json={})
    assert r.status_code == 200 and r.json()["user"]["first_name"] == "Ada"


@pytest.mark.parametrize("body,code,field", [
    ({"first_name": ""}, "missing_field", "first_name"),
    ({"last_name": None}, "missing_field", "last_name"),
    ({"first_name": "x" * 81}, "field_too_long", "first_name"),
    ({"last_name": "x" * 81}, "field_too_long", "last_name"),
    ({"company": "x" * 121}, "field_too_long", "company"),
    ({"first_name": "A\x00B"}, "invalid_field", "first_name"),
    ({"email": "new@example.com"}, "unknown_field", "email"),
    ({"role": "admin"}, "unknown_field", "role"),
    ({"credits": 1_000_000}, "unknown_field", "credits"),
    ({"password_hash": "$2b$04$..."}, "unknown_field", "password_hash"),
    ({"sessions": []}, "unknown_field", "sessions"),
    ({"two_factor": None}, "unknown_field", "two_factor"),
    ({"notifications": {"newsletter": True}}, "unknown_field", "newsletter"),
    ({"notifications": {"marketing": "yes"}}, "invalid_field", "marketing"),
    ({"notifications": {"marketing": 1}}, "invalid_field", "marketing"),
    ({"notifications": {"marketing": None}}, "invalid_field", "marketing"),
    ({"notifications": ["marketing"]}, "invalid_field", "notifications"),
    ({"notifications": True}, "invalid_field", "notifications"),
    ({"notifications": None}, "invalid_field", "notifications"),
])
def test_bad_patches_are_400_and_change_nothing(client, user, body, code, field):
    before = stored(user)
    r = client.patch("/api/account/profile", json={"company": "Changed", **body})
    assert r.status_code == 400 and r.error_code == code and r.json()["error"]["field"] == field, r.text
    after = stored(user)
    assert after == before


@pytest.mark.parametrize("field", ["first_name", "last_name", "company", "notifications.email", "notifications.usage_alerts",
                                   "notifications.security_alerts", "notifications.marketing"])
def test_objects_and_arrays_in_any_field_are_a_400(client, user, field):
    before = stored(user)
    for value in INJECTIONS:
        if field.startswith("notifications."):
            body = {"notifications": {field.split(".")[1]: value}}
            if isinstance(value, bool):
                continue  # a boolean is what belongs there
        else:
            body = {field: value}
        r = client.patch("/api/account/profile", json=body)
        assert r.status_code == 400, (field, value, r.text)
    assert stored(user) == before


def test_a_patch_touches_only_the_callers_account(client, user, new_client):
    other_client = new_client()
    other = sign_up(other_client, email="other@example.com")
    client.patch("/api/account/profile", json={"first_name": "Changed", "notifications": {"marketing": True}})
    assert other_client.get("/api/account/profile").json()["user"]["first_name"] == "Ada"
    assert stored(other)["notifications"]["marketing"] is False
