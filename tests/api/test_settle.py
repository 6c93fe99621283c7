"""Calls charged whose outcome was never recorded: reconcile reports them, settle (CLI and cron) refunds them once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest import mock

from bson import ObjectId

from lib import config, credits, db
from lib.credits import ledger
from lib.credits.__main__ import main


def orphan(user_id, minutes_ago: float) -> credits.Charge:
    """A debit whose process died before it recorded the outcome, `minutes_ago` minutes ago."""
    with mock.patch.object(ledger, "_now", lambda: datetime.now(UTC) - timedelta(minutes=minutes_ago)):
        return credits.debit(user_id, 2, model="object-detection", source="api", request_id="r1")


def test_reconcile_lists_calls_awaiting_settlement_without_calling_them_mismatches(user, capsys):
    uid = ObjectId(user["id"])
    orphan(uid, 6)
    orphan(uid, 1)  # may still be running: not yet awaiting settlement
    assert main(["reconcile"]) == 0
    out = capsys.readouterr().out
    assert out.count("awaits settlement") == 1 and "books reconcile" in out
    assert [c["credits"] for c in credits.unsettled(uid)] == [2]


def test_the_settle_job_refunds_old_orphans_only_and_only_once(user, client):
    uid = ObjectId(user["id"])
    old, young = orphan(uid, 6), orphan(uid, 1)
    cron = {"Authorization": f"Bearer {config.settings().cron_secret}"}
    r = client.get("/api/cron/settle", headers=cron, origin=None)
    assert r.status_code == 200 and r.json() == {"job": "settle", "refunded": 1, "recorded": 0}
    assert client.get("/api/cron/settle", headers=cron, origin=None).json()["refunded"] == 0
    users = db.collection("users").find_one({"_id": uid})
    assert users["credits"] == 48 and [e["_id"] for e in users["pending"]] == [young.use_id]
    [failed] = db.collection("ledger").find({"_id": old.use_id})
    assert (failed["status"], failed["failure"], failed["delta"]) == ("failed", "outcome_unknown", -2)
    assert db.collection("ledger").find_one({"kind": "refund", "use_id": old.use_id})["delta"] == 2
    assert credits.reconcile(uid) == []
    assert credits.fail(old, "upstream_error") is None  # the call's own late failure cannot refund it twice


def test_settle_keeps_the_charge_of_a_call_that_recorded_its_success(user):
    uid = ObjectId(user["id"])
    charge = orphan(uid, 6)
    # answered, and its process never debited this account again to drop the entry (or died after the insert)
    db.collection("ledger").insert_one({**charge.row, "status": "succeeded"})
    assert credits.unsettled(uid) == []  # not a call awaiting settlement: its outcome is recorded
    assert credits.settle() == {"refunded": 0, "recorded": 1}
    assert db.collection("users").find_one({"_id": uid})["pending"] == []
    assert db.collection("users").find_one({"_id": uid})["credits"] == 48 and credits.reconcile(uid) == []
