"""POST /api/billing/webhook: signed Stripe events, fulfilled once whatever the order, copies or crashes."""

import io
import json
import threading
import time

import pytest
from bson import ObjectId

from lib import config, credits, db
from local import checkout_standin
from tests.client import Client
from tests.fixtures.accounts import PASSWORD
from tests.fixtures.stripe import (
    WEBHOOK_SECRET,
    Webhooks,
    charge_object,
    dispute_object,
    event,
    intent_object,
    new_id,
    session_object,
    start_checkout,
)


def balance(client) -> int:
    return client.get("/api/auth/me").json()["user"]["credits"]


def payment_of(payment) -> dict:
    return db.collection("payments").find_one({"_id": payment["_id"]})


def ledger_of(payment) -> list[tuple[str, int]]:
    return [(r["kind"], r["delta"]) for r in db.collection("ledger").find({"payment_id": payment["_id"]}).sort("created_at", 1)]


def completed(payment, pi=None, **kw):
    return event("checkout.session.completed", session_object(payment, payment_intent=pi or new_id("pi"), **kw))


@pytest.fixture
def payment(client, user):
    """A pending Starter pack (100 credits, $9.00) for the signed-in user."""
    return start_checkout(client, "starter")


def test_a_paid_session_grants_the_pack_once(client, payment, webhooks):
    assert webhooks.ok(completed(payment, "pi_123")) == {"received": True}
    assert balance(client) == 150
    row = payment_of(payment)
    assert row["status"] == "succeeded" and row["payment_intent_id"] == "pi_123" and row["succeeded_at"]
    assert ledger_of(payment) == [("purchase", 100)]
    assert db.collection("stripe_events").count_documents({}) == 1


@pytest.mark.parametrize("case", ["tampered", "wrong_secret", "stale", "missing", "garbled", "no_v1"])
def test_a_bad_signature_is_400_and_changes_nothing(client, payment, webhooks, case):
    body = json.dumps(completed(payment))
    kw = {
        "tampered": {"payload": body.replace('"amount_total": 900', '"amount_total": 1'), "sign_payload": body},
        "wrong_secret": {"payload": body, "secret": "whsec_someone_elses_secret"},
        "stale": {"payload": body, "timestamp": int(time.time()) - 600},  # Stripe's tolerance is 5 minutes
        "missing": {"payload": body, "signature": ""},
        "garbled": {"payload": body, "signature": "t=yesterday,v1=abc"},
        "no_v1": {"payload": body, "signature": f"t={int(time.time())},v0=abc"},
    }[case]
    r = webhooks.post(**kw)
    assert r.status_code == 400 and r.error_code == "invalid_signature"
    assert balance(client) == 50 and payment_of(payment)["status"] == "pending"
    assert db.collection("stripe_events").count_documents({}) == 0


@pytest.mark.parametrize("body", ["[1, 2, 3]", "null", '{"object": "event"}', "not json"])
def test_a_signed_body_that_is_not_an_event_is_400(webhooks, database, body):
    r = webhooks.post(payload=body)
    assert r.status_code == 400 and r.error_code == "invalid_json"


def test_the_same_event_five_times_credits_once(client, payment, webhooks):
    e = completed(payment)
    answers = [webhooks.ok(e) for _ in range(5)]
    assert answers[0] == {"received": True} and all(a == {"received": True, "duplicate": True} for a in answers[1:])
    assert balance(client) == 150 and ledger_of(payment) == [("purchase", 100)]


def test_completed_and_async_succeeded_for_one_session_credit_once(client, payment, webhooks):
    webhooks.ok(completed(payment, "pi_1"))
    webhooks.ok(event("checkout.session.async_payment_succeeded", session_object(payment, payment_intent="pi_1")))
    assert balance(client) == 150 and ledger_of(payment) == [("purchase", 100)]


def test_an_unpaid_completion_waits_for_the_async_success(client, payment, webhooks):
    webhooks.ok(completed(payment, "pi_bank", payment_status="unpaid"))
    row = payment_of(payment)
    assert row["status"] == "pending" and row["payment_intent_id"] == "pi_bank"
    assert balance(client) == 50
    webhooks.ok(event("checkout.session.async_payment_succeeded", session_object(payment, payment_intent="pi_bank")))
    assert payment_of(payment)["status"] == "succeeded" and balance(client) == 150


