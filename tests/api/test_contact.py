"""The contact form: stored, confirmed by mail, rate-limited, and strict about its input."""

from __future__ import annotations

import pytest
from bson import ObjectId

from lib import db, sessions

MESSAGE = {"name": "Grace Hopper", "email": "Grace@Example.com", "subject": "Invoice question", "message": "Could I get a VAT invoice for my last pack?"}


def test_a_message_is_stored_and_confirmed(anon):
    r = anon.post("/api/contact", json=MESSAGE)
    assert r.status_code == 201, r.text
    body = r.json()
    stored = db.collection("messages").find_one({"_id": ObjectId(body["id"])})
    assert stored["name"] == "Grace Hopper" and stored["email"] == "grace@example.com"
    assert stored["subject"] == "Invoice question" and stored["message"] == MESSAGE["message"]
    assert "user_id" not in stored and stored["created_at"]
    [mail] = list(db.collection("outbox").find({"to": "grace@example.com"}))
    assert mail["template"] == "contact_received" and mail["subject"] == "We received your message"
    assert body["reference"] in mail["text"]
    # Nothing the sender typed is echoed to the (unverified) address.
    for typed in ("Grace", "Invoice", "VAT"):
        assert typed not in mail["text"] and typed not in mail["html"]


def test_subject_is_optional(anon):
    r = anon.post("/api/contact", json={k: v for k, v in MESSAGE.items() if k != "subject"})
    assert r.status_code == 201
    assert db.collection("messages").find_one()["subject"] == ""


def test_a_signed_in_sender_is_linked_to_their_account(client, user):
    assert client.post("/api/contact", json=MESSAGE).status_code == 201
    assert db.collection("messages").find_one()["user_id"] == ObjectId(user["id"])


def test_a_forged_or_stale_cookie_is_ignored_not_trusted(anon, client, user):
    forged = anon.post("/api/contact", json=MESSAGE, headers={"Cookie": f"{sessions.COOKIE_NAME}=not.a.jwt"})
    assert forged.status_code == 201
    # A cookie whose session has ended (signed out elsewhere, password changed) links nothing either.
    db.collection("users").update_one({"_id": ObjectId(user["id"])}, {"$set": {"sessions": []}})
    assert client.post("/api/contact", json=MESSAGE, ip="198.51.100.9").status_code == 201
    assert db.collection("messages").count_documents({"user_id": {"$exists": True}}) == 0


def test_the_sender_is_found_by_the_shared_session_helper(client, user, monkeypatch):
    """One session check for open routes (lib.http.auth.optional_user), not a copy that can drift from it."""
    from lib import contact

    asked = []

    def spy(req):
        asked.append(req)
        return {"_id": ObjectId(user["id"])}

    monkeypatch.setattr(contact, "optional_user", spy)
    assert client.post("/api/contact", json=MESSAGE).status_code == 201
    assert len(asked) == 1 and db.collection("messages").find_one()["user_id"] == ObjectId(user["id"])


def test_five_an_hour_per_address_then_429(anon):
    for _ in range(5):
        assert anon.post("/api/contact", json=MESSAGE).status_code == 201
    r = anon.post("/api/contact", json=MESSAGE)
    assert r.status_code == 429 and r.error_code == "rate_limited"
    assert 0 < int(r.headers["retry-after"]) <= 3600
    assert db.collection("messages").count_documents({}) == 5
    assert anon.post("/api/contact", json=MESSAGE, ip="198.51.100.20").status_code == 201


def test_one_address_gets_at_most_three_confirmations_a_day(anon):
    for n in range(5):
        assert anon.post("/api/contact", json=MESSAGE, ip=f"198.51.100.{n + 1}").status_code == 201
    assert db.collection("messages").count_documents({}) == 5  # every message is kept
    assert db.collection("outbox").count_documents({"to": "grace@example.com"}) == 3


@pytest.mark.parametrize("field", ["name", "email", "subject", "message"])
def test_an_operator_object_in_any_field_is_400(anon, field):
    r = anon.post("/api/contact", json={**MESSAGE, field: {"$ne": None}})
    assert r.status_code == 400 and r.json()["error"]["field"] == field
    assert db.collection("messages").count_documents({}) == 0


@pytest.mark.parametrize(("field", "value", "code"), [
    ("name", "n" * 101, "field_too_long"),
    ("subject", "s" * 151, "field_too_long"),
    ("message", "m" * 5001, "field_too_long"),
    ("name", "   ", "missing_field"),
    ("message", "", "missing_field"),
    ("email", "not-an-address", "invalid_email"),
    ("email", ["a@example.com"], "invalid_field"),
    ("message", 42, "invalid_field"),
])
def test_bad_fields_are_400(anon, field, value, code):
    r = anon.post("/api/contact", json={**MESSAGE, field: value})
    assert r.status_code == 400 and r.error_code == code and r.json()["error"]["field"] == field
    assert db.collection("outbox").count_documents({}) == 0


def test_limits_are_inclusive(anon):
    r = anon.post("/api/contact", json={**MESSAGE, "name": "n" * 100, "subject": "s" * 150, "message": "m" * 5000})
    assert r.status_code == 201


@pytest.mark.parametrize("missing", ["name", "email", "message"])
def test_required_fields(anon, missing):
    r = anon.post("/api/contact", json={k: v for k, v in MESSAGE.items() if k != missing})
    assert r.status_code == 400 and r.error_code == "missing_field"


def test_unknown_fields_other_bodies_and_foreign_sites_are_refused(anon):
    assert anon.post("/api/contact", json={**MESSAGE, "user_id": "x"}).error_code == "unknown_field"
    assert anon.post("/api/contact", data="name=x", headers={"Content-Type": "application/x-www-form-urlencoded"}).status_code == 415
    assert anon.post("/api/contact", json=MESSAGE, origin="http://evil.example").status_code == 403
    assert anon.get("/api/contact").status_code == 405
    assert db.collection("messages").count_documents({}) == 0


def test_bad_input_does_not_use_up_the_allowance(anon):
    for _ in range(6):
        anon.post("/api/contact", json={**MESSAGE, "email": "nope"})
    assert anon.post("/api/contact", json=MESSAGE).status_code == 201
