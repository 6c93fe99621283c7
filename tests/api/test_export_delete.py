"""Privacy rights: the export holds everything about a person and no secret; deletion leaves nothing linked."""

from __future__ import annotations

import hashlib
import sys
import types
from datetime import UTC, datetime

import bson
import pytest
from bson import ObjectId

from lib import contact, credits, db, ratelimit
from lib.accounts import login as login_module
from tests.fixtures.accounts import PASSWORD, make_admin, sign_up
from tests.fixtures.ledger import record_call


def insert_payment(user_id, status="succeeded", amount_cents=900, pack=("starter", "Starter", 100)) -> dict:
    """A payment document of the contract's shape (lib/billing writes these in production)."""
    now = datetime.now(UTC)
    doc = {
        "user_id": user_id, "session_id": f"cs_test_{ObjectId()}", "payment_intent_id": f"pi_{ObjectId()}",
        "pack_id": pack[0], "pack_name": pack[1], "credits": pack[2], "amount_cents": amount_cents, "currency": "usd",
        "status": status, "refunded_cents": 0, "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030},
        "created_at": now, "updated_at": now, "succeeded_at": now,
    }
    doc["_id"] = db.collection("payments").insert_one(doc).inserted_id
    return doc


@pytest.fixture
def person(client, anon, new_client):
    """An account with something in every collection that can hold their data."""
    email = "ada@example.com"
    # A message sent before signing up: linked by email only.
    assert anon.post("/api/contact", json={"name": "Ada", "email": email, "message": "Do you have a free tier?"}).status_code == 201
    user = sign_up(client, email=email, company="Analytical Engines")
    uid = ObjectId(user["id"])
    token = client.post("/api/tokens", json={"name": "nightly"}).json()["token"]
    payment = insert_payment(uid)
    credits.grant(uid, 100, "purchase", payment_id=payment["_id"])
    used = record_call(uid, 2, model="general-classification", source="api", token_id=ObjectId(token["id"]), image_url="https://img.example/a.jpg")
    record_call(uid, 3, model="text-recognition", source="dashboard", failure="upstream timeout")
    assert client.post("/api/contact", json={"name": "Ada L.", "email": "ada.work@example.com", "message": "Invoice please"}).status_code == 201
    assert anon.post("/api/auth/forgot", json={"email": email}).status_code == 202
    assert anon.post("/api/auth/login", json={"email": email, "password": "wrong password!"}).status_code == 401
    admin = new_client()
    admin.user = sign_up(admin)
    make_admin(admin.user["email"])
    assert admin.post("/api/admin/credits", json={"user_id": user["id"], "amount": 5, "reason": "goodwill"}).status_code == 201
    db.collection("users").update_one({"_id": uid}, {"$set": {"stripe_customer_id": "cus_test_ada", "auto_topup": {
        "enabled": True, "active": True, "pack_id": "starter", "threshold": 20, "ceiling_cents": 5000, "payment_method_id": "pm_test_ada",
        "failures": 0, "month": "2026-12", "month_cents": 900}}})
    return {"user": user, "uid": uid, "email": email, "token": token, "payment": payment, "use": used}


