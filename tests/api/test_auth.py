"""/api/auth/*: register, login, logout, me, password change, forgot and reset; rate limits; admins."""

from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import bcrypt
import pytest
from bson import ObjectId

from lib import db, passwords
from lib.accounts.__main__ import main as accounts_cli
from tests.fixtures.accounts import PASSWORD, follow_link, sign_up

PUBLIC_FIELDS = {"id", "first_name", "last_name", "email", "company", "role", "credits", "notifications", "created_at",
                 "email_verified", "object_to_analytics", "two_factor_enabled"}
NEW_PASSWORD = "a brand new secret"
INJECTIONS = [{"$ne": None}, {"$gt": ""}, {"$regex": ".*"}, ["x"], [], {}, 12345678, True]


def registration(**fields) -> dict:
    return {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "password": PASSWORD, "age_confirmed": True, **fields}


def outbox(**query) -> list[dict]:
    return list(db.collection("outbox").find(query).sort("created_at", 1))


def reset_token_for(email: str) -> str:
    mails = outbox(to=email, template="password_reset")
    assert mails, f"no reset mail for {email}"
    match = re.search(r"http://testserver/reset#token=([A-Za-z0-9_\-%]+)", mails[-1]["text"])
    assert match, mails[-1]["text"]
    return match.group(1)


def session_cookie(result) -> str:
    cookies = [c for c in result.cookies if c.startswith("np_session=")]
    assert len(cookies) == 1, result.cookies
    return cookies[0]


class CheckpwSpy:
    """Records every bcrypt.checkpw call (the hash it was given) while still checking for real."""

    def __init__(self, monkeypatch):
        self.hashes: list[bytes] = []
        self.hashpw_calls = 0
        real_check, real_hash = bcrypt.checkpw, bcrypt.hashpw

        def checkpw(password, hashed):
            self.hashes.append(hashed)
            return real_check(password, hashed)

        def hashpw(password, salt):
            self.hashpw_calls += 1
            return real_hash(password, salt)

        monkeypatch.setattr(passwords.bcrypt, "checkpw", checkpw)
        monkeypatch.setattr(passwords.bcrypt, "hashpw", hashpw)

    def costs(self) -> list[int]:
        return [passwords.cost_of(h.decode()) for h in self.hashes]


# --- register ----------------------------------------------------------------------------------

def test_register_creates_a_signed_in_unverified_account_and_verifying_grants_50_credits(client):
    r = client.post("/api/auth/register", json=registration(company="  Analytical Engines Ltd "))
    assert r.status_code == 201, r.text
    user = r.json()["user"]
    assert set(user) == PUBLIC_FIELDS
    assert user["email"] == "ada@example.com" and user["first_name"] == "Ada" and user["last_name"] == "Lovelace"
    assert user["company"] == "Analytical Engines Ltd" and user["role"] == "user"
    assert user["credits"] == 0 and user["email_verified"] is False  # registration completes at verification
    assert user["notifications"] == {"email": True, "usage_alerts": True, "security_alerts": True, "marketing": False}
    assert session_cookie(r)
    me = client.get("/api/auth/me")
    assert me.status_code == 200 and me.json()["user"] == user
    verified = follow_link(client, "ada@example.com")["user"]
    assert verified == {**user, "credits": 50, "email_verified": True}
    assert client.get("/api/auth/me").json()["user"] == verified


def test_register_grants_the_bonus_through_one_ledger_row(client):
    user = sign_up(client)
    rows = list(db.collection("ledger").find({"user_id": ObjectId(user["id"])}))
    assert [(r["kind"], r["delta"], r["balance_after"]) for r in rows] == [("signup_bonus", 50, 50)]
    assert db.collection("users").find_one({"_id": ObjectId(user["id"])})["credits"] == 50


def test_register_sends_the_verification_mail_then_the_welcome_mail(client):
    user = sign_up(client, email="welcome@example.com")
    verify, mail = outbox(to="welcome@example.com")
    assert verify["template"] == "verify_email" and "http://testserver/verify#token=" in verify["text"]
    assert mail["template"] == "welcome" and "Ada" in mail["subject"]
    assert "50 free credits" in mail["text"] and "http://testserver/dashboard" in mail["text"]
    assert user["email"] == "welcome@example.com"


