"""Sessions you can end: sign-out on the server, the list in Settings, ending one or all others, password changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId

from lib import caller, config, db, sessions
from lib.accounts.session_list import describe
from tests.client import Client
from tests.fixtures.accounts import PASSWORD, sign_up
from tests.fixtures.sentisight import image_bytes

FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                 "Version/18.1 Mobile/15E148 Safari/604.1")
NEW_PASSWORD = "a brand new secret"


def login(client, email, user_agent=FIREFOX_LINUX, ip="198.51.100.20"):
    r = client.post("/api/auth/login", json={"email": email, "password": PASSWORD}, headers={"User-Agent": user_agent}, ip=ip)
    assert r.status_code == 200, r.text
    return r


def stored(user) -> dict:
    return db.collection("users").find_one({"_id": ObjectId(user["id"])})


def copy_of(client, new_client):
    """Another browser holding a copy of this client's cookie (as a thief would)."""
    thief = new_client()
    thief.cookies = dict(client.cookies)
    return thief


# --- sign-out ends the session on the server --------------------------------------------------------

def test_a_copied_cookie_stops_working_at_once_after_sign_out(client, new_client, user):
    thief = copy_of(client, new_client)
    assert thief.get("/api/auth/me").status_code == 200
    assert client.post("/api/auth/logout").status_code == 204
    r = thief.get("/api/auth/me")
    assert r.status_code == 401 and r.error_code == "session_invalid"
    assert thief.get("/api/account/profile").status_code == 401
    assert stored(user)["sessions"] == []


def test_a_copied_cookie_cannot_run_a_model_after_sign_out(client, new_client, user, sentisight):
    thief = copy_of(client, new_client)
    image = {"data": image_bytes(), "headers": {"content-type": "image/png"}}
    assert thief.post("/api/vision/general-classification", **image).status_code == 200
    client.post("/api/auth/logout")
    r = thief.post("/api/vision/general-classification", **image)
    assert r.status_code == 401 and r.error_code == "session_invalid"
    assert len(sentisight.requests) == 1 and stored(user)["credits"] == 49  # the debit's filter refused it: nothing charged


def test_signing_out_ends_only_that_session(client, new_client, user):
    laptop = new_client()
    login(laptop, user["email"])
    laptop.post("/api/auth/logout")
    assert client.get("/api/auth/me").status_code == 200
    assert len(stored(user)["sessions"]) == 1


@pytest.mark.parametrize("cookie", ["", "np_session=garbage", None])
def test_sign_out_without_a_live_session_still_clears_the_cookie(anon, cookie):
    headers = {"Cookie": cookie} if cookie else {}
    r = anon.post("/api/auth/logout", headers=headers)
    assert r.status_code == 204 and any(c.startswith("np_session=;") and "Max-Age=0" in c for c in r.cookies)


# --- the list --------------------------------------------------------------------------------------

def test_the_list_shows_browser_os_ip_and_times_and_marks_this_one(client, new_client, user):
    phone = new_client()
    login(phone, user["email"], SAFARI_IPHONE, "192.0.2.44")
    listing = phone.get("/api/account/sessions").json()["sessions"]
    assert len(listing) == 2
    newest, first = listing
    assert newest["current"] is True and first["current"] is False
    assert (newest["browser"], newest["os"], newest["ip"]) == ("Safari", "iOS", "192.0.2.44")
    assert first["ip"] == "203.0.113.7"  # where sign-up came from
    assert set(newest) == {"id", "browser", "os", "ip", "started_at", "last_seen_at", "current"}
    assert "hash" not in str(listing) and stored(user)["sessions"][0]["hash"] not in str(listing)


@pytest.mark.parametrize("agent,expected", [
    (FIREFOX_LINUX, ("Firefox", "Linux")),
    (SAFARI_IPHONE, ("Safari", "iOS")),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
     ("Edge", "Windows")),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
     ("Chrome", "macOS")),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
     ("Chrome", "Android")),
    ("python-requests/2.32", (None, None)),
    ("", (None, None)),
])
def test_browser_and_os_from_the_user_agent(agent, expected):
    assert tuple(describe(agent).values()) == expected