def test_export_is_a_dated_download_of_everything(client, person):
    r = client.get("/api/account/export")
    assert r.status_code == 200, r.text
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert r.headers["content-disposition"] == f'attachment; filename="nexuspoint-export-{today}.json"'
    assert r.headers["content-type"] == "application/json"
    data = r.json()
    assert data["format_version"] == 1 and data["exported_at"].startswith(today)
    profile = data["profile"]
    assert profile["email"] == "ada@example.com" and profile["company"] == "Analytical Engines"
    assert profile["first_name"] == "Ada" and profile["credits"] == 50 + 100 - 2 + 5
    assert profile["notifications"] == {"email": True, "usage_alerts": True, "security_alerts": True, "marketing": False}
    [token] = data["tokens"]
    assert set(token) == {"id", "name", "prefix", "mode", "models", "credit_limit", "expires_at", "created_at", "last_used_at", "active"}
    assert token["name"] == "nightly" and token["prefix"] == person["token"]["prefix"] and token["mode"] == "live"
    # The signed-in sessions as Settings lists them (this client's is one), without the cookie's hash.
    assert data["sessions"] and all(set(s) == {"id", "user_agent", "ip", "started_at", "last_seen_at"} for s in data["sessions"])
    assert profile["two_factor_enabled"] is False
    # Sign-up recorded its network: when it last signed in is theirs to see (its keyed name tells nothing more).
    assert len(profile["known_networks_last_sign_in"]) == 1
    # Auto top-up as the person set it; the saved card's Stripe id and the job's bookkeeping stay out.
    assert profile["auto_topup"] == {"enabled": True, "pack_id": "starter", "threshold": 20, "ceiling_cents": 5000,
                                     "month": "2026-12", "month_cents": 900}
    kinds = sorted(row["kind"] for row in data["ledger"])
    assert kinds == ["adjustment", "purchase", "refund", "signup_bonus", "use", "use"]
    use = next(row for row in data["ledger"] if row["id"] == str(person["use"]["_id"]))
    assert use["image_url"] == "https://img.example/a.jpg" and use["token_id"] == person["token"]["id"] and use["source"] == "api"
    assert sum(row["delta"] for row in data["ledger"]) == profile["credits"]
    adjustment = next(row for row in data["ledger"] if row["kind"] == "adjustment")
    assert adjustment["reason"] == "goodwill" and "admin_id" not in adjustment
    [payment] = data["payments"]
    assert payment["amount_cents"] == 900 and payment["card"]["last4"] == "4242" and payment["session_id"] == person["payment"]["session_id"]
    # Only what they sent signed in: the message sent to support from this address before signing up is not provably theirs.
    [message] = data["messages"]
    assert message["message"] == "Invoice please" and message["email"] == "ada.work@example.com"
    # Their requests in the server log (90 days), and what administrators did to the account, without naming the admin.
    [logged] = [row for row in data["request_log"] if row["path"] == "/api/tokens"]
    assert set(logged) == {"id", "ip", "method", "path", "status", "user_agent", "referrer", "created_at"}
    assert logged["ip"] == "203.0.113.7" and logged["method"] == "POST" and logged["status"] == 201
    [audit] = data["audit"]
    assert set(audit) == {"id", "action", "before", "after", "created_at"}
    assert audit["action"] == "credits.adjust" and audit["after"]["reason"] == "goodwill" and audit["after"]["delta"] == 5


def test_export_lists_only_this_accounts_log_rows_and_audit_entries(client, new_client, person):
    other = new_client()
    someone = sign_up(other, email="someone.else@example.com")
    other.post("/api/tokens", json={"name": "theirs"})
    admin = new_client()
    make_admin(sign_up(admin)["email"])
    assert admin.post("/api/admin/credits", json={"user_id": someone["id"], "amount": 7, "reason": "not ada"}).status_code == 201
    db.collection("request_log").update_many({}, {"$set": {"duration_ms": 1.5, "model": "x"}})  # fields outside the allow-list
    ours = {str(r["_id"]) for r in db.collection("request_log").find({"user_id": person["uid"]})}
    r = client.get("/api/account/export")
    data = r.json()
    assert {row["id"] for row in data["request_log"]} == ours and ours
    assert all(set(row) == {"id", "ip", "method", "path", "status", "user_agent", "referrer", "created_at"} for row in data["request_log"])
    assert [a["after"]["reason"] for a in data["audit"]] == ["goodwill"]
    for row in db.collection("audit").find():
        assert row["admin_email"] not in r.text and str(row["admin_id"]) not in r.text


