"""The proof: every balance equals its ledger's sum plus its calls in flight.

A pending entry whose `use` row is not written yet is a debit the ledger does
not show yet; one that is older than SETTLE_AFTER is reported as unsettled
(`python -m lib.credits settle` resolves it), never as a mismatch.
"""

from __future__ import annotations

from bson import ObjectId

from lib import db
from lib.credits.ledger import _now
from lib.credits.settle import SETTLE_AFTER, written


def reconcile(user_id: ObjectId | None = None) -> list[dict]:
    """Users whose balance differs from the sum of their ledger deltas and unrecorded pending debits."""
    return [u for u in _books(user_id) if u["balance"] != u["ledger_sum"] + u["in_flight"]]


def unsettled(user_id: ObjectId | None = None) -> list[dict]:
    """Calls charged more than SETTLE_AFTER ago whose outcome is still unrecorded: {user_id, use_id, credits, at}."""
    cutoff = _now() - SETTLE_AFTER
    match = {"pending.at": {"$lt": cutoff}, **({"_id": user_id} if user_id else {})}
    old = [{"user_id": u["_id"], "use_id": e["_id"], "credits": e["credits"], "at": e["at"]}
           for u in db.collection("users").find(match, {"pending": 1}) for e in u["pending"] if e["at"] < cutoff]
    recorded = written([e["use_id"] for e in old])  # answered calls whose entry waits to be dropped
    return [e for e in old if e["use_id"] not in recorded]


def _books(user_id: ObjectId | None) -> list[dict]:
    match = {"user_id": user_id} if user_id else {}
    sums = {row["_id"]: row["total"] for row in db.collection("ledger").aggregate(
        [{"$match": match}, {"$group": {"_id": "$user_id", "total": {"$sum": "$delta"}}}]
    )}
    users = list(db.collection("users").find({"_id": user_id} if user_id else {}, {"credits": 1, "pending": 1}))
    recorded = written([e["_id"] for u in users for e in u.get("pending") or []])
    return [{
        "user_id": u["_id"], "balance": u.get("credits", 0), "ledger_sum": sums.get(u["_id"], 0),
        "in_flight": -sum(e["credits"] for e in u.get("pending") or [] if e["_id"] not in recorded),
    } for u in users]
