"""POST /api/billing/webhook: Stripe's signed events, verified, deduplicated, fulfilled once.

Following Stripe's fulfilment guide: verify the signature on the raw bytes,
dedupe by event id, claim the payment with one conditional update, fulfil
once, answer 2xx fast. The event id is inserted in the same transaction as
the fulfilment (see lib.billing.fulfilment), so it is recorded only once the
work is done: a crash in between leaves no trace and Stripe's retry fulfils.
Mail goes out after the commit and never fails the event.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import stripe
from pymongo.errors import DuplicateKeyError

from lib import config, db, mail
from lib.billing import autotopup, checkout, packs, topups
from lib.billing import fulfilment as f
from lib.errors import bad_request

log = logging.getLogger("nexuspoint.billing")


def _card_saved(payment: dict, s):
    """Switch auto top-up on with the card; a card saved after auto top-up was turned off is owed now, detached after the commit."""
    orphan = autotopup.activate(payment, s)
    autotopup.let_go(orphan, session=s)
    return (lambda: autotopup.detach(orphan)) if orphan else None


def _after_success(payment: dict | None, s) -> list:
    """What a paid payment does besides the credits: save the card of auto top-up, end a top-up in flight.

    Returns what `receive` does after the commit: the payment (its confirmation mail) and any callable."""
    if payment is None:
        return []
    if payment.get("purpose") == checkout.SAVE_CARD:
        return [payment, _card_saved(payment, s)]
    if payment.get("purpose") == topups.KIND:
        topups.release(payment, s, failed=False)
    return [payment]


def _session_completed(obj: dict, s) -> list | None:
    payment = f.find(s, session_id=obj.get("id"))
    if payment is None:
        return None
    details = f.facts(obj.get("payment_intent"))
    if obj.get("amount_total") not in (None, payment["amount_cents"]):
        log.error("session %s: Stripe charged %s cents, the pack costs %s", obj.get("id"), obj.get("amount_total"), payment["amount_cents"])
    if obj.get("payment_status") == "paid":
        return _after_success(f.succeed(payment, details, s), s)
    f.note(payment, details, s)  # "unpaid": a delayed method (bank debit) is still processing
    return None


def _session_paid(obj: dict, s) -> list:
    payment = f.find(s, session_id=obj.get("id"))
    return _after_success(f.succeed(payment, f.facts(obj.get("payment_intent")), s) if payment else None, s)


def _session_failed(obj: dict, s) -> None:
    payment = f.find(s, session_id=obj.get("id"))
    if payment:
        reason = "expired" if obj.get("status") == "expired" else "payment failed"
        f.fail(payment, f.facts(obj.get("payment_intent")), reason, s)


def _intent_failed(obj: dict, s):
    payment = f.find(s, payment_intent_id=obj.get("id"), metadata=obj.get("metadata"))
    if not payment:
        return None
    error = obj.get("last_payment_error")
    error = error if isinstance(error, dict) else {}
    reason = error.get("message") if isinstance(error.get("message"), str) and error["message"] else "payment failed"
    f.fail(payment, f.facts(obj.get("id")), reason, s)
    if payment.get("purpose") != topups.KIND:
        return None
    # The cron job usually records the refusal first; whichever comes first counts it and mails.
    failures = topups.release(payment, s, failed=True)
    if failures is None:
        return None
    code = error.get("code") if isinstance(error.get("code"), str) else "card_declined"
    return lambda: _failure_mail(payment, code, failures)


def _intent_succeeded(obj: dict, s) -> list | None:
    # Checkout's payments are fulfilled by the session's events; an off-session top-up has no session.
    payment = f.find(s, payment_intent_id=obj.get("id"), metadata=obj.get("metadata"))
    if not payment or payment.get("purpose") != topups.KIND:
        return None
    return _after_success(f.succeed(payment, f.facts(obj.get("id")), s), s)


def _charge_succeeded(obj: dict, s) -> list | None:
    # Only the charge carries the card's brand, last 4 digits and expiry, the receipt and the card's PaymentMethod.
    payment = f.find(s, payment_intent_id=obj.get("payment_intent"), metadata=obj.get("metadata"))
    if not payment:
        return None
    details = f.facts(obj.get("payment_intent"), f.card_of(obj), receipt_url=obj.get("receipt_url"), payment_method_id=obj.get("payment_method"))
    if payment.get("purpose") == topups.KIND:
        return _after_success(f.succeed(payment, details, s), s)
    f.note(payment, details, s)
    return [_card_saved(payment, s)] if payment.get("purpose") == checkout.SAVE_CARD else None


def _invoice_paid(obj: dict, s) -> None:
    # Checkout's invoice_creation copies our metadata onto the invoice; its PDF is what the accountant wants.
    payment = f.find(s, metadata=obj.get("metadata"))
    if payment:
        f.note(payment, f.facts(invoice_pdf=obj.get("invoice_pdf"), invoice_url=obj.get("hosted_invoice_url")), s)


def _charge_refunded(obj: dict, s) -> None:
    payment = f.find(s, payment_intent_id=obj.get("payment_intent"), metadata=obj.get("metadata"))
    if payment:
        f.refund(payment, obj.get("amount_refunded") or 0, f.facts(obj.get("payment_intent"), f.card_of(obj)), s)


def _dispute_withdrawn(obj: dict, s) -> None:
    # A chargeback: the dispute object names the disputed charge's payment intent.
    payment = f.find(s, payment_intent_id=obj.get("payment_intent"), metadata=obj.get("metadata"))
    if payment and f.ref(obj.get("id")):
        f.dispute_withdrawn(payment, obj["id"], s)


def _dispute_reinstated(obj: dict, s) -> None:
    payment = f.find(s, payment_intent_id=obj.get("payment_intent"), metadata=obj.get("metadata"))
    if payment and f.ref(obj.get("id")):
        f.dispute_reinstated(payment, obj["id"], s)


HANDLERS = {
    "checkout.session.completed": _session_completed,
    "checkout.session.async_payment_succeeded": _session_paid,
    "checkout.session.async_payment_failed": _session_failed,
    "checkout.session.expired": _session_failed,
    "payment_intent.payment_failed": _intent_failed,
    "payment_intent.succeeded": _intent_succeeded,
    "charge.succeeded": _charge_succeeded,
    "invoice.paid": _invoice_paid,
    "charge.refunded": _charge_refunded,
    "charge.dispute.funds_withdrawn": _dispute_withdrawn,
    "charge.dispute.funds_reinstated": _dispute_reinstated,
}
# Fields a handler may put into a query (ids) or do arithmetic with (amounts): each must be absent,
# null, or of Stripe's type. Anything else is acknowledged and ignored, never queried with.
ID_FIELDS = ("id", "payment_intent", "charge", "customer")
AMOUNT_FIELDS = ("amount", "amount_total", "amount_refunded")


def well_formed(obj) -> bool:
    if not isinstance(obj, dict):
        return False
    if any(obj.get(k) is not None and f.ref(obj[k]) is None for k in ID_FIELDS):
        return False
    if any(obj.get(k) is not None and (not isinstance(obj[k], int) or isinstance(obj[k], bool)) for k in AMOUNT_FIELDS):
        return False
    metadata = obj.get("metadata")
    if metadata is None:
        return True
    return isinstance(metadata, dict) and (metadata.get("payment_id") is None or f.ref(metadata["payment_id"]) is not None)


def verify(raw: bytes, signature: str) -> dict:
    """The event as plain data, or 400 when the signature is missing, wrong or stale."""
    try:
        stripe.Webhook.construct_event(raw, signature, config.settings().stripe_webhook_secret)
        event = json.loads(raw)
    except stripe.SignatureVerificationError:
        raise bad_request("invalid_signature", "The Stripe-Signature header is missing, wrong or too old.") from None
    except (ValueError, TypeError, AttributeError):  # signed, but not JSON, or JSON that is not an event object
        raise bad_request("invalid_json", "The body is not a Stripe event.") from None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not isinstance(event.get("type"), str):
        raise bad_request("invalid_json", "The body is not a Stripe event.")
    return event


def _process(event: dict, obj: dict, handler) -> dict | None:
    """Record the event and apply it in one transaction; DuplicateKeyError if it was seen before."""

    def work(s):
        db.collection("stripe_events").insert_one({"_id": event["id"], "type": event["type"], "received_at": datetime.now(UTC)}, session=s)
        return handler(obj, s)

    return db.transaction(work)


def _user_for_mail(payment: dict) -> dict | None:
    return db.collection("users").find_one({"_id": payment["user_id"]}, {"email": 1, "first_name": 1, "notifications": 1, "credits": 1})


def _confirm(payment: dict) -> None:
    user = _user_for_mail(payment)
    if user is None:
        return
    # The charge (with Stripe's receipt) usually comes before the session; if not, the billing page links it later.
    receipt = db.collection("payments").find_one({"_id": payment["_id"]}, {"receipt_url": 1}) or {}
    billing = f"{config.settings().site_url}/dashboard/billing"
    mail.send(
        user["email"], "payment_confirmation", prefs=user.get("notifications"),
        first_name=user.get("first_name", ""), pack_name=payment["pack_name"], credits=f"{payment['credits']:,}",
        amount=packs.money(payment["amount_cents"], payment.get("currency", packs.CURRENCY)),
        balance=f"{user.get('credits', 0):,}", reference=str(payment["_id"]),
        date=payment.get("succeeded_at", datetime.now(UTC)).strftime("%d %B %Y"),
        receipt=receipt.get("receipt_url") or f"{billing} (under Transactions, once Stripe has issued it)",
        how=" by auto top-up" if payment.get("purpose") == topups.KIND else "",
    )


def _failure_mail(payment: dict, code: str, failures: int) -> None:
    user = _user_for_mail(payment)
    if user is not None:
        topups.failure_mail(user, payment, code, paused=failures >= topups.PAUSE_AFTER)


def receive(req) -> dict:
    event = verify(req.body, req.header("stripe-signature"))
    handler = HANDLERS.get(event["type"])
    if handler is None:
        return {"received": True, "ignored": True}
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not well_formed(obj):
        # Signed, yet not the shape Stripe sends: 200 so it is not retried forever, and nothing changes.
        log.warning("event %s (%s): malformed object, ignored", event["id"], event["type"])
        return {"received": True, "ignored": True}
    try:
        outcome = _process(event, obj, handler)
    except DuplicateKeyError:
        return {"received": True, "duplicate": True}
    for after in outcome if isinstance(outcome, list) else [outcome]:
        if callable(after):  # decided inside the transaction (a mail, a card to detach), done after its commit
            after()
        # No receipt for a pack refunded or charged back before the success arrived.
        elif after is not None and not after.get("refunded_cents") and not after.get("disputed_at"):
            _confirm(after)
    return {"received": True}