def test_an_async_failure_fails_the_payment(client, payment, webhooks):
    webhooks.ok(completed(payment, "pi_bank", payment_status="unpaid"))
    webhooks.ok(event("checkout.session.async_payment_failed", session_object(payment, payment_intent="pi_bank", payment_status="unpaid")))
    assert payment_of(payment)["status"] == "failed" and balance(client) == 50 and ledger_of(payment) == []


def test_an_expired_session_fails_and_never_unpays(client, user, webhooks):
    expired = start_checkout(client)
    webhooks.ok(event("checkout.session.expired", session_object(expired, payment_intent=None, payment_status="unpaid", status="expired")))
    assert payment_of(expired)["status"] == "failed" and payment_of(expired)["failure"] == "expired"
    paid = start_checkout(client)
    webhooks.ok(completed(paid))
    webhooks.ok(event("checkout.session.expired", session_object(paid, payment_intent=None, payment_status="unpaid", status="expired")))
    assert payment_of(paid)["status"] == "succeeded" and balance(client) == 150


def test_a_declined_card_then_a_good_one(client, payment, webhooks):
    # The intent id is not known yet: the payment is found through the metadata Stripe copies onto the intent.
    webhooks.ok(event("payment_intent.payment_failed", intent_object(payment, intent_id="pi_retry")))
    row = payment_of(payment)
    assert row["status"] == "failed" and row["failure"] == "Your card was declined." and row["payment_intent_id"] == "pi_retry"
    webhooks.ok(completed(payment, "pi_retry"))  # the customer tried another card in the same Checkout
    row = payment_of(payment)
    assert row["status"] == "succeeded" and "failure" not in row and balance(client) == 150


def test_a_late_failure_does_not_undo_a_success(client, payment, webhooks):
    webhooks.ok(completed(payment, "pi_1"))
    webhooks.ok(event("payment_intent.payment_failed", intent_object(payment, intent_id="pi_1")))
    assert payment_of(payment)["status"] == "succeeded" and balance(client) == 150


def test_a_full_refund_takes_the_pack_back(client, payment, webhooks):
    webhooks.ok(completed(payment, "pi_1"))
    webhooks.ok(event("charge.refunded", charge_object(payment, payment_intent="pi_1", amount_refunded=900)))
    row = payment_of(payment)
    assert row["status"] == "refunded" and row["refunded_cents"] == 900 and row["refunded_at"]
    assert balance(client) == 50 and ledger_of(payment) == [("purchase", 100), ("purchase_refund", -100)]


def test_successive_partial_refunds_remove_only_the_new_share(client, user, webhooks):
    pro = start_checkout(client, "pro")  # 500 credits for 3900 cents
    webhooks.ok(completed(pro, "pi_pro"))
    charge = new_id("ch")
    for total in (1000, 2000, 1000, 3900):  # Stripe's running total; the stale 1000 arrives late
        webhooks.ok(event("charge.refunded", charge_object(pro, payment_intent="pi_pro", amount_refunded=total, charge_id=charge)))
    # round(1000/3900 x 500) = 128, round(2000/3900 x 500) = 256 (128 more), then the remaining 244.
    assert ledger_of(pro) == [("purchase", 500), ("purchase_refund", -128), ("purchase_refund", -128), ("purchase_refund", -244)]
    assert payment_of(pro)["refunded_cents"] == 3900 and balance(client) == 50


def test_a_refund_before_the_success_is_applied_when_the_success_arrives(client, payment, webhooks):
    webhooks.ok(event("charge.refunded", charge_object(payment, payment_intent="pi_1", amount_refunded=450)))
    row = payment_of(payment)
    assert row["status"] == "pending" and row["refunded_cents"] == 450 and balance(client) == 50
    webhooks.ok(completed(payment, "pi_1"))
    assert payment_of(payment)["status"] == "refunded"
    assert ledger_of(payment) == [("purchase", 100), ("purchase_refund", -50)] and balance(client) == 100
    webhooks.ok(event("charge.refunded", charge_object(payment, payment_intent="pi_1", amount_refunded=900)))
    assert balance(client) == 50


def test_a_refund_may_take_the_balance_below_zero(client, user, payment, webhooks):
    webhooks.ok(completed(payment, "pi_1"))
    user_id = ObjectId(user["id"])
    credits.adjust(user_id, -140, ObjectId(), "spent on calls")  # stands in for 140 credits of model calls
    webhooks.ok(event("charge.refunded", charge_object(payment, payment_intent="pi_1", amount_refunded=900)))
    assert balance(client) == -90


