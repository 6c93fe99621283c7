"""The policy's remaining promises (issue 17 §4), and the email change: each rule, its refusals, nothing half-written."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest
from bson import ObjectId

from lib import credits, db
from lib.admin import policy_updates
from tests.fixtures.accounts import PASSWORD, follow_link, link_token, sign_up

NOSQL = [{"$ne": None}, {"$gt": ""}, ["x"], 12, True, None]


def outbox(**query) -> list[dict]:
    return list(db.collection("outbox").find(query).sort("created_at", 1))


def stored(user: dict) -> dict | None:
    return db.collection("users").find_one({"_id": ObjectId(user["id"])})


def registration(**fields) -> dict:
    return {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "password": PASSWORD, "age_confirmed": True, **fields}


# --- the under-16 confirmation (§9) -------------------------------------------------------------

@pytest.mark.parametrize("value", [False, None, "yes", 1, {"$ne": False}])
def test_sign_up_needs_the_16_or_older_confirmation(anon, value):
    r = anon.post("/api/auth/register", json=registration(age_confirmed=value))
    assert r.status_code == 400 and r.error_code in ("age_not_confirmed", "invalid_field") and r.json()["error"]["field"] == "age_confirmed"
    body = registration()
    del body["age_confirmed"]
    assert anon.post("/api/auth/register", json=body).error_code == "age_not_confirmed"
    assert db.collection("users").count_documents({}) == 0 and not outbox()


def test_the_confirmation_is_recorded_with_its_time(client):
    user = sign_up(client)
    assert abs(stored(user)["age_confirmed_at"] - datetime.now(UTC)) < timedelta(minutes=1)


# --- names, company, email -----------------------------------------------------------------------

@pytest.mark.parametrize("text", ["Ada\u202eecalevol", "A\u200bda", "Ada\u2066x", "\ufeffAda", "Ada\u2028L", "Ada\u00ad", "Ada\ue000"])
@pytest.mark.parametrize("field", ["first_name", "last_name", "company"])
def test_names_and_company_refuse_invisible_and_direction_characters(anon, client, user, field, text):
    r = anon.post("/api/auth/register", json=registration(email="new@example.com", **{field: text}))
    assert r.status_code == 400 and r.error_code == "invalid_field" and r.json()["error"]["field"] == field
    r = client.patch("/api/account/profile", json={field: text})
    assert r.status_code == 400 and r.json()["error"]["field"] == field
    assert stored(user)[field] != text


def test_names_keep_accents_and_scripts(client, user):
    r = client.patch("/api/account/profile", json={"first_name": "Zoë", "last_name": "Łukasiewicz-Ó Briain 李", "company": "Café & Co."})
    assert r.status_code == 200 and r.json()["user"]["last_name"] == "Łukasiewicz-Ó Briain 李"


@pytest.mark.parametrize("email", ['"ada lovelace"@example.com', "ada@localhost", "ada@example.c", "ädä@example.com", "ada..l@example.com",
                                   ".ada@example.com", "ada@exa_mple.com", "ada@[127.0.0.1]", "ada@-example.com", "ada@example.com."])
def test_addresses_ses_would_refuse_are_refused(anon, email):
    r = anon.post("/api/auth/register", json=registration(email=email))
    assert r.status_code == 400 and r.error_code == "invalid_email", (email, r.text)


@pytest.mark.parametrize("email", ["o'neil+news@example.ie", "a_b-c@sub.example.co.uk", "x@xn--bcher-kva.example"])
def test_ordinary_addresses_pass(anon, email):
    assert anon.post("/api/auth/register", json=registration(email=email)).status_code == 201


# --- changing the email address -------------------------------------------------------------------

def test_email_change_needs_the_password_then_the_link_and_tells_the_old_address(client, user):
    old = user["email"]
    wrong = client.post("/api/account/email", json={"password": "not it at all", "new_email": "moved@example.com"})
    assert wrong.status_code == 400 and wrong.error_code == "wrong_password" and not outbox(to="moved@example.com")
    r = client.post("/api/account/email", json={"password": PASSWORD, "new_email": " Moved@Example.com "})
    assert r.status_code == 202 and r.json()["pending_email"] == "moved@example.com"
    assert stored(user)["email"] == old  # nothing changes before the link
    [confirm] = outbox(to="moved@example.com")
    assert confirm["template"] == "email_change_confirm" and "Ada" not in confirm["text"]  # not proven yet: no typed text
    body = follow_link(client, "moved@example.com", "email_change_confirm")
    assert body["email_changed"] is True and body["user"]["email"] == "moved@example.com" and body["user"]["credits"] == 50
    [notice] = outbox(to=old, template="email_changed")
    assert "moved@example.com" in notice["text"] and "<a href=\"mailto" not in notice["html"]
    assert client.post("/api/auth/login", json={"email": "moved@example.com", "password": PASSWORD}).status_code == 200
    assert client.post("/api/auth/login", json={"email": old, "password": PASSWORD}).status_code == 401


def test_email_change_refuses_a_taken_or_same_address_and_bad_fields(client, user, new_client):
    sign_up(new_client(), email="taken@example.com")
    assert client.post("/api/account/email", json={"password": PASSWORD, "new_email": "taken@example.com"}).error_code == "email_taken"
    assert client.post("/api/account/email", json={"password": PASSWORD, "new_email": user["email"]}).error_code == "same_email"
    for field in ("password", "new_email"):
        for value in NOSQL:
            body = {"password": PASSWORD, "new_email": "fresh@example.com", field: value}
            r = client.post("/api/account/email", json=body)
            assert r.status_code == 400 and r.json()["error"]["field"] == field, (field, value, r.text)
    assert client.post("/api/account/email", json={"password": PASSWORD, "new_email": "x" * 250 + "@example.com"}).error_code == "field_too_long"
    assert client.post("/api/account/email", json={"password": PASSWORD, "new_email": "f@example.com", "role": "admin"}).error_code == "unknown_field"
    assert not outbox(template="email_change_confirm") and stored(user)["email"] == user["email"]


def test_an_address_taken_before_the_link_is_followed_changes_nothing(client, user, new_client):
    client.post("/api/account/email", json={"password": PASSWORD, "new_email": "race@example.com"})
    token = link_token("race@example.com", "email_change_confirm")
    sign_up(new_client(), email="race@example.com")
    r = client.post("/api/auth/verify", json={"token": token})
    assert r.status_code == 409 and r.error_code == "email_taken"
    assert stored(user)["email"] == user["email"] and db.collection("email_links").count_documents({"purpose": "email_change"}) == 1


def test_an_unverified_account_moves_to_a_new_address_and_the_old_sign_up_link_dies(client):
    sign_up(client, email="typo@exmaple.com", verify=False)
    old_link = link_token("typo@exmaple.com")
    client.post("/api/account/email", json={"password": PASSWORD, "new_email": "right@example.com"})
    assert not outbox(to="typo@exmaple.com", template="email_change_confirm")
    body = follow_link(client, "right@example.com", "email_change_confirm")
    assert body["user"]["email"] == "right@example.com" and body["user"]["email_verified"] is True and body["user"]["credits"] == 50
    assert not outbox(to="typo@exmaple.com", template="email_changed")  # the unproven old address may be a stranger's
    r = client.post("/api/auth/verify", json={"token": old_link})
    assert r.status_code == 400 and r.error_code == "invalid_link"
    assert client.get("/api/auth/me").json()["user"]["email"] == "right@example.com" and credits.reconcile() == []


def test_email_change_wrong_passwords_are_rate_limited(client, user):
    for _ in range(10):
        client.post("/api/account/email", json={"password": "wrong password!", "new_email": "m@example.com"})
    r = client.post("/api/account/email", json={"password": PASSWORD, "new_email": "m@example.com"})
    assert r.status_code == 429


# --- admin erasure without the password (§9) --------------------------------------------------

def test_an_admin_erases_an_account_like_self_deletion_with_an_audited_reason(admin_client, client, user):
    uid = ObjectId(user["id"])
    client.post("/api/tokens", json={"name": "ci"})
    r = admin_client.delete(f"/api/admin/users/{user['id']}", json={"reason": "Under 16: the parent wrote to support"})
    assert r.status_code == 204, r.text
    assert stored(user) is None and db.collection("tokens").count_documents({}) == 0
    assert db.collection("ledger").count_documents({"user_id": uid}) == 0 and credits.reconcile() == []
    [row] = db.collection("audit").find({"action": "user.erase"})
    assert row["after"] == {"erased": True, "reason": "Under 16: the parent wrote to support"}
    assert row["target_user_id"] != uid and db.collection("ledger").count_documents({"user_id": row["target_user_id"]}) == 1
    assert client.get("/api/auth/me").status_code == 401
    assert admin_client.delete(f"/api/admin/users/{user['id']}", json={"reason": "again please"}).status_code == 404


def test_admin_erasure_refuses_bad_input_and_self(admin_client, user):
    for value in NOSQL + ["", "ab", "x" * 501]:
        r = admin_client.delete(f"/api/admin/users/{user['id']}", json={"reason": value})
        assert r.status_code == 400 and r.json()["error"]["field"] == "reason", (value, r.text)
    assert admin_client.delete("/api/admin/users/nope", json={"reason": "a reason"}).status_code == 404
    r = admin_client.delete(f"/api/admin/users/{admin_client.user['id']}", json={"reason": "a reason"})
    assert r.status_code == 409 and r.error_code == "cannot_change_self"
    assert stored(user) is not None and db.collection("audit").count_documents({}) == 0


# --- policy updates (§12) --------------------------------------------------------------------------

SUMMARY = "Server logs are now kept 60 days instead of 90."


def publish(admin_client, **fields):
    return admin_client.post("/api/admin/policy-updates", json={"effective_date": "2027-01-31", "summary": SUMMARY, **fields})


def test_a_published_update_is_a_notice_until_dismissed(admin_client, client, user, new_client):
    r = publish(admin_client)
    assert r.status_code == 201, r.text
    update = r.json()["policy_update"]
    assert update["effective_date"] == "2027-01-31" and update["mail_done"] is False
    [notice] = client.get("/api/account/notices").json()["notices"]
    assert notice["id"] == update["id"] and notice["summary"] == SUMMARY
    later = new_client()
    sign_up(later)  # signed up after it: they read the current policy at sign-up
    assert later.get("/api/account/notices").json()["notices"] == []
    assert client.post("/api/account/notices", json={"id": update["id"]}).status_code == 204
    assert client.get("/api/account/notices").json()["notices"] == []
    assert admin_client.get("/api/account/notices").json()["notices"] != []  # dismissed per person
    [row] = db.collection("audit").find({"action": "policy.publish"})
    assert row["after"]["effective_date"] == "2027-01-31"


def test_policy_update_and_notice_fields_are_checked(admin_client, client, user):
    for field, value in [("effective_date", "31/01/2027"), ("effective_date", "2027-02-30"), ("effective_date", "20270131"),
                         ("summary", "short"), ("summary", "x" * 2001)] + [(f, v) for f in ("effective_date", "summary") for v in NOSQL]:
        r = publish(admin_client, **{field: value})
        assert r.status_code == 400 and r.json()["error"]["field"] == field, (field, value, r.text)
    assert db.collection("policy_updates").count_documents({}) == 0
    assert client.post("/api/account/notices", json={"id": str(ObjectId())}).status_code == 404
    for value in NOSQL:
        assert client.post("/api/account/notices", json={"id": value}).status_code in (400, 404)


def test_every_verified_address_gets_one_mail_in_batches_at_ses_rate(admin_client, new_client, settings):
    people = [sign_up(new_client()) for _ in range(4)]
    stranger = sign_up(new_client(), email="unproven@example.com", verify=False)
    publish(admin_client)
    settings(SES_SEND_RATE="2")
    started = time.monotonic()
    summary = policy_updates.send_policy_mail()
    elapsed = time.monotonic() - started
    recipients = sorted(m["to"] for m in outbox(template="policy_update"))
    assert recipients == sorted([p["email"] for p in people] + [admin_client.user["email"]])
    assert summary["sent"] == 5 and summary["done"] is True
    assert elapsed >= 2.0  # 5 mails at 2 a second: three batches, two full seconds between them
    assert stranger["email"] not in recipients
    [mail] = outbox(template="policy_update", to=people[0]["email"])
    assert SUMMARY in mail["text"] and "2027-01-31" in mail["subject"]
    assert policy_updates.send_policy_mail() == {"sent": 0}  # done: a second run sends nothing
    assert len(outbox(template="policy_update")) == 5


def test_a_leased_update_is_not_sent_by_an_overlapping_run(admin_client, user):
    publish(admin_client)
    db.collection("policy_updates").update_many({}, {"$set": {"mail_lease": datetime.now(UTC) + timedelta(minutes=1)}})
    assert policy_updates.send_policy_mail() == {"sent": 0} and not outbox(template="policy_update")


def test_a_run_resumes_after_its_cursor(admin_client, new_client):
    first, second = sign_up(new_client()), sign_up(new_client())
    publish(admin_client)
    db.collection("policy_updates").update_many({}, {"$set": {"mail_cursor": ObjectId(first["id"])}})  # as if a run mailed up to `first`
    policy_updates.send_policy_mail()
    assert [m["to"] for m in outbox(template="policy_update")] == [second["email"]]  # the admin and `first` had theirs


# --- the right to object (§8) -----------------------------------------------------------------------

def test_objecting_keeps_usage_out_of_admin_stats_and_is_exported(admin_client, client, user, sentisight):
    from tests.fixtures.sentisight import image_bytes

    def calls():
        return admin_client.get("/api/admin/stats?days=1").json()["usage"]["totals"]["calls"]

    client.post("/api/vision/object-detection", data=image_bytes(), headers={"content-type": "image/png"})
    assert calls() == 1
    r = client.patch("/api/account/profile", json={"object_to_analytics": True})
    assert r.status_code == 200 and r.json()["user"]["object_to_analytics"] is True
    assert calls() == 0
    assert client.get("/api/account/export").json()["profile"]["object_to_analytics"] is True
    assert client.get("/api/account/usage?days=1").json()["totals"]["calls"] == 1  # their own view keeps it
    client.patch("/api/account/profile", json={"object_to_analytics": False})
    assert calls() == 1
    for value in ["yes", 1, None, {"$ne": False}]:
        r = client.patch("/api/account/profile", json={"object_to_analytics": value})
        assert r.status_code == 400 and r.json()["error"]["field"] == "object_to_analytics"


def test_a_password_change_kills_a_pending_email_change_link(client, user):
    client.post("/api/account/email", json={"password": PASSWORD, "new_email": "thief@example.com"})
    token = link_token("thief@example.com", "email_change_confirm")
    assert client.post("/api/auth/password", json={"current_password": PASSWORD, "new_password": "a brand new password"}).status_code == 204
    r = client.post("/api/auth/verify", json={"token": token})
    assert (r.status_code, r.error_code) == (400, "invalid_link") and stored(user)["email"] == user["email"]


def test_moving_to_another_address_kills_reset_links_sent_to_the_old_one(client, user, anon):
    assert anon.post("/api/auth/forgot", json={"email": user["email"]}).status_code == 202
    [reset_mail] = outbox(to=user["email"], template="password_reset")
    token = unquote(re.search(r"/reset#token=(\S+)", reset_mail["text"]).group(1))
    client.post("/api/account/email", json={"password": PASSWORD, "new_email": "moved@example.com"})
    follow_link(client, "moved@example.com", "email_change_confirm")
    r = anon.post("/api/auth/reset", json={"token": token, "new_password": "taken over at last"})
    assert (r.status_code, r.error_code) == (400, "invalid_reset_token")


def test_email_change_cannot_probe_which_addresses_have_accounts(client, user, new_client):
    for i in range(5):
        sign_up(new_client(), email=f"someone{i}@example.com")
    answers = [client.post("/api/account/email", json={"password": PASSWORD, "new_email": f"someone{i}@example.com"}).error_code
               for i in range(5)]
    assert answers == ["email_taken"] * 5
    assert client.post("/api/account/email", json={"password": PASSWORD, "new_email": "anyone@example.com"}).status_code == 429