def test_a_strangers_messages_from_this_address_are_neither_exported_nor_erased(client, anon, new_client):
    """Registering someone else's (unverified) address must not hand over, or let one erase, their messages."""
    assert anon.post("/api/contact", json={"name": "Victim", "email": "victim@example.com", "message": "My private question"}).status_code == 201
    impostor = new_client()
    sign_up(impostor, email="victim@example.com")
    data = impostor.get("/api/account/export").json()
    assert data["messages"] == [] and "My private question" not in impostor.get("/api/account/export").text
    assert impostor.delete("/api/account", json={"password": PASSWORD}).status_code == 204
    [message] = db.collection("messages").find()
    assert message["name"] == "Victim" and message["email"] == "victim@example.com" and "anonymised_at" not in message


def test_export_holds_no_secret(client, person):
    text = client.get("/api/account/export").text
    stored = db.collection("users").find_one({"_id": person["uid"]})
    assert stored["password_hash"] not in text and "$2b$" not in text and PASSWORD not in text
    assert person["token"]["secret"] not in text
    assert "pm_test_ada" not in text
    assert db.collection("tokens").find_one()["hash"] not in text
    assert db.collection("reset_tokens").find_one()["hash"] not in text
    for key in ('"password_hash"', '"hash"', '"session_version"', '"rl_count"', '"user_id"'):
        assert key not in text


def test_export_is_for_the_signed_in_dashboard_only(client, anon, person):
    assert anon.get("/api/account/export").status_code == 401
    r = client.get("/api/account/export", headers={"Authorization": f"Bearer {person['token']['secret']}"}, cookies=False, origin=None)
    assert r.status_code == 401 and r.error_code == "session_required"


def test_delete_needs_the_right_password(client, person):
    for body in ({"password": "not my password"}, {"password": {"$ne": None}}, {}):
        r = client.delete("/api/account", json=body)
        assert r.status_code == 400 and r.error_code == "wrong_password", body
    assert client.delete("/api/account", json={"password": PASSWORD, "also": 1}).error_code == "unknown_field"
    assert client.get("/api/auth/me").status_code == 200
    assert db.collection("users").count_documents({"_id": person["uid"]}) == 1


