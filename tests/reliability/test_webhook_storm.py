"""1,000 webhook deliveries in one seeded, shuffled, concurrent run: each payment fulfilled exactly as paid.

Payments get a fate (paid, paid late, declined then paid, refunded in part or
in full, failed, expired, abandoned) and the events Stripe would send for it.
Each genuine event is delivered at least once, plus replays (some in bursts,
so copies race each other), and deliveries that must be refused: a wrong
secret, a stale timestamp, a body changed after signing, and forged "paid"
events for payments nobody paid. Afterwards every payment holds exactly the
credits its money stands for, granted once, and the books reconcile.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bson import ObjectId

from lib import db
from lib.billing import packs
from lib.billing.fulfilment import refunded_share
from tests.client import Client
from tests.fixtures.accounts import sign_up
from tests.fixtures.stripe import charge_object, event, intent_object, new_id, session_object, start_checkout
from tests.reliability.support import at_once, balance, has_error_shape, reconciles, server_errors

SEED = 20261028
DELIVERIES = 1000
USERS, PAYMENTS_PER_USER = 6, 10
TOPUP_PAID = ("topup_paid", "topup_refunded")
PAID_FATES = ("paid", "paid_late", "declined_then_paid", "refunded_half", "refunded_full", *TOPUP_PAID)
CHECKOUT_FATES = ("paid", "paid_late", "declined_then_paid", "refunded_half", "refunded_full", "declined", "failed_late", "expired", "abandoned")
TOPUP_FATES = (*TOPUP_PAID, "topup_declined")  # off-session auto top-ups: no Checkout session, fulfilled by the intent's events
FATES = (*CHECKOUT_FATES, *TOPUP_FATES)
TOPUPS_PER_USER = 3


@dataclass
class Payment:
    row: dict
    fate: str
    events: list[dict] = field(default_factory=list)

    @property
    def refunded_cents(self) -> int:
        full = self.row["amount_cents"]
        return {"refunded_half": full // 2, "refunded_full": full, "topup_refunded": full}.get(self.fate, 0)

    @property
    def credits_due(self) -> int:
        """What this payment's money stands for once every event is in."""
        if self.fate not in PAID_FATES:
            return 0
        return self.row["credits"] - refunded_share(self.row, self.refunded_cents)


