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

Chargebacks: while a dispute holds the money (`charge.dispute.funds_withdrawn`,
until `funds_reinstated`) the whole pack is taken back, like a full refund
(status `refunded`, `disputed_at` set); reinstatement grants back what the
dispute took. So the credits removed from a granted pack are always: all of
them while a dispute holds, else the refunded share.

Never fulfilled: a payment marked `closed` (its account was deleted) or one
whose user is gone is not moved to `succeeded`; it gets `needs_attention` so
an administrator refunds the money in Stripe.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import ReturnDocument

from lib import credits, db

log = logging.getLogger("nexuspoint.billing")
GRANTED = ("succeeded", "refunded")  # states in which the pack's credits were given
CARD_FIELDS = ("brand", "last4", "exp_month", "exp_year")  # never the number (policy §5)
MAX_REF = 255  # Stripe ids are at most 255 characters
MAX_URL = 2048
CONTROL = re.compile(r"[\x00-\x20\x7f<>\"']")  # no spaces, quotes or angle brackets in a link we render


def _now() -> datetime:
    return datetime.now(UTC)


def _payments():
    return db.collection("payments")


def ref(value) -> str | None:
    """`value` if it is a Stripe id fit for a query (a short string), else None.

    The event is signed, but its fields are still data: a dict such as
    {"$ne": null} in a query would match any payment.
    """
    return value if isinstance(value, str) and 0 < len(value) <= MAX_REF else None


def find(session, *, session_id: str | None = None, payment_intent_id: str | None = None, metadata: dict | None = None) -> dict | None:
    """Our payment for a Stripe object: by session id, else by payment intent, else by the
    payment_id we put in the metadata (Stripe copies it onto the intent and its charges)."""
    session_id, payment_intent_id = ref(session_id), ref(payment_intent_id)
    if session_id:
        return _payments().find_one({"session_id": session_id}, session=session)
    if payment_intent_id:
        found = _payments().find_one({"payment_intent_id": payment_intent_id}, session=session)
        if found:
            return found
    raw = ref(metadata.get("payment_id")) if isinstance(metadata, dict) else None
    try:
        return _payments().find_one({"_id": ObjectId(raw)}, session=session) if raw else None
    except InvalidId:
        return None


def card_of(charge: dict) -> dict | None:
    details = charge.get("payment_method_details")
    card = details.get("card") if isinstance(details, dict) else None
    if not isinstance(card, dict):
        return None
    # Only scalars are stored: brand and last4 strings, expiry month and year numbers.
    kept = {k: card[k] for k in CARD_FIELDS if isinstance(card.get(k), str | int) and not isinstance(card.get(k), bool)}
    return kept or None


def link(value) -> str | None:
    """`value` if it is a web address fit to show as a link (a receipt, an invoice PDF), else None."""
    ok = isinstance(value, str) and len(value) <= MAX_URL and value.startswith(("https://", "http://")) and not CONTROL.search(value)
    return value if ok else None


def facts(payment_intent_id: str | None = None, card: dict | None = None, **links) -> dict:
    """The fields an event may tell us about a payment; absent ones never erase known ones.

    `links`: receipt_url, invoice_pdf, invoice_url (web addresses) and payment_method_id (a Stripe id).
    """
    out = {}
    if isinstance(payment_intent_id, str) and payment_intent_id:
        out["payment_intent_id"] = payment_intent_id
    if card:
        out["card"] = card
    for name, value in links.items():
        kept = ref(value) if name == "payment_method_id" else link(value)
        if kept:
            out[name] = kept
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


def _dispute_holds(payment: dict) -> bool:
    """A chargeback has taken this payment's money and not given it back (yet)."""
    return bool(payment.get("disputed_at")) and not payment.get("reinstated_at")


def _removed(payment: dict) -> int:
    """Credits of a granted pack that should be taken back in this payment's state."""
    return payment["credits"] if _dispute_holds(payment) else refunded_share(payment, payment.get("refunded_cents", 0))


def _remove(payment: dict, count: int, session, **stamps) -> None:
    """Take `count` more of the pack's credits back; the payment is `refunded` from then on."""
    _ledger(payment, -count, "purchase_refund", session)
    _payments().update_one({"_id": payment["_id"]}, {"$set": {"status": "refunded", **stamps, "updated_at": _now()}}, session=session)


def _remove_refunded(payment: dict, before_cents: int, after_cents: int, session) -> None:
    removed = refunded_share(payment, after_cents) - refunded_share(payment, before_cents)
    _remove(payment, removed, session, refunded_at=_now())


