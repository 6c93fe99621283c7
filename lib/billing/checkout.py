"""POST /api/billing/checkout {pack_id}: a Checkout Session for one pack, and its `pending` payment.

With Stripe configured the session is Stripe's; without (the local default)
it is the local stand-in's, which pays by sending the same signed webhook
events Stripe would. Either way the credits arrive only through the webhook.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from bson import ObjectId

from lib import config, db, ratelimit, validation
from lib.billing import packs
from lib.errors import not_found
from lib.http import load_user

FIELDS = frozenset({"pack_id"})
LOCAL_CHECKOUT_PATH = "/_local/checkout"  # served by local/checkout_standin.py, never deployed
CHECKOUTS_PER_HOUR = 30


def return_urls() -> tuple[str, str]:
    """Where Checkout sends the browser back to: (success, cancel)."""
    billing = f"{config.settings().site_url}/dashboard/billing"
    return f"{billing}?checkout=success", f"{billing}?checkout=cancel"


def _stripe_session(user: dict, pack: dict, payment_id: ObjectId) -> tuple[str, str]:
    import stripe

    from lib.billing import customers, stripe_api

    success_url, cancel_url = return_urls()
    metadata = {"user_id": str(user["_id"]), "pack_id": pack["id"], "payment_id": str(payment_id)}
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
        # Stripe copies these onto the PaymentIntent and its charge, so failure and
        # refund events can be matched to the payment before the session completes.
        "payment_intent_data": {"metadata": metadata},
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
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


def create_for(req) -> dict:
    body = validation.only(req.json(), FIELDS)
    pack = packs.find(validation.string(body, "pack_id", max_len=60))
    if pack is None:
        raise not_found("credit pack")
    user = load_user(req)
    ratelimit.enforce(f"checkout:{user['_id']}", CHECKOUTS_PER_HOUR, 3600, "Too many checkouts started in the last hour. Try again later.")
    payment_id = ObjectId()
    if config.settings().stripe_enabled:
        session_id, url = _stripe_session(user, pack, payment_id)
    else:
        session_id, url = _local_session()
    now = datetime.now(UTC)
    db.collection("payments").insert_one({
        "_id": payment_id, "user_id": user["_id"], "session_id": session_id, "payment_intent_id": None,
        "pack_id": pack["id"], "pack_name": pack["name"], "credits": pack["credits"],
        "amount_cents": pack["price_cents"], "currency": packs.CURRENCY, "status": "pending",
        "refunded_cents": 0, "card": None, "created_at": now, "updated_at": now,
    })
    return {"url": url}
