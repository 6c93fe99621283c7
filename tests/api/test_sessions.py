"""The session: an HS256 JWT for 7 days in the np_session cookie, recorded on the user; what ends it; CSRF; admin checks."""

from __future__ import annotations

import base64
import hashlib
import json
import time

import jwt
import pytest
from bson import ObjectId

from lib import db, passwords, sessions
from lib.http import endpoint
from tests.client import Client
from tests.fixtures.accounts import PASSWORD, sign_up

SECRET = "test-jwt-secret-" + "x" * 32  # tests/conftest.py
WEEK = 604800
PRODUCTION = {
    "VERCEL_ENV": "production", "JWT_SECRET": "production-jwt-secret-" + "p" * 32, "BCRYPT_ROUNDS": None,
    "STRIPE_SECRET_KEY": "sk_test_not_used", "STRIPE_WEBHOOK_SECRET": "whsec_not_used", "SENTISIGHT_API_TOKEN": "not-used",
}


def attributes(set_cookie: str) -> dict[str, str]:
    name_value, *attrs = [p.strip() for p in set_cookie.split(";")]
    out = {"": name_value}
    for attr in attrs:
        key, _, value = attr.partition("=")
        out[key.lower()] = value
    return out


def cookie_of(result) -> str:
    [cookie] = [c for c in result.cookies if c.startswith("np_session=")]
    return cookie


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def me_with(client: Client, token: str):
    client.cookies = {"np_session": token}
    return client.get("/api/auth/me")


def sid_of(client: Client) -> str:
    """The session id inside the client's genuine cookie (recorded on the user when it signed in)."""
    return jwt.decode(client.cookies["np_session"], SECRET, algorithms=["HS256"])["sid"]


def claims_for(user: dict, sid: str, **changes) -> dict:
    now = int(time.time())
    return {"sub": user["id"], "sid": sid, "iat": now, "exp": now + WEEK, **changes}


# --- the cookie ---------------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["register", "login"])
def test_the_session_cookie(client, anon, how):
    if how == "register":
        r = client.post("/api/auth/register", json={"first_name": "A", "last_name": "B", "email": "c@example.com", "password": PASSWORD,
                                                       "age_confirmed": True})
    else:
        sign_up(anon, email="c@example.com")
        r = client.post("/api/auth/login", json={"email": "c@example.com", "password": PASSWORD})
    attrs = attributes(cookie_of(r))
    assert attrs[""].startswith("np_session=") and len(attrs[""]) > 50
    assert "httponly" in attrs and attrs["samesite"] == "Lax" and attrs["path"] == "/" and attrs["max-age"] == str(WEEK)
    assert "secure" not in attrs  # plain http locally; Secure only in production
    assert "domain" not in attrs and "expires" not in attrs


def test_the_cookie_is_secure_in_production(client, anon, settings):
    sign_up(anon, email="prod@example.com")
    settings(**PRODUCTION)
    r = client.post("/api/auth/login", json={"email": "prod@example.com", "password": PASSWORD})
    assert r.status_code == 200, r.text
    attrs = attributes(cookie_of(r))
    assert "secure" in attrs and "httponly" in attrs and attrs["samesite"] == "Lax" and attrs["max-age"] == str(WEEK)
    assert client.get("/api/auth/me").status_code == 200
    out = client.post("/api/auth/logout")
    assert "secure" in attributes(cookie_of(out)) and attributes(cookie_of(out))["max-age"] == "0"


def test_the_token_is_hs256_with_sub_iat_exp_7_days_and_a_session_id_kept_only_hashed(client, user):
    token = client.cookies["np_session"]
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert set(claims) == {"sub", "iat", "exp", "sid"}
    assert claims["sub"] == user["id"] and len(claims["sid"]) >= 40
    assert claims["exp"] - claims["iat"] == WEEK and abs(claims["iat"] - time.time()) < 60
    [record] = db.collection("users").find_one({"_id": ObjectId(user["id"])})["sessions"]
    assert record["hash"] == hashlib.sha256(claims["sid"].encode()).hexdigest()
    assert claims["sid"] not in str(db.collection("users").find_one({"_id": ObjectId(user["id"])}))


# --- what is not a session ----------------------------------------------------------------------

