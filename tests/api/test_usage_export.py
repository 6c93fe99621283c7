"""The call log's fields and filters, and GET /api/account/usage/export (CSV and JSON, paged)."""

import csv
import io
from datetime import UTC, datetime, timedelta

from bson import ObjectId

from lib import db, usage_export
from tests.fixtures.accounts import sign_up

DAY = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)


def add_calls(client, rows: list[dict]) -> ObjectId:
    """Usage rows as the debit path writes them (fixture data: delta 0 keeps the books as they are)."""
    uid = db.collection("users").find_one({"email": client.get("/api/auth/me").json()["user"]["email"]})["_id"]
    base = {"user_id": uid, "kind": "use", "delta": 0, "balance_after": 50, "credits": 1, "status": "succeeded", "source": "api",
            "model": "object-detection"}
    db.collection("ledger").insert_many([{**base, **r} for r in rows])
    return uid


def test_the_call_log_shows_the_new_fields_and_filters(client, user):
    token = ObjectId()
    add_calls(client, [
        {"created_at": DAY, "request_id": "req_ok", "latency_ms": 120, "token_id": token, "token_name": "Production server"},
        {"created_at": DAY + timedelta(hours=1), "status": "failed", "error_code": "upstream_timeout", "request_id": "req_bad",
         "model": "text-recognition", "source": "dashboard"},
        {"created_at": DAY - timedelta(days=3), "test": True, "request_id": "req_test"},
    ])
    calls = client.get("/api/account/usage/calls").json()["calls"]
    ok = next(c for c in calls if c["request_id"] == "req_ok")
    assert (ok["latency_ms"], ok["token_name"], ok["test"], ok["error_code"]) == (120, "Production server", False, None)
    assert next(c for c in calls if c["request_id"] == "req_test")["test"] is True
    ids = lambda q: [c["request_id"] for c in client.get("/api/account/usage/calls?" + q).json()["calls"]]  # noqa: E731
    assert ids("status=failed") == ["req_bad"]
    assert ids(f"token={token}") == ["req_ok"]
    assert ids("model=text-recognition&source=dashboard") == ["req_bad"]
    assert ids("from=2026-11-03&to=2026-11-03") == ["req_bad", "req_ok"]
    for q, code in (("status=maybe", "invalid_parameter"), ("token=xyz", "invalid_parameter"), ("from=03/11/2026", "invalid_parameter"),
                    ("from=2026-11-04&to=2026-11-03", "invalid_range")):
        r = client.get("/api/account/usage/calls?" + q)
        assert r.status_code == 400 and r.error_code == code, q


def test_csv_is_rfc4180_and_formula_safe(client, user):
    add_calls(client, [
        {"created_at": DAY, "request_id": "req_1", "token_name": '=HYPERLINK("http://evil.example","x")', "latency_ms": 80},
        {"created_at": DAY + timedelta(seconds=1), "request_id": "req_2", "token_name": "Build, \"nightly\"", "status": "failed",
         "error_code": "-1+1", "image_url": "@SUM(A1)"},
    ])
    r = client.get("/api/account/usage/export?from=2026-11-01&to=2026-11-30&format=csv")
    assert r.status_code == 200 and r.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in r.headers["content-disposition"] and "link" not in r.headers
    text = r.body.decode("utf-8")
    assert text.startswith("created_at,request_id,model,source,token_name,status,credits,latency_ms,error_code,test,image_url,id\r\n")
    assert '"Build, ""nightly"""' in text  # quotes doubled, the comma quoted
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["token_name"] == "'=HYPERLINK(\"http://evil.example\",\"x\")"
    assert rows[1]["error_code"] == "'-1+1" and rows[1]["image_url"] == "'@SUM(A1)"
    assert rows[0]["created_at"] == "2026-11-03T12:00:00Z" and rows[0]["latency_ms"] == "80" and rows[0]["test"] == "false"
    assert rows[1]["latency_ms"] == ""


