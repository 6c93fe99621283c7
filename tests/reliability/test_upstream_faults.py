"""SentiSight failing every way it can, mixed with good answers: no failed call costs anything.

A seeded schedule of blocks: each block sets one behaviour on the fake and
fires 1-8 calls to random models at once. Every failure must come back as a
clear 502/504 in the error shape with the credits given back; a slow answer
that still arrives in time is a normal 200.
"""

from __future__ import annotations

import random

from bson import ObjectId

from lib import credits, db
from lib.vision import catalog
from tests.fixtures.sentisight import image_bytes
from tests.reliability.support import at_once, balance, clone, has_error_shape, reconciles, server_errors, uses, vision_call

CALLS = 200
SEED = 1028
READ_TIMEOUT = 2.0  # "slow" outlasts it; "slow_then_ok" answers well within it; a loaded machine's normal answer too
EXPECTED = {  # fake mode -> (status, error code)
    None: (200, None),
    "http_500": (502, "upstream_error"),
    "slow": (504, "upstream_timeout"),
    "refused": (502, "upstream_error"),
    "non_json": (502, "upstream_error"),
    "wrong_shape": (502, "upstream_error"),
    "slow_then_ok": (200, None),
}


def schedule(rng: random.Random) -> list[tuple[str | None, list[str]]]:
    """(mode, model slugs) blocks adding up to CALLS calls."""
    blocks, left = [], CALLS
    while left:
        size = min(left, rng.randint(1, 8))
        blocks.append((rng.choice(list(EXPECTED)), [rng.choice(list(catalog.MODELS)) for _ in range(size)]))
        left -= size
    return blocks


def test_every_failed_call_is_refunded(client, user, sentisight, settings, robustness):
    settings(SENTISIGHT_READ_TIMEOUT=READ_TIMEOUT)
    credits.grant(ObjectId(user["id"]), 1000, "purchase", payment_id=ObjectId())
    start = balance(user["id"])
    data = image_bytes()
    answers = []  # (mode, slug, result)
    for mode, slugs in schedule(random.Random(SEED)):
        sentisight.fail(mode)
        sentisight.slow_seconds = 0.05 if mode == "slow_then_ok" else READ_TIMEOUT + 1
        results = at_once([(lambda s=s: vision_call(clone(client), s, data)) for s in slugs], workers=8)
        answers += [(mode, s, r) for s, r in zip(slugs, results)]
    sentisight.reset()

    wrong = [(mode, r) for mode, _, r in answers if (r.status_code, r.error_code) != EXPECTED[mode]]
    failed = [(s, r) for _, s, r in answers if r.status_code != 200]
    paid = sum(catalog.get(s).cost for _, s, r in answers if r.status_code == 200)
    lost = abs(start - paid - balance(user["id"]))
    robustness.add("upstream faults", cases=len(answers), server_errors=server_errors([r for _, _, r in answers], frozenset({502, 504})), money_lost=lost)

    assert len({mode for mode, _, _ in answers}) == len(EXPECTED), "the seed should exercise every behaviour"
    assert wrong == [], [(m, r.status_code, r.text[:120]) for m, r in wrong[:5]]
    assert all(has_error_shape(r) and r.json()["error"]["credits_charged"] == 0 for _, r in failed)
    assert all("not charged" in r.json()["error"]["message"] for _, r in failed)
    assert lost == 0 and balance(user["id"]) == start - paid
    rows = uses(user["id"])
    assert sorted(row["status"] for row in rows) == sorted("failed" if r.status_code != 200 else "succeeded" for _, _, r in answers)
    refunds = list(db.collection("ledger").find({"user_id": ObjectId(user["id"]), "kind": "refund"}))
    assert sorted(r["use_id"] for r in refunds) == sorted(row["_id"] for row in rows if row["status"] == "failed")  # one refund each
    assert reconciles()
