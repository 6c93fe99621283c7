"""A payment's moves between states, and the credits that go with each move.

Every function here runs inside the webhook's MongoDB transaction (`session`),
so the event id, the payment's new state and its ledger rows commit together
or not at all: a crash half-way leaves nothing behind, and Stripe's retry of
the same event does the whole job again.

States: pending -> succeeded -> refunded; pending -> failed; failed ->
succeeded (a declined card retried in the same Checkout). The pack's credits
are granted by the one conditional update that moves a payment into
`succeeded`, so however many events (or copies of one) report the success,
one of them grants.

Refunds: `refunded_cents` only grows (Stripe reports the running total), and
each increase removes the credits of the newly refunded share, rounded:
round(refunded / amount x credits) minus what earlier refunds removed, so a
full refund removes exactly the pack. A refund reported before the success
(events arrive in any order) is recorded on the payment without touching
credits; when the success arrives the pack is granted and the recorded refund
removed in the same transaction. Money and credits agree in the end either way.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import ReturnDocument

from lib import credits, db

log = logging.getLogger("nexuspoint.billing")
GRANTED = ("succeeded", "refunded")  # states in which the pack's credits were given
CARD_FIELDS = ("brand", "last4", "exp_month", "exp_year")  # never the number (policy §5)


def _now() -> datetime:
    return datetime.now(UTC)


def _payments():
    return db.collection("payments")


def find(session, *, session_id: str | None = None, payment_intent_id: str | None = None, metadata: dict | None = None) -> dict | None:
    """Our payment for a Stripe object: by session id, else by payment intent, else by the
    payment_id we put in the metadata (Stripe copies it onto the intent and its charges)."""
    if session_id:
        return _payments().find_one({"session_id": session_id}, session=session)
    if payment_intent_id:
        found = _payments().find_one({"payment_intent_id": payment_intent_id}, session=session)
        if found:
            return found
    raw = (metadata or {}).get("payment_id")
    try:
        return _payments().find_one({"_id": ObjectId(raw)}, session=session) if isinstance(raw, str) else None
    except InvalidId:
        return None


def card_of(charge: dict) -> dict | None:
    card = ((charge.get("payment_method_details") or {}).get("card")) or {}
    kept = {k: card.get(k) for k in CARD_FIELDS if card.get(k) is not None}
    return kept or None


def facts(payment_intent_id: str | None = None, card: dict | None = None) -> dict:
    """The fields an event may tell us about a payment; absent ones never erase known ones."""
    out = {}
    if isinstance(payment_intent_id, str) and payment_intent_id:
        out["payment_intent_id"] = payment_intent_id
    if card:
        out["card"] = card
    return out


def note(payment: dict, details: dict, session) -> None:
    if details:
        _payments().update_one({"_id": payment["_id"]}, {"$set": {**details, "updated_at": _now()}}, session=session)


def _ledger(payment: dict, delta: int, kind: str, session) -> None:
    if delta == 0:
        return
    # Joined to this transaction so the payment's state and its credits can never disagree.
    try:
        credits.grant(payment["user_id"], delta, kind, session=session, payment_id=payment["_id"])
    except LookupError:  # the account was erased; the payment record stays (policy §6)
        log.warning("payment %s: no user %s to apply %+d credits to", payment["_id"], payment["user_id"], delta)


def refunded_share(payment: dict, refunded_cents: int) -> int:
    """Credits that `refunded_cents` of this payment stand for, rounded half up."""
    amount, pack = payment["amount_cents"], payment["credits"]
    cents = max(0, min(refunded_cents, amount))
    return (2 * cents * pack + amount) // (2 * amount)


def _remove_refunded(payment: dict, before_cents: int, after_cents: int, session) -> None:
    removed = refunded_share(payment, after_cents) - refunded_share(payment, before_cents)
    _ledger(payment, -removed, "purchase_refund", session)
    now = _now()
    _payments().update_one({"_id": payment["_id"]}, {"$set": {"status": "refunded", "refunded_at": now, "updated_at": now}}, session=session)


def succeed(payment: dict, details: dict, session) -> dict | None:
    """Mark paid and grant the pack; returns the payment if this call made the move, else None."""
    now = _now()
    claimed = _payments().find_one_and_update(
        {"_id": payment["_id"], "status": {"$in": ["pending", "failed"]}},
        {"$set": {**details, "status": "succeeded", "succeeded_at": now, "updated_at": now}, "$unset": {"failure": ""}},
        return_document=ReturnDocument.AFTER, session=session,
    )
    if claimed is None:
        note(payment, details, session)
        return None
    _ledger(claimed, claimed["credits"], "purchase", session)
    if claimed.get("refunded_cents", 0) > 0:  # a refund that arrived first: apply it now
        _remove_refunded(claimed, 0, claimed["refunded_cents"], session)
    return claimed


def fail(payment: dict, details: dict, reason: str, session) -> bool:
    """pending -> failed; a payment already paid (events out of order) stays as it is."""
    moved = _payments().update_one(
        {"_id": payment["_id"], "status": "pending"},
        {"$set": {**details, "status": "failed", "failure": reason[:200], "updated_at": _now()}}, session=session,
    )
    if not moved.modified_count:
        note(payment, details, session)
    return bool(moved.modified_count)


def refund(payment: dict, refunded_cents: int, details: dict, session) -> None:
    """Record Stripe's running refund total; remove the credits of the new share if the pack was granted."""
    total = max(0, min(int(refunded_cents), payment["amount_cents"]))
    before = _payments().find_one_and_update(
        {"_id": payment["_id"], "refunded_cents": {"$lt": total}},
        {"$set": {**details, "refunded_cents": total, "updated_at": _now()}},
        return_document=ReturnDocument.BEFORE, session=session,
    )
    if before is None:  # this total (or a later one) was recorded already
        note(payment, details, session)
        return
    if before["status"] in GRANTED:
        _remove_refunded(before, before.get("refunded_cents", 0), total, session)
