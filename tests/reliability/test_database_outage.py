"""The database going away mid-run and coming back: 503s in the error shape meanwhile, whole books after.

The test runs on a database server of its own (storage on disk, a fixed port),
so stopping it cannot disturb the session's server, and restarting it on the
same port and storage brings the same data back, as an Atlas failover would.
The server is stopped between requests; every request sent while it is down
must fail fast with 503 `database_unavailable`, never a 500 and never a hang.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from bson import ObjectId

from lib import credits, db
from local import embedded_db
from tests.fixtures.accounts import PASSWORD, sign_up
from tests.reliability.support import balance, clone, has_error_shape, reconciles, server_errors, uses, vision_call

TIMEOUT_MS = 500
DOWN_SECONDS_PER_REQUEST = 5  # a few server-selection timeouts at most: no 120 s transaction retry loop


class OwnServer:
    """An embedded server that can be stopped and started again on the same port and storage."""

    def __init__(self, storage):
        self.storage, self.port = storage, embedded_db.free_port()
        self.server = None
        self.uri = self.start()

    def start(self) -> str:
        self.server, uri = embedded_db.start(self.storage, port=self.port)
        return uri

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


@pytest.fixture
def own_server(client, sentisight, settings, tmp_path):
    """A database server for this test alone; lib.db points at it until the test ends."""
    own = OwnServer(tmp_path / "db")
    settings(MONGODB_URI=own.uri, MONGODB_TIMEOUT_MS=TIMEOUT_MS)
    db.ensure_indexes()  # a new server: indexes are a deploy step, not made on a request
    yield own
    own.stop()


def requests_of_every_kind(client, anon, email: str):
    """(label, call, success statuses): reads, transactions, sign-in and sign-up."""
    return [
        ("vision (debit transaction)", lambda: vision_call(client), {200}),
        ("me (read)", lambda: client.get("/api/auth/me"), {200}),
        ("usage (aggregate)", lambda: client.get("/api/account/usage?days=7"), {200}),
        ("token create (transaction)", lambda: client.post("/api/tokens", json={"name": "outage"}), {201}),
        ("login (rate-limit counter)", lambda: anon.post("/api/auth/login", json={"email": email, "password": PASSWORD}), {200}),
        ("register (account transaction)", lambda: anon.post("/api/auth/register", json={
            "first_name": "Grace", "last_name": "Hopper", "email": f"g{time.time_ns()}@example.com", "password": PASSWORD,
            "age_confirmed": True}), {201}),
    ]


def wait_until_back(client, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while client.get("/api/auth/me").status_code != 200:
        assert time.monotonic() < deadline, "the app did not reconnect after the database came back"
        time.sleep(0.1)


def test_outage_answers_503_then_recovers_with_whole_books(client, anon, own_server, robustness):
    user = sign_up(client)
    credits.grant(ObjectId(user["id"]), 100, "purchase", payment_id=ObjectId())
    kinds = requests_of_every_kind(client, anon, user["email"])
    before = [(label, call(), ok) for label, call, ok in kinds]  # the run is under way

    own_server.stop()
    during = []
    for label, call, _ in kinds * 2:
        started = time.monotonic()
        during.append((label, call(), time.monotonic() - started))

    own_server.start()
    wait_until_back(client)
    after = [(label, call(), ok) for label, call, ok in kinds * 2]

    vision_ok = sum(1 for label, r, _ in before + after if label.startswith("vision") and r.status_code == 200)
    charged = len(uses(user["id"], "succeeded"))
    results = [r for _, r, _ in before + during + after]
    robustness.add("database outage", cases=len(results), server_errors=server_errors(results, frozenset({503})),
                   money_lost=abs(charged - vision_ok) + abs(balance(user["id"]) - (150 - vision_ok)))

    assert [(label, r.status_code) for label, r, ok in before if r.status_code not in ok] == []
    assert [(label, r.status_code, r.text[:100]) for label, r, _ in during
            if (r.status_code, r.error_code) != (503, "database_unavailable") or not has_error_shape(r)] == []
    assert [(label, round(s, 1)) for label, _, s in during if s > DOWN_SECONDS_PER_REQUEST] == []
    assert all("Try again" in r.json()["error"]["message"] and "mongo" not in r.text.lower() for _, r, _ in during)
    assert [(label, r.status_code, r.text[:100]) for label, r, ok in after if r.status_code not in ok] == []
    assert charged == vision_ok == 3 and balance(user["id"]) == 150 - vision_ok  # nothing half-written, nothing lost
    assert reconciles()


def test_an_outage_in_the_middle_of_a_burst_is_settled_to_exact_books(client, own_server, sentisight, robustness):
    """Calls charged, then the database goes away before they can record their outcome: they answer 503,
    and once it is back, settle refunds every one whose success was not recorded."""
    burst = 12
    user = sign_up(client)
    uid = ObjectId(user["id"])
    sentisight.slow_seconds = 60
    sentisight.fail("slow")  # every call waits at the vision service, charged
    with ThreadPoolExecutor(burst) as pool:
        answers = [pool.submit(vision_call, clone(client)) for _ in range(burst)]
        deadline = time.monotonic() + 20
        while len(db.collection("users").find_one({"_id": uid}).get("pending") or []) < burst:
            assert time.monotonic() < deadline, "the burst did not get charged"
            time.sleep(0.05)
        own_server.stop()
        sentisight.fail(None)
        sentisight._release.set()  # the predictions come back to a process whose database is gone
        results = [a.result() for a in answers]
    own_server.start()
    wait_until_back(client)

    assert balance(uid) == 50 - burst and credits.reconcile(uid) == []  # in flight, not a mismatch
    settled = credits.settle(now=credits.ledger._now() + credits.SETTLE_AFTER + timedelta(seconds=1))
    ok = sum(1 for r in results if r.status_code == 200)
    robustness.add("outage mid-burst", cases=burst, server_errors=server_errors(results, frozenset({503})),
                   money_lost=abs(balance(uid) - (50 - ok)))
    assert {r.status_code for r in results} <= {200, 503} and all(has_error_shape(r) for r in results if r.status_code == 503)
    assert settled == {"refunded": burst - ok, "recorded": 0}
    assert balance(uid) == 50 - ok and len(uses(uid, "succeeded")) == ok and len(uses(uid, "failed")) == burst - ok
    assert credits.reconcile(uid) == [] and credits.unsettled(uid) == [] and reconciles()
