"""The auto top-up cron job: charge a saved card off-session for each crossing of the threshold.

Never inside a vision call: the debit path does not know about top-ups (and
vision functions never import stripe). Every run (`auto_topup`, on a cron schedule)
finds the people whose auto top-up is active, with no top-up under way, whose
balance is below their threshold: one indexed query. So a top-up lands within
one cron interval of the crossing.

One crossing, one charge, however many calls crossed it and however often or
concurrently the job runs:
- `_claim` starts a top-up in one transaction: the user's `in_flight` goes from
  null to the new payment (a conditional update, so one run wins), the crossing
  counter and this month's reserved spend grow, and the payment row is written
  with `session_id = autotopup:<user>:<crossing>`. The reservation is checked in
  the same update, so concurrent crossings never reserve past the ceiling.
- `_charge` takes a short lease on the payment and creates the PaymentIntent
  (`off_session=true, confirm=true`) with that session id as the Stripe
  idempotency key: a run that crashed, or timed out talking to Stripe, is
  retried by a later run with the same key and Stripe answers the same intent.
- The webhook fulfils it like any purchase (`payment_intent.succeeded`,
  `charge.succeeded`) and clears `in_flight` (`settled`).
A declined card or one that needs authentication: the payment fails, nothing
is granted, the reservation is released, a mail links to an on-session
purchase, and the second failure in a row pauses auto top-up.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

from bson import ObjectId

from lib import config, db, mail
from lib.billing import checkout, packs

log = logging.getLogger("nexuspoint.billing")
KIND = "auto_topup"  # payments.purpose of an off-session top-up
ACTIVE_INDEX = [("auto_topup.active", 1)]
LEASE = timedelta(minutes=2)  # one run talks to Stripe about a payment at a time; a crash frees it after this
PAUSE_AFTER = 2
RETRY_PATH = "/dashboard/billing?topup=retry"


def _now() -> datetime:
    return datetime.now(UTC)


def _month(now: datetime) -> str:
    return now.strftime("%Y-%m")


def due_users() -> list[dict]:
    """Active auto top-ups with nothing under way whose balance is below the threshold."""
    query = {"auto_topup.active": True, "auto_topup.in_flight": None,
             "$expr": {"$lt": ["$credits", "$auto_topup.threshold"]}}
    fields = {"credits": 1, "email": 1, "first_name": 1, "notifications": 1, "stripe_customer_id": 1, "auto_topup": 1}
    return list(db.collection("users").find(query, fields).hint(ACTIVE_INDEX))


def _claim(user: dict, pack: dict, now: datetime) -> dict | None:
    """Start this crossing's top-up, or None if another run did, the settings changed, or the ceiling is reached."""
    state, month = user["auto_topup"], _month(now)
    users = db.collection("users")
    # A new month starts from zero; two runs doing this at once set the same values.
    users.update_one({"_id": user["_id"], "auto_topup.month": {"$ne": month}},
                     {"$set": {"auto_topup.month": month, "auto_topup.month_cents": 0}})
    payment_id = ObjectId()

    def work(s):
        claimed = users.find_one_and_update(
            {"_id": user["_id"], "auto_topup.active": True, "auto_topup.in_flight": None,
             "auto_topup.pack_id": pack["id"], "auto_topup.threshold": state["threshold"],
             "credits": {"$lt": state["threshold"]}, "auto_topup.month": month,
             "auto_topup.month_cents": {"$lte": state["ceiling_cents"] - pack["price_cents"]}},
            {"$set": {"auto_topup.in_flight": payment_id},
             "$inc": {"auto_topup.crossing": 1, "auto_topup.month_cents": pack["price_cents"]}},
            projection={"auto_topup": 1}, return_document=True, session=s,
        )
        if claimed is None:
            return None
        row = {
            "_id": payment_id, "user_id": user["_id"], "purpose": KIND,
            "session_id": f"autotopup:{user['_id']}:{claimed['auto_topup']['crossing']}",
            "payment_intent_id": None, "pack_id": pack["id"], "pack_name": pack["name"], "credits": pack["credits"],
            "amount_cents": pack["price_cents"], "currency": packs.CURRENCY, "status": "pending", "refunded_cents": 0,
            "card": None, "payment_method_id": claimed["auto_topup"].get("payment_method_id"),
            "charge_lease": now, "created_at": now, "updated_at": now,
        }
        db.collection("payments").insert_one(row, session=s)
        return row

    return db.transaction(work)


