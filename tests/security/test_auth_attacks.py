"""Attacks on who-you-are: forged sessions, other people's ids, admin routes, cross-site writes, password guessing."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from bson import ObjectId

from lib import config, db, sessions
from local.router import api_routes
from tests.fixtures.accounts import PASSWORD, sign_up
from tests.fixtures.sentisight import image_bytes
from tests.reliability.support import at_once, balance, clone, counts, has_error_shape, server_errors, vision_call

EVIL = "http://evil.example"
STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")
NO_CSRF = {"/api/billing/webhook"}  # Stripe's calls: the signature is the proof, there is no cookie to abuse
SESSION_ROUTES = [("GET", "/api/auth/me"), ("GET", "/api/account/profile"), ("GET", "/api/tokens"), ("GET", "/api/account/usage"),
                  ("GET", "/api/account/export"), ("GET", "/api/billing/transactions"), ("PATCH", "/api/account/profile")]


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def forged_sessions(user: dict, other: dict) -> dict[str, str]:
    """Session cookies an attacker could make, each of which must be refused."""
    secret, now = config.settings().jwt_secret, int(time.time())
    claims = {"sub": user["id"], "sid": "a" * 43, "iat": now, "exp": now + 3600}
    valid = jwt.encode(claims, secret, algorithm="HS256")
    header, payload, signature = valid.split(".")
    return {
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        "alg none, signature kept": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.{signature}",
        "wrong key": jwt.encode(claims, "not-the-secret-" + "y" * 32, algorithm="HS256"),
        "HS512 with the right key": jwt.encode(claims, secret, algorithm="HS512"),
        "expired": jwt.encode({**claims, "iat": now - 8 * 86400, "exp": now - 86400}, secret, algorithm="HS256"),
        "no expiry": jwt.encode({k: v for k, v in claims.items() if k != "exp"}, secret, algorithm="HS256"),
        "a session id never recorded (or ended)": valid,
        "a cookie from before session ids": jwt.encode({"sub": user["id"], "iat": now, "exp": now + 3600, "sv": 0}, secret, algorithm="HS256"),
        "another user's id, not re-signed": f"{header}.{_b64({**claims, 'sub': other['id']})}.{signature}",
        "a user that does not exist": jwt.encode({**claims, "sub": str(ObjectId())}, secret, algorithm="HS256"),
        "sub is not an id": jwt.encode({**claims, "sub": {"$ne": None}}, secret, algorithm="HS256"),
        "truncated": valid[:-5],
    }


@pytest.mark.filterwarnings("ignore:The HMAC key is")  # the HS512 forgery's key is short for HS512 on purpose
def test_forged_sessions_are_401_everywhere_and_spend_nothing(client, user, new_client, sentisight, robustness):
    other = sign_up(new_client())
    forged = forged_sessions(user, other)
    results = []
    for label, token in forged.items():
        cookie = {"cookie": f"{sessions.COOKIE_NAME}={token}"}
        for method, path in SESSION_ROUTES:
            results.append((label, path, client.request(method, path, headers=cookie, json={} if method != "GET" else None)))
        # A good image, so the only thing wrong with the call is who makes it.
        results.append((label, "vision", client.post("/api/vision/general-classification", data=image_bytes(),
                                                     headers={**cookie, "content-type": "image/png"})))
    lost = abs(balance(user["id"]) - 50) + abs(balance(other["id"]) - 50)
    robustness.add("auth attacks", cases=len(results), server_errors=server_errors([r for _, _, r in results]), money_lost=lost)
    assert [(label, path, r.status_code) for label, path, r in results if r.status_code != 401 or not has_error_shape(r)] == []
    assert lost == 0 and sentisight.requests == []


def test_other_sessions_end_when_the_password_changes(client, user, robustness):
    stale = clone(client)
    assert stale.post("/api/auth/login", json={"email": user["email"], "password": PASSWORD}).status_code == 200  # another device
    assert client.post("/api/auth/password", json={"current_password": PASSWORD, "new_password": "a brand new password"}).status_code == 204
    results = [stale.request(method, path, json={} if method != "GET" else None) for method, path in SESSION_ROUTES]
    robustness.add("auth attacks", cases=len(results), server_errors=server_errors(results))
    assert [r.status_code for r in results] == [401] * len(results)
    assert client.get("/api/auth/me").status_code == 200  # the session that changed it goes on


def test_other_peoples_ids_are_404_and_untouched(client, user, new_client, robustness):
    victim_client = new_client()
    victim = sign_up(victim_client)
    victim_token = victim_client.post("/api/tokens", json={"name": "victim's"}).json()["token"]
    before = db.collection("tokens").find_one({"_id": ObjectId(victim_token["id"])})
    results = [
        client.patch(f"/api/tokens/{victim_token['id']}", json={"name": "mine now"}),
        client.patch(f"/api/tokens/{victim_token['id']}", json={"active": False}),
        client.delete(f"/api/tokens/{victim_token['id']}"),
    ]
    listings = [client.get("/api/tokens"), client.get("/api/account/usage/calls"), client.get("/api/billing/transactions"),
                client.get(f"/api/billing/transactions?id={victim['id']}"), client.get(f"/api/account/usage/calls?user_id={victim['id']}")]
    robustness.add("auth attacks", cases=len(results) + len(listings), server_errors=server_errors(results + listings))
    assert [(r.status_code, r.error_code) for r in results] == [(404, "not_found")] * 3
    assert db.collection("tokens").find_one({"_id": ObjectId(victim_token["id"])}) == before
    assert all(r.status_code == 200 and victim_token["id"] not in r.text and victim["id"] not in r.text for r in listings)


def admin_operations(router) -> list[tuple[str, str]]:
    ops = []
    for route in api_routes():
        app = router.load(route)
        if app.auth == "admin":
            ops += [(method, route.path.replace("[id]", str(ObjectId()))) for method in app.handlers]
    return ops


def test_every_admin_route_is_403_for_a_user_and_401_for_a_token(client, user, anon, router, robustness):
    token = client.post("/api/tokens", json={"name": "not an admin"}).json()["token"]["secret"]
    ops = admin_operations(router)
    as_user = [client.request(method, path, json={} if method != "GET" else None) for method, path in ops]
    as_token = [anon.request(method, path, headers={"authorization": f"Bearer {token}"}, origin=None) for method, path in ops]
    robustness.add("auth attacks", cases=2 * len(ops), server_errors=server_errors(as_user + as_token))
    assert len(ops) >= 8
    assert [(path, r.status_code) for (_, path), r in zip(ops, as_user) if r.status_code != 403 or not has_error_shape(r)] == []
    assert [(path, r.status_code) for (_, path), r in zip(ops, as_token) if r.status_code != 401 or not has_error_shape(r)] == []


def state_changing_operations(router) -> list[tuple[str, str]]:
    ops = []
    for route in api_routes():
        if route.path in NO_CSRF:
            continue
        app = router.load(route)
        ops += [(m, route.path.replace("[id]", str(ObjectId()))) for m in app.handlers if m in STATE_CHANGING]
    return ops


@pytest.mark.parametrize("forged", [{"origin": EVIL}, {"origin": "null"}, {"origin": None, "headers": {"referer": EVIL + "/page"}},
                                    {"origin": "http://testserver.evil.example"}], ids=["foreign", "null", "referer", "lookalike"])
def test_cross_site_writes_with_the_cookie_are_403(admin_client, router, forged, robustness):
    """The admin's cookie reaches every route, so only the Origin check stands between a foreign page and the write."""
    ops = state_changing_operations(router)
    before = counts()
    results = [admin_client.request(method, path, json={"name": "x"}, origin=forged["origin"], headers=forged.get("headers")) for method, path in ops]
    robustness.add("auth attacks", cases=len(results), server_errors=server_errors(results))
    assert len(ops) >= 15
    assert [(m, p, r.status_code) for (m, p), r in zip(ops, results) if (r.status_code, r.error_code) != (403, "csrf")] == []
    assert counts() == before


