"""Admin: credit adjustments through lib.credits, each one audited."""

from __future__ import annotations

from lib import credits, db, validation
from lib.admin import audit
from lib.errors import bad_request, not_found
from lib.http import Response, load_user

MAX_ADJUSTMENT = 1_000_000


def adjust(req) -> Response:
    """POST /api/admin/credits {user_id, amount, reason} -> 201 with the ledger row and new balance."""
    body = validation.only(req.json(), {"user_id", "amount", "reason"})
    if not isinstance(body.get("user_id"), str):
        raise bad_request("missing_field" if body.get("user_id") is None else "invalid_field", "'user_id' must be a user id.", field="user_id")
    user_id = validation.object_id(body["user_id"], "user")
    amount = validation.integer(body, "amount", lo=-MAX_ADJUSTMENT, hi=MAX_ADJUSTMENT)
    if amount == 0:
        raise bad_request("invalid_field", "'amount' must not be zero.", field="amount")
    reason = validation.string(body, "reason", max_len=500)
    admin = load_user(req)

    def apply(session):
        # One transaction: an adjustment never commits without its audit row (nor the row without it).
        entry, user = credits.adjust(user_id, amount, admin["_id"], reason, session=session)
        audit.record(admin, "credits.adjust", user_id, {"credits": user["credits"] - amount},
                     {"credits": user["credits"], "delta": amount, "reason": reason, "ledger_id": entry["_id"]}, session=session)
        return entry, user

    try:
        entry, user = db.transaction(apply)
    except LookupError:
        raise not_found("user") from None
    return Response.json({"ledger_id": entry["_id"], "user_id": user_id, "delta": amount, "balance": user["credits"], "reason": reason}, 201)