def test_the_list_is_for_the_dashboard_only(client, user, anon):
    assert anon.get("/api/account/sessions").status_code == 401
    r = anon.get("/api/account/sessions", headers={"Authorization": "Bearer np_live_whatever"})
    assert r.status_code == 401


def test_an_account_keeps_at_most_twenty_sessions_dropping_the_oldest(client, new_client, user):
    first_cookie = dict(client.cookies)
    for _ in range(sessions.MAX_PER_ACCOUNT):
        login(new_client(), user["email"])
    assert len(stored(user)["sessions"]) == sessions.MAX_PER_ACCOUNT
    client.cookies = first_cookie
    assert client.get("/api/auth/me").status_code == 401  # the sign-up session was the oldest


def test_expired_sessions_are_not_listed(client, new_client, user):
    login(new_client(), user["email"])
    week_ago = datetime.now(UTC) - timedelta(days=7, seconds=5)
    db.collection("users").update_one({"_id": ObjectId(user["id"])}, {"$set": {"sessions.1.started_at": week_ago}})
    listing = client.get("/api/account/sessions").json()["sessions"]
    assert [s["current"] for s in listing] == [True]


# --- last seen ---------------------------------------------------------------------------------

def test_last_seen_moves_on_at_most_every_five_minutes(client, user):
    def last_seen():
        return stored(user)["sessions"][0]["last_seen_at"]

    started = last_seen()
    client.get("/api/auth/me")
    assert last_seen() == started  # fresh: no write
    old = datetime.now(UTC) - caller.LAST_SEEN_EVERY - timedelta(seconds=1)
    db.collection("users").update_one({"_id": ObjectId(user["id"])}, {"$set": {"sessions.0.last_seen_at": old}})
    client.get("/api/auth/me", ip="192.0.2.99")
    record = stored(user)["sessions"][0]
    assert record["last_seen_at"] > old + timedelta(minutes=4) and record["ip"] == "192.0.2.99"


# --- ending sessions --------------------------------------------------------------------------------

def test_ending_another_session_signs_that_browser_out(client, new_client, user):
    laptop = new_client()
    login(laptop, user["email"])
    [other] = [s for s in client.get("/api/account/sessions").json()["sessions"] if not s["current"]]
    r = client.delete(f"/api/account/sessions/{other['id']}")
    assert r.status_code == 204 and not r.cookies
    assert laptop.get("/api/auth/me").status_code == 401
    assert client.get("/api/auth/me").status_code == 200


def test_ending_this_session_signs_out_here(client, user):
    [mine] = client.get("/api/account/sessions").json()["sessions"]
    r = client.delete(f"/api/account/sessions/{mine['id']}")
    assert r.status_code == 204 and any(c.startswith("np_session=;") for c in r.cookies)
    assert client.get("/api/auth/me").status_code == 401


@pytest.mark.parametrize("session_id", ["0123456789abcdef", "not-an-id", "%24ne", "a" * 500])
def test_unknown_session_ids_are_404(client, user, session_id):
    r = client.delete(f"/api/account/sessions/{session_id}")
    assert r.status_code == 404 and r.error_code == "not_found"
    assert client.get("/api/auth/me").status_code == 200


def test_another_persons_session_is_404_and_stays(client, new_client, user):
    other = new_client()
    sign_up(other, email="other@example.com")
    [theirs] = other.get("/api/account/sessions").json()["sessions"]
    assert client.delete(f"/api/account/sessions/{theirs['id']}").status_code == 404
    assert other.get("/api/auth/me").status_code == 200


def test_sign_out_everywhere_else(client, new_client, user):
    devices = [new_client() for _ in range(3)]
    for device in devices:
        login(device, user["email"])
    r = client.delete("/api/account/sessions")
    assert r.status_code == 200 and r.json() == {"ended": 3}
    assert all(d.get("/api/auth/me").status_code == 401 for d in devices)
    assert client.get("/api/auth/me").status_code == 200


