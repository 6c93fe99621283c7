"""A token's settings: model scopes, credit caps (stored, shown), expiry (401 token_expired, the warning mail), PATCH."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId

from lib import config, credits, db
from lib.tokens import expiry, periods
from tests.api.test_tokens import create_token, with_token
from tests.fixtures.accounts import sign_up
from tests.fixtures.sentisight import image_bytes, ledger_rows


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def in_days(days: float) -> str:
    return iso(datetime.now(UTC) + timedelta(days=days))


def vision(client, secret: str, slug: str = "object-detection"):
    return client.post(f"/api/vision/{slug}", data=image_bytes(), headers={"authorization": f"Bearer {secret}", "content-type": "image/png"},
                       cookies=False, origin=None)


def run_cron(client):
    return client.get("/api/cron/token-expiry", headers={"Authorization": "Bearer " + config.settings().cron_secret}, origin=None)


def expiry_mails() -> list[dict]:
    return list(db.collection("outbox").find({"template": "token_expiring"}))


# --- creating and listing -------------------------------------------------------

def test_settings_are_stored_and_listed(client, user):
    expires = in_days(30)
    made = create_token(client, "contractor", models=["object-detection", "text-recognition"],
                        credit_limit={"credits": 100, "period": "month"}, expires_at=expires)
    [row] = client.get("/api/tokens").json()["tokens"]
    for shown in (made, row):
        assert shown["mode"] == "live" and shown["models"] == ["object-detection", "text-recognition"]
        assert shown["expires_at"][:19] == expires[:19] and shown["expired"] is False
        limit = shown["credit_limit"]
        assert (limit["credits"], limit["period"], limit["used"]) == (100, "month", 0)
        assert limit["resets_at"] == iso(periods.resets_at("month", datetime.now(UTC)))


def test_defaults_are_live_all_models_no_cap_no_expiry(client, user):
    made = create_token(client)
    assert (made["mode"], made["models"], made["credit_limit"], made["expires_at"], made["expired"]) == ("live", [], None, None, False)


def test_the_list_shows_this_periods_spend(client, user):
    token = create_token(client, credit_limit={"credits": 10, "period": "day"})
    other = create_token(client, credit_limit={"credits": 10, "period": "total"})
    today = periods.key("day", datetime.now(UTC))
    db.collection("users").update_one({"_id": ObjectId(user["id"])}, {"$set": {
        f"token_spend.{token['id']}": {"period": today, "used": 4},  # as lib/credits' debit keeps it
        f"token_spend.{other['id']}": {"period": "total", "used": 7},
    }})
    rows = {r["id"]: r for r in client.get("/api/tokens").json()["tokens"]}
    assert rows[token["id"]]["credit_limit"]["used"] == 4 and rows[other["id"]]["credit_limit"]["used"] == 7
    assert rows[other["id"]]["credit_limit"]["resets_at"] is None
    db.collection("users").update_one({"_id": ObjectId(user["id"])}, {"$set": {f"token_spend.{token['id']}.period": "2020-01-01"}})
    assert {r["id"]: r for r in client.get("/api/tokens").json()["tokens"]}[token["id"]]["credit_limit"]["used"] == 0  # a past day


def test_ten_tokens_live_and_test_together(client, user):
    for i in range(10):
        create_token(client, f"t{i}", mode="test" if i % 2 else "live")
    for mode in ("live", "test"):
        assert client.post("/api/tokens", json={"name": "one more", "mode": mode}).error_code == "token_limit"


BAD_SETTINGS = [
    ({"mode": "staging"}, "mode"), ({"mode": ["test"]}, "mode"), ({"mode": {"$ne": "live"}}, "mode"),
    ({"models": ["no-such-model"]}, "models"), ({"models": ["object-detection", "object-detection"]}, "models"),
    ({"models": "object-detection"}, "models"), ({"models": [{"$gt": ""}]}, "models"), ({"models": {"$in": ["x"]}}, "models"),
    ({"credit_limit": {"credits": 0, "period": "day"}}, "credit_limit"), ({"credit_limit": {"credits": -5, "period": "day"}}, "credit_limit"),
    ({"credit_limit": {"credits": 2.5, "period": "day"}}, "credit_limit"), ({"credit_limit": {"credits": "10", "period": "day"}}, "credit_limit"),
    ({"credit_limit": {"credits": True, "period": "day"}}, "credit_limit"), ({"credit_limit": {"credits": 10, "period": "week"}}, "credit_limit"),
    ({"credit_limit": {"credits": 10}}, "credit_limit"), ({"credit_limit": {"credits": 10, "period": "day", "x": 1}}, "credit_limit"),
    ({"credit_limit": {"$gt": 0}}, "credit_limit"), ({"credit_limit": 10}, "credit_limit"),
    ({"expires_at": "2020-01-01T00:00:00Z"}, "expires_at"), ({"expires_at": in_days(800)}, "expires_at"),
    ({"expires_at": "next tuesday"}, "expires_at"), ({"expires_at": "2027-06-30T00:00:00"}, "expires_at"),
    ({"expires_at": 1893456000}, "expires_at"), ({"expires_at": {"$gt": ""}}, "expires_at"),
]


@pytest.mark.parametrize(("settings", "field"), BAD_SETTINGS)
def test_bad_settings_are_refused_naming_the_field(client, user, settings, field):
    r = client.post("/api/tokens", json={"name": "bad", **settings})
    assert r.status_code == 400 and r.json()["error"]["field"] == field, r.text
    assert db.collection("tokens").count_documents({}) == 0
    assert db.collection("users").find_one({"_id": ObjectId(user["id"])}).get("token_count", 0) == 0


def test_an_expiry_with_another_offset_is_kept_in_utc(client, user):
    when = datetime.now(UTC) + timedelta(days=3)
    made = create_token(client, expires_at=when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") + "+02:00")
    assert made["expires_at"].startswith((when - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))


# --- editing ---------------------------------------------------------------------

def test_patch_changes_scope_cap_and_expiry_and_clears_them_with_null(client, user):
    token = create_token(client)
    path = f"/api/tokens/{token['id']}"
    expires = in_days(60)
    r = client.patch(path, json={"models": ["pose-estimation"], "credit_limit": {"credits": 5, "period": "total"}, "expires_at": expires})
    assert r.status_code == 200, r.text
    edited = r.json()["token"]
    assert edited["models"] == ["pose-estimation"] and edited["credit_limit"]["credits"] == 5 and edited["expires_at"][:19] == expires[:19]
    cleared = client.patch(path, json={"models": [], "credit_limit": None, "expires_at": None}).json()["token"]
    assert (cleared["models"], cleared["credit_limit"], cleared["expires_at"]) == ([], None, None)


def test_the_mode_is_fixed_at_creation(client, user):
    token = create_token(client, mode="test")
    r = client.patch(f"/api/tokens/{token['id']}", json={"mode": "live"})
    assert (r.status_code, r.json()["error"]["field"]) == (400, "mode")
    assert client.get("/api/tokens").json()["tokens"][0]["mode"] == "test"


@pytest.mark.parametrize(("settings", "field"), [s for s in BAD_SETTINGS if "mode" not in s[0]])
def test_a_bad_edit_changes_nothing(client, user, settings, field):
    token = create_token(client, "kept", models=["object-detection"])
    r = client.patch(f"/api/tokens/{token['id']}", json={"name": "renamed", **settings})
    assert r.status_code == 400 and r.json()["error"]["field"] == field
    [row] = client.get("/api/tokens").json()["tokens"]
    assert row["name"] == "kept" and row["models"] == ["object-detection"] and row["credit_limit"] is None


def test_another_users_token_cannot_be_edited(client, user, new_client):
    token = create_token(client, "mine")
    other = new_client()
    sign_up(other)
    r = other.patch(f"/api/tokens/{token['id']}", json={"models": ["pose-estimation"], "expires_at": in_days(1)})
    assert r.status_code == 404
    [row] = client.get("/api/tokens").json()["tokens"]
    assert row["models"] == [] and row["expires_at"] is None


# --- scopes and expiry on calls ----------------------------------------------------

@pytest.mark.parametrize("mode", ["live", "test"])
def test_a_scoped_token_gets_403_for_other_models_and_pays_nothing(client, user, sentisight, mode):
    token = create_token(client, models=["general-classification", "text-recognition"], mode=mode)
    r = vision(client, token["secret"], "object-detection")
    assert (r.status_code, r.error_code) == (403, "model_not_allowed")
    error = r.json()["error"]
    assert error["allowed_models"] == ["general-classification", "text-recognition"] and "general-classification" in error["message"]
    assert ledger_rows(user, "use") == [] and sentisight.requests == []
    assert vision(client, token["secret"], "general-classification").status_code == 200


def test_an_expired_token_is_401_token_expired(client, user, sentisight):
    token = create_token(client, expires_at=in_days(1))
    assert vision(client, token["secret"]).status_code == 200
    db.collection("tokens").update_one({"_id": ObjectId(token["id"])}, {"$set": {"expires_at": datetime.now(UTC) - timedelta(seconds=1)}})
    for r in (vision(client, token["secret"]), with_token(client, "GET", "/api/account/balance", token["secret"])):
        assert (r.status_code, r.error_code) == (401, "token_expired")
    assert len(ledger_rows(user, "use")) == 1 and len(sentisight.requests) == 1
    assert client.get("/api/tokens").json()["tokens"][0]["expired"] is True


def test_a_scoped_capped_expiring_live_call_still_costs_four_commands(client, user, sentisight, mongo_commands):
    token = create_token(client, models=["object-detection"], credit_limit={"credits": 10, "period": "day"}, expires_at=in_days(9))
    mongo_commands.commands.clear()
    assert vision(client, token["secret"]).status_code == 200
    assert len(mongo_commands.counted()) <= 4, mongo_commands.counted()


# --- the expiry warning (cron) -------------------------------------------------------

@pytest.fixture
def a_week_before(monkeypatch):
    """Moves the job's clock to `days_ahead` days from now."""
    def move(days_ahead: float):
        monkeypatch.setattr(expiry, "clock", lambda: datetime.now(UTC) + timedelta(days=days_ahead))
    return move


