"""Auto top-up against the fake Stripe: save the card, cross the threshold, one charge per crossing,
fulfilment by the webhook, declines, authentication, the monthly ceiling, the pause, and the detach."""

import threading

import pytest

from lib import db
from lib.billing import topups
from tests.fixtures.accounts import PASSWORD
from tests.fixtures.ledger import record_call

SETTINGS = {"pack_id": "starter", "threshold": 40, "ceiling_cents": 2000}  # Starter: 100 credits, $9.00


def me(client) -> dict:
    return client.get("/api/auth/me").json()["user"]


def user_doc(client) -> dict:
    return db.collection("users").find_one({"email": me(client)["email"]})


def spend(client, amount: int) -> None:
    record_call(user_doc(client)["_id"], amount, model="object-detection", source="api")


def deliver(stripe_api, webhooks) -> list[str]:
    """Post every event the fake Stripe has queued, as Stripe would; returns their types."""
    events = stripe_api.take_events()
    for e in events:
        webhooks.ok(e)
    return [e["type"] for e in events]


def outbox(template: str) -> list[dict]:
    return list(db.collection("outbox").find({"template": template}))


@pytest.fixture
def saved(client, user, stripe_api, webhooks):
    """Auto top-up turned on through Checkout (the Starter pack bought, the card saved): 150 credits."""
    r = client.put("/api/billing/auto-topup", json=SETTINGS)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["auto_topup"]["enabled"] and not body["auto_topup"]["active"] and body["auto_topup"]["awaiting_checkout"]
    session_id = body["url"].split("/")[-1].split("#")[0]
    stripe_api.complete_session(session_id)
    assert deliver(stripe_api, webhooks) == ["charge.succeeded", "checkout.session.completed"]
    state = client.get("/api/billing/auto-topup").json()["auto_topup"]
    assert state["active"] and state["card_saved"] and state["threshold"] == 40
    assert me(client)["credits"] == 150
    return session_id


def test_turning_on_saves_the_card_through_checkout(client, user, stripe_api, saved):
    [call] = stripe_api.requests_to("POST", "/v1/checkout/sessions")
    intent_data = call.params["payment_intent_data"]
    assert intent_data["setup_future_usage"] == "off_session"
    assert call.params["line_items"][0]["price_data"]["unit_amount"] == "900"
    doc = user_doc(client)
    pm = doc["auto_topup"]["payment_method_id"]
    assert stripe_api.payment_methods[pm]["customer"] == doc["stripe_customer_id"]
    assert doc["auto_topup"]["setup_payment_id"] is None


