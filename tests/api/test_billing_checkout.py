"""POST /api/billing/checkout: a Stripe Checkout Session (or the local stand-in) and a pending payment."""

import threading

from lib import db
from lib.billing import customers
from tests.fixtures.accounts import sign_up
from tests.fixtures.stripe import start_checkout


def _user_doc(email):
    return db.collection("users").find_one({"email": email})


def test_checkout_with_stripe_sends_the_session_stripe_needs(client, user, stripe_api):
    r = client.post("/api/billing/checkout", json={"pack_id": "pro"})
    assert r.status_code == 200, r.text
    doc = _user_doc(user["email"])

    # The user signed up before Stripe was configured: checkout creates the customer.
    [created] = stripe_api.requests_to("POST", "/v1/customers")
    assert created.params == {"email": user["email"], "name": "Ada Lovelace", "metadata": {"user_id": user["id"]}}
    assert doc["stripe_customer_id"] in stripe_api.customers

    [call] = stripe_api.requests_to("POST", "/v1/checkout/sessions")
    session = stripe_api.sessions[r.json()["url"].split("/")[-1].split("#")[0]]
    assert r.json() == {"url": session["url"]}
    payment = db.collection("payments").find_one({"session_id": session["id"]})
    metadata = {"user_id": user["id"], "pack_id": "pro", "payment_id": str(payment["_id"])}
    p = call.params
    assert p["mode"] == "payment"
    assert p["customer"] == doc["stripe_customer_id"]
    assert p["client_reference_id"] == user["id"]
    assert p["metadata"] == metadata and p["payment_intent_data"] == {"metadata": metadata}
    [item] = p["line_items"]
    assert item["quantity"] == "1"
    assert item["price_data"]["currency"] == "usd" and item["price_data"]["unit_amount"] == "3900"
    assert item["price_data"]["product_data"]["name"] == "Pro pack"
    assert p["success_url"] == "http://testserver/dashboard/billing?checkout=success"
    assert p["cancel_url"] == "http://testserver/dashboard/billing?checkout=cancel"
    assert call.idempotency_key == f"checkout-{payment['_id']}"
    assert call.headers["authorization"] == "Bearer sk_test_nexuspoint_fake_key"

    assert payment["user_id"] == doc["_id"] and payment["status"] == "pending"
    assert (payment["pack_id"], payment["pack_name"], payment["credits"], payment["amount_cents"], payment["currency"]) == ("pro", "Pro", 500, 3900, "usd")
    assert payment["refunded_cents"] == 0 and payment["payment_intent_id"] is None
    assert client.get("/api/auth/me").json()["user"]["credits"] == 50  # nothing granted before the webhook


def test_the_customer_made_at_sign_up_is_reused(client, stripe_api):
    user = sign_up(client)
    customer_id = _user_doc(user["email"])["stripe_customer_id"]
    assert customer_id in stripe_api.customers
    start_checkout(client)
    start_checkout(client)
    assert len(stripe_api.requests_to("POST", "/v1/customers")) == 1
    assert {c.params["customer"] for c in stripe_api.requests_to("POST", "/v1/checkout/sessions")} == {customer_id}


def test_a_customer_stripe_no_longer_knows_is_replaced(client, stripe_api):
    user = sign_up(client)
    stale = _user_doc(user["email"])["stripe_customer_id"]
    del stripe_api.customers[stale]  # deleted in the Stripe Dashboard, say
    r = client.post("/api/billing/checkout", json={"pack_id": "starter"})
    assert r.status_code == 200, r.text
    fresh = _user_doc(user["email"])["stripe_customer_id"]
    assert fresh != stale and fresh in stripe_api.customers
    assert [c.params["customer"] for c in stripe_api.requests_to("POST", "/v1/checkout/sessions")] == [stale, fresh]


def test_racing_requests_get_one_customer(client, user, stripe_api):
    doc = _user_doc(user["email"])
    ids = []
    threads = [threading.Thread(target=lambda: ids.append(customers.ensure_customer(dict(doc)))) for _ in range(5)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert len(set(ids)) == 1 and len(stripe_api.customers) == 1
    assert _user_doc(user["email"])["stripe_customer_id"] == ids[0]


def test_stripe_down_is_a_502_and_nothing_is_recorded(client, user, stripe_api):
    stripe_api.fail_next(10)
    r = client.post("/api/billing/checkout", json={"pack_id": "starter"})
    assert r.status_code == 502 and r.error_code == "upstream_error"
    assert "sk_test" not in r.text and "unknown error" not in r.text
    assert db.collection("payments").count_documents({}) == 0


def test_stripe_unreachable_is_a_clean_502(client, user, stripe_api):
    """Nothing listens: our HTTP client tells stripe-python it was a connection error, which becomes a 502."""
    stripe_api.stop()
    r = client.post("/api/billing/checkout", json={"pack_id": "starter"})
    assert r.status_code == 502 and r.error_code == "upstream_error"
    assert "Network error" not in r.text
    assert db.collection("payments").count_documents({}) == 0


def test_delete_customer(client, user, stripe_api):
    customer_id = customers.ensure_customer(_user_doc(user["email"]))
    assert customers.delete_customer(customer_id) is True
    assert customer_id not in stripe_api.customers
    assert customers.delete_customer(customer_id) is False  # already gone: not an error
    assert stripe_api.requests_to("DELETE", f"/v1/customers/{customer_id}")


def test_checkout_without_stripe_opens_the_local_stand_in(client, user):
    r = client.post("/api/billing/checkout", json={"pack_id": "starter"})
    assert r.status_code == 200
    url = r.json()["url"]
    assert url.startswith("http://testserver/_local/checkout/cs_local_")
    payment = db.collection("payments").find_one({"session_id": url.rsplit("/", 1)[1]})
    assert payment["status"] == "pending" and payment["amount_cents"] == 900 and payment["credits"] == 100
    assert payment["user_id"] == _user_doc(user["email"])["_id"]


def test_unknown_pack_is_404(client, user):
    r = client.post("/api/billing/checkout", json={"pack_id": "platinum"})
    assert r.status_code == 404 and r.error_code == "not_found"


def test_pack_id_must_be_a_plain_string(client, user):
    for body, code in (({"pack_id": {"$ne": None}}, "invalid_field"), ({"pack_id": ["starter"]}, "invalid_field"),
                       ({}, "missing_field"), ({"pack_id": "starter", "price_cents": 1}, "unknown_field")):
        r = client.post("/api/billing/checkout", json=body)
        assert r.status_code == 400 and r.error_code == code, body
    assert db.collection("payments").count_documents({}) == 0


def test_checkout_needs_a_signed_in_caller_from_our_site(client, anon, user):
    r = anon.post("/api/billing/checkout", json={"pack_id": "starter"})
    assert r.status_code == 401
    r = client.post("/api/billing/checkout", json={"pack_id": "starter"}, origin="http://evil.example")
    assert r.status_code == 403 and r.error_code == "csrf"
    assert db.collection("payments").count_documents({}) == 0


def test_checkouts_are_rate_limited(client, user):
    for _ in range(30):
        assert client.post("/api/billing/checkout", json={"pack_id": "starter"}).status_code == 200
    r = client.post("/api/billing/checkout", json={"pack_id": "starter"})
    assert r.status_code == 429 and r.error_code == "rate_limited"