def test_the_warning_goes_out_once_seven_days_before(client, user, a_week_before):
    token = create_token(client, "deploy key", expires_at=in_days(30))
    assert run_cron(client).json() == {"job": "send_expiry_warnings", "mailed": 0}  # 30 days ahead: not yet
    a_week_before(22.9)
    assert run_cron(client).json()["mailed"] == 0
    a_week_before(23.1)
    assert run_cron(client).json()["mailed"] == 1
    assert run_cron(client).json()["mailed"] == 0
    [mail] = expiry_mails()
    assert mail["to"] == user["email"] and "deploy key" in mail["subject"] and token["prefix"] in mail["text"]
    assert "/dashboard/tokens" in mail["text"] and "token_expired" in mail["text"]


def test_two_runs_at_once_mail_once(client, user, a_week_before):
    for i in range(5):
        create_token(client, f"k{i}", expires_at=in_days(10))
    a_week_before(4)
    with ThreadPoolExecutor(max_workers=4) as pool:
        mailed = [r.json()["mailed"] for r in pool.map(lambda _: run_cron(client), range(4))]
    assert sum(mailed) == 5 and len(expiry_mails()) == 5


def test_no_warning_for_test_paused_or_short_lived_tokens(client, user, a_week_before):
    create_token(client, "sandbox", mode="test", expires_at=in_days(10))
    paused = create_token(client, "paused", expires_at=in_days(10))
    client.patch(f"/api/tokens/{paused['id']}", json={"active": False})
    create_token(client, "ci run", expires_at=in_days(2))  # chosen a few days ahead: its creator knows
    a_week_before(4)
    assert run_cron(client).json()["mailed"] == 0 and expiry_mails() == []