def test_register_trims_and_lower_cases_the_email(client):
    r = client.post("/api/auth/register", json=registration(email="  Ada.Lovelace@Example.COM  "))
    assert r.status_code == 201 and r.json()["user"]["email"] == "ada.lovelace@example.com"
    assert db.collection("users").find_one({"email": "ada.lovelace@example.com"})


@pytest.mark.parametrize("taken", ["ada@example.com", "ADA@Example.com", " ada@EXAMPLE.com "])
def test_an_email_registers_once_whatever_its_case(client, anon, taken):
    sign_up(client, email="ada@example.com")
    r = anon.post("/api/auth/register", json=registration(email=taken, first_name="Eve"))
    assert r.status_code == 409 and r.error_code == "email_taken"
    assert r.json()["error"]["field"] == "email" and not r.cookies
    assert db.collection("users").count_documents({}) == 1
    assert db.collection("ledger").count_documents({}) == 1


@pytest.mark.parametrize("fields,code,field", [
    ({"first_name": ""}, "missing_field", "first_name"),
    ({"last_name": "   "}, "missing_field", "last_name"),
    ({"email": "not-an-email"}, "invalid_email", "email"),
    ({"password": "short"}, "password_too_short", "password"),
    ({"password": "x" * 73}, "password_too_long", "password"),
    ({"password": "é" * 37}, "password_too_long", "password"),  # 37 characters, 74 bytes
    ({"password": None}, "missing_field", "password"),
    ({"first_name": "x" * 81}, "field_too_long", "first_name"),
    ({"last_name": "x" * 81}, "field_too_long", "last_name"),
    ({"company": "x" * 121}, "field_too_long", "company"),
    ({"email": "a" * 250 + "@example.com"}, "field_too_long", "email"),
    ({"role": "admin"}, "unknown_field", "role"),
    ({"credits": 1_000_000}, "unknown_field", "credits"),
])
def test_register_refuses_bad_fields_and_creates_nothing(client, fields, code, field):
    r = client.post("/api/auth/register", json=registration(**fields))
    assert r.status_code == 400 and r.error_code == code, r.text
    assert r.json()["error"]["field"] == field
    assert not r.cookies and db.collection("users").count_documents({}) == 0


def test_register_without_some_fields(client):
    for missing in ("first_name", "last_name", "email", "password"):
        body = registration()
        del body[missing]
        r = client.post("/api/auth/register", json=body)
        assert r.status_code == 400 and r.error_code == "missing_field" and r.json()["error"]["field"] == missing
    assert client.post("/api/auth/register", json=registration()).status_code == 201  # company is optional


def test_passwords_are_72_bytes_at_most_and_multibyte_ones_work_whole(client, anon):
    exactly_72 = "é" * 36
    sign_up(client, email="bytes@example.com", password=exactly_72)
    ok = anon.post("/api/auth/login", json={"email": "bytes@example.com", "password": exactly_72})
    assert ok.status_code == 200
    almost = "é" * 35 + "e" + "\u0301"  # different last bytes: must not be accepted as "the same up to some length"
    assert anon.post("/api/auth/login", json={"email": "bytes@example.com", "password": almost}).status_code == 401


def test_production_default_bcrypt_cost_is_12(client, settings):
    settings(BCRYPT_ROUNDS=None)
    user = sign_up(client)
    stored = db.collection("users").find_one({"_id": ObjectId(user["id"])})["password_hash"]
    assert stored.startswith("$2b$12$") and passwords.cost_of(stored) == 12
    assert bcrypt.checkpw(PASSWORD.encode(), stored.encode())