def test_the_card_details_come_from_the_charge_in_either_order(client, user, webhooks):
    first = start_checkout(client)
    webhooks.ok(event("charge.succeeded", charge_object(first, payment_intent="pi_a")))
    webhooks.ok(completed(first, "pi_a"))
    second = start_checkout(client)
    webhooks.ok(completed(second, "pi_b"))
    webhooks.ok(event("charge.succeeded", charge_object(second, payment_intent="pi_b")))
    for p in (first, second):
        assert payment_of(p)["card"] == {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2034}
    assert balance(client) == 250


def test_the_stand_ins_events_are_accepted_as_stripes(client, payment, webhooks):
    for e in checkout_standin.payment_events(payment, customer=None):
        webhooks.ok(e)
    row = payment_of(payment)
    assert row["status"] == "succeeded" and row["card"]["last4"] == "4242" and row["payment_intent_id"].startswith("pi_")
    assert balance(client) == 150


def test_the_confirmation_mail(client, user, payment, webhooks):
    webhooks.ok(completed(payment))
    webhooks.ok(completed(payment))  # a second, different event for the same session: no second mail
    [sent] = db.collection("outbox").find({"template": "payment_confirmation"})
    assert sent["to"] == user["email"]
    assert "100" in sent["subject"]
    assert "Starter pack" in sent["text"] and "$9.00" in sent["text"] and "150 credits" in sent["text"]
    assert str(payment["_id"]) in sent["text"]


def test_no_confirmation_mail_when_email_notifications_are_off(client, user, payment, webhooks):
    db.collection("users").update_one({"email": user["email"]}, {"$set": {"notifications.email": False}})
    webhooks.ok(completed(payment))
    assert balance(client) == 150
    assert db.collection("outbox").count_documents({"template": "payment_confirmation"}) == 0


def test_unknown_events_and_sessions_are_ignored(client, payment, webhooks):
    assert webhooks.ok(event("customer.created", {"id": "cus_1", "object": "customer"})) == {"received": True, "ignored": True}
    stranger = dict(payment, session_id="cs_test_not_ours")
    webhooks.ok(completed(stranger))
    assert balance(client) == 50 and payment_of(payment)["status"] == "pending"


def _at_once(fn, count):
    barrier = threading.Barrier(count)
    results = []

    def run(i):
        barrier.wait()
        results.append(fn(i))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    return results


def test_the_same_event_from_ten_threads_credits_once(client, payment, router):
    body = json.dumps(completed(payment))
    statuses = _at_once(lambda _: Webhooks(Client(router, origin=None)).post(payload=body).status_code, 10)
    assert statuses == [200] * 10
    assert balance(client) == 150 and ledger_of(payment) == [("purchase", 100)]
    assert db.collection("stripe_events").count_documents({}) == 1


def test_different_events_for_one_session_from_threads_credit_once(client, payment, router):
    events = [completed(payment, "pi_1") if i % 2 else event("checkout.session.async_payment_succeeded", session_object(payment, payment_intent="pi_1"))
              for i in range(10)]
    statuses = _at_once(lambda i: Webhooks(Client(router, origin=None)).post(events[i]).status_code, 10)
    assert statuses == [200] * 10
    assert balance(client) == 150 and ledger_of(payment) == [("purchase", 100)]
    assert db.collection("outbox").count_documents({"template": "payment_confirmation"}) == 1


def test_a_crash_during_fulfilment_is_fulfilled_by_stripes_retry(client, payment, webhooks, monkeypatch):
    real = credits.ledger._change
    calls = []

    def crash_once(*args, **kw):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the function was killed here")
        return real(*args, **kw)

    monkeypatch.setattr(credits.ledger, "_change", crash_once)
    e = completed(payment)
    r = webhooks.post(e)
    assert r.status_code == 500  # Stripe will retry
    assert db.collection("stripe_events").count_documents({}) == 0 and payment_of(payment)["status"] == "pending"
    webhooks.ok(e)  # the retry
    assert balance(client) == 150 and ledger_of(payment) == [("purchase", 100)]


def test_with_stripe_configured_events_are_checked_with_its_webhook_secret(client, user, stripe_api, webhooks):
    payment = start_checkout(client)
    assert payment["session_id"].startswith("cs_test_")
    assert webhooks.post(completed(payment), secret="whsec_local_" + "x" * 40).status_code == 400
    assert webhooks.post(completed(payment), secret=WEBHOOK_SECRET).status_code == 200
    assert balance(client) == 150


# --- chargebacks -------------------------------------------------------------------

