"""Two-factor sign-in: set up, enable, sign in in two steps, recovery codes, disable, limits, admins."""

from __future__ import annotations

import base64
import time
import urllib.parse

import pyotp
import pytest
from bson import ObjectId

from lib import db
from lib.http import endpoint
from tests.client import Client
from tests.fixtures.accounts import PASSWORD, make_admin

PRODUCTION = {
    "VERCEL_ENV": "production", "JWT_SECRET": "production-jwt-secret-" + "p" * 32, "BCRYPT_ROUNDS": None,
    "STRIPE_SECRET_KEY": "sk_test_not_used", "STRIPE_WEBHOOK_SECRET": "whsec_not_used", "SENTISIGHT_API_TOKEN": "not-used",
}


def code_at(secret: str, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows now (or one step later: each step is accepted once)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def stored(user) -> dict:
    return db.collection("users").find_one({"_id": ObjectId(user["id"])})


def turn_on(client) -> tuple[str, list[str]]:
    """Set up and enable two-factor for the client's account; returns (secret, recovery codes)."""
    secret = client.post("/api/account/two-factor/setup").json()["secret"]
    r = client.post("/api/account/two-factor/enable", json={"password": PASSWORD, "code": code_at(secret)})
    assert r.status_code == 200, r.text
    return secret, r.json()["recovery_codes"]


def first_step(anon, email) -> str:
    r = anon.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200 and r.json()["two_factor_required"] is True, r.text
    assert not r.cookies  # no session before the code
    return r.json()["login_token"]


# --- setting it up ----------------------------------------------------------------------------------

def test_setup_gives_a_secret_an_otpauth_uri_and_a_locally_drawn_svg_qr_code(client, user):
    r = client.post("/api/account/two-factor/setup")
    assert r.status_code == 200, r.text
    body = r.json()
    uri = urllib.parse.urlsplit(body["otpauth_uri"])
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert urllib.parse.parse_qs(uri.query)["secret"] == [body["secret"]] and "NexusPoint" in body["otpauth_uri"]
    assert body["qr_svg"].startswith("data:image/svg+xml")
    svg = urllib.parse.unquote(body["qr_svg"].split(",", 1)[1]) if ";base64" not in body["qr_svg"] else \
        base64.b64decode(body["qr_svg"].split(",", 1)[1]).decode()
    assert "<svg" in svg and "http" not in svg.replace("http://www.w3.org/2000/svg", "")  # nothing fetched from elsewhere
    assert stored(user).get("two_factor") is None  # nothing is on until enabled
    assert client.get("/api/auth/me").json()["user"]["two_factor_enabled"] is False


def test_enabling_needs_the_password_and_a_valid_code_and_answers_ten_recovery_codes_once(client, user):
    secret = client.post("/api/account/two-factor/setup").json()["secret"]
    wrong_password = client.post("/api/account/two-factor/enable", json={"password": "not the password", "code": code_at(secret)})
    assert wrong_password.status_code == 400 and wrong_password.error_code == "wrong_password"
    wrong_code = client.post("/api/account/two-factor/enable", json={"password": PASSWORD, "code": "000000" if code_at(secret) != "000000" else "111111"})
    assert wrong_code.status_code == 400 and wrong_code.error_code == "wrong_code" and wrong_code.json()["error"]["field"] == "code"
    assert stored(user).get("two_factor") is None
    r = client.post("/api/account/two-factor/enable", json={"password": PASSWORD, "code": code_at(secret)})
    assert r.status_code == 200
    codes = r.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    record = stored(user)["two_factor"]
    assert all(code not in str(record["recovery"]) for code in codes)  # only hashes are kept
    assert "two_factor_pending" not in stored(user)
    me = client.get("/api/auth/me")
    assert me.json()["user"]["two_factor_enabled"] is True and secret not in me.text
    status = client.get("/api/account/two-factor").json()
    assert status["enabled"] is True and status["recovery_codes_left"] == 10


def test_enabling_without_setup_or_twice_is_refused(client, user):
    r = client.post("/api/account/two-factor/enable", json={"password": PASSWORD, "code": "123456"})
    assert r.status_code == 400 and r.error_code == "two_factor_not_set_up"
    turn_on(client)
    assert client.post("/api/account/two-factor/setup").error_code == "two_factor_already_enabled"


@pytest.mark.parametrize("body,field", [
    ({"password": PASSWORD}, "code"),
    ({"password": PASSWORD, "code": 123456}, "code"),
    ({"password": PASSWORD, "code": {"$ne": ""}}, "code"),
    ({"password": PASSWORD, "code": ["123456"]}, "code"),
    ({"password": PASSWORD, "code": "12345"}, "code"),
    ({"password": PASSWORD, "code": "1" * 41}, "code"),
    ({"password": PASSWORD, "code": "abcdef"}, "code"),
    ({"password": {"$ne": ""}, "code": "123456"}, "password"),
    ({"password": PASSWORD, "code": "123456", "secret": "AAAA"}, "secret"),
])
def test_bad_enable_input_is_400_naming_the_field(client, user, body, field):
    client.post("/api/account/two-factor/setup")
    r = client.post("/api/account/two-factor/enable", json=body)
    assert r.status_code == 400 and r.json()["error"]["field"] == field, r.text
    assert stored(user).get("two_factor") is None


# --- signing in in two steps ------------------------------------------------------------------------

def test_sign_in_with_two_factor_is_two_steps_and_the_first_is_no_session(client, anon, user):
    secret, _ = turn_on(client)
    login_token = first_step(anon, user["email"])
    anon.cookies = {"np_session": login_token}  # the login token is no session cookie
    assert anon.get("/api/auth/me").status_code == 401
    anon.cookies = {}
    r = anon.post("/api/auth/two-factor", json={"login_token": login_token, "code": code_at(secret, 1)})
    assert r.status_code == 200 and r.json()["user"]["id"] == user["id"]
    assert anon.get("/api/auth/me").status_code == 200
    assert len(stored(user)["sessions"]) == 2


def test_a_login_token_gives_one_session(client, anon, new_client, user):
    secret, codes = turn_on(client)
    login_token = first_step(anon, user["email"])
    assert anon.post("/api/auth/two-factor", json={"login_token": login_token, "code": code_at(secret, 1)}).status_code == 200
    # Whoever copied it (a proxy log, a shared screen) and has a code of their own gets nothing from it.
    r = new_client().post("/api/auth/two-factor", json={"login_token": login_token, "code": codes[0]})
    assert r.status_code == 400 and r.error_code == "invalid_login_token"
    assert len(stored(user)["two_factor"]["recovery"]) == 10 and len(stored(user)["sessions"]) == 2


def test_a_code_is_accepted_once(client, anon, new_client, user):
    secret, _ = turn_on(client)
    code = code_at(secret, 1)
    assert anon.post("/api/auth/two-factor", json={"login_token": first_step(anon, user["email"]), "code": code}).status_code == 200
    again = new_client()
    r = again.post("/api/auth/two-factor", json={"login_token": first_step(again, user["email"]), "code": code})
    assert r.status_code == 400 and r.error_code == "wrong_code"
    # the code used to enable it is spent too
    r = again.post("/api/auth/two-factor", json={"login_token": first_step(again, user["email"]), "code": code_at(secret)})
    assert r.status_code == 400 and r.error_code == "wrong_code"


def test_a_recovery_code_signs_in_once(client, anon, new_client, user):
    _, codes = turn_on(client)
    r = anon.post("/api/auth/two-factor", json={"login_token": first_step(anon, user["email"]), "code": codes[3].upper()})
    assert r.status_code == 200
    again = new_client()
    r = again.post("/api/auth/two-factor", json={"login_token": first_step(again, user["email"]), "code": codes[3]})
    assert r.status_code == 400 and r.error_code == "wrong_code"
    assert client.get("/api/account/two-factor").json()["recovery_codes_left"] == 9


@pytest.mark.parametrize("case", ["forged", "expired", "garbage", "session_cookie", "after_reset", "other_key"])
def test_a_bad_login_token_is_a_clear_400(client, anon, user, case):
    import jwt

    secret, _ = turn_on(client)
    good = first_step(anon, user["email"])
    claims = jwt.decode(good, options={"verify_signature": False})
    token = {
        "forged": jwt.encode({**claims, "sub": str(ObjectId())}, "test-jwt-secret-" + "x" * 32, algorithm="HS256"),
        "expired": jwt.encode({**claims, "exp": int(time.time()) - 1}, "test-jwt-secret-" + "x" * 32, algorithm="HS256"),
        "garbage": "not.a.token",
        "session_cookie": client.cookies["np_session"],
        "after_reset": good,
        "other_key": jwt.encode(claims, "another-secret-" + "y" * 32, algorithm="HS256"),
    }[case]
    if case == "after_reset":
        db.collection("users").update_one({"_id": ObjectId(user["id"])}, {"$set": {"password_hash": stored(user)["password_hash"] + "x"}})
    r = anon.post("/api/auth/two-factor", json={"login_token": token, "code": code_at(secret, 1)})
    assert r.status_code == 400 and r.error_code == "invalid_login_token" and r.json()["error"]["field"] == "login_token"
    assert "email and password again" in r.json()["error"]["message"]
    assert not r.cookies


@pytest.mark.parametrize("body,field", [
    ({"code": "123456"}, "login_token"),
    ({"login_token": {"$ne": ""}, "code": "123456"}, "login_token"),
    ({"login_token": "x" * 1001, "code": "123456"}, "login_token"),
    ({"login_token": "x", "code": None}, "code"),
    ({"login_token": "x", "code": "123456", "email": "a@example.com"}, "email"),
])
def test_bad_second_step_input_is_400_naming_the_field(anon, body, field):
    r = anon.post("/api/auth/two-factor", json=body)
    assert r.status_code == 400 and r.json()["error"]["field"] == field, r.text


def test_code_attempts_are_limited_per_account_across_ips(client, anon, user):
    secret, _ = turn_on(client)
    login_token = first_step(anon, user["email"])
    wrong = "000000" if code_at(secret, 1) != "000000" else "111111"
    for i in range(5):
        r = anon.post("/api/auth/two-factor", json={"login_token": login_token, "code": wrong}, ip=f"198.51.100.{i}")
        assert r.error_code == "wrong_code"
    r = anon.post("/api/auth/two-factor", json={"login_token": login_token, "code": code_at(secret, 1)}, ip="192.0.2.1")
    assert r.status_code == 429 and r.error_code == "rate_limited" and int(r.headers["retry-after"]) > 0
    assert not r.cookies


# --- turning it off -----------------------------------------------------------------------------------

def test_disabling_needs_the_password_and_a_code(client, anon, user):
    secret, codes = turn_on(client)
    r = client.post("/api/account/two-factor/disable", json={"password": "not the password", "code": code_at(secret, 1)})
    assert r.error_code == "wrong_password" and stored(user).get("two_factor")
    r = client.post("/api/account/two-factor/disable", json={"password": PASSWORD, "code": codes[0][::-1]})
    assert r.error_code in ("wrong_code", "invalid_field") and stored(user).get("two_factor")
    r = client.post("/api/account/two-factor/disable", json={"password": PASSWORD, "code": codes[0]})
    assert r.status_code == 200 and r.json() == {"enabled": False}
    assert stored(user).get("two_factor") is None
    r = anon.post("/api/auth/login", json={"email": user["email"], "password": PASSWORD})
    assert r.status_code == 200 and "user" in r.json() and r.cookies
    mails = [m["subject"] for m in db.collection("outbox").find({"template": "two_factor_changed"}).sort("created_at", 1)]
    assert mails == ["Two-factor sign-in is now on for your NexusPoint account",
                     "Two-factor sign-in is now off for your NexusPoint account"]
    assert client.post("/api/account/two-factor/disable", json={"password": PASSWORD, "code": "123456"}).error_code == "two_factor_not_enabled"


def test_two_factor_routes_are_for_the_signed_in_dashboard(anon):
    for path in ("/api/account/two-factor/setup", "/api/account/two-factor/enable", "/api/account/two-factor/disable"):
        assert anon.post(path, json={}).status_code == 401
    assert anon.post("/api/account/two-factor/setup", origin="http://evil.example").error_code == "csrf"


def test_the_secret_never_leaves_in_the_export(client, user):
    secret, codes = turn_on(client)
    export = client.get("/api/account/export")
    assert export.status_code == 200 and secret not in export.text and codes[0] not in export.text


# --- administrators -------------------------------------------------------------------------------

@pytest.fixture
def admin_only(database):
    """A client for a tiny `auth="admin"` function, as the admin routes are built."""
    return Client(endpoint(GET=lambda req: {"ok": True}, auth="admin"))


def test_in_production_an_admin_without_two_factor_gets_403_admin_2fa_required(client, user, admin_only, settings):
    make_admin(user["email"])
    settings(**PRODUCTION)
    login = Client(client.app)
    r = login.post("/api/auth/login", json={"email": user["email"], "password": PASSWORD})
    assert r.status_code == 200
    admin_only.cookies = dict(login.cookies)
    r = admin_only.get("/")
    assert r.status_code == 403 and r.error_code == "admin_2fa_required"
    assert "two-factor" in r.json()["error"]["message"]
    assert login.get("/api/admin/users").error_code == "admin_2fa_required"

    turn_on(login)  # the way out: account routes stay open to them
    assert admin_only.get("/").status_code == 200


def test_locally_an_admin_without_two_factor_is_let_in_and_the_page_is_told(admin_client, admin_only):
    admin_only.cookies = dict(admin_client.cookies)
    assert admin_only.get("/").status_code == 200
    assert admin_client.get("/api/auth/me").json()["user"]["two_factor_enabled"] is False  # the admin page's banner reads this