def test_a_well_formed_token_of_a_recorded_session_works(client, anon, user):
    assert me_with(anon, jwt.encode(claims_for(user, sid_of(client)), SECRET, algorithm="HS256")).status_code == 200


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # HS512 with our 48-byte key, on purpose
@pytest.mark.parametrize("case", [
    "alg_none", "alg_none_unsigned_original", "hs512_same_secret", "hs384_same_secret", "other_key", "expired",
    "tampered_payload", "tampered_signature", "unknown_user", "not_an_object_id", "missing_sid", "missing_exp",
    "sid_not_str", "unrecorded_sid", "another_users_sid", "before_session_ids", "pending_login_token", "garbage", "empty_segments",
])
def test_forged_expired_or_malformed_tokens_are_401(client, anon, user, new_client, case):
    other = new_client()
    victim = sign_up(other, email="victim@example.com")
    good = client.cookies["np_session"]
    sid = sid_of(client)
    head, body, sig = good.split(".")
    now = int(time.time())
    token = {
        "alg_none": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims_for(victim, sid_of(other)))}.",
        "alg_none_unsigned_original": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{body}.",
        "hs512_same_secret": jwt.encode(claims_for(user, sid), SECRET, algorithm="HS512"),
        "hs384_same_secret": jwt.encode(claims_for(user, sid), SECRET, algorithm="HS384"),
        "other_key": jwt.encode(claims_for(user, sid), "another-secret-" + "y" * 32, algorithm="HS256"),
        "expired": sessions.issue(ObjectId(user["id"]), sid, now=time.time() - WEEK - 5),
        "tampered_payload": f"{head}.{b64(claims_for(victim, sid_of(other)))}.{sig}",
        "tampered_signature": f"{head}.{body}.{sig[:-2]}{'AA' if sig[-2:] != 'AA' else 'BB'}",
        "unknown_user": jwt.encode(claims_for(user, sid, sub=str(ObjectId())), SECRET, algorithm="HS256"),
        "not_an_object_id": jwt.encode(claims_for(user, sid, sub="admin"), SECRET, algorithm="HS256"),
        "missing_sid": jwt.encode({k: v for k, v in claims_for(user, sid).items() if k != "sid"}, SECRET, algorithm="HS256"),
        "missing_exp": jwt.encode({k: v for k, v in claims_for(user, sid).items() if k != "exp"}, SECRET, algorithm="HS256"),
        "sid_not_str": jwt.encode(claims_for(user, 12345), SECRET, algorithm="HS256"),
        "unrecorded_sid": jwt.encode(claims_for(user, "a" * 43), SECRET, algorithm="HS256"),
        "another_users_sid": jwt.encode(claims_for(user, sid_of(other)), SECRET, algorithm="HS256"),
        # The cookie every account held before sessions were recorded: it signs nobody in any more.
        "before_session_ids": jwt.encode({"sub": user["id"], "iat": now, "exp": now + WEEK, "sv": 0}, SECRET, algorithm="HS256"),
        "pending_login_token": jwt.encode({**claims_for(user, sid), "purpose": "2fa-login", "ph": "x"}, SECRET, algorithm="HS256"),
        "garbage": "not-a-jwt",
        "empty_segments": "..",
    }[case]
    r = me_with(anon, token)
    assert r.status_code == 401 and r.error_code in ("session_invalid", "unauthenticated"), (case, r.text)
    assert me_with(anon, good).status_code == 200  # the genuine one still works


def test_a_disabled_account_loses_its_session_at_once(client, user):
    db.collection("users").update_one({"_id": ObjectId(user["id"])}, {"$set": {"disabled": True}})
    r = client.get("/api/auth/me")
    assert r.status_code == 401 and r.error_code == "session_invalid"
    assert client.get("/api/account/profile").status_code == 401


def test_a_removed_session_record_ends_the_session(client, user):
    db.collection("users").update_one({"_id": ObjectId(user["id"])}, {"$set": {"sessions": []}})
    r = client.get("/api/auth/me")
    assert r.status_code == 401 and r.error_code == "session_invalid"


def test_a_deleted_account_loses_its_session(client, user):
    db.collection("users").delete_one({"_id": ObjectId(user["id"])})
    db.collection("ledger").delete_many({})
    assert client.get("/api/auth/me").status_code == 401


@pytest.mark.parametrize("case", ["current", "none", "garbage", "other_key", "not_an_object_id", "unknown_user", "ended", "disabled"])
def test_optional_user_is_the_user_of_a_current_cookie_and_otherwise_none(client, user, case):
    """The one session check for routes open to all (contact): same verdict as load_user, but never a 401."""
    from types import SimpleNamespace

    from lib.http.auth import optional_user  # imported here: it is what this test is about

    good = client.cookies["np_session"]
    sid = sid_of(client)
    cookies = {
        "current": {"np_session": good},
        "none": {},
        "garbage": {"np_session": "not-a-jwt"},
        "other_key": {"np_session": jwt.encode(claims_for(user, sid), "another-secret-" + "y" * 32, algorithm="HS256")},
        "not_an_object_id": {"np_session": jwt.encode(claims_for(user, sid, sub="admin"), SECRET, algorithm="HS256")},
        "unknown_user": {"np_session": jwt.encode(claims_for(user, sid, sub=str(ObjectId())), SECRET, algorithm="HS256")},
        "ended": {"np_session": good},
        "disabled": {"np_session": good},
    }[case]
    if case == "ended":
        db.collection("users").update_one({"_id": ObjectId(user["id"])}, {"$set": {"sessions": []}})
    if case == "disabled":
        db.collection("users").update_one({"_id": ObjectId(user["id"])}, {"$set": {"disabled": True}})
    found = optional_user(SimpleNamespace(cookies=cookies))
    if case == "current":
        assert found["_id"] == ObjectId(user["id"]) and found["email"] == user["email"]
    else:
        assert found is None
    assert (me_with(Client(client.app), cookies.get("np_session", "")).status_code == 200) == (case == "current")


