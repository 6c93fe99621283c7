"""Credit alerts people set: GET / PATCH /api/account/alerts {low_credit_threshold}, and the decision to mail.

The low-credit threshold is per person (default: LOW_CREDIT_THRESHOLD); a
second alert goes out when a call takes the balance to 0. Both are usage
mail, so the `usage_alerts` preference silences them.
"""

from __future__ import annotations

from datetime import UTC, datetime

from lib import config, db, validation
from lib.http import load_user

FIELD = "low_credit_threshold"  # on the user document; lib.credits.USER_FIELDS projects it for the debit
MAX_THRESHOLD = 1_000_000


def threshold_of(user: dict) -> int:
    value = user.get(FIELD)
    return value if isinstance(value, int) else config.settings().low_credit_threshold


def get(req) -> dict:
    return {FIELD: threshold_of(load_user(req))}


def update(req) -> dict:
    body = validation.only(req.json(), {FIELD})
    value = validation.integer(body, FIELD, lo=0, hi=MAX_THRESHOLD)
    db.collection("users").update_one({"_id": load_user(req)["_id"]}, {"$set": {FIELD: value, "updated_at": datetime.now(UTC)}})
    return {FIELD: value}


def after_debit(user: dict, cost: int) -> None:
    """Mail when this call took the balance across the person's threshold, and again when it reached 0."""
    threshold, after = threshold_of(user), user["credits"]
    before = after + cost
    template = "zero_credits" if before > 0 >= after else "low_credits" if before >= threshold > after else None
    if template:
        from lib import mail  # here: only the call that crosses a threshold loads the mailer (bench.cold_start)

        context = {"first_name": user.get("first_name", ""), "credits": after, "threshold": threshold}
        mail.send(user["email"], template, prefs=user.get("notifications"), **context)
