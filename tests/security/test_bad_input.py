"""Hundreds of malformed requests over every route: each a 4xx in the error shape, none a 5xx, nothing written."""

from __future__ import annotations

import hashlib

from bson import ObjectId

from lib import credits, db
from tests.fixtures.accounts import sign_up
from tests.reliability.support import DATA_COLLECTIONS, balance, counts, has_error_shape, server_errors
from tests.security.corpus import Context, generate

MINIMUM_CASES = 200


def snapshot() -> dict[str, str]:
    """A digest of every document in the collections a refused request must leave alone."""
    return {name: hashlib.sha256(repr(list(db.collection(name).find().sort("_id", 1))).encode()).hexdigest() for name in DATA_COLLECTIONS}


def test_every_bad_request_is_a_clean_4xx_and_writes_nothing(admin_client, new_client, sentisight, router, robustness):
    victim = sign_up(new_client())
    token = admin_client.post("/api/tokens", json={"name": "mine"}).json()["token"]
    credits.grant(ObjectId(admin_client.user["id"]), 100, "purchase", payment_id=ObjectId())
    ctx = Context(admin_email=admin_client.user["email"], own_token_id=token["id"], victim_id=victim["id"])
    cases = generate(router, ctx)
    before_counts, before, credits_before = counts(), snapshot(), balance(admin_client.user["id"])

    answers = []
    for i, case in enumerate(cases):
        # One address per case, so the per-address limits (sign-up, reset mail) never stand in for validation.
        answers.append(admin_client.request(case.method, case.path, ip=f"10.{i // 65536}.{i // 256 % 256}.{i % 256}", **case.kwargs))

    bad = [(c.label, r.status_code, r.text[:120]) for c, r in zip(cases, answers) if not (400 <= r.status_code < 500 and has_error_shape(r))]
    lost = abs(balance(admin_client.user["id"]) - credits_before)
    robustness.add("bad input", cases=len(cases), server_errors=server_errors(answers), money_lost=lost)
    assert len(cases) >= MINIMUM_CASES
    assert {c.path.split("?")[0] for c in cases} >= {r.path for r in router.routes if "[" not in r.path}, "every route has cases"
    assert bad == [], f"{len(bad)} of {len(cases)} cases were not a clean 4xx:\n" + "\n".join(map(str, bad[:40]))
    assert counts() == before_counts and snapshot() == before
    assert sentisight.requests == []  # nothing reached the model, so nothing could be charged
