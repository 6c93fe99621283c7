"""Calls whose outcome was never recorded (the process died, the database dropped): refund them.

A pending entry older than SETTLE_AFTER belongs to a call no function can still
be running (vercel.json caps a vision function at 30 s). If its `use` row is
written, the call was answered and stays charged: the entry is only dropped
(a process leaves its last successes there for its next debit, lib/credits/calls.py).
Otherwise the row is written as failed (`outcome_unknown`; model, source and
credits from the entry, no request id or token) with its refund row, and the
credits go back, in one transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pymongo.errors import BulkWriteError

from lib import db
from lib.credits.calls import give_back, use_row, write_failure
from lib.credits.ledger import _now

SETTLE_AFTER = timedelta(minutes=5)
UNKNOWN = "outcome_unknown"
DUPLICATE_KEY = 11000


class _AlreadySettled(Exception):
    """The entry left the user document between the scan and the transaction."""


def settle(now: datetime | None = None) -> dict[str, int]:
    """Resolve every pending entry older than SETTLE_AFTER. Returns {"refunded": n, "recorded": n}.

    A scan of users, on purpose without an index on `pending.at`: a multikey index there is rewritten by
    every debit and pull, and cost a burst on one account a quarter of its throughput (`make bench`).
    """
    cutoff = (now or _now()) - SETTLE_AFTER
    done = {"refunded": 0, "recorded": 0}
    for user in db.collection("users").find({"pending.at": {"$lt": cutoff}}, {"pending": 1}):
        old = [entry for entry in user["pending"] if entry["at"] < cutoff]
        recorded = written([entry["_id"] for entry in old])
        if recorded:
            db.collection("users").update_one({"_id": user["_id"]}, {"$pull": {"pending": {"_id": {"$in": sorted(recorded)}}}})
            done["recorded"] += len(recorded)
        for entry in old:
            if entry["_id"] not in recorded:
                outcome = _settle_entry(user["_id"], entry)
                if outcome:
                    done[outcome] += 1
    return done


def written(use_ids: list) -> set:
    """Which of these calls have their `use` row in the ledger (one query)."""
    return {r["_id"] for r in db.collection("ledger").find({"_id": {"$in": use_ids}}, {"_id": 1})} if use_ids else set()


def _settle_entry(user_id, entry: dict) -> str | None:
    row = use_row(entry["_id"], user_id, entry["credits"], entry["model"], entry["source"], entry["at"])

    def refund(session):
        user = give_back(user_id, entry["_id"], row["credits"], entry.get("spend"), session=session)
        if user is None:
            raise _AlreadySettled
        write_failure(row, user["credits"], UNKNOWN, {}, session=session)
        return "refunded"

    try:
        return db.transaction(refund)
    except _AlreadySettled:
        return None
    except BulkWriteError as exc:
        if exc.details["writeErrors"][0]["code"] != DUPLICATE_KEY:
            raise
        # the call recorded its row since the scan: it was answered and stays charged
        db.collection("users").update_one({"_id": user_id}, {"$pull": {"pending": {"_id": entry["_id"]}}})
        return "recorded"
