"""What NexusPoint still owes Stripe: a customer to delete, a saved card to detach, retried until Stripe confirms.

Erasing an account deletes its Stripe customer (the email and name Stripe
holds, policy §3), and turning auto top-up off detaches the saved card. Stripe
may be down right then, or the function may die just after the erasure's
commit, so the debt is written first (inside the erasure's transaction), tried
at once, and otherwise tried again by the `stripe-cleanup` cron with growing
waits until Stripe confirms or says it has nothing by that id. The policy
(§6) gives erasure 30 days: a debt older than ALERT_AFTER is logged as an
error on every run, so that someone deletes it in the Stripe Dashboard in time.
A card is never detached while a user's auto top-up holds it again.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

from lib import db

log = logging.getLogger("nexuspoint.billing")
FIRST_RETRY = timedelta(minutes=5)  # doubling after each failure, up to MAX_WAIT
MAX_WAIT = timedelta(hours=6)
LEASE = timedelta(minutes=2)  # a claimed debt is not due again for this long: one attempt at a time
ALERT_AFTER = timedelta(days=7)
RUN_SECONDS = 40  # within the cron function's maxDuration (vercel.json: 60 s), Stripe's timeouts included


def _debts():
    return db.collection("stripe_cleanups")


def owe(kind: str, stripe_id: str, *, session=None) -> None:
    """Record that Stripe object `stripe_id` ("customer" to delete, "card" to detach) must go; idempotent."""
    now = datetime.now(UTC)
    _debts().update_one({"_id": f"{kind}:{stripe_id}"},
                        {"$setOnInsert": {"kind": kind, "stripe_id": stripe_id, "queued_at": now, "attempts": 0, "next_at": now}},
                        upsert=True, session=session)


def pay(kind: str, stripe_id: str) -> None:
    """Try a debt now (just after it was owed); what fails stays owed. Never raises for Stripe's failures."""
    claimed = _claim(f"{kind}:{stripe_id}", datetime.now(UTC))
    if claimed is not None:
        _attempt(claimed)


def stripe_cleanup() -> dict[str, int]:
    """The cron job: every debt that is due, oldest first, for at most RUN_SECONDS."""
    started, now = time.monotonic(), datetime.now(UTC)
    done = {"settled": 0, "failed": 0, "overdue": 0}
    for due in _debts().find({"next_at": {"$lte": now}}, {"_id": 1}).sort("next_at", 1):
        if time.monotonic() - started > RUN_SECONDS:
            break
        claimed = _claim(due["_id"], now)
        if claimed is None:
            continue  # another run has it
        if _attempt(claimed):
            done["settled"] += 1
            continue
        done["failed"] += 1
        if claimed["queued_at"] <= now - ALERT_AFTER:
            done["overdue"] += 1
            log.error("Stripe %s %s still not removed after %s days (policy: 30): remove it in the Stripe Dashboard",
                      claimed["kind"], claimed["stripe_id"], (now - claimed["queued_at"]).days)
    return done


def _claim(debt_id: str, now: datetime) -> dict | None:
    return _debts().find_one_and_update({"_id": debt_id, "next_at": {"$lte": now}}, {"$set": {"next_at": now + LEASE}})


def _attempt(debt: dict) -> bool:
    try:
        _remove(debt["kind"], debt["stripe_id"])
    except Exception as exc:  # Stripe down or slow, our keys refused: the next attempt waits longer
        attempts = debt["attempts"] + 1
        wait = min(FIRST_RETRY * 2 ** (attempts - 1), MAX_WAIT)
        _debts().update_one({"_id": debt["_id"]}, {"$set": {"attempts": attempts, "next_at": datetime.now(UTC) + wait,
                                                             "last_error": type(exc).__name__}})
        log.warning("Stripe %s %s not removed yet (attempt %d, next in %s)", debt["kind"], debt["stripe_id"], attempts, wait,
                    exc_info=True)
        return False
    _debts().delete_one({"_id": debt["_id"]})
    return True


def _remove(kind: str, stripe_id: str) -> None:
    """Delete the customer or detach the card; nothing by that id (or nothing attached) at Stripe counts as done."""
    if kind == "customer":
        from lib.billing.customers import delete_customer

        delete_customer(stripe_id)
        return
    if db.collection("users").count_documents({"auto_topup.payment_method_id": stripe_id}, limit=1):
        return  # auto top-up holds this card again: the debt is void
    import stripe

    from lib.billing import stripe_api

    try:
        stripe_api.client().v1.payment_methods.detach(stripe_id)
    except stripe.InvalidRequestError:
        pass  # no such card, or attached to no customer: nothing is left to detach