# --- CSRF: cookie writes must come from our own pages -------------------------------------------

def password_change(client, **kw):
    return client.post("/api/auth/password", json={"current_password": PASSWORD, "new_password": "a brand new secret"}, **kw)


def profile_patch(client, **kw):
    return client.patch("/api/account/profile", json={"company": "Evil Corp"}, **kw)


@pytest.mark.parametrize("write", [password_change, profile_patch])
@pytest.mark.parametrize("origin,headers", [
    (None, {}),
    ("http://evil.example", {}),
    ("null", {}),
    ("https://testserver.evil.example", {}),
    (None, {"Referer": "http://evil.example/page"}),
    ("null", {"Referer": "http://evil.example/testserver"}),
    ("http://evil.example", {"Referer": "http://testserver/account"}),
])
def test_cookie_writes_without_our_origin_are_403(client, user, write, origin, headers):
    r = write(client, origin=origin, headers=headers)
    assert r.status_code == 403 and r.error_code == "csrf", r.text
    stored = db.collection("users").find_one({"_id": ObjectId(user["id"])})
    assert stored["company"] == "" and passwords.verify(PASSWORD, stored["password_hash"]) and len(stored["sessions"]) == 1


@pytest.mark.parametrize("write", [password_change, profile_patch])
def test_a_same_site_referer_is_enough_without_origin(client, user, write):
    r = write(client, origin=None, headers={"Referer": "http://testserver/account/settings?tab=1"})
    assert r.status_code in (200, 204), r.text


def test_reads_need_no_origin(client, user):
    assert client.get("/api/auth/me", origin=None).status_code == 200
    assert client.get("/api/account/profile", origin="http://evil.example").status_code == 200


@pytest.mark.parametrize("path,body", [
    ("/api/auth/login", {"email": "x@example.com", "password": PASSWORD}),
    ("/api/auth/register", {"first_name": "A", "last_name": "B", "email": "x@example.com", "password": PASSWORD, "age_confirmed": True}),
    ("/api/auth/logout", None),
    ("/api/auth/forgot", {"email": "x@example.com"}),
])
def test_signed_out_writes_from_a_foreign_site_are_403(anon, path, body):
    r = anon.post(path, json=body, origin="http://evil.example")
    assert r.status_code == 403 and r.error_code == "csrf"
    assert not r.cookies and db.collection("users").count_documents({}) == 0


def test_signed_out_writes_without_origin_work_for_scripts(anon):
    r = anon.post("/api/auth/register", json={"first_name": "A", "last_name": "B", "email": "x@example.com", "password": PASSWORD,
                                                  "age_confirmed": True}, origin=None)
    assert r.status_code == 201


# --- administrators are checked on every request ------------------------------------------------

@pytest.fixture
def admin_only(database):
    """A client for a tiny `auth="admin"` function, as the admin routes are built."""
    return Client(endpoint(GET=lambda req: {"ok": True}, POST=lambda req: None, auth="admin"))


def test_admin_routes_check_the_role_on_every_request(admin_client, admin_only):
    admin_only.cookies = dict(admin_client.cookies)
    assert admin_only.get("/").status_code == 200
    assert admin_only.post("/").status_code == 204
    db.collection("users").update_one({"email": admin_client.user["email"]}, {"$set": {"role": "user"}})
    r = admin_only.get("/")  # the same, still valid session cookie
    assert r.status_code == 403 and r.error_code == "forbidden"
    assert admin_client.get("/api/auth/me").json()["user"]["role"] == "user"


def test_admin_routes_refuse_users_strangers_and_tokens(client, user, admin_only):
    admin_only.cookies = dict(client.cookies)
    assert admin_only.get("/").status_code == 403
    admin_only.cookies = {}
    assert admin_only.get("/").status_code == 401
    assert admin_only.get("/", headers={"Authorization": "Bearer np_whatever"}).status_code == 401


def test_admin_writes_need_our_origin(admin_client, admin_only):
    admin_only.cookies = dict(admin_client.cookies)
    r = admin_only.post("/", origin="http://evil.example")
    assert r.status_code == 403 and r.error_code == "csrf"
