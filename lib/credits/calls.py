"""A vision call's charge without a transaction: concurrent calls on one account never conflict.

1. `debit`: one conditional findOneAndUpdate on the user document takes the
   credits (never below zero, within the token's cap) and records the call as a
   *pending entry* (id, time, credits, model, source) in the same document: one
   write, atomic by itself.
2. `succeed`: inserts the call's `use` row under the entry's `_id` (a second
   insert of it is a duplicate key, so a retry cannot count twice). The entry,
   now settled, stays in the document until this process's next debit on the
   account drops it in the same write (or `settle` does, for a process that
   never comes back): a separate pull was a second write on the user document
   for every call, and that document is what a burst queues on.  `fail` gives
   the credits back and pulls the entry in one conditional write, then records
   the failed row and its refund row.

So at every instant `balance == sum(ledger deltas) + sum(pending entries with
no ledger row)`. A process that dies between the two steps leaves an entry
that `lib.credits.settle` resolves later (refunded: no answer was recorded).
A successful dashboard call is two commands (debit, insert); the transaction
it replaced was three (update, insert, commit).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from lib import db
from lib.credits import ledger
from lib.credits.ledger import USER_FIELDS, InsufficientCredits
from lib.errors import ApiError


class Cap(NamedTuple):  # a NamedTuple: cheaper to define than a frozen dataclass on a cold start (bench/cold_start.py)
    """A token's credit cap, as the debit enforces it on `users.token_spend.<token id>` = {period, used}."""

    token_id: ObjectId
    limit: int
    period: str  # "day", "month" or "total"
    key: str  # the current period's key (lib.tokens.periods.key)
    resets_at: datetime | None

    @property
    def field(self) -> str:
        return f"token_spend.{self.token_id}"


# Entries this process recorded and has not dropped yet, by user: its next debit there drops them.
# Past MAX_REMEMBERED accounts a success pulls its entry at once instead (one write more, memory bounded).
MAX_REMEMBERED = 10_000
_recorded: dict[ObjectId, set[ObjectId]] = {}
_recorded_lock = threading.Lock()


class TokenCreditLimit(ApiError):
    def __init__(self, cap: Cap, used: int, cost: int):
        super().__init__(
            402, "token_credit_limit",
            f"This API token may spend {cap.limit} credit{'s' if cap.limit != 1 else ''} "
            f"{'in total' if cap.period == 'total' else 'a ' + cap.period}; {used} are used and this call costs {cost}. Nothing was charged.",
            limit=cap.limit, used=used, period=cap.period, resets_at=cap.resets_at,
        )


@dataclass
class Charge:
    """A debit whose outcome is not recorded yet: `row` becomes the `use` row, under the pending entry's `_id`."""

    user_id: ObjectId
    amount: int
    row: dict
    user: dict = field(repr=False)
    cap: Cap | None = None

    @property
    def use_id(self) -> ObjectId:
        return self.row["_id"]


def debit(user_id: ObjectId, amount: int, *, model: str, source: str, use_id: ObjectId | None = None,
          user_filter: dict | None = None, cap: Cap | None = None, **details) -> Charge:
    """Take `amount` credits for one call, leaving a pending entry; see the module docstring.

    `user_filter` folds the caller's own checks (session, not disabled) into the same write.
    `details` (token_id, token_name, image_url, request_id) go into the usage row.
    Raises InsufficientCredits, TokenCreditLimit, or LookupError when `user_filter` did not match.
    """
    now = ledger._now()
    row = use_row(use_id or ObjectId(), user_id, amount, model, source, now, **details)
    # Small on purpose: every write to the user document rewrites it, and a burst holds one entry per call in flight.
    entry = {"_id": row["_id"], "at": now, "credits": amount, "model": model, "source": source}
    match = {"_id": user_id, "credits": {"$gte": amount}, **(user_filter or {})}
    if cap is not None:
        if amount > cap.limit:
            _refuse(user_id, amount, user_filter, cap)
        entry["spend"] = {"field": cap.field, "key": cap.key}  # so that settle can give the cap its share back too
    with _recorded_lock:
        settled = _recorded.pop(user_id, set())
    fields = {"credits": {"$subtract": ["$credits", amount]}, "pending": _pending_with(entry, settled)}
    if cap is not None:
        match["$or"] = [{f"{cap.field}.period": cap.key, f"{cap.field}.used": {"$lte": cap.limit - amount}},
                        {f"{cap.field}.period": {"$ne": cap.key}}]  # a new period starts the count again
        spend = f"${cap.field}"
        fields[cap.field] = {"period": cap.key, "used": {
            "$cond": [{"$eq": [f"{spend}.period", cap.key]}, {"$add": [f"{spend}.used", amount]}, amount]}}
    # An update pipeline: the entry goes in and the settled ones out in one write, and a cap's count restarts in a new period.
    user = db.collection("users").find_one_and_update(match, [{"$set": fields}], projection=USER_FIELDS,
                                                      return_document=ReturnDocument.AFTER)
    if user is None:
        _remember(user_id, settled)  # still in the document: the next debit drops them
        _refuse(user_id, amount, user_filter, cap)
    row["balance_after"] = user["credits"]
    return Charge(user_id, amount, row, user, cap)