def withdrawn(payment, pi, dispute_id):
    return event("charge.dispute.funds_withdrawn", dispute_object(payment, payment_intent=pi, dispute_id=dispute_id))


def reinstated(payment, pi, dispute_id):
    return event("charge.dispute.funds_reinstated", dispute_object(payment, payment_intent=pi, dispute_id=dispute_id, status="won"))


def test_a_chargeback_takes_the_pack_back_once(client, payment, webhooks):
    webhooks.ok(completed(payment, "pi_1"))
    e = withdrawn(payment, "pi_1", "dp_1")
    webhooks.ok(e)
    webhooks.ok(e)  # the same event again
    webhooks.ok(withdrawn(payment, "pi_1", "dp_1"))  # another event for the same dispute
    row = payment_of(payment)
    assert row["status"] == "refunded" and row["disputed_at"] and row["dispute_id"] == "dp_1" and row["refunded_cents"] == 0
    assert ledger_of(payment) == [("purchase", 100), ("purchase_refund", -100)] and balance(client) == 50


def test_a_won_dispute_gives_the_credits_back_once(client, payment, webhooks):
    webhooks.ok(completed(payment, "pi_1"))
    webhooks.ok(withdrawn(payment, "pi_1", "dp_1"))
    for _ in range(2):
        webhooks.ok(reinstated(payment, "pi_1", "dp_1"))
    row = payment_of(payment)
    assert row["status"] == "succeeded" and row["reinstated_at"]
    assert ledger_of(payment) == [("purchase", 100), ("purchase_refund", -100), ("purchase", 100)] and balance(client) == 150


def test_a_chargeback_after_a_partial_refund_takes_only_the_rest(client, payment, webhooks):
    webhooks.ok(completed(payment, "pi_1"))
    webhooks.ok(event("charge.refunded", charge_object(payment, payment_intent="pi_1", amount_refunded=450)))
    webhooks.ok(withdrawn(payment, "pi_1", "dp_1"))
    assert ledger_of(payment) == [("purchase", 100), ("purchase_refund", -50), ("purchase_refund", -50)] and balance(client) == 50
    webhooks.ok(reinstated(payment, "pi_1", "dp_1"))  # back to the partly refunded pack
    assert payment_of(payment)["status"] == "refunded" and balance(client) == 100


def test_a_chargeback_before_the_success_is_applied_when_it_arrives(client, payment, webhooks):
    # The dispute names only the payment intent, which the charge (found by its metadata) told us.
    webhooks.ok(event("charge.succeeded", charge_object(payment, payment_intent="pi_1")))
    webhooks.ok(withdrawn(payment, "pi_1", "dp_1"))
    assert payment_of(payment)["status"] == "pending" and balance(client) == 50
    webhooks.ok(completed(payment, "pi_1"))
    assert payment_of(payment)["status"] == "refunded" and balance(client) == 50
    assert ledger_of(payment) == [("purchase", 100), ("purchase_refund", -100)]
    assert db.collection("outbox").count_documents({"template": "payment_confirmation"}) == 0


def test_a_reinstatement_before_its_withdrawal_changes_nothing(client, payment, webhooks):
    webhooks.ok(completed(payment, "pi_1"))
    webhooks.ok(reinstated(payment, "pi_1", "dp_1"))
    webhooks.ok(withdrawn(payment, "pi_1", "dp_1"))
    assert payment_of(payment)["status"] == "succeeded" and balance(client) == 150 and ledger_of(payment) == [("purchase", 100)]


# --- event fields that are not ids ---------------------------------------------------

NOT_AN_ID = {"$ne": None}


def _session_with(payment, **fields):
    return event("checkout.session.completed", {**session_object(payment, payment_intent="pi_x"), **fields})


def _refund_with(payment, **fields):
    return event("charge.refunded", {**charge_object(payment, payment_intent="pi_paid", amount_refunded=900), **fields})