def test_repeated_wrong_passwords_are_rate_limited(client, person):
    for _ in range(10):
        client.delete("/api/account", json={"password": "guess guess"})
    r = client.delete("/api/account", json={"password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


def test_delete_from_another_site_is_refused(client, person):
    assert client.delete("/api/account", json={"password": PASSWORD}, origin="http://evil.example").status_code == 403
    assert db.collection("users").count_documents({"_id": person["uid"]}) == 1


def test_deletion_leaves_nothing_linked_and_keeps_the_books(client, anon, person):
    uid, email = person["uid"], person["email"]
    assert ratelimit.count(f"login:{email}:203.0.113.7", login_module.FAILURE_WINDOW)[0] == 1
    assert ratelimit.count(contact.mail_counter_key(email), contact.MAIL_WINDOW)[0] == 1
    old_cookie = dict(client.cookies)
    ledger_before = list(db.collection("ledger").find({"user_id": uid}).sort("_id", 1))

    r = client.delete("/api/account", json={"password": PASSWORD})
    assert r.status_code == 204, r.text
    assert any(c.startswith("np_session=;") and "Max-Age=0" in c for c in r.cookies)
    assert client.cookies == {}

    # The person: gone, with everything that could sign in as them.
    assert db.collection("users").find_one({"$or": [{"_id": uid}, {"email": email}]}) is None
    assert db.collection("tokens").count_documents({"user_id": uid}) == 0
    assert db.collection("reset_tokens").count_documents({"user_id": uid}) == 0
    assert ratelimit.count(f"login:{email}:203.0.113.7", login_module.FAILURE_WINDOW)[0] == 0
    assert ratelimit.count(contact.mail_counter_key(email), contact.MAIL_WINDOW)[0] == 0
    assert db.collection("outbox").count_documents({"to": email}) == 0
    assert db.collection("request_log").count_documents({"user_id": uid}) == 0

    # The books: the same rows, now under one opaque id that is nobody.
    ledger_after = list(db.collection("ledger").find({"_id": {"$in": [row["_id"] for row in ledger_before]}}).sort("_id", 1))
    assert len(ledger_after) == len(ledger_before) == 6
    opaque = {row["user_id"] for row in ledger_after}
    assert len(opaque) == 1 and opaque != {uid}
    [anon_id] = opaque
    assert db.collection("users").find_one({"_id": anon_id}) is None
    assert [r["delta"] for r in ledger_after] == [r["delta"] for r in ledger_before]
    use = next(r for r in ledger_after if r["_id"] == person["use"]["_id"])
    assert use["model"] == "general-classification" and use["credits"] == 2 and use["source"] == "api" and use["created_at"]
    assert "image_url" not in use and "token_id" not in use
    assert all("failure" not in r and "image_url" not in r for r in ledger_after)
    assert db.collection("ledger").count_documents({"user_id": uid}) == 0
    assert credits.reconcile() == []

    # Payments are kept for seven years, unlinked the same way, without card details.
    payment = db.collection("payments").find_one({"_id": person["payment"]["_id"]})
    assert payment["user_id"] == anon_id and payment["amount_cents"] == 900 and payment["status"] == "succeeded"
    assert "card" not in payment

    # Messages sent signed in are kept for support, with no name, address or account. The one sent
    # signed out before signing up was never linked to the account (its address was unverified): it stays.
    [sent_signed_in] = db.collection("messages").find({"message": "Invoice please"})
    assert sent_signed_in["email"] is None and sent_signed_in["name"] is None and "user_id" not in sent_signed_in
    [sent_signed_out] = db.collection("messages").find({"message": "Do you have a free tier?"})
    assert sent_signed_out["email"] == email and "anonymised_at" not in sent_signed_out

    # Audit rows about the person name the opaque id.
    assert db.collection("audit").count_documents({"target_user_id": uid}) == 0
    assert db.collection("audit").count_documents({"target_user_id": anon_id}) == 1

    # And no document anywhere still holds their id or address (but that signed-out message).
    database = db.database()
    for name in database.list_collection_names():
        for doc in database[name].find():
            if doc["_id"] == sent_signed_out["_id"]:
                continue
            raw = bson.encode(doc)
            assert uid.binary not in raw and email.encode() not in raw, f"{name} still holds the deleted account: {doc}"

    # Nothing can act as them any more.
    assert anon.post("/api/auth/login", json={"email": email, "password": PASSWORD}).status_code == 401
    assert anon.get("/api/auth/me", headers={"Cookie": f"np_session={old_cookie['np_session']}"}, cookies=False).status_code == 401
    secret = person["token"]["secret"]
    assert anon.get("/api/account/balance", headers={"Authorization": f"Bearer {secret}"}, cookies=False, origin=None).status_code == 401


def test_the_email_can_register_again_and_starts_empty_without_a_second_bonus(client, new_client, person):
    assert client.delete("/api/account", json={"password": PASSWORD}).status_code == 204
    again = new_client()
    user = sign_up(again, email=person["email"].upper())
    assert user["credits"] == 0 and user["id"] != str(person["uid"])
    data = again.get("/api/account/export").json()
    assert data["tokens"] == [] and data["payments"] == [] and data["messages"] == []
    assert data["ledger"] == []  # no bonus, so no signup_bonus row: the balance 0 is the sum of nothing
    assert credits.reconcile() == []
    [welcome] = db.collection("outbox").find({"to": person["email"], "template": "welcome"})
    assert "once per email address" in welcome["text"]


def test_free_credits_are_granted_once_per_address_and_recorded_only_as_a_hash(client, new_client, person):
    digest = hashlib.sha256(person["email"].encode()).hexdigest()
    [record] = db.collection("signup_bonuses").find({"_id": digest})
    assert set(record) == {"_id", "granted_at"}  # no address, no account id
    for _ in range(2):  # delete and register again, twice: never another bonus
        assert client.delete("/api/account", json={"password": PASSWORD}).status_code == 204
        assert sign_up(client, email=person["email"])["credits"] == 0
    assert db.collection("signup_bonuses").count_documents({}) == 2  # Ada's and the admin's from the fixture
    assert sign_up(new_client(), email="someone.new@example.com")["credits"] == 50


def test_a_taken_email_records_no_bonus(client, anon, person):
    before = db.collection("signup_bonuses").count_documents({})
    r = anon.post("/api/auth/register", json={"first_name": "E", "last_name": "V", "email": person["email"], "password": PASSWORD,
                                                      "age_confirmed": True})
    assert r.status_code == 409
    db.collection("signup_bonuses").delete_many({})  # as for an account made before bonuses were recorded
    r = anon.post("/api/auth/register", json={"first_name": "E", "last_name": "V", "email": person["email"], "password": PASSWORD,
                                                      "age_confirmed": True})
    assert r.status_code == 409
    assert db.collection("signup_bonuses").count_documents({}) == 0 < before  # rolled back with the failed insert


def test_deletion_closes_payments_not_yet_paid(client, person):
    """A Checkout tab left open must not pay into an erased account; paid ones stay as they were."""
    pending = insert_payment(person["uid"], status="pending")
    declined = insert_payment(person["uid"], status="failed")
    db.collection("payments").update_one({"_id": declined["_id"]}, {"$set": {"failure": "card_declined"}})
    assert client.delete("/api/account", json={"password": PASSWORD}).status_code == 204
    pending = db.collection("payments").find_one({"_id": pending["_id"]})
    assert pending["status"] == "failed" and pending["failure"] == "account_deleted" and pending["closed"] is True
    declined = db.collection("payments").find_one({"_id": declined["_id"]})
    assert declined["status"] == "failed" and declined["failure"] == "card_declined" and declined["closed"] is True
    paid = db.collection("payments").find_one({"_id": person["payment"]["_id"]})
    assert paid["status"] == "succeeded" and "closed" not in paid


def test_a_second_delete_with_the_old_cookie_is_401(client, person):
    cookie = client.cookies["np_session"]
    assert client.delete("/api/account", json={"password": PASSWORD}).status_code == 204
    r = client.delete("/api/account", json={"password": PASSWORD}, headers={"Cookie": f"np_session={cookie}"})
    assert r.status_code == 401


@pytest.fixture
def fake_stripe(monkeypatch, settings):
    """Stripe 'configured', with lib.billing.customers.delete_customer recorded (or failing)."""
    calls = []
    module = types.ModuleType("lib.billing.customers")

    def delete_customer(customer_id):
        calls.append(customer_id)
        if module.fail:
            raise RuntimeError("Stripe is down")

    module.delete_customer, module.fail = delete_customer, False
    monkeypatch.setitem(sys.modules, "lib.billing.customers", module)
    settings(STRIPE_SECRET_KEY="sk_test_" + hashlib.sha256(b"x").hexdigest()[:24])
    return module, calls


def test_the_stripe_customer_is_deleted_when_stripe_is_configured(client, person, fake_stripe):
    _, calls = fake_stripe
    assert client.delete("/api/account", json={"password": PASSWORD}).status_code == 204
    assert calls == ["cus_test_ada"]


def test_a_stripe_failure_does_not_stop_the_deletion(client, person, fake_stripe, caplog):
    module, calls = fake_stripe
    module.fail = True
    assert client.delete("/api/account", json={"password": PASSWORD}).status_code == 204
    assert calls == ["cus_test_ada"]
    assert db.collection("users").count_documents({"_id": person["uid"]}) == 0
    assert "cus_test_ada" in caplog.text


def test_without_stripe_no_customer_call_is_made(client, person, monkeypatch):
    calls = []
    module = types.ModuleType("lib.billing.customers")
    module.delete_customer = calls.append
    monkeypatch.setitem(sys.modules, "lib.billing.customers", module)
    assert client.delete("/api/account", json={"password": PASSWORD}).status_code == 204
    assert calls == []
