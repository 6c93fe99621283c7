"""GET /api/billing/transactions: the caller's own payments, newest first, 20 a page."""

from datetime import UTC, datetime, timedelta

from bson import ObjectId

from lib import db
from tests.fixtures.accounts import sign_up
from tests.fixtures.stripe import charge_object, event, session_object, start_checkout


def _payment(user_id, n, **extra):
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=n)
    return {
        "_id": ObjectId(), "user_id": user_id, "session_id": f"cs_test_{user_id}_{n}", "payment_intent_id": None,
        "pack_id": "starter", "pack_name": "Starter", "credits": 100, "amount_cents": 900, "currency": "usd",
        "status": "pending", "refunded_cents": 0, "card": None, "created_at": at, "updated_at": at, **extra,
    }


def test_a_paid_checkout_in_the_history(client, user, webhooks):
    payment = start_checkout(client, "pro")
    webhooks.ok(event("charge.succeeded", charge_object(payment, payment_intent="pi_1")))
    webhooks.ok(event("checkout.session.completed", session_object(payment, payment_intent="pi_1")))
    body = client.get("/api/billing/transactions").json()
    assert (body["page"], body["pages"], body["total"], body["per_page"]) == (1, 1, 1, 20)
    [item] = body["items"]
    assert item["id"] == str(payment["_id"])
    assert (item["pack"], item["pack_id"], item["credits"], item["amount_cents"], item["currency"]) == ("Pro", "pro", 500, 3900, "usd")
    assert item["status"] == "succeeded" and item["refunded_cents"] == 0
    assert item["card"] == {"brand": "visa", "last4": "4242"}
    assert item["created_at"].endswith("Z") and item["updated_at"] >= item["created_at"]
    assert "session_id" not in item and "user_id" not in item


def test_pages_of_twenty_newest_first(client, user):
    user_id = ObjectId(user["id"])
    db.collection("payments").insert_many([_payment(user_id, n) for n in range(45)])
    pages = [client.get("/api/billing/transactions", query={"page": p}).json() for p in (1, 2, 3, 4)]
    assert [len(p["items"]) for p in pages] == [20, 20, 5, 0]
    assert all(p["total"] == 45 and p["pages"] == 3 for p in pages)
    times = [i["created_at"] for p in pages for i in p["items"]]
    assert times == sorted(times, reverse=True) and len(set(times)) == 45
    assert client.get("/api/billing/transactions").json()["items"] == pages[0]["items"]  # page 1 by default


def test_only_your_own_payments(client, new_client, user):
    other = new_client()
    other_user = sign_up(other)
    db.collection("payments").insert_many([_payment(ObjectId(other_user["id"]), n) for n in range(3)])
    start_checkout(client)
    mine = client.get("/api/billing/transactions").json()
    assert mine["total"] == 1 and len(mine["items"]) == 1
    theirs = other.get("/api/billing/transactions").json()
    assert theirs["total"] == 3 and {i["id"] for i in theirs["items"]}.isdisjoint({i["id"] for i in mine["items"]})


def test_an_empty_history(client, user):
    assert client.get("/api/billing/transactions").json() == {"items": [], "page": 1, "per_page": 20, "total": 0, "pages": 1}


def test_bad_page_numbers_are_400(client, user):
    for page in ("0", "-1", "two", "1e3"):
        r = client.get("/api/billing/transactions", query={"page": page})
        assert r.status_code == 400 and r.error_code == "invalid_parameter", page


def test_history_needs_a_session(anon, database):
    assert anon.get("/api/billing/transactions").status_code == 401