@pytest.mark.parametrize("make", [
    lambda p: _session_with(p, id=NOT_AN_ID),
    lambda p: _session_with(p, id="cs_" + "x" * 300),
    lambda p: _session_with(p, id=["cs_a"]),
    lambda p: _session_with(p, customer=NOT_AN_ID),
    lambda p: _session_with(p, payment_intent=NOT_AN_ID),
    lambda p: _session_with(p, metadata=["payment_id"]),
    lambda p: _refund_with(p, payment_intent=NOT_AN_ID),
    lambda p: _refund_with(p, payment_intent=NOT_AN_ID, metadata={"payment_id": NOT_AN_ID}),
    lambda p: _refund_with(p, amount_refunded={"$gt": 0}),
    lambda p: event("payment_intent.payment_failed", {**intent_object(p, intent_id="pi_y"), "id": NOT_AN_ID}),
    lambda p: event("charge.dispute.funds_withdrawn", dispute_object(p, payment_intent=NOT_AN_ID)),
    lambda p: {**event("checkout.session.completed", {}), "data": {"object": "cs_a"}},
    lambda p: {**event("checkout.session.completed", {}), "data": ["cs_a"]},
], ids=["session", "long-session", "session-list", "customer", "session-intent", "metadata-list", "charge-intent",
        "charge-metadata", "amount", "intent", "dispute-intent", "object-string", "data-list"])
def test_a_signed_event_with_a_query_where_an_id_belongs_is_ignored(client, user, webhooks, make):
    paid = start_checkout(client)
    webhooks.ok(completed(paid, "pi_paid"))
    pending = start_checkout(client)
    before = [payment_of(paid), payment_of(pending)]
    events = db.collection("stripe_events").count_documents({})
    assert webhooks.ok(make(pending)) == {"received": True, "ignored": True}
    assert [payment_of(paid), payment_of(pending)] == before and balance(client) == 150
    assert db.collection("stripe_events").count_documents({}) == events


# --- payments that must not be fulfilled ----------------------------------------------

def test_a_closed_payment_is_not_fulfilled_but_flagged(client, payment, webhooks, admin_client):
    # What account deletion does to a Checkout left open.
    db.collection("payments").update_one({"_id": payment["_id"]}, {"$set": {"status": "failed", "failure": "account_deleted", "closed": True}})
    webhooks.ok(completed(payment, "pi_1"))
    webhooks.ok(event("checkout.session.async_payment_succeeded", session_object(payment, payment_intent="pi_1")))
    row = payment_of(payment)
    assert row["status"] == "failed" and row["needs_attention"] is True and row["failure"] == "account_deleted" and "succeeded_at" not in row
    assert balance(client) == 50 and ledger_of(payment) == []
    assert db.collection("outbox").count_documents({"template": "payment_confirmation"}) == 0
    [listed] = admin_client.get("/api/admin/payments").json()["payments"]
    assert listed["needs_attention"] is True
    # The administrator refunds it in Stripe: nothing is left to do.
    webhooks.ok(event("charge.refunded", charge_object(payment, payment_intent="pi_1", amount_refunded=900)))
    row = payment_of(payment)
    assert "needs_attention" not in row and row["status"] == "failed" and balance(client) == 50


def test_a_payment_whose_account_is_gone_is_not_marked_paid(client, payment, webhooks):
    # An older deletion left it pending under an opaque id: there is no user to credit.
    db.collection("payments").update_one({"_id": payment["_id"]}, {"$set": {"user_id": ObjectId()}})
    webhooks.ok(completed(payment, "pi_1"))
    row = payment_of(payment)
    assert row["status"] == "failed" and row["closed"] is True and row["needs_attention"] is True and "succeeded_at" not in row
    assert ledger_of(payment) == [] and balance(client) == 50


def test_paying_an_open_checkout_after_deleting_the_account(client, payment, webhooks):
    assert client.delete("/api/account", json={"password": PASSWORD}).status_code == 204
    webhooks.ok(completed(payment, "pi_1"))
    row = payment_of(payment)
    assert row["status"] == "failed" and row["needs_attention"] is True and ledger_of(payment) == []


def test_the_stand_in_posts_its_events_to_site_url_whatever_host_the_request_names(payment, monkeypatch):
    # A crafted Host header must not send signed events elsewhere: the address comes from SITE_URL.
    db.collection("payments").update_one({"_id": payment["_id"]}, {"$set": {"session_id": "cs_local_hosttest"}})
    sent_to = []
    monkeypatch.setattr(checkout_standin, "send", lambda url, event: sent_to.append(url))
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": f"{checkout_standin.PREFIX}/cs_local_hosttest/pay",
               "HTTP_HOST": "evil.example", "SERVER_NAME": "evil.example", "wsgi.input": io.BytesIO(b""), "CONTENT_LENGTH": "0"}
    checkout_standin.app(environ, lambda status, headers: None)
    assert sent_to and set(sent_to) == {f"{config.settings().site_url}/api/billing/webhook"}
    assert "evil.example" not in config.settings().site_url