def test_session_writes_need_our_origin(client, new_client, user):
    laptop = new_client()
    login(laptop, user["email"])
    assert client.delete("/api/account/sessions", origin="http://evil.example").status_code == 403
    assert laptop.get("/api/auth/me").status_code == 200


# --- password change and reset -----------------------------------------------------------------

def test_password_change_keeps_this_session_ends_the_others_and_keeps_tokens_unless_asked(client, new_client, user):
    laptop = new_client()
    login(laptop, user["email"])
    token = client.post("/api/tokens", json={"name": "ci"}).json()["token"]["secret"]
    r = client.post("/api/auth/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert r.status_code == 204
    assert client.get("/api/auth/me").status_code == 200 and laptop.get("/api/auth/me").status_code == 401
    assert new_client().get("/api/account/balance", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    [mail] = list(db.collection("outbox").find({"template": "password_changed"}))
    assert "This session stayed signed in; every other one was signed out." in mail["text"]
    assert "Your API tokens were kept and still work" in mail["text"]


def test_password_change_can_revoke_every_api_token(client, new_client, user):
    token = client.post("/api/tokens", json={"name": "ci"}).json()["token"]["secret"]
    r = client.post("/api/auth/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD, "revoke_tokens": True})
    assert r.status_code == 204
    assert new_client().get("/api/account/balance", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert db.collection("tokens").count_documents({}) == 0 and stored(user)["token_count"] == 0
    assert client.post("/api/tokens", json={"name": "new"}).status_code == 201  # the cap counts from zero again
    [mail] = list(db.collection("outbox").find({"template": "password_changed"}))
    assert "Your API tokens were revoked" in mail["text"]


@pytest.mark.parametrize("value", ["yes", 1, None, {"$ne": False}, []])
def test_revoke_tokens_must_be_a_boolean_and_nothing_changes_otherwise(client, user, value):
    r = client.post("/api/auth/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD, "revoke_tokens": value})
    assert r.status_code == 400 and r.error_code == "invalid_field" and r.json()["error"]["field"] == "revoke_tokens"
    assert client.post("/api/auth/login", json={"email": user["email"], "password": PASSWORD}).status_code == 200


def test_a_reset_ends_every_session_and_says_what_was_kept(client, anon, user):
    token = client.post("/api/tokens", json={"name": "ci"}).json()["token"]["secret"]
    anon.post("/api/auth/forgot", json={"email": user["email"]})
    [reset_mail] = list(db.collection("outbox").find({"template": "password_reset"}))
    link_token = reset_mail["text"].split("#token=")[1].split()[0]
    assert anon.post("/api/auth/reset", json={"token": link_token, "new_password": NEW_PASSWORD}).status_code == 204
    assert client.get("/api/auth/me").status_code == 401 and stored(user)["sessions"] == []
    assert anon.get("/api/account/balance", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    [mail] = list(db.collection("outbox").find({"template": "password_changed"}))
    assert "Every session was signed out." in mail["text"] and "Your API tokens were kept" in mail["text"]


def test_the_daily_job_forgets_expired_sessions_and_keeps_live_ones(client, new_client, user, router):
    laptop = new_client()
    login(laptop, user["email"])
    week_ago = datetime.now(UTC) - timedelta(days=7, seconds=5)
    db.collection("users").update_one({"_id": ObjectId(user["id"])}, {"$set": {"sessions.0.started_at": week_ago}})
    cron = Client(router, origin=None)
    r = cron.get("/api/cron/expired-sessions", headers={"Authorization": f"Bearer {config.settings().cron_secret}"})
    assert r.status_code == 200 and r.json() == {"job": "forget_expired", "accounts": 1}
    [kept] = stored(user)["sessions"]
    assert kept["ip"] == "198.51.100.20" and laptop.get("/api/auth/me").status_code == 200
    assert sessions.forget_expired() == {"accounts": 0}  # twice does nothing twice