def use_row(use_id: ObjectId, user_id: ObjectId, amount: int, model: str, source: str, at: datetime, **details) -> dict:
    """The `use` row of a call (its status and outcome are added when it is recorded); None details are left out."""
    return {"_id": use_id, "user_id": user_id, "kind": "use", "model": model, "source": source, "credits": amount,
            "delta": -amount, "created_at": at, **{k: v for k, v in details.items() if v is not None}}


def _pending_with(entry: dict, settled: set[ObjectId]) -> dict:
    """The `pending` array with `entry` added and the `settled` entries left out, as an expression."""
    kept = {"$ifNull": ["$pending", []]}
    if settled:
        kept = {"$filter": {"input": kept, "cond": {"$not": [{"$in": ["$$this._id", {"$literal": list(settled)}]}]}}}
    return {"$concatArrays": [kept, {"$literal": [entry]}]}  # literal: the entry is data, not expressions


def _remember(user_id: ObjectId, settled: set[ObjectId]) -> bool:
    """Leave settled entries for this process's next debit on the account; False when it remembers too many accounts."""
    if not settled:
        return True
    with _recorded_lock:
        if user_id not in _recorded and len(_recorded) >= MAX_REMEMBERED:
            return False
        _recorded.setdefault(user_id, set()).update(settled)
    return True


def _refuse(user_id: ObjectId, amount: int, user_filter: dict | None, cap: Cap | None) -> None:
    """Raise the refusal the conditional update meant (one read, on the refused path only)."""
    projection = {"credits": 1, **({cap.field: 1} if cap else {})}
    current = db.collection("users").find_one({"_id": user_id, **(user_filter or {})}, projection)
    if current is None:
        raise LookupError("caller no longer valid")
    if cap is not None:
        spend = (current.get("token_spend") or {}).get(str(cap.token_id)) or {}
        used = int(spend.get("used", 0)) if spend.get("period") == cap.key else 0
        if used + amount > cap.limit:
            raise TokenCreditLimit(cap, used, amount)
    raise InsufficientCredits(current.get("credits", 0), amount)


def succeed(charge: Charge, **outcome) -> bool:
    """Record the call as answered (the charge stands). False if `settle` got to it first: then it was refunded."""
    row = {**charge.row, "status": "succeeded", **outcome}
    try:
        db.collection("ledger").insert_one(row)
    except DuplicateKeyError:  # a retried insert, or settle recorded it as failed meanwhile
        recorded = db.collection("ledger").find_one({"_id": charge.use_id}, {"status": 1})
        if not recorded or recorded.get("status") != "succeeded":
            return False
    if not _remember(charge.user_id, {charge.use_id}):
        db.collection("users").update_one({"_id": charge.user_id}, {"$pull": {"pending": {"_id": charge.use_id}}})
    return True


def fail(charge: Charge, error_code: str, **outcome) -> int | None:
    """Give the credits of a failed call back, once. Returns the balance (None if settle got to it first)."""
    spend = {"field": charge.cap.field, "key": charge.cap.key} if charge.cap else None
    user = give_back(charge.user_id, charge.use_id, charge.amount, spend)
    if user is None:
        return None
    write_failure(charge.row, user["credits"], error_code, outcome)
    return user["credits"]


def give_back(user_id: ObjectId, use_id: ObjectId, amount: int, spend: dict | None, *, session=None) -> dict | None:
    """Pull the pending entry and return its credits, and its share of the token's cap while that period lasts."""
    match = {"_id": user_id, "pending._id": use_id}
    update = {"$inc": {"credits": amount}, "$pull": {"pending": {"_id": use_id}}}
    users = db.collection("users")
    if spend is not None:
        same_period = users.find_one_and_update(
            {**match, f"{spend['field']}.period": spend["key"]},
            {**update, "$inc": {"credits": amount, f"{spend['field']}.used": -amount}},
            projection={"credits": 1}, return_document=ReturnDocument.AFTER, session=session)
        if same_period is not None:
            return same_period
    return users.find_one_and_update(match, update, projection={"credits": 1}, return_document=ReturnDocument.AFTER, session=session)


def write_failure(row: dict, balance: int, error_code: str, outcome: dict, *, session=None) -> None:
    """The failed call's `use` row and its refund row: together they move nothing, as the balance did."""
    failed = {**row, "status": "failed", "failure": error_code[:200], **outcome}
    refund = {"user_id": row["user_id"], "kind": "refund", "model": row.get("model"), "source": row.get("source"),
              "use_id": row["_id"], "delta": row["credits"], "balance_after": balance, "created_at": ledger._now()}
    db.collection("ledger").insert_many([failed, refund], session=session)
