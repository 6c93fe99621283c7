"""Auto top-up settings: GET / PUT / DELETE /api/billing/auto-topup, and the saved card's life.

A person picks a pack, a threshold (credits) and a monthly ceiling (USD cents).
Turning it on the first time buys the pack through Checkout with
`setup_future_usage=off_session`: the webhook that fulfils that purchase
(`activate`) saves the card's PaymentMethod and switches auto top-up on. The
charges themselves are made later by the cron job in `lib.billing.topups`.

State on the user document, `auto_topup`:
  pack_id, threshold, ceiling_cents  what the person chose
  enabled      they want it on;  active: enabled, a card saved, not paused (the
               cron job's indexed query reads this one flag)
  payment_method_id, setup_payment_id (the Checkout that will save the card)
  failures, paused_at   two failed charges in a row pause it until saved again
  crossing     counts the top-ups started: the idempotency key of each charge
  in_flight    the payment of the top-up under way (one at a time)
  month, month_cents    what this UTC month's top-ups reserved (the ceiling)
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from pymongo import ReturnDocument

from lib import config, db, validation
from lib.billing import checkout, cleanup, packs
from lib.errors import bad_request
from lib.http import Response, load_user

log = logging.getLogger("nexuspoint.billing")
FIELDS = frozenset({"pack_id", "threshold", "ceiling_cents"})
MAX_THRESHOLD = 1_000_000
MAX_CEILING_CENTS = 100_000_000  # $1,000,000 a month


def view(user: dict) -> dict:
    state = user.get("auto_topup") or {}
    month = datetime.now(UTC).strftime("%Y-%m")
    return {
        "enabled": bool(state.get("enabled")),
        "active": bool(state.get("active")),
        "card_saved": bool(state.get("payment_method_id")),
        "awaiting_checkout": bool(state.get("setup_payment_id")),
        "paused": bool(state.get("paused_at")),
        "failures": state.get("failures", 0),
        "pack_id": state.get("pack_id"),
        "threshold": state.get("threshold"),
        "ceiling_cents": state.get("ceiling_cents"),
        "month_spent_cents": state.get("month_cents", 0) if state.get("month") == month else 0,
    }


def _settings_from(body: dict) -> dict:
    body = validation.only(body, FIELDS)
    pack = packs.find(validation.string(body, "pack_id", max_len=60))
    if pack is None:
        raise bad_request("unknown_pack", "There is no credit pack by that id; GET /api/billing/packs lists them.", field="pack_id")
    threshold = validation.integer(body, "threshold", lo=0, hi=MAX_THRESHOLD)
    ceiling = validation.integer(body, "ceiling_cents", lo=0, hi=MAX_CEILING_CENTS)
    if ceiling < pack["price_cents"]:
        raise bad_request("ceiling_below_pack_price", f"The monthly ceiling must be at least the pack's price ({pack['price_cents']} cents).",
                          field="ceiling_cents")
    return {"pack": pack, "threshold": threshold, "ceiling_cents": ceiling}


def get(req) -> dict:
    return {"auto_topup": view(load_user(req))}


def save(req) -> dict:
    """Turn on or change auto top-up. Without a saved card, the answer carries the Checkout url that saves one."""
    chosen = _settings_from(req.json())
    user = load_user(req)
    state = user.get("auto_topup") or {}
    fields = {"auto_topup.pack_id": chosen["pack"]["id"], "auto_topup.threshold": chosen["threshold"],
              "auto_topup.ceiling_cents": chosen["ceiling_cents"], "auto_topup.enabled": True, "updated_at": datetime.now(UTC)}
    users = db.collection("users")
    if state.get("payment_method_id"):
        # Saving again is also how a paused auto top-up is resumed: the failures start over.
        fields.update({"auto_topup.active": True, "auto_topup.failures": 0, "auto_topup.paused_at": None})
        after = users.find_one_and_update({"_id": user["_id"]}, {"$set": fields}, return_document=ReturnDocument.AFTER)
        return {"auto_topup": view(after)}
    payment_id, url = checkout.start(user, chosen["pack"], save_card=True)
    fields.update({"auto_topup.active": False, "auto_topup.setup_payment_id": payment_id})
    after = users.find_one_and_update({"_id": user["_id"]}, {"$set": fields}, return_document=ReturnDocument.AFTER)
    return {"auto_topup": view(after), "url": url}


def turn_off(req) -> Response:
    user = load_user(req)
    card = (user.get("auto_topup") or {}).get("payment_method_id")
    let_go(card)  # owed first: a crash after the update below still gets it detached (never while still held)
    db.collection("users").update_one(
        {"_id": user["_id"]},
        {"$set": {"auto_topup.enabled": False, "auto_topup.active": False, "auto_topup.payment_method_id": None,
                  "auto_topup.setup_payment_id": None, "updated_at": datetime.now(UTC)}},
    )
    detach(card)
    return Response.empty()


def let_go(card: str | None, *, session=None) -> None:
    """Owe Stripe the detaching of PaymentMethod `card` (lib/billing/cleanup); `detach` then tries it."""
    if card and config.settings().stripe_enabled:  # the local stand-in's card lives and dies with the user document
        cleanup.owe("card", card, session=session)


def detach(card: str | None) -> None:
    """Try the detaching `let_go` owed now; what Stripe refuses, the stripe-cleanup cron retries."""
    if card and config.settings().stripe_enabled:
        cleanup.pay("card", card)


def activate(payment: dict, session) -> str | None:
    """The Checkout that saves the card was paid and its card is known: switch auto top-up on, once.

    Called by the webhook (inside its transaction) after each event about such a
    payment; the charge brings the PaymentMethod, the session the success, in any order.
    If auto top-up was turned off (or set up again with another Checkout) before
    this one was paid, Stripe has attached a card nobody wants: returns its id
    for the webhook to detach after the commit. Otherwise None.
    """
    current = db.collection("payments").find_one({"_id": payment["_id"]}, {"status": 1, "payment_method_id": 1}, session=session)
    if not current or current.get("status") != "succeeded" or not current.get("payment_method_id"):
        return None
    method = current["payment_method_id"]
    switched = db.collection("users").update_one(
        {"_id": payment["user_id"], "auto_topup.setup_payment_id": payment["_id"], "auto_topup.enabled": True},
        {"$set": {"auto_topup.payment_method_id": method, "auto_topup.active": True,
                  "auto_topup.setup_payment_id": None, "auto_topup.failures": 0, "auto_topup.paused_at": None,
                  "updated_at": datetime.now(UTC)}},
        session=session,
    )
    if switched.modified_count:
        return None
    # Only the later of the charge and the session finds both the success and the card, so one event asks.
    in_use = db.collection("users").count_documents({"_id": payment["user_id"], "auto_topup.payment_method_id": method}, session=session)
    return None if in_use else method