def test_the_plaintext_password_is_never_stored_logged_or_printed(client, anon, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    first, second, third = "Canary-Plaintext-One", "Canary-Plaintext-Two", "Canary-Plaintext-Three"
    sign_up(client, email="canary@example.com", password=first)
    assert anon.post("/api/auth/login", json={"email": "canary@example.com", "password": first + "x"}).status_code == 401
    assert anon.post("/api/auth/login", json={"email": "nobody@example.com", "password": first}).status_code == 401
    assert anon.post("/api/auth/login", json={"email": "canary@example.com", "password": first}).status_code == 200
    assert client.post("/api/auth/password", json={"current_password": first, "new_password": second}).status_code == 204
    assert client.post("/api/auth/password", json={"current_password": "wrong-password", "new_password": "x"}).status_code == 400
    assert anon.post("/api/auth/forgot", json={"email": "canary@example.com"}).status_code == 202
    token = reset_token_for("canary@example.com")
    assert anon.post("/api/auth/reset", json={"token": token, "new_password": third}).status_code == 204
    assert anon.post("/api/auth/login", json={"email": "canary@example.com", "password": third}).status_code == 200

    secrets = [first, second, third, "Canary-Plaintext", token]
    for name in db.database().list_collection_names():
        for doc in db.collection(name).find():
            text = repr(doc)
            for secret in secrets:
                if secret == token and name == "outbox":
                    continue  # the reset mail itself carries the link: that is its job
                assert secret not in text, f"{secret!r} found in collection {name}: {text[:300]}"
    printed = capsys.readouterr()
    logged = caplog.text + printed.err + printed.out.replace(token, "")
    for secret in (first, second, third, "Canary-Plaintext"):
        assert secret not in logged


def test_the_reset_token_is_stored_only_as_a_hash(client, anon):
    sign_up(client, email="hash@example.com")
    anon.post("/api/auth/forgot", json={"email": "hash@example.com"})
    token = reset_token_for("hash@example.com")
    [row] = db.collection("reset_tokens").find()
    assert token not in repr(row)
    assert re.fullmatch(r"[0-9a-f]{64}", row["hash"])


# --- login, logout, me -------------------------------------------------------------------------

def test_login_signs_in_with_a_cookie(client, anon, user):
    r = anon.post("/api/auth/login", json={"email": user["email"], "password": PASSWORD})
    assert r.status_code == 200 and r.json()["user"]["id"] == user["id"]
    assert set(r.json()["user"]) == PUBLIC_FIELDS
    assert session_cookie(r)
    assert anon.get("/api/auth/me").json()["user"]["email"] == user["email"]


def test_login_email_is_trimmed_and_case_insensitive(anon, client, user):
    r = anon.post("/api/auth/login", json={"email": "  " + user["email"].upper() + " ", "password": PASSWORD})
    assert r.status_code == 200


def test_unknown_email_and_wrong_password_fail_alike(anon, client, user):
    unknown = anon.post("/api/auth/login", json={"email": "nobody@example.com", "password": PASSWORD})
    wrong = anon.post("/api/auth/login", json={"email": user["email"], "password": "not the password"})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.error_code == wrong.error_code == "invalid_credentials"
    assert unknown.json() == wrong.json()
    assert not unknown.cookies and not wrong.cookies


def test_unknown_email_and_wrong_password_cost_one_bcrypt_check_each_at_12_rounds(anon, client, settings, monkeypatch):
    """Deterministic stand-in for "about the same time": the same work, one checkpw at cost 12, in both paths."""
    settings(BCRYPT_ROUNDS=None)
    user = sign_up(client)
    monkeypatch.setattr(passwords, "_DUMMY", {})  # as in a freshly started function
    spy = CheckpwSpy(monkeypatch)
    for body in ({"email": "nobody@example.com", "password": PASSWORD},
                 {"email": user["email"], "password": "not the password"},
                 {"email": user["email"], "password": "y" * 100}):
        spy.hashes.clear()
        r = anon.post("/api/auth/login", json=body)
        assert r.status_code == 401 and r.error_code == "invalid_credentials"
        assert spy.costs() == [12] and spy.hashpw_calls == 0, body


def test_login_refuses_a_disabled_account(anon, client, user):
    db.collection("users").update_one({"email": user["email"]}, {"$set": {"disabled": True}})
    r = anon.post("/api/auth/login", json={"email": user["email"], "password": PASSWORD})
    assert r.status_code == 403 and r.error_code == "account_disabled" and not r.cookies
    wrong = anon.post("/api/auth/login", json={"email": user["email"], "password": "not the password"})
    assert wrong.status_code == 401 and wrong.error_code == "invalid_credentials"  # says nothing without the password


def test_login_with_an_overlong_password_is_a_plain_failure(anon, client, user, monkeypatch):
    spy = CheckpwSpy(monkeypatch)
    r = anon.post("/api/auth/login", json={"email": user["email"], "password": PASSWORD + "x" * 100_000})
    assert r.status_code == 401 and r.error_code == "invalid_credentials"
    assert len(spy.hashes) == 1


def test_logout_clears_the_cookie(client, user):
    r = client.post("/api/auth/logout")
    assert r.status_code == 204 and r.body == b""
    cookie = session_cookie(r)
    assert cookie.startswith("np_session=;") and "Max-Age=0" in cookie and "Path=/" in cookie
    assert client.get("/api/auth/me").status_code == 401


def test_me_shows_the_account_and_never_the_hash(client, user):
    r = client.get("/api/auth/me")
    me = r.json()["user"]
    assert set(me) == PUBLIC_FIELDS
    assert me["id"] == user["id"] and me["credits"] == 50 and me["role"] == "user" and me["company"] == ""
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", me["created_at"])
    assert "$2b$" not in r.text and "password" not in r.text and "sessions" not in r.text and "secret" not in r.text


def test_me_needs_a_session(anon):
    r = anon.get("/api/auth/me")
    assert r.status_code == 401 and r.error_code == "unauthenticated"


# --- password change ----------------------------------------------------------------------------

def test_password_change_ends_every_other_session_and_keeps_this_one(client, new_client, user):
    other = new_client()
    assert other.post("/api/auth/login", json={"email": user["email"], "password": PASSWORD}).status_code == 200
    r = client.post("/api/auth/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert r.status_code == 204
    assert not r.cookies  # the same cookie goes on working: its session is the one kept
    assert client.get("/api/auth/me").status_code == 200
    stale = other.get("/api/auth/me")
    assert stale.status_code == 401 and stale.error_code == "session_invalid"
    assert len(db.collection("users").find_one({"email": user["email"]})["sessions"]) == 1
    fresh = new_client()
    assert fresh.post("/api/auth/login", json={"email": user["email"], "password": PASSWORD}).status_code == 401
    assert fresh.post("/api/auth/login", json={"email": user["email"], "password": NEW_PASSWORD}).status_code == 200


def test_password_change_sends_the_security_alert(client, user):
    client.post("/api/auth/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    [mail] = outbox(to=user["email"], template="password_changed")
    assert "password was changed" in mail["subject"].lower() + mail["text"].lower()
    assert "http://testserver/forgot" in mail["text"]


def test_password_change_needs_the_current_password(client, user):
    r = client.post("/api/auth/password", json={"current_password": "not the password", "new_password": NEW_PASSWORD})
    assert r.status_code == 400 and r.error_code == "wrong_password" and r.json()["error"]["field"] == "current_password"
    stored = db.collection("users").find_one({"email": user["email"]})
    assert len(stored["sessions"]) == 1 and passwords.verify(PASSWORD, stored["password_hash"])
    assert not outbox(template="password_changed")


@pytest.mark.parametrize("new,code", [("short", "password_too_short"), ("x" * 73, "password_too_long"), ("🔑" * 19, "password_too_long")])
def test_password_change_checks_the_new_password(client, user, new, code):
    r = client.post("/api/auth/password", json={"current_password": PASSWORD, "new_password": new})
    assert r.status_code == 400 and r.error_code == code and r.json()["error"]["field"] == "new_password"
    assert client.get("/api/auth/me").status_code == 200


def test_ten_wrong_current_passwords_block_the_eleventh_even_if_right(client, user):
    """A stolen session cookie must not mean unlimited guesses at the password behind it."""
    for _ in range(10):
        r = client.post("/api/auth/password", json={"current_password": "not the password", "new_password": NEW_PASSWORD})
        assert r.status_code == 400 and r.error_code == "wrong_password"
    blocked = client.post("/api/auth/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert blocked.status_code == 429 and blocked.error_code == "rate_limited"
    assert 0 < int(blocked.headers["retry-after"]) <= 15 * 60
    stored = db.collection("users").find_one({"email": user["email"]})
    assert len(stored["sessions"]) == 1 and passwords.verify(PASSWORD, stored["password_hash"])


def test_right_current_passwords_are_not_counted(client, user):
    passwords_in_turn = [PASSWORD, NEW_PASSWORD]
    for i in range(12):
        body = {"current_password": passwords_in_turn[i % 2], "new_password": passwords_in_turn[(i + 1) % 2]}
        assert client.post("/api/auth/password", json=body).status_code == 204, i


def test_password_change_needs_a_session(anon):
    r = anon.post("/api/auth/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert r.status_code == 401


# --- forgot and reset ---------------------------------------------------------------------------

def test_forgot_answers_202_the_same_whatever_the_email(client, anon, user):
    known = anon.post("/api/auth/forgot", json={"email": user["email"]})
    unknown = anon.post("/api/auth/forgot", json={"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert [m["to"] for m in outbox(template="password_reset")] == [user["email"]]
    assert db.collection("reset_tokens").count_documents({}) == 1


def test_the_reset_link_carries_the_token_in_the_fragment_not_the_query(client, anon, user):
    """A query string lands in access logs and proxies; a fragment is never sent to a server."""
    anon.post("/api/auth/forgot", json={"email": user["email"]})
    [mail] = outbox(template="password_reset")
    assert re.search(r"http://testserver/reset#token=[A-Za-z0-9_\-]{40,}(\s|$)", mail["text"]), mail["text"]
    assert "?token=" not in mail["text"] and "?token=" not in mail["html"]


def test_only_the_newest_reset_link_works(client, anon, user):
    anon.post("/api/auth/forgot", json={"email": user["email"]})
    first = reset_token_for(user["email"])
    anon.post("/api/auth/forgot", json={"email": user["email"]})
    second = reset_token_for(user["email"])
    assert db.collection("reset_tokens").count_documents({"user_id": ObjectId(user["id"])}) == 1
    r = anon.post("/api/auth/reset", json={"token": first, "new_password": NEW_PASSWORD})
    assert r.status_code == 400 and r.error_code == "invalid_reset_token"
    assert anon.post("/api/auth/reset", json={"token": second, "new_password": NEW_PASSWORD}).status_code == 204


def test_one_address_gets_at_most_five_reset_mails_an_hour(client, anon, user):
    """Spread over many IPs (each far below its own limit), the address still gets five: no mail flood."""
    for n in range(8):
        r = anon.post("/api/auth/forgot", json={"email": user["email"]}, ip=f"198.51.100.{n + 1}")
        assert r.status_code == 202  # beyond the limit too: the answer says nothing about the account
        assert r.json() == {"message": "If an account exists for this email, a reset link is on its way."}
    assert len(outbox(template="password_reset")) == 5
    # The sixth request and later made no token either: the last link mailed is the one that works.
    assert db.collection("reset_tokens").count_documents({}) == 1
    assert anon.post("/api/auth/reset", json={"token": reset_token_for(user["email"]), "new_password": NEW_PASSWORD}).status_code == 204
    # Another address is not held back by this one's limit.
    other = sign_up(anon, email="other@example.com")
    assert anon.post("/api/auth/forgot", json={"email": other["email"]}, ip="198.51.100.1").status_code == 202
    assert [m["to"] for m in outbox(template="password_reset")][-1] == "other@example.com"


def test_forgot_for_a_disabled_account_sends_nothing(client, anon, user):
    db.collection("users").update_one({"email": user["email"]}, {"$set": {"disabled": True}})
    assert anon.post("/api/auth/forgot", json={"email": user["email"]}).status_code == 202
    assert not outbox(template="password_reset") and db.collection("reset_tokens").count_documents({}) == 0


def test_the_reset_link_is_valid_for_one_hour(client, anon, user):
    anon.post("/api/auth/forgot", json={"email": "  " + user["email"].upper()})
    [row] = db.collection("reset_tokens").find()
    assert row["user_id"] == ObjectId(user["id"])
    remaining = row["expires_at"] - datetime.now(UTC)
    assert timedelta(minutes=59) < remaining <= timedelta(hours=1)
    [mail] = outbox(template="password_reset")
    assert mail["to"] == user["email"] and "one hour" in mail["text"]


def test_reset_sets_the_password_ends_sessions_and_mails_a_notice(client, anon, new_client, user):
    anon.post("/api/auth/forgot", json={"email": user["email"]})
    token = reset_token_for(user["email"])
    r = anon.post("/api/auth/reset", json={"token": token, "new_password": NEW_PASSWORD})
    assert r.status_code == 204
    assert client.get("/api/auth/me").status_code == 401  # the session from before the reset is over
    fresh = new_client()
    assert fresh.post("/api/auth/login", json={"email": user["email"], "password": PASSWORD}).status_code == 401
    assert fresh.post("/api/auth/login", json={"email": user["email"], "password": NEW_PASSWORD}).status_code == 200
    [notice] = outbox(template="password_changed")
    assert notice["to"] == user["email"]


def test_the_reset_link_works_once(client, anon, user):
    anon.post("/api/auth/forgot", json={"email": user["email"]})
    token = reset_token_for(user["email"])
    assert anon.post("/api/auth/reset", json={"token": token, "new_password": NEW_PASSWORD}).status_code == 204
    again = anon.post("/api/auth/reset", json={"token": token, "new_password": "a third password"})
    assert again.status_code == 400 and again.error_code == "invalid_reset_token"
    fresh = anon.post("/api/auth/login", json={"email": user["email"], "password": NEW_PASSWORD})
    assert fresh.status_code == 200


def test_a_used_or_changed_password_retires_every_other_reset_link(client, anon, user):
    anon.post("/api/auth/forgot", json={"email": user["email"]})
    first = reset_token_for(user["email"])
    anon.post("/api/auth/forgot", json={"email": user["email"]})
    second = reset_token_for(user["email"])
    assert first != second
    assert anon.post("/api/auth/reset", json={"token": second, "new_password": NEW_PASSWORD}).status_code == 204
    r = anon.post("/api/auth/reset", json={"token": first, "new_password": "a third password"})
    assert r.status_code == 400 and r.error_code == "invalid_reset_token"

    anon.post("/api/auth/forgot", json={"email": user["email"]})
    pending = reset_token_for(user["email"])
    client.post("/api/auth/login", json={"email": user["email"], "password": NEW_PASSWORD})
    assert client.post("/api/auth/password", json={"current_password": NEW_PASSWORD, "new_password": "a fourth password"}).status_code == 204
    r = anon.post("/api/auth/reset", json={"token": pending, "new_password": "a fifth password"})
    assert r.status_code == 400 and r.error_code == "invalid_reset_token"


def test_an_expired_reset_link_is_refused(client, anon, user):
    anon.post("/api/auth/forgot", json={"email": user["email"]})
    token = reset_token_for(user["email"])
    db.collection("reset_tokens").update_many({}, {"$set": {"expires_at": datetime.now(UTC) - timedelta(seconds=1)}})
    r = anon.post("/api/auth/reset", json={"token": token, "new_password": NEW_PASSWORD})
    assert r.status_code == 400 and r.error_code == "invalid_reset_token"
    assert anon.post("/api/auth/login", json={"email": user["email"], "password": PASSWORD}).status_code == 200


@pytest.mark.parametrize("token", ["made-up-token", "", "x" * 201])
def test_a_made_up_reset_token_is_refused(anon, token):
    r = anon.post("/api/auth/reset", json={"token": token, "new_password": NEW_PASSWORD})
    assert r.status_code == 400 and r.error_code in ("invalid_reset_token", "missing_field", "field_too_long")


def test_a_tampered_reset_token_is_refused(client, anon, user):
    anon.post("/api/auth/forgot", json={"email": user["email"]})
    token = reset_token_for(user["email"])
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    r = anon.post("/api/auth/reset", json={"token": tampered, "new_password": NEW_PASSWORD})
    assert r.status_code == 400 and r.error_code == "invalid_reset_token"
    assert anon.post("/api/auth/reset", json={"token": token, "new_password": NEW_PASSWORD}).status_code == 204


def test_a_bad_new_password_does_not_use_up_the_link(client, anon, user):
    anon.post("/api/auth/forgot", json={"email": user["email"]})
    token = reset_token_for(user["email"])
    r = anon.post("/api/auth/reset", json={"token": token, "new_password": "x" * 73})
    assert r.status_code == 400 and r.error_code == "password_too_long"
    assert anon.post("/api/auth/reset", json={"token": token, "new_password": NEW_PASSWORD}).status_code == 204


# --- rate limits ------------------------------------------------------------------------------

def test_ten_failed_logins_block_the_eleventh_even_with_the_right_password(client, anon, new_client, user):
    for _ in range(10):
        r = anon.post("/api/auth/login", json={"email": user["email"], "password": "not the password"}, ip="198.51.100.10")
        assert r.status_code == 401
    blocked = anon.post("/api/auth/login", json={"email": user["email"], "password": PASSWORD}, ip="198.51.100.10")
    assert blocked.status_code == 429 and blocked.error_code == "rate_limited" and not blocked.cookies
    assert 0 < int(blocked.headers["retry-after"]) <= 15 * 60
    # Keyed on email + IP: the same person from elsewhere, and another account from here, still get in.
    assert anon.post("/api/auth/login", json={"email": user["email"], "password": PASSWORD}, ip="198.51.100.11").status_code == 200
    other = new_client()
    sign_up(other, email="other@example.com")
    assert other.post("/api/auth/login", json={"email": "other@example.com", "password": PASSWORD}, ip="198.51.100.10").status_code == 200


def test_concurrent_guesses_cannot_get_past_ten(client, new_client, user, settings):
    """The limit holds under a burst: at most 10 wrong guesses are ever checked per window."""
    settings(BCRYPT_ROUNDS="8")  # slow enough for the guesses to overlap

    def guess(i):
        return new_client().post("/api/auth/login", json={"email": user["email"], "password": f"guess number {i}"}, ip="198.51.100.40")

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = sorted(r.status_code for r in pool.map(guess, range(40)))
    assert statuses.count(401) <= 10 and statuses.count(429) >= 30, statuses
    assert new_client().post("/api/auth/login", json={"email": user["email"], "password": PASSWORD}, ip="198.51.100.40").status_code == 429


def test_nine_failures_do_not_block(client, anon, user):
    for _ in range(9):
        anon.post("/api/auth/login", json={"email": user["email"], "password": "not the password"})
    assert anon.post("/api/auth/login", json={"email": user["email"], "password": PASSWORD}).status_code == 200


def test_successful_logins_are_not_counted(client, anon, user):
    for _ in range(12):
        assert anon.post("/api/auth/login", json={"email": user["email"], "password": PASSWORD}).status_code == 200


def test_login_failures_are_counted_by_the_first_forwarded_address(client, anon, user):
    """Behind Vercel's proxy the client is the first X-Forwarded-For hop."""
    for i in range(10):
        headers = {"X-Forwarded-For": f"192.0.2.55, 10.0.0.{i}"}
        anon.post("/api/auth/login", json={"email": user["email"], "password": "not the password"}, headers=headers, ip=f"10.1.1.{i}")
    r = anon.post("/api/auth/login", json={"email": user["email"], "password": PASSWORD}, headers={"X-Forwarded-For": "192.0.2.55"})
    assert r.status_code == 429


def test_registrations_are_limited_to_20_per_hour_per_address(client, new_client):
    for i in range(20):
        r = new_client().post("/api/auth/register", json=registration(email=f"many{i}@example.com"), ip="198.51.100.20")
        assert r.status_code == 201, (i, r.text)
    r = new_client().post("/api/auth/register", json=registration(email="one-more@example.com"), ip="198.51.100.20")
    assert r.status_code == 429 and r.error_code == "rate_limited"
    assert 0 < int(r.headers["retry-after"]) <= 3600
    assert db.collection("users").count_documents({"email": "one-more@example.com"}) == 0
    r = new_client().post("/api/auth/register", json=registration(email="one-more@example.com"), ip="198.51.100.21")
    assert r.status_code == 201


def test_reset_requests_are_limited_to_20_per_hour_per_address(client, anon, user):
    for _ in range(20):
        assert anon.post("/api/auth/forgot", json={"email": "nobody@example.com"}, ip="198.51.100.30").status_code == 202
    r = anon.post("/api/auth/forgot", json={"email": user["email"]}, ip="198.51.100.30")
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert not outbox(template="password_reset")
    assert anon.post("/api/auth/forgot", json={"email": user["email"]}, ip="198.51.100.31").status_code == 202


# --- no field reaches a query as anything but a checked scalar -----------------------------------

ANON_ROUTES = {
    "/api/auth/register": registration(),
    "/api/auth/login": {"email": "ada@example.com", "password": PASSWORD},
    "/api/auth/forgot": {"email": "ada@example.com"},
    "/api/auth/reset": {"token": "t" * 43, "new_password": NEW_PASSWORD},
    "/api/auth/verify": {"token": "t" * 43},
}


@pytest.mark.parametrize("path", sorted(ANON_ROUTES))
def test_objects_and_arrays_in_any_field_are_a_400(client, anon, path):
    sign_up(client, email="ada@example.com")
    anon.post("/api/auth/forgot", json={"email": "ada@example.com"}, ip="198.51.100.99")
    tokens_before = db.collection("reset_tokens").count_documents({})
    for n, (field, value) in enumerate((f, v) for f in ANON_ROUTES[path] for v in INJECTIONS if (f, v) != ("age_confirmed", True)):
        r = anon.post(path, json={**ANON_ROUTES[path], field: value}, ip=f"198.51.100.{n}")
        assert r.status_code == 400, (path, field, value, r.text)
        assert r.json()["error"]["field"] == field, (path, field, value, r.text)
        assert not r.cookies
    assert db.collection("users").count_documents({}) == 1
    assert db.collection("reset_tokens").count_documents({}) == tokens_before
    assert len(outbox(template="password_reset")) == 1


def test_password_change_fields_must_be_strings(client, user):
    for field in ("current_password", "new_password"):
        for value in INJECTIONS:
            body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD, field: value}
            r = client.post("/api/auth/password", json=body)
            assert r.status_code == 400, (field, value, r.text)
    assert client.get("/api/auth/me").status_code == 200


@pytest.mark.parametrize("path", ["/api/auth/register", "/api/auth/login", "/api/auth/forgot", "/api/auth/reset", "/api/auth/password"])
@pytest.mark.parametrize("body", [b"[]", b'"x"', b"not json", b'{"email": "a@b.co", "email": {"$ne": null}}'])
def test_bodies_that_are_not_a_json_object_are_a_400(client, user, path, body):
    r = client.post(path, data=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text


def test_unknown_fields_are_a_400(client, anon):
    for path, body in ANON_ROUTES.items():
        r = anon.post(path, json={**body, "$where": "1"})
        assert r.status_code == 400 and r.error_code == "unknown_field", path


# --- administrators ------------------------------------------------------------------------------

def test_admin_emails_become_admins_at_registration(client, new_client, settings):
    settings(ADMIN_EMAILS=" Boss@Example.com ,ops@example.com")
    assert sign_up(new_client(), email="boss@example.com")["role"] == "admin"
    assert sign_up(new_client(), email="OPS@example.COM")["role"] == "admin"
    assert sign_up(new_client(), email="staff@example.com")["role"] == "user"


def test_promote_command_makes_an_existing_account_admin(client, user, capsys):
    assert accounts_cli(["promote", "  " + user["email"].upper()]) == 0
    assert "administrator" in capsys.readouterr().out
    assert client.get("/api/auth/me").json()["user"]["role"] == "admin"


def test_promote_command_errors(client, capsys):
    assert accounts_cli(["promote", "nobody@example.com"]) == 1
    assert "no account" in capsys.readouterr().err
    assert accounts_cli(["promote"]) == 2
    assert accounts_cli(["demote", "x@example.com"]) == 2
    assert "usage" in capsys.readouterr().err
    assert db.collection("users").count_documents({}) == 0



def test_an_admin_email_is_no_administrator_until_the_address_is_proven(new_client, settings):
    settings(ADMIN_EMAILS="boss@example.com")
    squatter = new_client()
    sign_up(squatter, email="boss@example.com", verify=False)
    r = squatter.get("/api/admin/stats")
    assert (r.status_code, r.error_code) == (403, "email_unverified")
    follow_link(squatter, "boss@example.com")
    assert squatter.get("/api/admin/stats").status_code == 200
