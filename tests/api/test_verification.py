"""Verified email (issue 17): the link, what an unverified account may not do, the once-per-address credits, mail to strangers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId

from lib import credits, db, mail, migrations
from lib.accounts.normalize import canonical_email
from tests.fixtures.accounts import PASSWORD, follow_link, link_token, sign_up
from tests.fixtures.sentisight import image_bytes

VISION = "/api/vision/object-detection"


def outbox(**query) -> list[dict]:
    return list(db.collection("outbox").find(query).sort("created_at", 1))


def stored(user: dict) -> dict:
    return db.collection("users").find_one({"_id": ObjectId(user["id"])})


@pytest.fixture
def unverified(client):
    """A signed-in person who has not followed the verification link yet."""
    return sign_up(client, email="new@example.com", verify=False)


# --- the link ------------------------------------------------------------------------------------

def test_the_link_is_single_use_and_only_its_hash_is_stored(client, anon, unverified):
    token = link_token("new@example.com")
    [row] = db.collection("email_links").find()
    assert token not in str(row) and row["purpose"] == "signup"
    assert row["expires_at"] - datetime.now(UTC) > timedelta(hours=23, minutes=59)
    r = anon.post("/api/auth/verify", json={"token": token})  # another browser: the link alone is enough
    assert r.status_code == 200 and r.json()["user"]["email_verified"] is True and r.json()["user"]["credits"] == 50
    again = anon.post("/api/auth/verify", json={"token": token})
    assert again.status_code == 400 and again.error_code == "invalid_link" and "ask for a new one" in again.json()["error"]["message"]
    assert stored(unverified)["credits"] == 50 and credits.reconcile() == []


@pytest.mark.parametrize("token", ["forged" * 7, "", "x" * 201, {"$ne": None}, ["t"], 7])
def test_forged_or_malformed_tokens_are_a_400_naming_the_field(anon, unverified, token):
    r = anon.post("/api/auth/verify", json={"token": token})
    assert r.status_code == 400 and r.json()["error"]["field"] == "token", r.text
    assert stored(unverified)["email_verified"] is False and stored(unverified)["credits"] == 0


def test_an_expired_link_is_refused_and_nothing_is_granted(anon, unverified):
    token = link_token("new@example.com")
    db.collection("email_links").update_many({}, {"$set": {"expires_at": datetime.now(UTC) - timedelta(seconds=1)}})
    r = anon.post("/api/auth/verify", json={"token": token})
    assert r.status_code == 400 and r.error_code == "invalid_link"
    assert stored(unverified)["email_verified"] is False and stored(unverified)["credits"] == 0


def test_resend_replaces_the_link_and_is_rate_limited(client, unverified):
    old = link_token("new@example.com")
    assert client.post("/api/auth/resend-verification").status_code == 202
    new = link_token("new@example.com")
    assert new != old
    assert client.post("/api/auth/verify", json={"token": old}).error_code == "invalid_link"
    for _ in range(4):
        assert client.post("/api/auth/resend-verification").status_code == 202
    r = client.post("/api/auth/resend-verification")
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert len(outbox(template="verify_email")) == 6
    assert client.post("/api/auth/verify", json={"token": link_token("new@example.com")}).status_code == 200
    assert client.post("/api/auth/resend-verification").error_code == "already_verified"


# --- what an unverified account may not do ----------------------------------------------------

def assert_unverified(r):
    assert r.status_code == 403 and r.error_code == "email_unverified", r.text
    assert r.json()["error"]["resend"] == {"method": "POST", "path": "/api/auth/resend-verification"}


def test_an_unverified_account_can_look_around(client, unverified):
    for path in ("/api/auth/me", "/api/account/profile", "/api/tokens", "/api/billing/transactions", "/api/account/usage"):
        assert client.get(path).status_code == 200, path


def test_an_unverified_account_cannot_run_a_model_even_with_credits(client, unverified, sentisight):
    credits.adjust(ObjectId(unverified["id"]), 20, ObjectId(), "test: credits from elsewhere")
    assert_unverified(client.post(VISION, data=image_bytes(), headers={"content-type": "image/png"}))
    assert stored(unverified)["credits"] == 20 and not db.collection("ledger").count_documents({"kind": "use"})
    follow_link(client, "new@example.com")
    r = client.post(VISION, data=image_bytes(), headers={"content-type": "image/png"})
    assert r.status_code == 200 and r.json()["credits_remaining"] == 68


def test_a_disabled_or_signed_out_caller_still_gets_401_not_403(client, unverified, sentisight):
    db.collection("users").update_one({"_id": ObjectId(unverified["id"])}, {"$inc": {"session_version": 1}})
    r = client.post(VISION, data=image_bytes(), headers={"content-type": "image/png"})
    assert r.status_code == 401 and r.error_code == "session_invalid"


def test_an_unverified_account_cannot_create_api_tokens(client, unverified):
    assert_unverified(client.post("/api/tokens", json={"name": "ci"}))
    assert db.collection("tokens").count_documents({}) == 0 and not outbox(template="new_token")


def test_an_unverified_account_cannot_buy_credits(client, unverified):
    assert_unverified(client.post("/api/billing/checkout", json={"pack_id": "starter"}))
    assert_unverified(client.put("/api/billing/auto-topup", json={"pack_id": "starter", "threshold": 10, "ceiling_cents": 10000}))
    assert db.collection("payments").count_documents({}) == 0


# --- the free credits, once per address ----------------------------------------------------------

@pytest.mark.parametrize("spelling,canonical", [
    ("Ada+x@gmail.com", "ada@gmail.com"), ("a.da@gmail.com", "ada@gmail.com"), ("ada@googlemail.com", "ada@gmail.com"),
    ("a.d.a+work@GoogleMail.com", "ada@gmail.com"), ("ada+tag@example.com", "ada@example.com"),
    ("a.da@example.com", "a.da@example.com"),  # dots matter outside Gmail
    ("+tag@example.com", "+tag@example.com"),
])
def test_canonical_email(spelling, canonical):
    assert canonical_email(spelling) == canonical


def test_gmail_variants_get_the_free_credits_once(new_client):
    assert sign_up(new_client(), email="ada@gmail.com")["credits"] == 50
    for variant in ("Ada+x@gmail.com", "a.da@gmail.com", "ada@googlemail.com"):
        user = sign_up(new_client(), email=variant)
        assert user["email_verified"] is True and user["credits"] == 0, variant
    assert sign_up(new_client(), email="ada+x@example.com")["credits"] == 50  # another domain, another mailbox
    assert db.collection("signup_bonuses").count_documents({}) == 2
    assert db.collection("ledger").count_documents({"kind": "signup_bonus"}) == 2 and credits.reconcile() == []


def test_no_bonus_record_until_the_address_is_verified(new_client):
    sign_up(new_client(), email="squatter@gmail.com", verify=False)
    assert db.collection("signup_bonuses").count_documents({}) == 0
    assert sign_up(new_client(), email="squat.ter@gmail.com")["credits"] == 50  # the owner, who verified


# --- no registrant text to an unverified address ------------------------------------------------

LURE = "Action needed: verify at https://evil.example/l"


def test_mail_to_an_unverified_address_carries_no_text_the_registrant_typed(new_client, anon):
    c = new_client()
    sign_up(c, email="stranger@example.com", verify=False, first_name=LURE, last_name=LURE, company=LURE)
    anon.post("/api/auth/forgot", json={"email": "stranger@example.com"})
    c.post("/api/auth/resend-verification")
    c.post("/api/auth/password", json={"current_password": PASSWORD, "new_password": "another long secret"})
    mails = outbox(to="stranger@example.com")
    assert {m["template"] for m in mails} == {"verify_email", "password_reset", "password_changed"}
    for sent in mails:
        for part in (sent["subject"], sent["text"], sent["html"]):
            assert "evil.example" not in part and "Action needed" not in part, sent["template"]


@pytest.mark.parametrize("template", sorted(p.stem for p in mail.TEMPLATES.glob("*.txt")))
def test_no_template_links_a_value_that_is_not_one_of_our_urls(database, template):
    names = set(re.findall(r"\$(\w+)", (mail.TEMPLATES / f"{template}.txt").read_text())) - {"site_url"}
    context = {n: ("http://testserver/ours" if n.endswith("_url") else LURE) for n in names}
    subject, _, text, html = mail.render(template, **context)
    assert 'href="https://evil.example' not in html, template
    assert all(href.startswith("http://testserver") for href in re.findall(r'href="([^"]+)"', html)), template


def test_no_template_turns_user_text_into_a_link(client):
    sign_up(client, email="owner@example.com", first_name=LURE)
    client.post("/api/tokens", json={"name": "see https://evil.example/t"})
    for sent in outbox(to="owner@example.com"):
        assert 'href="https://evil.example' not in sent["html"], sent["template"]
    [token_mail] = outbox(template="new_token")
    assert "see https://evil.example/t" in token_mail["html"] and '<a href="http://testserver/dashboard/tokens">' in token_mail["html"]


# --- existing accounts ---------------------------------------------------------------------------

def test_the_migration_marks_existing_accounts_verified_once(new_client, client):
    old = sign_up(client, email="old.timer@gmail.com")
    db.collection("users").update_one({"_id": ObjectId(old["id"])}, {"$unset": {"email_verified": "", "email_verified_at": ""}})
    db.collection("signup_bonuses").delete_many({})  # as recorded before: by the exact address, not the canonical one
    pending = sign_up(new_client(), email="pending@example.com", verify=False)
    assert migrations.run_all() == [("verify_existing_accounts", 1)]
    assert migrations.run_all() == [("verify_existing_accounts", 0)]  # idempotent
    assert stored(old)["email_verified"] is True and stored(pending)["email_verified"] is False
    assert sign_up(new_client(), email="oldtimer+2@gmail.com")["credits"] == 0  # its bonus counts for every spelling