def genuine_events(p: Payment) -> list[dict]:
    """The events Stripe sends for a payment with this fate (in its own order; the run shuffles them)."""
    row, pi = p.row, new_id("pi")
    paid = event("checkout.session.completed", session_object(row, payment_intent=pi))
    unpaid = event("checkout.session.completed", session_object(row, payment_intent=pi, payment_status="unpaid"))
    charged = event("charge.succeeded", charge_object(row, payment_intent=pi))
    declined = event("payment_intent.payment_failed", intent_object(row, intent_id=pi))
    refund = [event("charge.refunded", charge_object(row, payment_intent=pi, amount_refunded=cents))
              for cents in ((row["amount_cents"] // 2,) if p.fate == "refunded_half" else (row["amount_cents"] // 2, row["amount_cents"]))]
    return {
        "paid": [charged, paid],
        "paid_late": [unpaid, event("checkout.session.async_payment_succeeded", session_object(row, payment_intent=pi))],
        "declined_then_paid": [declined, charged, paid],
        "refunded_half": [paid, charged, *refund],
        "refunded_full": [paid, *refund],
        "declined": [declined],
        "failed_late": [unpaid, event("checkout.session.async_payment_failed", session_object(row, payment_intent=pi, payment_status="unpaid"))],
        "expired": [event("checkout.session.expired", session_object(row, payment_intent=None, payment_status="unpaid", status="expired"))],
        "abandoned": [],
        "topup_paid": [charged, succeeded_intent(row, pi)],
        "topup_refunded": [succeeded_intent(row, pi), charged, *refund],
        "topup_declined": [declined],
    }[p.fate]


def succeeded_intent(row: dict, pi: str) -> dict:
    return event("payment_intent.succeeded", {**intent_object(row, intent_id=pi), "status": "succeeded", "last_payment_error": None})


def topup_payment(user_id: str, crossing: int, pack: dict) -> dict:
    """A claimed auto top-up as lib.billing.topups writes it (the cron job's part is tested elsewhere)."""
    now = datetime.now(UTC)
    row = {"_id": ObjectId(), "user_id": ObjectId(user_id), "purpose": "auto_topup", "session_id": f"autotopup:{user_id}:{crossing}",
           "payment_intent_id": None, "pack_id": pack["id"], "pack_name": pack["name"], "credits": pack["credits"],
           "amount_cents": pack["price_cents"], "currency": "usd", "status": "pending", "refunded_cents": 0, "card": None,
           "created_at": now, "updated_at": now}
    db.collection("payments").insert_one(row)
    return row


def deliveries(payments: list[Payment], rng: random.Random) -> list[tuple[dict, bool]]:
    """(post() keyword arguments, whether it must be accepted), shuffled, DELIVERIES in all."""
    genuine = [e for p in payments for e in p.events]
    unpaid = [p for p in payments if p.fate not in PAID_FATES]
    out = [({"payload": json.dumps(e)}, True) for e in genuine]
    while len(out) < DELIVERIES:
        e = rng.choice(genuine)
        body = json.dumps(e)
        kind = rng.choices(("replay", "burst", "wrong_secret", "stale", "tampered", "forged"), (45, 10, 15, 10, 10, 10))[0]
        if kind == "replay":
            out.append(({"payload": body}, True))
        elif kind == "burst":  # copies side by side in the list run at the same moment on the pool
            out += [({"payload": body}, True)] * 4
        elif kind == "wrong_secret":
            out.append(({"payload": body, "secret": "whsec_" + "0" * 32}, False))
        elif kind == "stale":
            out.append(({"payload": body, "timestamp": int(time.time()) - 3600}, False))
        elif kind == "tampered":  # signed as Stripe sent it, then changed: paid, nothing refunded, a bigger pack
            changed = json.loads(body)
            changed["data"]["object"].update(payment_status="paid", amount_refunded=0)
            changed["data"]["object"]["metadata"]["pack_id"] = "tampered"
            out.append(({"payload": json.dumps(changed), "sign_payload": body}, False))
        else:  # forged: a paid completion for a payment nobody paid, signed with a guessed secret
            forged = event("checkout.session.completed", session_object(rng.choice(unpaid).row, payment_intent=new_id("pi")))
            out.append(({"payload": json.dumps(forged), "secret": "whsec_guessed"}, False))
    out = out[:DELIVERIES]
    # Shuffle in chunks of 4 so the bursts stay together (and so race), while everything else lands in any order.
    chunks = [out[i:i + 4] for i in range(0, len(out), 4)]
    rng.shuffle(chunks)
    return [d for chunk in chunks for d in chunk]


def test_each_payment_is_fulfilled_once_and_only_when_paid(router, webhooks, robustness):
    rng = random.Random(SEED)
    users, payments = [], []
    for _ in range(USERS):
        c = Client(router)
        users.append(sign_up(c))
        for _ in range(PAYMENTS_PER_USER):
            p = Payment(start_checkout(c, rng.choice(("starter", "pro", "scale"))), rng.choice(CHECKOUT_FATES))
            p.events = genuine_events(p)
            payments.append(p)
        for crossing in range(1, TOPUPS_PER_USER + 1):
            p = Payment(topup_payment(users[-1]["id"], crossing, packs.find(rng.choice(("starter", "pro")))), rng.choice(TOPUP_FATES))
            p.events = genuine_events(p)
            payments.append(p)
    plan = deliveries(payments, rng)

    results = at_once([(lambda kw=kw: webhooks.post(**kw)) for kw, _ in plan], workers=16)

    due = {u["id"]: 50 for u in users}
    for p in payments:
        due[str(p.row["user_id"])] += p.credits_due
    lost = sum(abs(balance(uid) - credits) for uid, credits in due.items())
    robustness.add("webhooks", cases=len(plan), server_errors=server_errors(results), money_lost=lost)

    assert {p.fate for p in payments} == set(FATES), "the seed should give every fate a payment"
    wrong = [(accept, r.status_code, r.text[:100]) for (_, accept), r in zip(plan, results) if r.status_code != (200 if accept else 400)]
    assert wrong == []
    assert all(r.error_code == "invalid_signature" and has_error_shape(r) for r in results if r.status_code == 400)
    assert lost == 0, {uid: (balance(uid), credits) for uid, credits in due.items()}
    for p in payments:
        ledger = list(db.collection("ledger").find({"payment_id": p.row["_id"]}))
        purchases = [row["delta"] for row in ledger if row["kind"] == "purchase"]
        refunds = sum(row["delta"] for row in ledger if row["kind"] == "purchase_refund")
        status = db.collection("payments").find_one({"_id": p.row["_id"]})["status"]
        if p.fate in PAID_FATES:
            assert purchases == [p.row["credits"]], (p.fate, ledger)  # granted exactly once
            assert refunds == -refunded_share(p.row, p.refunded_cents), (p.fate, ledger)
            assert status == ("refunded" if p.refunded_cents else "succeeded"), (p.fate, status)
        else:
            assert ledger == [], (p.fate, ledger)  # never granted, whatever was forged or replayed
            assert status in ("pending", "failed"), (p.fate, status)
    genuine_ids = {e["id"] for p in payments for e in p.events}
    assert {row["_id"] for row in db.collection("stripe_events").find()} == genuine_ids
    assert reconciles()