def _over_ceiling(user: dict, now: datetime) -> bool:
    """Mail once a month that the ceiling stopped a top-up; True if this call sent it."""
    month = _month(now)
    marked = db.collection("users").update_one(
        {"_id": user["_id"], "auto_topup.ceiling_mailed": {"$ne": month}}, {"$set": {"auto_topup.ceiling_mailed": month}})
    if not marked.modified_count:
        return False
    state = user["auto_topup"]
    mail.send(user["email"], "auto_topup_ceiling", prefs=user.get("notifications"), first_name=user.get("first_name", ""),
              credits=f"{user.get('credits', 0):,}", ceiling=packs.money(state["ceiling_cents"]), month=now.strftime("%B %Y"))
    return True


# -- charging ------------------------------------------------------------------------------
class Declined(Exception):
    """The card was refused off-session: `code` is Stripe's (card_declined, authentication_required, ...)."""

    def __init__(self, code: str, message: str, intent_id: str | None = None):
        super().__init__(message)
        self.code, self.message, self.intent_id = code, message, intent_id


def _metadata(payment: dict) -> dict:
    return {"user_id": str(payment["user_id"]), "pack_id": payment["pack_id"], "payment_id": str(payment["_id"]), "purpose": KIND}


def _charge_stripe(payment: dict, customer: str | None) -> str:
    """Create and confirm the PaymentIntent; its id, or Declined. Other Stripe errors propagate (retried next run)."""
    import stripe

    from lib.billing import stripe_api

    params = {
        "amount": payment["amount_cents"], "currency": payment["currency"], "customer": customer,
        "payment_method": payment["payment_method_id"], "off_session": True, "confirm": True,
        "description": f"NexusPoint auto top-up: {payment['pack_name']} pack", "metadata": _metadata(payment),
    }
    try:
        intent = stripe_api.client().v1.payment_intents.create(params=params, options={"idempotency_key": payment["session_id"]})
    except stripe.CardError as exc:
        error = exc.error
        intent = getattr(error, "payment_intent", None) if error else None
        raise Declined(exc.code or "card_declined", exc.user_message or "The card was declined.",
                       intent.get("id") if isinstance(intent, dict) else None) from None
    except stripe.InvalidRequestError as exc:  # the card was detached or the customer deleted: retrying won't help
        raise Declined(exc.code or "invalid_request", "The saved card can no longer be charged.") from None
    return intent.id


def _charge_local(payment: dict) -> str:
    """The local Checkout stand-in charges its saved test card (and sends the webhooks) as Stripe would."""
    url = f"{config.settings().site_url}{checkout.LOCAL_CHECKOUT_PATH}/off-session"
    body = json.dumps({"payment_id": str(payment["_id"]), "idempotency_key": payment["session_id"]}).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())["id"]
    except urllib.error.HTTPError as exc:
        if exc.code != 402:
            raise
        error = json.loads(exc.read())["error"]
        raise Declined(error["code"], error["message"], error.get("payment_intent")) from None


def _failed(payment: dict, user: dict, exc: Declined) -> None:
    """Record a refused charge once (the webhook's payment_intent.payment_failed may race us) and mail."""
    from lib.billing import fulfilment

    details = fulfilment.facts(exc.intent_id)

    def work(s):
        fulfilment.fail(payment, details, exc.code, s)
        return release(payment, s, failed=True)

    failures = db.transaction(work)
    _charge_done(payment)
    if failures is not None:
        failure_mail(user, payment, exc.code, paused=failures >= PAUSE_AFTER)


def _cancel(payment: dict) -> None:
    """Auto top-up was turned off after this top-up was claimed: never charge it."""
    from lib.billing import fulfilment

    db.transaction(lambda s: (fulfilment.fail(payment, {}, "auto top-up turned off", s), release(payment, s, failed=True)))
    _charge_done(payment)


def _charge_done(payment: dict) -> None:
    db.collection("payments").update_one({"_id": payment["_id"]}, {"$unset": {"charge_lease": ""}})


