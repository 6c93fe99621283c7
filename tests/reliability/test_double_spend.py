"""Many calls racing for the last credits: exactly the balance is spent, never more, never twice."""

from __future__ import annotations

from bson import ObjectId

from lib import db
from tests.fixtures.sentisight import image_bytes
from tests.reliability.support import at_once, balance, clone, has_error_shape, reconciles, server_errors, uses, vision_call

CALLS = 500
WORKERS = 32


def test_500_calls_on_50_credits_charge_exactly_50(client, user, sentisight, settings, robustness):
    """Half the callers use the cookie, half an API token: both paths debit the same balance."""
    settings(API_RATE_LIMIT_PER_MINUTE=10_000)
    token = client.post("/api/tokens", json={"name": "race"}).json()["token"]["secret"]
    data = image_bytes()
    calls = [(lambda i=i: vision_call(clone(client), data=data, token=token if i % 2 else None)) for i in range(CALLS)]

    results = at_once(calls, WORKERS)

    statuses = [r.status_code for r in results]
    charged = uses(user["id"], "succeeded")
    lost = abs(len(charged) - statuses.count(200)) + abs(balance(user["id"]) - (50 - statuses.count(200)))
    robustness.add("double spend", cases=CALLS, server_errors=server_errors(results), money_lost=lost)
    assert (statuses.count(200), statuses.count(402)) == (50, CALLS - 50), sorted(set(statuses))
    assert all(r.error_code == "insufficient_credits" and has_error_shape(r) for r in results if r.status_code == 402)
    assert len(charged) == 50 and balance(user["id"]) == 0
    assert {row["source"] for row in charged} <= {"dashboard", "api"}
    assert len(sentisight.requests) == 50  # nobody got a free prediction either
    assert [r["balance_after"] for r in sorted(charged, key=lambda r: r["balance_after"])] == list(range(50))  # each credit spent once
    assert db.collection("ledger").count_documents({"user_id": ObjectId(user["id"]), "kind": "refund"}) == 0
    assert reconciles()
