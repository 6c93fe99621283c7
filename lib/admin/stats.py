"""Admin: platform figures over a window of UTC days (users, revenue, usage)."""

from __future__ import annotations

from lib import db, usage, validation

_DAY = {"$dateToString": {"format": "%Y-%m-%d", "date": "$created_at"}}
# A payment's refunded amount: refunded_cents when the webhook recorded it, else all of it once refunded.
_REFUNDED = {"$ifNull": ["$refunded_cents", {"$cond": [{"$eq": ["$status", "refunded"]}, "$amount_cents", 0]}]}


def _new_users(start, end) -> dict[str, int]:
    rows = db.collection("users").aggregate([
        {"$match": {"created_at": {"$gte": start, "$lt": end}}},
        {"$group": {"_id": _DAY, "count": {"$sum": 1}}},
    ], hint={"created_at": 1})
    return {r["_id"]: r["count"] for r in rows}


def _revenue(start, end) -> dict[str, dict]:
    """Per day the payments were made: what they brought in, what went back, and the net.

    Refunds count against the day of the payment they return, so a day's net
    is final once its payments are settled or refunded.
    """
    rows = db.collection("payments").aggregate([
        {"$match": {"status": {"$in": ["succeeded", "refunded"]}, "created_at": {"$gte": start, "$lt": end}}},
        {"$group": {"_id": _DAY, "payments": {"$sum": 1}, "gross_cents": {"$sum": "$amount_cents"}, "refunded_cents": {"$sum": _REFUNDED}}},
    ], hint={"status": 1, "created_at": -1})
    return {r["_id"]: r for r in rows}


def _objecting_users() -> list:
    """Who used the right to object (policy §8): their usage stays out of platform-wide figures."""
    return [u["_id"] for u in db.collection("users").find({"object_to_analytics": True}, {"_id": 1})]


def platform(days: int) -> dict:
    start, end = usage.window(days)
    keys = usage.day_keys(start, days)
    users = db.collection("users")
    new = _new_users(start, end)
    money = _revenue(start, end)
    revenue_daily = []
    for key in keys:
        row = money.get(key, {})
        gross, refunded = row.get("gross_cents", 0), row.get("refunded_cents", 0)
        revenue_daily.append({"date": key, "payments": row.get("payments", 0), "gross_cents": gross, "refunded_cents": refunded, "net_cents": gross - refunded})
    totals = {k: sum(d[k] for d in revenue_daily) for k in ("payments", "gross_cents", "refunded_cents", "net_cents")}
    usage_match = {"kind": "use", "created_at": {"$gte": start, "$lt": end}, **usage.NOT_TEST}
    objecting = _objecting_users()
    if objecting:
        usage_match["user_id"] = {"$nin": objecting}
    return {
        "days": days, "from": keys[0], "to": keys[-1],
        "users": {
            "total": users.count_documents({}),
            "new_in_window": sum(new.values()),
            "new_daily": [{"date": k, "count": new.get(k, 0)} for k in keys],
        },
        "revenue": {"currency": "usd", "daily": revenue_daily, "totals": totals},
        "usage": usage.summarise(usage_match, start, days, [("created_at", 1)]),
    }


def stats(req) -> dict:
    """GET /api/admin/stats?days=30"""
    return platform(validation.query_int(req.query, "days", 30, 1, 365))
