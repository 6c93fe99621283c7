"""POST /api/billing/checkout {pack_id, invoice?}: a Checkout Session for one pack, and its `pending` payment.

With Stripe configured the session is Stripe's; without (the local default)
it is the local stand-in's, which pays by sending the same signed webhook
events Stripe would. Either way the credits arrive only through the webhook.

`invoice: true` asks Checkout for billing details (the company name and a tax
id) and makes Stripe issue an invoice whose PDF the transaction list links.
Auto top-up starts a checkout with `save_card`: the same purchase, with the
card kept for later off-session charges (`setup_future_usage=off_session`).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from bson import ObjectId

from lib import config, db, ratelimit, validation
from lib.billing import packs
from lib.caller import require_verified
from lib.errors import not_found
from lib.http import load_user

FIELDS = frozenset({"pack_id", "invoice"})
LOCAL_CHECKOUT_PATH = "/_local/checkout"  # served by local/checkout_standin.py, never deployed
CHECKOUTS_PER_HOUR = 30
SAVE_CARD = "auto_topup_setup"  # payments.purpose of the checkout that saves the card for auto top-up


def return_urls() -> tuple[str, str]:
    """Where Checkout sends the browser back to: (success, cancel)."""
    billing = f"{config.settings().site_url}/dashboard/billing"
    return f"{billing}?checkout=success", f"{billing}?checkout=cancel"


def _session_params(user: dict, pack: dict, payment_id: ObjectId, *, save_card: bool, invoice: bool) -> dict:
    success_url, cancel_url = return_urls()
    metadata = {"user_id": str(user["_id"]), "pack_id": pack["id"], "payment_id": str(payment_id)}
    # Stripe copies these onto the PaymentIntent and its charge, so failure and
    # refund events can be matched to the payment before the session completes.
    intent_data = {"metadata": metadata}
    if save_card:
        intent_data["setup_future_usage"] = "off_session"  # the card stays on the customer for auto top-up
    params = {
        "mode": "payment",
        "client_reference_id": str(user["_id"]),
        "line_items": [{
            "quantity": 1,
            "price_data": {
                "currency": packs.CURRENCY,
                "unit_amount": pack["price_cents"],
                "product_data": {"name": f"{pack['name']} pack", "description": f"{pack['credits']:,} NexusPoint credits"},
            },
        }],
        "metadata": metadata,
        "payment_intent_data": intent_data,
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    if invoice:
        params["invoice_creation"] = {"enabled": True, "invoice_data": {"metadata": metadata}}
        params["tax_id_collection"] = {"enabled": True}  # Checkout then also asks for the business name
        params["billing_address_collection"] = "required"
        params["customer_update"] = {"name": "auto", "address": "auto"}  # keep what was typed on the customer
    return params


def _stripe_session(user: dict, params: dict, payment_id: ObjectId) -> tuple[str, str]:
    import stripe

    from lib.billing import customers, stripe_api

    sessions = stripe_api.client().v1.checkout.sessions
    try:
        params["customer"] = customers.ensure_customer(user)
        try:
            session = sessions.create(params=params, options={"idempotency_key": f"checkout-{payment_id}"})
        except stripe.InvalidRequestError as exc:
            if not stripe_api.is_missing(exc, "customer"):
                raise
            # The stored customer is gone (deleted in the Dashboard, or other API keys): make a new one.
            params["customer"] = customers.replace_customer(user)
            session = sessions.create(params=params, options={"idempotency_key": f"checkout-{payment_id}-new-customer"})
    except stripe.StripeError as exc:
        raise stripe_api.unavailable(exc) from None
    return session.id, session.url


def _local_session() -> tuple[str, str]:
    session_id = f"cs_local_{secrets.token_hex(16)}"
    return session_id, f"{config.settings().site_url}{LOCAL_CHECKOUT_PATH}/{session_id}"


def start(user: dict, pack: dict, *, save_card: bool = False, invoice: bool = False) -> tuple[ObjectId, str]:
    """Open a Checkout Session for `pack` and record its pending payment; returns (payment id, url)."""
    require_verified(user)  # buying credits (a pack or the auto top-up card) needs a proven address
    ratelimit.enforce(f"checkout:{user['_id']}", CHECKOUTS_PER_HOUR, 3600, "Too many checkouts started in the last hour. Try again later.")
    payment_id = ObjectId()
    if config.settings().stripe_enabled:
        params = _session_params(user, pack, payment_id, save_card=save_card, invoice=invoice)
        session_id, url = _stripe_session(user, params, payment_id)
    else:
        session_id, url = _local_session()
    now = datetime.now(UTC)
    row = {
        "_id": payment_id, "user_id": user["_id"], "session_id": session_id, "payment_intent_id": None,
        "pack_id": pack["id"], "pack_name": pack["name"], "credits": pack["credits"],
        "amount_cents": pack["price_cents"], "currency": packs.CURRENCY, "status": "pending",
        "refunded_cents": 0, "card": None, "created_at": now, "updated_at": now,
    }
    if save_card:
        row["purpose"] = SAVE_CARD
    if invoice:
        row["invoice_requested"] = True
    db.collection("payments").insert_one(row)
    return payment_id, url


def find_pack(pack_id: str) -> dict:
    pack = packs.find(pack_id)
    if pack is None:
        raise not_found("credit pack")
    return pack


def create_for(req) -> dict:
    body = validation.only(req.json(), FIELDS)
    pack = find_pack(validation.string(body, "pack_id", max_len=60))
    invoice = bool(validation.boolean(body, "invoice"))
    _, url = start(load_user(req), pack, invoice=invoice)
    return {"url": url}