def test_tabs_and_carriage_returns_are_prefixed_too(client, user):
    add_calls(client, [{"created_at": DAY, "request_id": "\tcmd", "token_name": "\r=1+1", "image_url": "https://x.example/=ok"}])
    [row] = csv.DictReader(io.StringIO(client.get("/api/account/usage/export?from=2026-11-03&to=2026-11-03&format=csv").text))
    assert row["request_id"] == "'\tcmd" and row["token_name"] == "'\r=1+1"
    assert row["image_url"] == "https://x.example/=ok"  # only a cell's first character counts


def test_rows_of_the_same_instant_are_neither_lost_nor_repeated_across_pages(client, user, monkeypatch):
    monkeypatch.setattr(usage_export, "PAGE_ROWS", 2)
    add_calls(client, [{"created_at": DAY, "request_id": f"req_{i}"} for i in range(5)])  # one instant, 5 rows
    seen, url = [], "/api/account/usage/export?from=2026-11-03&to=2026-11-03&format=csv"
    while url:
        r = client.get(url.replace("http://testserver", ""))
        seen += [row["request_id"] for row in csv.DictReader(io.StringIO(r.text))]
        link = r.headers.get("link")
        url = link.split(">")[0].lstrip("<") if link else None
    assert sorted(seen) == [f"req_{i}" for i in range(5)]


def test_another_persons_calls_never_appear(client, user, new_client):
    add_calls(client, [{"created_at": DAY, "request_id": "req_mine"}])
    other = new_client()
    sign_up(other)
    assert other.get("/api/account/usage/export?from=2026-11-03&to=2026-11-03").json() == {"calls": [], "next": None}
    assert "req_mine" not in other.get("/api/account/usage/export?from=2026-11-03&to=2026-11-03&format=csv").text


def test_pages_follow_the_link_header(client, user, monkeypatch):
    monkeypatch.setattr(usage_export, "PAGE_ROWS", 3)
    add_calls(client, [{"created_at": DAY + timedelta(minutes=i), "request_id": f"req_{i}"} for i in range(7)])
    seen, url, pages = [], "/api/account/usage/export?from=2026-11-03&to=2026-11-03&format=csv", 0
    while url:
        r = client.get(url.replace("http://testserver", ""))
        pages += 1
        seen += [row["request_id"] for row in csv.DictReader(io.StringIO(r.text))]
        link = r.headers.get("link")
        url = link.split(">")[0].lstrip("<") if link else None
        if link:
            assert link.endswith('>; rel="next"')
    assert seen == [f"req_{i}" for i in range(7)] and pages == 3
    body = client.get("/api/account/usage/export?from=2026-11-03&to=2026-11-03").json()  # JSON by default
    assert [c["request_id"] for c in body["calls"]] == ["req_0", "req_1", "req_2"] and "cursor=" in body["next"]


def test_a_page_stays_under_the_byte_budget(client, user, monkeypatch):
    monkeypatch.setattr(usage_export, "PAGE_BYTES", 600)
    add_calls(client, [{"created_at": DAY + timedelta(minutes=i), "request_id": f"req_{i}", "image_url": "https://x.example/" + "a" * 100}
                       for i in range(10)])
    r = client.get("/api/account/usage/export?from=2026-11-03&to=2026-11-03&format=csv")
    assert len(r.body) <= 600 + 200 and "link" in r.headers  # the header row plus what fits


def test_bad_ranges_are_400(client, user):
    for q, code in (("from=2026-11-05&to=2026-11-01", "invalid_range"), ("from=2025-01-01&to=2026-01-02", "range_too_long"),
                    ("to=2026-01-01", "missing_parameter"), ("from=2026-01-01&to=2026-01-02&format=xml", "invalid_parameter"),
                    ("from=2026-01-01&to=2026-01-02&cursor=nope", "invalid_parameter")):
        r = client.get("/api/account/usage/export?" + q)
        assert r.status_code == 400 and r.error_code == code, q
    assert client.get("/api/account/usage/export?from=2025-01-01&to=2026-01-01").status_code == 200  # 366 days
