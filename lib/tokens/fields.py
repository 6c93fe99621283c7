"""Reading a token's settings from a request body: every bad value is a 400 naming the field.

`models`: a list of distinct model slugs (empty: every model).
`credit_limit`: null or {"credits": positive whole number, "period": "day"|"month"|"total"}.
`expires_at`: null or an ISO-8601 time with a UTC offset, in the future, at most two years ahead.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lib import validation
from lib.errors import bad_request
from lib.tokens import periods
from lib.vision import catalog

MODES = ("live", "test")
NAME_MAX_LENGTH = 60
MAX_CAP_CREDITS = 10_000_000
MAX_LIFETIME = timedelta(days=731)  # two years, a leap day included
WARN_BEFORE = timedelta(days=7)
CREATE_FIELDS = frozenset({"name", "mode", "models", "credit_limit", "expires_at"})
EDIT_FIELDS = frozenset({"name", "active", "models", "credit_limit", "expires_at"})


def name(body: dict, *, required: bool = True) -> str | None:
    return validation.string(body, "name", max_len=NAME_MAX_LENGTH, required=required)  # single line: it goes into a mail


def mode(body: dict) -> str:
    value = body.get("mode", "live")
    if not isinstance(value, str) or value not in MODES:
        raise bad_request("invalid_field", "'mode' must be 'live' (real calls, charged) or 'test' (sandbox, never charged).", field="mode")
    return value


def models(body: dict) -> list[str]:
    value = body.get("models")
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(slug, str) for slug in value):
        raise bad_request("invalid_field", "'models' must be a list of model slugs such as [\"object-detection\"]; an empty list allows every model.",
                          field="models")
    unknown = [slug for slug in value if slug not in catalog.MODELS]
    if unknown:
        raise bad_request("invalid_field", f"Unknown model '{unknown[0][:64]}' in 'models'. Known models: {', '.join(catalog.MODELS)}.", field="models")
    if len(set(value)) != len(value):
        twice = next(slug for slug in value if value.count(slug) > 1)
        raise bad_request("invalid_field", f"'{twice}' is listed twice in 'models'; list each model once.", field="models")
    return value


def credit_limit(body: dict) -> dict | None:
    value = body.get("credit_limit")
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"credits", "period"}:
        raise bad_request("invalid_field", "'credit_limit' must be null or {\"credits\": N, \"period\": \"day\" | \"month\" | \"total\"}.",
                          field="credit_limit")
    credits, period = value["credits"], value["period"]
    if not isinstance(credits, int) or isinstance(credits, bool) or not 1 <= credits <= MAX_CAP_CREDITS:
        raise bad_request("invalid_field", f"'credit_limit.credits' must be a whole number from 1 to {MAX_CAP_CREDITS}.", field="credit_limit")
    if not isinstance(period, str) or period not in periods.PERIODS:
        raise bad_request("invalid_field", "'credit_limit.period' must be 'day', 'month' or 'total' (UTC).", field="credit_limit")
    return {"credits": credits, "period": period}


def expires_at(body: dict, now: datetime) -> datetime | None:
    value = body.get("expires_at")
    if value is None:
        return None
    when = None
    if isinstance(value, str) and len(value) <= 40:
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            pass
    if when is None or when.tzinfo is None:
        raise bad_request("invalid_field", "'expires_at' must be an ISO-8601 time in UTC, such as \"2027-06-30T00:00:00Z\".", field="expires_at")
    when = when.astimezone(UTC).replace(microsecond=when.microsecond // 1000 * 1000)  # MongoDB keeps milliseconds
    if when <= now:
        raise bad_request("invalid_field", "'expires_at' is in the past; choose a time in the future.", field="expires_at")
    if when > now + MAX_LIFETIME:
        raise bad_request("invalid_field", "'expires_at' may be at most two years ahead.", field="expires_at")
    return when


def expiry_fields(when: datetime | None, now: datetime, token_mode: str) -> dict:
    """`expires_at`, plus `warn_at` when a warning mail is due later: a live token whose expiry is more than
    7 days away gets one 7 days before (the cron job clears `warn_at` as it mails)."""
    fields = {"expires_at": when, "warn_at": None}
    if when is not None and token_mode == "live" and when - WARN_BEFORE > now:
        fields["warn_at"] = when - WARN_BEFORE
    return fields