def _hold(payment: dict, details: dict, why: str, session) -> None:
    """Paid in Stripe but never to be fulfilled: closed, not paid here, and flagged for an administrator's refund.

    Callers hold `payment` as read (or claimed) in this same transaction, its pack not granted.
    """
    log.error("payment %s was paid but %s: no credits granted; refund it in Stripe", payment["_id"], why)
    _payments().update_one(
        {"_id": payment["_id"]},
        {"$set": {**details, "status": "failed", "closed": True, "needs_attention": True, "failure": payment.get("failure") or why,
                  "updated_at": _now()},
         "$unset": {"succeeded_at": ""}},
        session=session,
    )


def succeed(payment: dict, details: dict, session) -> dict | None:
    """Mark paid and grant the pack; returns the payment if this call made the move, else None."""
    now = _now()
    claimed = _payments().find_one_and_update(
        # `closed`: the account was deleted; such a payment is never fulfilled.
        {"_id": payment["_id"], "status": {"$in": ["pending", "failed"]}, "closed": {"$ne": True}},
        {"$set": {**details, "status": "succeeded", "succeeded_at": now, "updated_at": now}, "$unset": {"failure": ""}},
        return_document=ReturnDocument.AFTER, session=session,
    )
    if claimed is None:
        if payment.get("closed") and payment["status"] not in GRANTED:
            _hold(payment, details, "its account was closed", session)
        else:
            note(payment, details, session)
        return None
    try:
        credits.grant(claimed["user_id"], claimed["credits"], "purchase", session=session, payment_id=claimed["_id"])
    except LookupError:
        # The account is gone: undo the claim (same transaction, so it never shows) and flag it.
        _hold(claimed, {}, "its account no longer exists", session)
        return None
    if claimed.get("refunded_cents", 0) > 0 or _dispute_holds(claimed):  # a refund or chargeback that arrived first: apply it now
        _remove(claimed, _removed(claimed), session, **({"refunded_at": now} if claimed.get("refunded_cents", 0) > 0 else {}))
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
    update = {"$set": {**details, "refunded_cents": total, "updated_at": _now()}}
    if total == payment["amount_cents"]:
        update["$unset"] = {"needs_attention": ""}  # all the money went back: nothing left for an admin to do
    before = _payments().find_one_and_update(
        {"_id": payment["_id"], "refunded_cents": {"$lt": total}}, update,
        return_document=ReturnDocument.BEFORE, session=session,
    )
    if before is None:  # this total (or a later one) was recorded already
        note(payment, details, session)
        return
    # While a dispute holds the money the whole pack is out already; reinstatement accounts for the refund.
    if before["status"] in GRANTED and not _dispute_holds(before):
        _remove_refunded(before, before.get("refunded_cents", 0), total, session)


def dispute_withdrawn(payment: dict, dispute_id: str, session) -> None:
    """A chargeback took the money: take back the credits not already removed (a full refund), once per dispute."""
    now = _now()
    before = _payments().find_one_and_update(
        {"_id": payment["_id"], "dispute_id": {"$exists": False}},
        {"$set": {"dispute_id": dispute_id, "disputed_at": now, "updated_at": now}},
        return_document=ReturnDocument.BEFORE, session=session,
    )
    if before is None or before["status"] not in GRANTED:  # seen already; or never granted (succeed() applies it)
        return
    _remove(before, before["credits"] - _removed(before), session)


def dispute_reinstated(payment: dict, dispute_id: str, session) -> None:
    """The dispute was won: grant back what it took, once. Arriving first, it makes the withdrawal a no-op."""
    now = _now()
    before = _payments().find_one_and_update(
        {"_id": payment["_id"], "$or": [{"dispute_id": dispute_id}, {"dispute_id": {"$exists": False}}], "reinstated_at": {"$exists": False}},
        {"$set": {"dispute_id": dispute_id, "reinstated_at": now, "updated_at": now}},
        return_document=ReturnDocument.BEFORE, session=session,
    )
    if before is None or before["status"] not in GRANTED or not _dispute_holds(before):
        return
    back = before["credits"] - refunded_share(before, before.get("refunded_cents", 0))
    _ledger(before, back, "purchase", session)
    status = "refunded" if before.get("refunded_cents", 0) > 0 else "succeeded"
    _payments().update_one({"_id": payment["_id"]}, {"$set": {"status": status, "updated_at": now}}, session=session)
