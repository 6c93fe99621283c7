"""The process killed after each database command of a vision call: settle, then no credit is lost or kept.

`Killed` is a BaseException, so nothing of the call runs after the command it
follows, not even its except blocks: what a function killed by its time limit,
or an instance that vanishes, leaves behind. Then `settle` (run as if its grace
period had passed) and `reconcile` must leave every account exact: charged only
for a call whose success was recorded, and a client retrying with its
Idempotency-Key pays for one call in all.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from bson import ObjectId
from pymongo.collection import Collection

from lib import credits, db, idempotency
from tests.fixtures.sentisight import image_bytes
from tests.reliability.support import balance, uses, vision_call

WATCHED = {"users", "ledger", "idempotency_keys"}  # the debit path's collections (not the token lookup, not the request log)
METHODS = ("find_one_and_update", "insert_one", "insert_many", "update_one", "find_one", "count_documents", "delete_one")


class Killed(BaseException):
    """The process dying right after a database command answered."""


class Killer:
    """Counts the debit path's commands and kills the caller after the `at`-th."""

    def __init__(self, monkeypatch):
        self.at, self.seen = None, []
        for name in METHODS:
            real = getattr(Collection, name)
            monkeypatch.setattr(Collection, name, self._wrap(name, real))

    def _wrap(self, name, real):
        def command(collection, *args, **kwargs):
            result = real(collection, *args, **kwargs)
            if self.at is not None and collection.name in WATCHED:
                self.seen.append(f"{collection.name}.{name}")
                if len(self.seen) == self.at:
                    self.at = None
                    raise Killed(self.seen[-1])
            return result

        return command

    def arm(self, at: int | None) -> None:
        self.at, self.seen = at, []


@pytest.fixture
def killer(monkeypatch):
    return Killer(monkeypatch)


def settle_later():
    return credits.settle(now=credits.ledger._now() + credits.SETTLE_AFTER + timedelta(seconds=1))


def keyed_call(client, key: str, token: str | None = None):
    headers = {"content-type": "image/png", "idempotency-key": key}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return client.post("/api/vision/general-classification", data=image_bytes(), headers=headers,
                       cookies=token is None, origin="default" if token is None else None)


def commands_of(killer, call) -> list[str]:
    killer.arm(10_000)  # counting, never reached
    assert call().status_code in (200, 502)
    seen = list(killer.seen)
    killer.arm(None)
    return seen


@pytest.mark.parametrize("outcome", ["success", "upstream failure"])
def test_killed_after_every_command_then_settled_nothing_is_lost_or_kept(client, user, sentisight, killer, outcome):
    uid = ObjectId(user["id"])
    if outcome == "upstream failure":
        sentisight.fail("http_500")
    steps = commands_of(killer, lambda: vision_call(client))
    assert steps == (["users.find_one_and_update", "ledger.insert_one"] if outcome == "success"
                     else ["users.find_one_and_update", "users.find_one_and_update", "ledger.insert_many"])
    charged_so_far = len(uses(uid, "succeeded"))
    for at in range(1, len(steps) + 1):
        before = balance(uid)
        killer.arm(at)
        with pytest.raises(Killed):
            vision_call(client)
        assert credits.reconcile(uid) == []  # at every instant, in flight included
        settle_later()
        recorded = len(uses(uid, "succeeded")) - charged_so_far
        charged_so_far += recorded
        # charged only when the success was recorded before the kill (then the answer was ready)
        assert balance(uid) == before - recorded, (outcome, steps[at - 1])
        assert recorded == (1 if outcome == "success" and at >= 2 else 0), (outcome, steps[at - 1])
        assert credits.reconcile(uid) == [] and credits.unsettled(uid) == []
        assert db.collection("users").find_one({"_id": uid})["pending"] == []


def test_a_client_retrying_its_key_after_a_kill_at_any_step_pays_once(client, user, sentisight, killer, monkeypatch):
    uid = ObjectId(user["id"])
    steps = commands_of(killer, lambda: keyed_call(client, "count-the-steps"))
    assert steps[0] == "idempotency_keys.insert_one" and len(steps) == 3  # a key costs one insert
    monkeypatch.setattr(idempotency, "ABANDONED_AFTER", timedelta(0))  # the retry comes after the function's time limit
    for at in range(1, len(steps) + 1):
        before, key = balance(uid), f"retry-after-kill-{at}"
        killer.arm(at)
        with pytest.raises(Killed):
            keyed_call(client, key)
        retry_before_settle = keyed_call(client, key)
        settle_later()
        retry = keyed_call(client, key) if retry_before_settle.status_code == 409 else retry_before_settle
        assert retry.status_code == 200, (steps[at - 1], retry.text)
        assert balance(uid) == before - 1, steps[at - 1]  # one credit in all, whatever the kill left
        again = keyed_call(client, key)
        assert (again.status_code, again.headers["x-credits-charged"], again.headers.get("idempotent-replayed")) == (200, "0", "true")
        assert again.json()["usage_id"] == retry.json()["usage_id"]
        assert balance(uid) == before - 1 and credits.reconcile(uid) == []
