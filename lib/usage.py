"""Usage analytics over the `use` rows of the ledger: daily series, per model, API vs dashboard.

A call whose credits were refunded (status "failed") is counted apart, never as
spend. Dates are UTC days. The summary is one aggregation ($match, then $facet)
that the {user_id, kind, created_at} index answers; the call log reads one page
through the same index, plus one query for the names of the tokens on it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from bson import ObjectId
from bson.errors import InvalidId

from lib import db, pagination, validation
from lib.errors import bad_request
from lib.http import load_user

SOURCES = ("dashboard", "api")
NOT_TEST = {"test": {"$ne": True}}  # test-token calls (sandbox, 0 credits) are in the call log, never in the charts
# Named explicitly: with a model/source filter on top, some planners (the embedded
# server's) fall back to a collection scan instead of this index.
USER_KIND_TIME = [("user_id", 1), ("kind", 1), ("created_at", -1)]
PER_PAGE = 20
MODEL_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_SUCCEEDED = {"$eq": ["$status", "succeeded"]}
_FAILED = {"$eq": ["$status", "failed"]}
_COUNTERS = {
    "calls": {"$sum": {"$cond": [_SUCCEEDED, 1, 0]}},
    "credits": {"$sum": {"$cond": [_SUCCEEDED, "$credits", 0]}},
    "failed": {"$sum": {"$cond": [_FAILED, 1, 0]}},
}


def window(days: int, now: datetime | None = None) -> tuple[datetime, datetime]:
    """[first day's midnight, tomorrow's midnight) in UTC: `days` whole days ending today."""
    now = now or datetime.now(UTC)
    end = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
    return end - timedelta(days=days), end


def day_keys(start: datetime, days: int) -> list[str]:
    return [(start + timedelta(days=i)).strftime("%Y-%m-%d") for i in range(days)]


def pipeline(match: dict) -> list[dict]:
    """One pass over the matched `use` rows, grouped three ways at once."""
    return [
        {"$match": match},
        {"$facet": {
            "daily": [{"$group": {"_id": {"$dateToString": {"format": "%Y-%m-%d", "date": "$created_at"}}, **_COUNTERS}}],
            "by_model": [{"$group": {"_id": "$model", **_COUNTERS}}],
            "by_source": [{"$group": {"_id": "$source", **_COUNTERS}}],
        }},
    ]


def summarise(match: dict, start: datetime, days: int, hint: list | None = None) -> dict:
    """Run `pipeline(match)` (on index `hint` if given) and shape it: every day present, zeros included."""
    options = {"hint": dict(hint)} if hint else {}
    facets = next(db.collection("ledger").aggregate(pipeline(match), **options), None) or {"daily": [], "by_model": [], "by_source": []}
    per_day = {row["_id"]: row for row in facets["daily"]}
    daily = [
        {"date": key, **{k: per_day.get(key, {}).get(k, 0) for k in _COUNTERS}}
        for key in day_keys(start, days)
    ]
    by_model = sorted(
        ({"model": row["_id"], **{k: row[k] for k in _COUNTERS}} for row in facets["by_model"]),
        key=lambda m: (-m["credits"], -m["calls"], str(m["model"])),
    )
    per_source = {row["_id"]: row for row in facets["by_source"]}
    by_source = {s: {k: per_source.get(s, {}).get(k, 0) for k in _COUNTERS} for s in SOURCES}
    totals = {k: sum(d[k] for d in daily) for k in _COUNTERS}
    return {"daily": daily, "by_model": by_model, "by_source": by_source, "totals": totals}


def user_summary(user_id, days: int, now: datetime | None = None) -> dict:
    start, end = window(days, now)
    match = {"user_id": user_id, "kind": "use", "created_at": {"$gte": start, "$lt": end}, **NOT_TEST}
    # No hint: the planner picks the {user_id, kind, created_at} index by itself (a test checks the
    # plan), and on the embedded server a hinted aggregation walks far more of the index.
    body = summarise(match, start, days)
    return {"days": days, "from": day_keys(start, 1)[0], "to": (end - timedelta(days=1)).strftime("%Y-%m-%d"), **body}


def summary(req) -> dict:
    """GET /api/account/usage?days=30"""
    days = validation.query_int(req.query, "days", 30, 1, 365)
    return user_summary(load_user(req)["_id"], days)


STATUSES = ("succeeded", "failed")


def call_view(row: dict, token_names: dict) -> dict:
    """One call as the log shows it; fields an older row lacks are None (the page shows "—")."""
    token_id = row.get("token_id")
    return {
        "id": row["_id"],
        "request_id": row.get("request_id"),
        "model": row.get("model"),
        "credits": row.get("credits", 0),
        "source": row.get("source"),
        "token_id": token_id,
        "token_name": row.get("token_name") or (token_names.get(token_id) if token_id else None),
        "image_url": row.get("image_url"),
        "status": row.get("status"),
        "latency_ms": row.get("latency_ms"),
        "error_code": row.get("error_code") or (row.get("failure") if row.get("status") == "failed" else None),
        "test": bool(row.get("test")),
        "created_at": row["created_at"],
    }


def parse_day(query: dict, name: str) -> datetime | None:
    raw = query.get(name, "")
    if not raw:
        return None
    try:
        return datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise bad_request("invalid_parameter", f"Query parameter '{name}' must be a UTC date like 2026-12-01.", field=name) from None


def date_range(query: dict, max_days: int | None = None) -> tuple[datetime | None, datetime | None]:
    """[from's midnight, the day after `to`) in UTC; 400 when inverted or longer than `max_days`."""
    start, last = parse_day(query, "from"), parse_day(query, "to")
    if start and last and last < start:
        raise bad_request("invalid_range", "'from' must not be after 'to'.", field="from")
    end = last + timedelta(days=1) if last else None
    if max_days and start and end and (end - start).days > max_days:
        raise bad_request("range_too_long", f"A range covers at most {max_days} days.", field="to")
    return start, end


def calls_filter(user_id, query: dict) -> dict:
    match = {"user_id": user_id, "kind": "use"}
    model = query.get("model", "")
    if model:
        if not MODEL_SLUG.match(model):
            raise bad_request("invalid_parameter", "Query parameter 'model' must be a model slug such as 'object-detection'.", field="model")
        match["model"] = model
    source = query.get("source", "")
    if source:
        if source not in SOURCES:
            raise bad_request("invalid_parameter", "Query parameter 'source' must be 'dashboard' or 'api'.", field="source")
        match["source"] = source
    status = query.get("status", "")
    if status:
        if status not in STATUSES:
            raise bad_request("invalid_parameter", "Query parameter 'status' must be 'succeeded' or 'failed'.", field="status")
        match["status"] = status
    token = query.get("token", "")
    if token:
        try:
            match["token_id"] = ObjectId(token)
        except (InvalidId, TypeError):
            raise bad_request("invalid_parameter", "Query parameter 'token' must be a token id.", field="token") from None
    start, end = date_range(query)
    if start or end:
        match["created_at"] = {**({"$gte": start} if start else {}), **({"$lt": end} if end else {})}
    return match


def token_names(user_id, rows: list[dict]) -> dict:
    """One query for the names of the tokens on these rows that don't carry their own."""
    ids = list({r["token_id"] for r in rows if r.get("token_id") and not r.get("token_name")})
    if not ids:
        return {}
    return {t["_id"]: t.get("name") for t in db.collection("tokens").find({"_id": {"$in": ids}, "user_id": user_id}, {"name": 1})}


def calls(req) -> dict:
    """GET /api/account/usage/calls?page=&model=&source=&token=&status=&from=&to= — the call log, newest first."""
    page = validation.query_int(req.query, "page", 1, 1, 100_000)
    user_id = load_user(req)["_id"]
    match = calls_filter(user_id, req.query)
    found = pagination.page_of(db.collection("ledger"), match, page=page, per_page=PER_PAGE, sort=[("created_at", -1)], hint=USER_KIND_TIME)
    rows = found.pop("items")
    names = token_names(user_id, rows)
    return {**found, "calls": [call_view(r, names) for r in rows]}
