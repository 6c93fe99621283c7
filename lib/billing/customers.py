"""Stripe customers: one per user, created at sign-up (or at first checkout if Stripe was down then).

Stripe receives the email, the name and our user id, nothing more (policy §3).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from lib import db
from lib.billing import stripe_api


def _create(user: dict, idempotency_key: str) -> str:
    customer = stripe_api.client().v1.customers.create(
        params={
            "email": user["email"],
            "name": f"{user.get('first_name', '')} {user.get('last_name', '')}".strip(),
            "metadata": {"user_id": str(user["_id"])},
        },
        options={"idempotency_key": idempotency_key},
    )
    return customer.id


def _store(user_id, customer_id: str, previous: str | None) -> str:
    """Save the id unless another request saved one first; returns the id the user ends up with."""
    users = db.collection("users")
    users.update_one(
        {"_id": user_id, "stripe_customer_id": previous},  # None also matches a missing field
        {"$set": {"stripe_customer_id": customer_id, "updated_at": datetime.now(UTC)}},
    )
    stored = users.find_one({"_id": user_id}, {"stripe_customer_id": 1})
    return (stored or {}).get("stripe_customer_id") or customer_id


def ensure_customer(user: dict) -> str:
    """The user's Stripe customer id, creating the customer when there is none yet.

    The idempotency key is the user id, so two requests racing here (sign-up
    retry and a checkout, say) get the same customer back from Stripe.
    """
    if user.get("stripe_customer_id"):
        return user["stripe_customer_id"]
    customer_id = _store(user["_id"], _create(user, f"customer-{user['_id']}"), None)
    user["stripe_customer_id"] = customer_id
    return customer_id


def replace_customer(user: dict) -> str:
    """A new customer for a user whose stored one Stripe no longer knows (deleted, or other keys)."""
    stale = user.get("stripe_customer_id")
    customer_id = _store(user["_id"], _create(user, f"customer-{user['_id']}-{secrets.token_hex(8)}"), stale)
    user["stripe_customer_id"] = customer_id
    return customer_id


def delete_customer(customer_id: str) -> bool:
    """Delete the Stripe customer of an erased account; False if Stripe had none by that id."""
    import stripe

    try:
        stripe_api.client().v1.customers.delete(customer_id)
    except stripe.InvalidRequestError as exc:
        if stripe_api.is_missing(exc):
            return False
        raise
    return True
