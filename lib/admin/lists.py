"""Admin: the payments and contact messages of the whole platform, newest first."""

from __future__ import annotations

from lib import db
from lib.admin import newest_page
from lib.errors import bad_request

PAYMENT_STATUSES = ("pending", "succeeded", "failed", "refunded")
# The one list of what an administrator sees of a payment (the list here and a user's detail).
PAYMENT_FIELDS = ("user_id", "session_id", "payment_intent_id", "pack_id", "pack_name", "credits", "amount_cents", "currency",
                  "status", "refunded_cents", "card", "created_at", "updated_at", "succeeded_at", "disputed_at", "reinstated_at")
MESSAGE_FIELDS = ("name", "email", "subject", "message", "user_id", "created_at")


def payment_view(p: dict) -> dict:
    # needs_attention: paid in Stripe but never fulfilled (account deleted); refund it in Stripe.
    return {"id": p["_id"], **{f: p.get(f) for f in PAYMENT_FIELDS}, "needs_attention": bool(p.get("needs_attention"))}


def _emails(user_ids) -> dict:
    """Email of each listed user in one query; a deleted account's opaque id has none."""
    ids = list({i for i in user_ids if i})
    if not ids:
        return {}
    return {u["_id"]: u["email"] for u in db.collection("users").find({"_id": {"$in": ids}}, {"email": 1})}


def payments(req) -> dict:
    """GET /api/admin/payments?status=&page="""
    status = req.query.get("status", "")
    match = {}
    if status:
        if status not in PAYMENT_STATUSES:
            raise bad_request("invalid_parameter", f"Query parameter 'status' must be one of: {', '.join(PAYMENT_STATUSES)}.", field="status")
        match["status"] = status
    # Filtered by status: the {status, created_at} index. Unfiltered: see the report's index request.
    hint = [("status", 1), ("created_at", -1)] if status else None
    rows, info = newest_page(db.collection("payments"), match, req, hint=hint)
    emails = _emails(r.get("user_id") for r in rows)
    return {**info, "status": status or None,
            "payments": [{**payment_view(r), "user_email": emails.get(r.get("user_id"))} for r in rows]}


def messages(req) -> dict:
    """GET /api/admin/messages?page="""
    rows, info = newest_page(db.collection("messages"), {}, req, hint=[("created_at", -1)])
    return {**info, "messages": [{"id": r["_id"], **{f: r.get(f) for f in MESSAGE_FIELDS}} for r in rows]}