def charge(payment: dict, user: dict) -> str:
    """Charge one claimed payment, if no other run holds it; 'charged', 'declined', 'busy' or 'error'."""
    now = _now()
    leased = db.collection("payments").find_one_and_update(
        {"_id": payment["_id"], "status": "pending", "charge_lease": {"$lte": now}},
        {"$set": {"charge_lease": now + LEASE, "updated_at": now}}, return_document=True)
    if leased is None:
        return "busy"
    if not (user.get("auto_topup") or {}).get("enabled"):
        _cancel(leased)
        return "cancelled"
    try:
        intent_id = _charge_stripe(leased, user.get("stripe_customer_id")) if config.settings().stripe_enabled else _charge_local(leased)
    except Declined as exc:
        log.info("auto top-up %s declined: %s", payment["_id"], exc.code)
        _failed(leased, user, exc)
        return "declined"
    except Exception:
        # Stripe unreachable, a 500, a timeout: the lease runs out and a later run retries with the same key.
        log.warning("auto top-up %s: charge not confirmed, retried next run", payment["_id"], exc_info=True)
        return "error"
    db.collection("payments").update_one({"_id": payment["_id"], "payment_intent_id": None}, {"$set": {"payment_intent_id": intent_id}})
    _charge_done(payment)
    return "charged"


def release(payment: dict, session, *, failed: bool) -> int | None:
    """Clear the user's `in_flight` for this payment, once; on failure count it (pausing at the second) and
    give back the month's reservation. Returns the failure count if this call released it, else None."""
    users = db.collection("users")
    if not failed:
        done = users.update_one({"_id": payment["user_id"], "auto_topup.in_flight": payment["_id"]},
                                {"$set": {"auto_topup.in_flight": None, "auto_topup.failures": 0}}, session=session)
        return 0 if done.modified_count else None
    after = users.find_one_and_update(
        {"_id": payment["user_id"], "auto_topup.in_flight": payment["_id"]},
        {"$set": {"auto_topup.in_flight": None}, "$inc": {"auto_topup.failures": 1, "auto_topup.month_cents": -payment["amount_cents"]}},
        projection={"auto_topup.failures": 1}, return_document=True, session=session,
    )
    if after is None:
        return None
    failures = after["auto_topup"]["failures"]
    if failures >= PAUSE_AFTER:
        users.update_one({"_id": payment["user_id"]}, {"$set": {"auto_topup.active": False, "auto_topup.paused_at": _now()}}, session=session)
    return failures


def failure_mail(user: dict, payment: dict, code: str, *, paused: bool) -> None:
    why = ("your bank asked for authentication, which can't happen while you are away" if code == "authentication_required"
           else "the card was declined")
    mail.send(user["email"], "auto_topup_failed", prefs=user.get("notifications"), first_name=user.get("first_name", ""),
              pack_name=payment["pack_name"], amount=packs.money(payment["amount_cents"]), reason=why,
              pay_url=f"{config.settings().site_url}{RETRY_PATH}",
              paused=("Auto top-up is now paused after two failed charges. Save it again in Billing to resume."
                      if paused else "We'll try once more at the next crossing; a second failure pauses auto top-up."))


def _unfinished() -> list[dict]:
    """Top-ups claimed but not yet answered by Stripe (a run crashed or timed out): charged again, same key."""
    return list(db.collection("payments").find({"charge_lease": {"$lte": _now()}, "status": "pending", "purpose": KIND}))


def auto_topup() -> dict:
    """The cron job: claim every due crossing and charge it; retry unfinished charges. Safe to run twice at once."""
    now = _now()
    summary = {"due": 0, "charged": 0, "declined": 0, "over_ceiling": 0, "errors": 0}
    users = {}
    for user in due_users():
        summary["due"] += 1
        pack = packs.find(user["auto_topup"].get("pack_id"))
        if pack is None:  # the pack was withdrawn from sale: nothing to charge
            continue
        users[user["_id"]] = user
        if _claim(user, pack, now) is None:
            state = user["auto_topup"]
            spent = state.get("month_cents", 0) if state.get("month") == _month(now) else 0
            if spent + pack["price_cents"] > state["ceiling_cents"]:
                summary["over_ceiling"] += 1
                _over_ceiling(user, now)
    for payment in _unfinished():
        user = users.get(payment["user_id"]) or db.collection("users").find_one(
            {"_id": payment["user_id"]}, {"email": 1, "first_name": 1, "notifications": 1, "stripe_customer_id": 1, "auto_topup": 1})
        if user is None:
            continue
        outcome = charge(payment, user)
        if outcome in ("charged", "declined"):
            summary[outcome] += 1
        elif outcome == "error":
            summary["errors"] += 1
    return summary