def test_a_crossing_charges_once_and_the_webhook_fulfils_it(client, user, stripe_api, webhooks, saved):
    spend(client, 100)  # 150 -> 50: above the threshold of 40, nothing due
    assert topups.auto_topup()["due"] == 0
    spend(client, 20)  # 50 -> 30: crossed
    spend(client, 5)  # 30 -> 25: the same crossing
    # Runs at once (two cron invocations overlapping) and again: one charge.
    results = []
    threads = [threading.Thread(target=lambda: results.append(topups.auto_topup())) for _ in range(3)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    topups.auto_topup()
    [charge] = stripe_api.requests_to("POST", "/v1/payment_intents")
    p = charge.params
    assert (p["amount"], p["currency"], p["off_session"], p["confirm"]) == ("900", "usd", "true", "true")
    doc = user_doc(client)
    assert p["customer"] == doc["stripe_customer_id"] and p["payment_method"] == doc["auto_topup"]["payment_method_id"]
    assert charge.idempotency_key == f"autotopup:{doc['_id']}:1"
    assert sum(r["charged"] for r in results) == 1
    assert me(client)["credits"] == 25  # not before the webhook

    assert deliver(stripe_api, webhooks) == ["charge.succeeded", "payment_intent.succeeded"]
    assert me(client)["credits"] == 125
    [payment] = db.collection("payments").find({"purpose": "auto_topup"})
    assert payment["status"] == "succeeded" and payment["receipt_url"].startswith("https://pay.stripe.com/receipts/")
    assert user_doc(client)["auto_topup"]["in_flight"] is None
    [confirmation] = [m for m in outbox("payment_confirmation") if "by auto top-up" in m["text"]]
    assert payment["receipt_url"] in confirmation["text"]
    [row] = client.get("/api/billing/transactions").json()["items"][:1]
    assert row["kind"] == "auto_topup" and row["receipt_url"] == payment["receipt_url"]

    # The next crossing is a new key, a new charge.
    spend(client, 100)
    topups.auto_topup()
    keys = [c.idempotency_key for c in stripe_api.requests_to("POST", "/v1/payment_intents")]
    assert keys == [f"autotopup:{doc['_id']}:1", f"autotopup:{doc['_id']}:2"]


def test_a_charge_stripe_did_not_answer_is_retried_with_the_same_key(client, user, stripe_api, webhooks, saved):
    spend(client, 120)
    stripe_api.fail_next(2)  # the first attempt and stripe-python's one retry
    assert topups.auto_topup()["errors"] == 1
    db.collection("payments").update_many({"purpose": "auto_topup"}, {"$set": {"charge_lease": topups._now()}})  # the lease ran out
    assert topups.auto_topup()["charged"] == 1
    keys = {c.idempotency_key for c in stripe_api.requests_to("POST", "/v1/payment_intents")}
    assert len(keys) == 1
    deliver(stripe_api, webhooks)
    assert me(client)["credits"] == 130


@pytest.mark.parametrize("outcome, code", [("decline", "card_declined"), ("authenticate", "authentication_required")])
def test_a_refused_charge_adds_nothing_mails_and_the_second_pauses(client, user, stripe_api, webhooks, saved, outcome, code):
    spend(client, 120)
    stripe_api.next_off_session(outcome, outcome)
    assert topups.auto_topup()["declined"] == 1
    assert deliver(stripe_api, webhooks) == ["payment_intent.payment_failed"]  # the webhook agrees, counts nothing twice
    assert me(client)["credits"] == 30
    [failed] = db.collection("payments").find({"purpose": "auto_topup"})
    assert failed["status"] == "failed" and failed["failure"] == code
    [mail] = outbox("auto_topup_failed")
    assert "http://testserver/dashboard/billing?topup=retry" in mail["text"]
    assert ("authentication" in mail["text"]) == (outcome == "authenticate")
    state = client.get("/api/billing/auto-topup").json()["auto_topup"]
    assert state["active"] and state["failures"] == 1 and state["month_spent_cents"] == 0

    assert topups.auto_topup()["declined"] == 1  # still below the threshold: the second try, the second failure
    deliver(stripe_api, webhooks)
    state = client.get("/api/billing/auto-topup").json()["auto_topup"]
    assert state["paused"] and not state["active"] and state["failures"] == 2
    assert "paused" in outbox("auto_topup_failed")[-1]["text"]
    assert topups.auto_topup()["due"] == 0
    assert len(stripe_api.requests_to("POST", "/v1/payment_intents")) == 2

    # Saving the settings again resumes it, and the card works this time.
    assert client.put("/api/billing/auto-topup", json=SETTINGS).json()["auto_topup"]["active"]
    assert topups.auto_topup()["charged"] == 1
    deliver(stripe_api, webhooks)
    assert me(client)["credits"] == 130


def test_the_monthly_ceiling_holds_under_concurrency(client, user, stripe_api, webhooks, saved):
    # $20 a month allows two $9 top-ups. Many crossings at once, with many runs at once:
    client.put("/api/billing/auto-topup", json={**SETTINGS, "threshold": 1000})
    for _ in range(4):
        threads = [threading.Thread(target=topups.auto_topup) for _ in range(4)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        deliver(stripe_api, webhooks)
    charges = stripe_api.requests_to("POST", "/v1/payment_intents")
    assert len(charges) == 2 and sum(int(c.params["amount"]) for c in charges) == 1800
    assert me(client)["credits"] == 350
    [mail] = outbox("auto_topup_ceiling")
    assert "$20.00" in mail["text"]
    assert client.get("/api/billing/auto-topup").json()["auto_topup"]["month_spent_cents"] == 1800


def test_a_new_month_starts_the_ceiling_from_zero(client, user, stripe_api, webhooks, saved):
    db.collection("users").update_one({"_id": user_doc(client)["_id"]}, {"$set": {"auto_topup.month": "2000-01", "auto_topup.month_cents": 2000}})
    spend(client, 120)
    assert topups.auto_topup()["charged"] == 1  # last month's $20 does not count against this month
    assert client.get("/api/billing/auto-topup").json()["auto_topup"]["month_spent_cents"] == 900


def test_a_top_up_claimed_before_turning_off_is_never_charged(client, user, stripe_api, webhooks, saved):
    spend(client, 120)
    stripe_api.fail_next(2)  # the run that claimed it got no answer from Stripe
    assert topups.auto_topup()["errors"] == 1
    attempts = len(stripe_api.requests_to("POST", "/v1/payment_intents"))
    assert client.delete("/api/billing/auto-topup").status_code == 204
    db.collection("payments").update_many({"purpose": "auto_topup"}, {"$set": {"charge_lease": topups._now()}})  # the lease ran out
    topups.auto_topup()
    assert len(stripe_api.requests_to("POST", "/v1/payment_intents")) == attempts
    [payment] = db.collection("payments").find({"purpose": "auto_topup"})
    assert payment["status"] == "failed" and payment["failure"] == "auto top-up turned off"
    assert outbox("auto_topup_failed") == [] and me(client)["credits"] == 30
    assert user_doc(client)["auto_topup"]["in_flight"] is None


def test_turning_off_detaches_the_card(client, user, stripe_api, saved):
    pm = user_doc(client)["auto_topup"]["payment_method_id"]
    assert client.delete("/api/billing/auto-topup").status_code == 204
    assert stripe_api.payment_methods[pm]["customer"] is None
    assert stripe_api.requests_to("POST", f"/v1/payment_methods/{pm}/detach")
    state = client.get("/api/billing/auto-topup").json()["auto_topup"]
    assert not state["enabled"] and not state["card_saved"]
    spend(client, 140)
    assert topups.auto_topup()["due"] == 0 and not stripe_api.requests_to("POST", "/v1/payment_intents")


@pytest.mark.parametrize("order", ["charge first", "session first"])
def test_turning_off_during_the_setup_checkout_detaches_the_card_it_saves(client, user, stripe_api, webhooks, order):
    body = client.put("/api/billing/auto-topup", json=SETTINGS).json()
    assert client.delete("/api/billing/auto-topup").status_code == 204  # in another tab, before paying
    events = stripe_api.complete_session(body["url"].split("/")[-1].split("#")[0])
    stripe_api.take_events()
    for e in events if order == "charge first" else events[::-1]:
        webhooks.ok(e)
        webhooks.ok(e)  # a replay asks for nothing more
    pm = next(e for e in events if e["type"] == "charge.succeeded")["data"]["object"]["payment_method"]
    assert stripe_api.payment_methods[pm]["customer"] is None
    assert len(stripe_api.requests_to("POST", f"/v1/payment_methods/{pm}/detach")) == 1
    assert me(client)["credits"] == 150  # the pack itself was bought
    state = client.get("/api/billing/auto-topup").json()["auto_topup"]
    assert not state["enabled"] and not state["active"] and not state["card_saved"] and not state["awaiting_checkout"]
    spend(client, 140)
    assert topups.auto_topup()["due"] == 0 and not stripe_api.requests_to("POST", "/v1/payment_intents")


def test_the_card_in_use_is_never_detached_by_a_late_copy_of_its_events(client, user, stripe_api, webhooks):
    body = client.put("/api/billing/auto-topup", json=SETTINGS).json()
    events = stripe_api.complete_session(body["url"].split("/")[-1].split("#")[0])
    stripe_api.take_events()
    for e in events + [{**e, "id": e["id"] + "_copy"} for e in events]:  # the same facts again, under new event ids
        webhooks.ok(e)
    [pm] = stripe_api.payment_methods
    assert stripe_api.payment_methods[pm]["customer"] is not None
    assert not stripe_api.requests_to("POST", f"/v1/payment_methods/{pm}/detach")
    assert client.get("/api/billing/auto-topup").json()["auto_topup"]["active"]


def test_deleting_the_account_detaches_the_card(client, user, stripe_api, saved):
    pm = user_doc(client)["auto_topup"]["payment_method_id"]
    assert client.delete("/api/account", json={"password": PASSWORD}).status_code == 204
    assert stripe_api.requests_to("POST", f"/v1/payment_methods/{pm}/detach")
    assert stripe_api.payment_methods[pm]["customer"] is None


@pytest.mark.parametrize("body, code", [
    ({**SETTINGS, "threshold": -1}, "invalid_field"),
    ({**SETTINGS, "threshold": 1_000_001}, "invalid_field"),
    ({**SETTINGS, "ceiling_cents": 899}, "ceiling_below_pack_price"),
    ({**SETTINGS, "threshold": "40"}, "invalid_field"),
    ({**SETTINGS, "pack_id": {"$ne": None}}, "invalid_field"),
    ({**SETTINGS, "extra": 1}, "unknown_field"),
    ({"pack_id": "starter"}, "missing_field"),
])
def test_bad_settings_are_400_and_change_nothing(client, user, body, code):
    r = client.put("/api/billing/auto-topup", json=body)
    assert r.status_code == 400 and r.error_code == code, r.text
    assert "auto_topup" not in user_doc(client)
    assert db.collection("payments").count_documents({}) == 0


def test_an_unknown_pack_is_400(client, user):
    r = client.put("/api/billing/auto-topup", json={**SETTINGS, "pack_id": "platinum"})
    assert r.status_code == 400 and r.error_code == "unknown_pack"


def test_auto_topup_needs_a_session(anon, database):
    assert anon.get("/api/billing/auto-topup").status_code == 401
    assert anon.put("/api/billing/auto-topup", json=SETTINGS).status_code == 401


def test_the_cron_path_runs_the_job_with_the_secret_only(client, user, stripe_api, webhooks, saved):
    from lib import config

    spend(client, 120)
    assert client.get("/api/cron/auto-topup").status_code == 401
    r = client.get("/api/cron/auto-topup", headers={"Authorization": "Bearer " + config.settings().cron_secret})
    assert r.status_code == 200 and r.json()["job"] == "auto_topup" and r.json()["charged"] == 1
    deliver(stripe_api, webhooks)
    assert me(client)["credits"] == 130
