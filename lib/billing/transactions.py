"""GET /api/billing/transactions?page=: the caller's payments, newest first, 20 a page."""

from __future__ import annotations

from lib import db, pagination, validation
from lib.http import load_user

PER_PAGE = 20


def view(payment: dict) -> dict:
    card = payment.get("card") or {}
    return {
        "id": str(payment["_id"]),
        "pack": payment.get("pack_name"),
        "pack_id": payment.get("pack_id"),
        "credits": payment.get("credits"),
        "amount_cents": payment.get("amount_cents"),
        "refunded_cents": payment.get("refunded_cents", 0),
        "currency": payment.get("currency"),
        "status": payment.get("status"),
        "card": {"brand": card.get("brand"), "last4": card.get("last4")} if card.get("last4") else None,
        "kind": "auto_topup" if payment.get("purpose") == "auto_topup" else "checkout",
        "receipt_url": payment.get("receipt_url"),
        "invoice_pdf": payment.get("invoice_pdf"),
        "invoice_url": payment.get("invoice_url"),
        "failure": payment.get("failure") if payment.get("status") == "failed" else None,
        "created_at": payment.get("created_at"),
        "updated_at": payment.get("updated_at"),
    }


def list_for(req) -> dict:
    page = validation.query_int(req.query, "page", 1, 1, 100_000)
    match = {"user_id": load_user(req)["_id"]}
    found = pagination.page_of(db.collection("payments"), match, page=page, per_page=PER_PAGE, sort=[("created_at", -1), ("_id", -1)])
    return {**found, "items": [view(p) for p in found["items"]]}
