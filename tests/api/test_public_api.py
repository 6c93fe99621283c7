"""Calling NexusPoint from a script: Bearer tokens, per-token rate limits, balance, request ids."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
from PIL import Image

from lib import config, db
from lib.tokens import check
from tests.api.test_tokens import create_token, with_token

NOW = 1_800_000_010.5  # 10.5 s into a minute window that starts at 1_800_000_000


@pytest.fixture
def frozen_clock(monkeypatch):
    """Pin the rate-limit clock; `.now` may be moved forward."""
    clock = SimpleNamespace(now=NOW)
    monkeypatch.setattr(check, "clock", lambda: clock.now)
    return clock


def test_balance_with_a_token_and_with_the_cookie(client, user):
    secret = create_token(client)["secret"]
    assert with_token(client, "GET", "/api/account/balance", secret).json() == {"credits": 50}
    assert client.get("/api/account/balance").json() == {"credits": 50}


def test_balance_needs_a_caller(anon):
    r = anon.get("/api/account/balance")
    assert r.status_code == 401 and r.error_code == "unauthenticated"


def test_a_token_identifies_its_user_on_me(client, user):
    secret = create_token(client)["secret"]
    r = with_token(client, "GET", "/api/auth/me", secret)
    assert r.status_code == 200 and r.json()["user"]["email"] == user["email"]


def test_a_disabled_users_token_is_refused_everywhere(client, user):
    secret = create_token(client)["secret"]
    unknown = with_token(client, "GET", "/api/account/balance", "np_live_" + "B" * 43)
    db.collection("users").update_one({"email": user["email"]}, {"$set": {"disabled": True}})
    for path in ("/api/account/balance", "/api/auth/me"):
        r = with_token(client, "GET", path, secret)
        assert r.status_code == 401 and r.error_code == "invalid_token", path
        assert r.json() == unknown.json()  # nothing tells a disabled account from a wrong token


def test_rate_limit_headers_on_every_token_response(client, user, settings, frozen_clock):
    settings(API_RATE_LIMIT_PER_MINUTE=5)
    secret = create_token(client)["secret"]
    remaining = []
    for path in ("/api/account/balance", "/api/auth/me", "/api/account/balance"):
        r = with_token(client, "GET", path, secret)
        assert r.status_code == 200
        assert r.headers["x-ratelimit-limit"] == "5"
        assert r.headers["x-ratelimit-reset"] == str(1_800_000_060)
        remaining.append(r.headers["x-ratelimit-remaining"])
    assert remaining == ["4", "3", "2"]
    assert "x-ratelimit-limit" not in client.get("/api/account/balance").headers  # the dashboard is not metered


def test_over_the_limit_is_429_with_retry_after_until_the_next_minute(client, user, settings, frozen_clock):
    settings(API_RATE_LIMIT_PER_MINUTE=3)
    secret = create_token(client)["secret"]
    for _ in range(3):
        assert with_token(client, "GET", "/api/account/balance", secret).status_code == 200
    r = with_token(client, "GET", "/api/account/balance", secret)
    assert r.status_code == 429 and r.error_code == "rate_limited"
    assert r.headers["retry-after"] == "50"  # 49.5 s left in the window, rounded up
    assert r.headers["x-ratelimit-remaining"] == "0" and r.headers["x-ratelimit-limit"] == "3"

    frozen_clock.now = NOW + 60
    r = with_token(client, "GET", "/api/account/balance", secret)
    assert r.status_code == 200 and r.headers["x-ratelimit-remaining"] == "2"
    assert r.headers["x-ratelimit-reset"] == str(1_800_000_120)


def test_each_token_has_its_own_limit(client, user, settings, frozen_clock):
    settings(API_RATE_LIMIT_PER_MINUTE=1)
    first, second = create_token(client, "a")["secret"], create_token(client, "b")["secret"]
    assert with_token(client, "GET", "/api/account/balance", first).status_code == 200
    assert with_token(client, "GET", "/api/account/balance", first).status_code == 429
    assert with_token(client, "GET", "/api/account/balance", second).status_code == 200


def test_concurrent_requests_are_each_counted_once(client, user, settings, frozen_clock):
    settings(API_RATE_LIMIT_PER_MINUTE=10)
    secret = create_token(client)["secret"]
    client.get("/api/account/balance")  # load the function once (with the cookie: unmetered) before the threads race
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: with_token(client, "GET", "/api/account/balance", secret), range(20)))
    assert sorted(r.status_code for r in answers) == [200] * 10 + [429] * 10
    assert sorted(r.headers["x-ratelimit-remaining"] for r in answers if r.status_code == 200) == sorted(str(n) for n in range(10))


def test_the_default_limit_is_sixty_a_minute(client, user):
    assert config.settings().api_rate_limit_per_minute == 60
    r = with_token(client, "GET", "/api/account/balance", create_token(client)["secret"])
    assert r.headers["x-ratelimit-limit"] == "60" and r.headers["x-ratelimit-remaining"] == "59"


def test_request_id_header_matches_the_request_log(client, user):
    token = create_token(client)
    r = with_token(client, "GET", "/api/account/balance", token["secret"])
    row = db.collection("request_log").find_one({"request_id": r.headers["x-request-id"]})
    assert row is not None and row["path"] == "/api/account/balance" and row["status"] == 200
    assert str(row["token_id"]) == token["id"] and row["user_id"] is not None

    r = client.get("/api/account/balance")
    row = db.collection("request_log").find_one({"request_id": r.headers["x-request-id"]})
    assert row is not None and "token_id" not in row


def test_a_token_check_is_one_database_command(client, user, mongo_commands):
    secret = create_token(client)["secret"]
    mongo_commands.commands.clear()
    req = SimpleNamespace(response_headers={}, log_extra={})
    caller = check.authenticate(req, secret)
    assert caller.source == "api" and caller.token_name == "my script"
    assert mongo_commands.commands == [("findAndModify", "tokens")]
    assert req.response_headers["X-RateLimit-Remaining"] == "59"

    mongo_commands.commands.clear()
    with pytest.raises(Exception, match="Invalid API token"):
        check.authenticate(req, "ghp_not_ours")
    assert mongo_commands.commands == []  # a foreign token format never reaches the database


# --- vision calls with a token (the fake SentiSight answers) -----------------

def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 50, 50)).save(out, "PNG")
    return out.getvalue()


def use_rows() -> list[dict]:
    return list(db.collection("ledger").find({"kind": "use"}))


def test_a_token_vision_call_is_logged_as_api_with_its_token(client, user, sentisight):
    token = create_token(client)
    r = with_token(client, "POST", "/api/vision/object-detection", token["secret"], files={"image": ("a.png", png_bytes(), "image/png")})
    assert r.status_code == 200, r.text
    assert r.json()["credits_charged"] == 2 and r.json()["credits_remaining"] == 48
    assert r.headers["x-ratelimit-remaining"] == "59"
    [row] = use_rows()
    assert row["source"] == "api" and str(row["token_id"]) == token["id"]
    assert "image_url" not in row


def test_a_token_url_call_stores_the_url(client, user, sentisight):
    secret = create_token(client)["secret"]
    url = "https://images.example.com/street.jpg?size=large"
    r = with_token(client, "POST", "/api/vision/object-detection", secret, json={"url": url})
    assert r.status_code == 200, r.text
    [row] = use_rows()
    assert row["source"] == "api" and row["image_url"] == url


def test_a_dashboard_url_call_stores_no_url_or_token(client, user, sentisight):
    r = client.post("/api/vision/object-detection", json={"url": "https://images.example.com/street.jpg"})
    assert r.status_code == 200, r.text
    [row] = use_rows()
    assert row["source"] == "dashboard" and "image_url" not in row and "token_id" not in row
    assert "x-ratelimit-limit" not in r.headers


def test_a_rate_limited_vision_call_charges_nothing(client, user, settings, sentisight, frozen_clock):
    settings(API_RATE_LIMIT_PER_MINUTE=1)
    secret = create_token(client)["secret"]
    image = {"image": ("a.png", png_bytes(), "image/png")}
    assert with_token(client, "POST", "/api/vision/object-detection", secret, files=image).status_code == 200
    r = with_token(client, "POST", "/api/vision/object-detection", secret, files=image)
    assert r.status_code == 429 and r.error_code == "rate_limited" and int(r.headers["retry-after"]) > 0
    assert len(use_rows()) == 1 and len(sentisight.requests) == 1
    assert client.get("/api/account/balance").json() == {"credits": 48}


def test_a_disabled_users_token_cannot_run_a_model(client, user, sentisight):
    secret = create_token(client)["secret"]
    db.collection("users").update_one({"email": user["email"]}, {"$set": {"disabled": True}})
    r = with_token(client, "POST", "/api/vision/object-detection", secret, files={"image": ("a.png", png_bytes(), "image/png")})
    assert r.status_code == 401 and r.error_code == "invalid_token"
    assert use_rows() == [] and sentisight.requests == []