def test_a_new_expiry_date_arms_a_new_warning(client, user, a_week_before):
    token = create_token(client, expires_at=in_days(10))
    a_week_before(4)
    assert run_cron(client).json()["mailed"] == 1
    client.patch(f"/api/tokens/{token['id']}", json={"expires_at": in_days(20)})
    assert run_cron(client).json()["mailed"] == 0  # 20 days ahead of now, 16 of the clock
    a_week_before(13.5)
    assert run_cron(client).json()["mailed"] == 1 and len(expiry_mails()) == 2


def test_no_warning_when_security_alerts_are_off(client, user, a_week_before):
    client.patch("/api/account/profile", json={"notifications": {"security_alerts": False}})
    create_token(client, expires_at=in_days(10))
    a_week_before(4)
    assert run_cron(client).json()["mailed"] == 0 and expiry_mails() == []


# --- the cap under concurrency: enforced inside the debit's own conditional write ----------------

def test_a_hundred_parallel_calls_on_a_ten_credit_cap_spend_exactly_ten(client, user, sentisight, settings):
    # 100 threads on 2 cores: no (refunded) timeouts, and no per-token rate limit in the way
    settings(SENTISIGHT_CONNECT_TIMEOUT=10, SENTISIGHT_READ_TIMEOUT=20, API_RATE_LIMIT_PER_MINUTE=10_000)
    token = create_token(client, "capped", credit_limit={"credits": 10, "period": "day"})
    data = image_bytes()

    def one_call(_):
        return client.post("/api/vision/general-classification", data=data,  # 1 credit each
                           headers={"authorization": f"Bearer {token['secret']}", "content-type": "image/png"},
                           cookies=False, origin=None)

    with ThreadPoolExecutor(max_workers=100) as pool:
        answers = list(pool.map(one_call, range(100)))
    statuses = [r.status_code for r in answers]
    assert (statuses.count(200), statuses.count(402)) == (10, 90), sorted(set(statuses))
    assert {r.error_code for r in answers if r.status_code == 402} == {"token_credit_limit"}
    assert client.get("/api/auth/me").json()["user"]["credits"] == 40
    assert len([row for row in ledger_rows(user, "use") if row["status"] == "succeeded"]) == 10
    [row] = client.get("/api/tokens").json()["tokens"]
    assert row["credit_limit"]["used"] == 10
    assert credits.reconcile(ObjectId(user["id"])) == []