def test_cookie_writes_without_any_origin_are_403(client, user, router):
    ops = [(m, p) for m, p in state_changing_operations(router) if not p.startswith("/api/auth/") and p != "/api/contact"]
    results = [client.request(method, path, json={"name": "x"}, origin=None) for method, path in ops]
    assert [(m, p, r.status_code) for (m, p), r in zip(ops, results) if (r.status_code, r.error_code) != (403, "csrf")] == []


def test_password_guessing_is_stopped_at_ten(anon, user, robustness):
    guesses = [anon.post("/api/auth/login", json={"email": user["email"], "password": f"guess number {i}"}) for i in range(10)]
    locked = anon.post("/api/auth/login", json={"email": user["email"], "password": "guess number 11"})
    right = anon.post("/api/auth/login", json={"email": user["email"], "password": PASSWORD})
    robustness.add("auth attacks", cases=12, server_errors=server_errors([*guesses, locked, right]))
    assert [r.status_code for r in guesses] == [401] * 10
    assert (locked.status_code, locked.error_code) == (429, "rate_limited") and int(locked.headers["retry-after"]) > 0
    assert right.status_code == 429 and "set-cookie" not in right.headers  # even the right password waits out the window


def test_a_burst_of_parallel_guesses_gets_ten_tries_at_most(anon, user, robustness):
    calls = [(lambda i=i: clone(anon).post("/api/auth/login", json={"email": user["email"], "password": f"parallel guess {i}"}))
             for i in range(40)]
    results = at_once(calls, workers=16)
    robustness.add("auth attacks", cases=len(results), server_errors=server_errors(results))
    statuses = [r.status_code for r in results]
    assert 1 <= statuses.count(401) <= 10 and statuses.count(401) + statuses.count(429) == 40, sorted(set(statuses))


def test_an_api_token_cannot_be_used_as_a_session(anon, client, user, sentisight):
    token = client.post("/api/tokens", json={"name": "t"}).json()["token"]["secret"]
    r = anon.get("/api/auth/me", headers={"cookie": f"{sessions.COOKIE_NAME}={token}"})
    assert r.status_code == 401
    assert vision_call(anon, token=token + "x").status_code == 401
    assert vision_call(anon, token=token).status_code == 200
