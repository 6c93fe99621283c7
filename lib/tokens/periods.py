"""The UTC periods of a token's credit cap: "day", "month" or "total".

The key names the period a moment falls in ("YYYY-MM-DD", "YYYY-MM" or
"total"); spend stored under another key belongs to a period that is over.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

PERIODS = ("day", "month", "total")


def key(period: str, now: datetime) -> str:
    now = now.astimezone(UTC)
    if period == "day":
        return now.strftime("%Y-%m-%d")
    if period == "month":
        return now.strftime("%Y-%m")
    return "total"


def resets_at(period: str, now: datetime) -> datetime | None:
    """When the next period starts (None: a total cap never resets)."""
    now = now.astimezone(UTC)
    if period == "day":
        return datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
    if period == "month":
        return datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)
    return None


def used(spend: dict | None, period: str, now: datetime) -> int:
    """Credits spent in the current period, from a stored `{"period": key, "used": n}` (issue 13's debit writes it)."""
    if not spend or spend.get("period") != key(period, now):
        return 0
    return int(spend.get("used", 0))
