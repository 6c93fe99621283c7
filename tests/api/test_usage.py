"""Usage analytics: the numbers against a hand-computed fixture, the call log, and the query plan."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId

from lib import db, usage
from tests.fixtures.accounts import sign_up
from tests.fixtures.ledger import record_call

TOKEN_VALUE = "np_live_" + "u" * 43


def debit_at(monkeypatch, user_id, when, cost, model, source, **extra):
    """A real ledger row written through lib.credits, dated `when`."""
    return record_call(user_id, cost, model=model, source=source, when=when, **extra)


def insert_token(user_id, name="CI pipeline", value=TOKEN_VALUE) -> ObjectId:
    """A token document of the shape lib/tokens writes, for a value the test knows."""
    now = datetime.now(UTC)
    return db.collection("tokens").insert_one({
        "user_id": user_id, "name": name, "hash": hashlib.sha256(value.encode()).hexdigest(), "prefix": value[:12],
        "created_at": now, "last_used_at": None, "active": True, "rl_window": None, "rl_count": 0,
    }).inserted_id


@pytest.fixture
def history(client, user, new_client, monkeypatch):
    """Person A's calls over 41 days (one refunded) and one call of person B's.

    today (midnight + 1-3 s): object-detection 2 dashboard, object-detection 2 dashboard,
                              general-classification 1 api (token, image URL)
    today - 2 days:           text-recognition 3 dashboard, refunded
    today - 6 days, 00:00:00: background-removal 5 api   (first instant of a 7-day window)
    1 ms earlier:             object-detection 2 dashboard (outside 7 days, inside 30)
    today - 40 days:          general-classification 1 api (outside 30 days)
    """
    a = ObjectId(user["id"])
    b = ObjectId(sign_up(new_client())["id"])
    today = usage.window(1)[0]
    token_id = insert_token(a)
    rows = {
        "r1": debit_at(monkeypatch, a, today + timedelta(seconds=1), 2, "object-detection", "dashboard"),
        "r2": debit_at(monkeypatch, a, today + timedelta(seconds=2), 2, "object-detection", "dashboard"),
        "r3": debit_at(monkeypatch, a, today + timedelta(seconds=3), 1, "general-classification", "api",
                       token_id=token_id, image_url="https://img.example/cat.jpg"),
        "r4": debit_at(monkeypatch, a, today - timedelta(days=2) + timedelta(hours=1), 3, "text-recognition", "dashboard",
                       failure="upstream 500"),
        "r5": debit_at(monkeypatch, a, today - timedelta(days=6), 5, "background-removal", "api"),
        "r6": debit_at(monkeypatch, a, today - timedelta(days=6, milliseconds=1), 2, "object-detection", "dashboard"),
        "r7": debit_at(monkeypatch, a, today - timedelta(days=40), 1, "general-classification", "api"),
        "b1": debit_at(monkeypatch, b, today + timedelta(seconds=5), 4, "object-detection", "dashboard"),
    }
    return {"a": a, "b": b, "today": today, "token_id": token_id, "rows": rows}


def day(today, back: int) -> str:
    return (today - timedelta(days=back)).strftime("%Y-%m-%d")


def test_seven_day_summary_matches_the_hand_count(client, history):
    today = history["today"]
    r = client.get("/api/account/usage?days=7")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["days"] == 7 and body["from"] == day(today, 6) and body["to"] == day(today, 0)
    assert [d["date"] for d in body["daily"]] == [day(today, n) for n in range(6, -1, -1)]
    by_date = {d["date"]: d for d in body["daily"]}
    assert by_date[day(today, 0)] == {"date": day(today, 0), "calls": 3, "credits": 5, "failed": 0}
    assert by_date[day(today, 2)] == {"date": day(today, 2), "calls": 0, "credits": 0, "failed": 1}
    assert by_date[day(today, 6)] == {"date": day(today, 6), "calls": 1, "credits": 5, "failed": 0}
    for n in (1, 3, 4, 5):  # zero days are present, with zeros
        assert by_date[day(today, n)] == {"date": day(today, n), "calls": 0, "credits": 0, "failed": 0}
    assert body["by_model"] == [
        {"model": "background-removal", "calls": 1, "credits": 5, "failed": 0},
        {"model": "object-detection", "calls": 2, "credits": 4, "failed": 0},
        {"model": "general-classification", "calls": 1, "credits": 1, "failed": 0},
        {"model": "text-recognition", "calls": 0, "credits": 0, "failed": 1},
    ]
    assert body["by_source"] == {"dashboard": {"calls": 2, "credits": 4, "failed": 1}, "api": {"calls": 2, "credits": 6, "failed": 0}}
    assert body["totals"] == {"calls": 4, "credits": 10, "failed": 1}


def test_thirty_days_take_in_the_older_call_but_not_the_oldest(client, history):
    body = client.get("/api/account/usage").json()  # 30 by default
    assert body["days"] == 30 and len(body["daily"]) == 30
    assert body["totals"] == {"calls": 5, "credits": 12, "failed": 1}
    assert {m["model"]: m["calls"] for m in body["by_model"]}["object-detection"] == 3
    assert body["daily"][23] == {"date": day(history["today"], 6), "calls": 1, "credits": 5, "failed": 0}
    assert body["daily"][22] == {"date": day(history["today"], 7), "calls": 1, "credits": 2, "failed": 0}


def test_the_spend_matches_the_balance_change(client, history):
    """What the summary calls spend is exactly what left the balance in the window."""
    body = client.get("/api/account/usage?days=365").json()
    assert body["totals"]["credits"] == 2 + 2 + 1 + 5 + 2 + 1
    assert client.get("/api/auth/me").json()["user"]["credits"] == 50 - body["totals"]["credits"]


def test_a_new_account_has_a_full_window_of_zeros(new_client):
    c = new_client()
    sign_up(c)
    body = c.get("/api/account/usage?days=1").json()
    assert body["daily"] == [{"date": body["to"], "calls": 0, "credits": 0, "failed": 0}]
    assert body["by_model"] == [] and body["totals"] == {"calls": 0, "credits": 0, "failed": 0}
    assert body["by_source"] == {"dashboard": {"calls": 0, "credits": 0, "failed": 0}, "api": {"calls": 0, "credits": 0, "failed": 0}}


@pytest.mark.parametrize("days", ["0", "366", "-1", "seven", "1.5"])
def test_days_out_of_range_is_400(client, user, days):
    r = client.get(f"/api/account/usage?days={days}")
    assert r.status_code == 400 and r.error_code == "invalid_parameter"


def test_signed_out_is_401(anon):
    assert anon.get("/api/account/usage").status_code == 401
    assert anon.get("/api/account/usage/calls").status_code == 401


def test_an_api_token_may_read_its_owners_usage(client, history):
    r = client.get("/api/account/usage?days=7", headers={"Authorization": f"Bearer {TOKEN_VALUE}"}, cookies=False, origin=None)
    assert r.status_code == 200, r.text
    assert r.json()["totals"] == {"calls": 4, "credits": 10, "failed": 1}


def test_call_log_newest_first_with_token_names(client, history):
    rows = history["rows"]
    r = client.get("/api/account/usage/calls")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 7 and body["pages"] == 1 and body["page"] == 1 and body["per_page"] == 20
    assert [c["id"] for c in body["calls"]] == [str(rows[k]["_id"]) for k in ("r3", "r2", "r1", "r4", "r5", "r6", "r7")]
    top = body["calls"][0]
    assert top == {
        "id": str(rows["r3"]["_id"]), "model": "general-classification", "credits": 1, "source": "api",
        "token_id": str(history["token_id"]), "token_name": "CI pipeline", "image_url": "https://img.example/cat.jpg",
        "status": "succeeded", "created_at": top["created_at"],
        "request_id": None, "latency_ms": None, "error_code": None, "test": False,  # fields this row predates
    }
    assert top["created_at"].endswith("Z")
    assert body["calls"][3]["status"] == "failed" and body["calls"][3]["model"] == "text-recognition"
    assert body["calls"][1]["token_name"] is None and body["calls"][1]["image_url"] is None


def test_call_log_filters(client, history):
    by_model = client.get("/api/account/usage/calls?model=object-detection").json()
    assert by_model["total"] == 3 and {c["model"] for c in by_model["calls"]} == {"object-detection"}
    by_source = client.get("/api/account/usage/calls?source=api").json()
    assert [c["model"] for c in by_source["calls"]] == ["general-classification", "background-removal", "general-classification"]
    both = client.get("/api/account/usage/calls?source=api&model=general-classification").json()
    assert both["total"] == 2


@pytest.mark.parametrize("query", ["source=web", "model=%24ne", "model=" + "x" * 65, "page=0", "page=a"])
def test_call_log_rejects_bad_parameters(client, user, query):
    r = client.get(f"/api/account/usage/calls?{query}")
    assert r.status_code == 400 and r.error_code == "invalid_parameter"


def test_call_log_pages_of_twenty(client, user, monkeypatch):
    uid = ObjectId(user["id"])
    start = datetime.now(UTC) - timedelta(hours=1)
    ids = [debit_at(monkeypatch, uid, start + timedelta(seconds=i), 1, "general-classification", "dashboard")["_id"] for i in range(23)]
    first = client.get("/api/account/usage/calls").json()
    second = client.get("/api/account/usage/calls?page=2").json()
    assert first["total"] == 23 and first["pages"] == 2 and len(first["calls"]) == 20
    assert [c["id"] for c in first["calls"] + second["calls"]] == [str(i) for i in reversed(ids)]
    assert client.get("/api/account/usage/calls?page=3").json()["calls"] == []


def _walk(node, found):
    """Every `stage` name and docs-examined count anywhere in an explain document."""
    if isinstance(node, dict):
        if isinstance(node.get("stage"), str):
            found["stages"].append(node["stage"])
        if "totalDocsExamined" in node:
            found["docs"].append(node["totalDocsExamined"])
        for value in node.values():
            _walk(value, found)
    elif isinstance(node, list):
        for value in node:
            _walk(value, found)
    return found


def test_the_summary_is_one_indexed_aggregation(history):
    start, end = usage.window(7)
    match = {"user_id": history["a"], "kind": "use", "created_at": {"$gte": start, "$lt": end}}
    command = {"aggregate": "ledger", "pipeline": usage.pipeline(match), "cursor": {}}
    plan = db.database().command("explain", command, verbosity="executionStats")
    found = _walk(plan, {"stages": [], "docs": []})
    assert "IXSCAN" in found["stages"] and "COLLSCAN" not in found["stages"], json.dumps(plan, default=str)[:2000]
    # r1-r5: the user's `use` rows in the window, nothing else (not B's, not the refund rows, not older ones).
    assert found["docs"] and max(found["docs"]) == 5


def test_the_call_log_query_is_indexed(history):
    match = usage.calls_filter(history["a"], {"source": "api"})
    plan = db.collection("ledger").find(match).hint(usage.USER_KIND_TIME).sort("created_at", -1).limit(20).explain()
    found = _walk(plan, {"stages": [], "docs": []})
    assert "IXSCAN" in found["stages"] and "COLLSCAN" not in found["stages"]
    assert max(found["docs"]) <= 7  # at most the user's own `use` rows


def test_page_of_gives_the_page_and_its_place(user, monkeypatch):
    from lib import pagination

    uid = ObjectId(user["id"])
    start = datetime.now(UTC) - timedelta(hours=1)
    ids = [debit_at(monkeypatch, uid, start + timedelta(seconds=i), 1, "general-classification", "dashboard")["_id"] for i in range(5)]
    match = {"user_id": uid, "kind": "use"}
    ledger = db.collection("ledger")
    page = pagination.page_of(ledger, match, page=2, per_page=2, sort=[("created_at", -1)], projection={"credits": 1}, hint=usage.USER_KIND_TIME)
    items = page.pop("items")
    assert [r["_id"] for r in items] == [ids[2], ids[1]] and all(set(r) == {"_id", "credits"} for r in items)
    assert page == {"page": 2, "pages": 3, "total": 5, "per_page": 2}
    empty = pagination.page_of(ledger, {"user_id": ObjectId()}, page=1, per_page=2, sort=[("created_at", -1)])
    assert empty == {"items": [], "page": 1, "pages": 1, "total": 0, "per_page": 2}
