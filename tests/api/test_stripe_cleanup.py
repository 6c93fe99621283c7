"""What Stripe must delete is owed until Stripe confirms: erasure's customer, auto top-up's card (lib/billing/cleanup.py)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from bson import ObjectId

from lib import config, db
from lib.accounts import deletion
from lib.billing import autotopup, cleanup, customers
from tests.fixtures.accounts import PASSWORD

NOTHING_DUE = {"job": "stripe_cleanup", "settled": 0, "failed": 0, "overdue": 0}


def cron(client) -> dict:
    r = client.get("/api/cron/stripe-cleanup", headers={"Authorization": f"Bearer {config.settings().cron_secret}"}, origin=None)
    assert r.status_code == 200, r.text
    return r.json()


def debts() -> list[dict]:
    return list(db.collection("stripe_cleanups").find())


def wait_is_over() -> None:
    db.collection("stripe_cleanups").update_many({}, {"$set": {"next_at": datetime.now(UTC) - timedelta(seconds=1)}})


def with_customer(user: dict) -> str:
    return customers.ensure_customer(db.collection("users").find_one({"_id": ObjectId(user["id"])}))


def test_an_erased_accounts_customer_is_deleted_once_stripe_is_back(client, user, stripe_api):
    customer = with_customer(user)
    stripe_api.fail_next(2)  # the attempt and stripe-python's retry
    assert client.delete("/api/account", json={"password": PASSWORD}).status_code == 204
    [debt] = debts()
    assert (debt["_id"], debt["attempts"], debt["last_error"]) == (f"customer:{customer}", 1, "APIError")
    assert debt["next_at"] > datetime.now(UTC) and customer in stripe_api.customers
    assert cron(client) == NOTHING_DUE  # its wait is not over
    wait_is_over()
    assert cron(client) == {**NOTHING_DUE, "settled": 1}
    assert customer not in stripe_api.customers and debts() == []


def test_a_crash_right_after_the_erasure_leaves_the_debt_to_the_cron(client, user, stripe_api, monkeypatch):
    customer = with_customer(user)
    monkeypatch.setattr(deletion, "forget_outside", lambda user, req: None)  # the process died after the commit
    assert client.delete("/api/account", json={"password": PASSWORD}).status_code == 204
    assert [d["_id"] for d in debts()] == [f"customer:{customer}"] and customer in stripe_api.customers
    assert cron(client) == {**NOTHING_DUE, "settled": 1}
    assert customer not in stripe_api.customers and debts() == []


def saved_card(user: dict, stripe_api) -> str:
    card = stripe_api.saved_card(with_customer(user))
    db.collection("users").update_one({"_id": ObjectId(user["id"])}, {"$set": {
        "auto_topup": {"pack_id": "starter", "threshold": 10, "ceiling_cents": 900, "enabled": True, "active": True, "payment_method_id": card}}})
    return card


def test_turning_auto_top_up_off_while_stripe_is_down_detaches_the_card_later(client, user, stripe_api):
    card = saved_card(user, stripe_api)
    stripe_api.fail_next(2)
    assert client.delete("/api/billing/auto-topup").status_code == 204
    assert [d["_id"] for d in debts()] == [f"card:{card}"] and stripe_api.payment_methods[card]["customer"] is not None
    wait_is_over()
    assert cron(client) == {**NOTHING_DUE, "settled": 1}
    assert stripe_api.payment_methods[card]["customer"] is None and debts() == []


def test_a_crash_after_turning_auto_top_up_off_still_gets_the_card_detached(client, user, stripe_api, monkeypatch):
    card = saved_card(user, stripe_api)
    monkeypatch.setattr(autotopup, "detach", lambda card: None)  # the process died right after the user document's update
    assert client.delete("/api/billing/auto-topup").status_code == 204
    assert cron(client) == {**NOTHING_DUE, "settled": 1}
    assert stripe_api.payment_methods[card]["customer"] is None


def test_a_card_auto_top_up_holds_again_is_never_detached(client, user, stripe_api):
    card = stripe_api.saved_card(with_customer(user))
    cleanup.owe("card", card)
    db.collection("users").update_one({"_id": ObjectId(user["id"])}, {"$set": {"auto_topup.payment_method_id": card}})
    assert cron(client) == {**NOTHING_DUE, "settled": 1}  # the debt is void
    assert not stripe_api.requests_to("POST", f"/v1/payment_methods/{card}/detach") and debts() == []


def test_a_debt_a_week_old_is_an_error_in_the_log(client, user, stripe_api, caplog):
    customer = with_customer(user)
    cleanup.owe("customer", customer)
    db.collection("stripe_cleanups").update_one({}, {"$set": {"queued_at": datetime.now(UTC) - timedelta(days=8)}})
    stripe_api.fail_next(2)
    with caplog.at_level(logging.ERROR, logger="nexuspoint.billing"):
        assert cron(client) == {**NOTHING_DUE, "failed": 1, "overdue": 1}
    assert f"customer {customer} still not removed after 8 days" in caplog.text
    [debt] = debts()
    assert debt["attempts"] == 1
