"""Balance changes other than a vision call's: each with its ledger row, in one transaction."""

from __future__ import annotations

from datetime import UTC, datetime

from bson import ObjectId
from pymongo import ReturnDocument

from lib import db
from lib.errors import ApiError

USER_FIELDS = {"credits": 1, "email": 1, "first_name": 1, "notifications": 1, "disabled": 1, "low_credit_threshold": 1}


class InsufficientCredits(ApiError):
    def __init__(self, balance: int, cost: int):
        super().__init__(
            402, "insufficient_credits",
            f"This call costs {cost} credit{'s' if cost != 1 else ''} and your balance is {balance}. Buy a credit pack to continue.",
            balance=balance, cost=cost,
        )


def _now() -> datetime:
    return datetime.now(UTC)


def _change(user_filter: dict, delta: int, row: dict, *, session) -> tuple[dict | None, dict | None]:
    """Move the balance of the one user matching `user_filter` and write the ledger row."""
    user = db.collection("users").find_one_and_update(
        user_filter, {"$inc": {"credits": delta}}, projection=USER_FIELDS,
        return_document=ReturnDocument.AFTER, session=session,
    )
    if user is None:
        return None, None
    entry = {"user_id": user["_id"], "delta": delta, "balance_after": user["credits"], "created_at": _now(), **row}
    entry["_id"] = db.collection("ledger").insert_one(entry, session=session).inserted_id
    return user, entry


def log_test_call(user_id: ObjectId, *, model: str, token_id, token_name, request_id, status: str, latency_ms: int,
                  image_url=None, failure=None) -> dict:
    """A test token's call in the call log: a `use` row that moves nothing (delta 0, credits 0, `test: true`).

    One insert and no balance read, so it has no `balance_after`; usage charts,
    admin figures and low-credit mails leave `test` rows out.
    """
    row = {"user_id": user_id, "kind": "use", "delta": 0, "credits": 0, "test": True, "model": model, "source": "api",
           "status": status, "token_id": token_id, "token_name": token_name, "request_id": request_id, "latency_ms": latency_ms,
           "created_at": _now()}
    if image_url:
        row["image_url"] = image_url
    if failure:
        row["failure"] = failure
    row["_id"] = db.collection("ledger").insert_one(row).inserted_id
    return row


def open_account(user: dict, bonus: int, *, session=None) -> dict:
    """Insert a new user holding `bonus` credits together with its signup_bonus row (none for 0).

    Raises pymongo's DuplicateKeyError when the email is taken; then nothing is written.
    Pass `session` to join a transaction the caller already runs (sign-up records the bonus in it).
    """

    def callback(session):
        doc = {**user, "credits": bonus}
        doc["_id"] = db.collection("users").insert_one(doc, session=session).inserted_id
        if bonus:  # no row for a change that did not happen (a re-registration gets no bonus)
            db.collection("ledger").insert_one(
                {"user_id": doc["_id"], "kind": "signup_bonus", "delta": bonus, "balance_after": bonus, "created_at": _now()},
                session=session,
            )
        return doc

    return callback(session) if session is not None else db.transaction(callback)


def grant(user_id: ObjectId, amount: int, kind: str, *, session=None, **ref) -> tuple[dict, dict]:
    """Add (or, for purchase_refund, remove) credits for a reason other than a call.

    A purchase refund may take the balance below zero: the credits were bought
    with money that went back, and calls then get 402 until topped up.
    Pass `session` to join a transaction the caller already runs (webhook fulfilment).
    """
    if kind not in ("signup_bonus", "purchase", "purchase_refund"):
        raise ValueError(f"grant() does not write {kind!r} rows")

    def apply(s):
        return _change({"_id": user_id}, amount, {"kind": kind, **ref}, session=s)

    user, entry = apply(session) if session is not None else db.transaction(apply)
    if user is None:
        raise LookupError(f"no user {user_id}")
    return entry, user


def adjust(user_id: ObjectId, delta: int, admin_id: ObjectId, reason: str, *, session=None) -> tuple[dict, dict]:
    """An administrator's correction; it may not take the balance below zero.

    Pass `session` to join a transaction the caller already runs, so the
    adjustment commits together with the caller's audit row or not at all.
    """
    match = {"_id": user_id} if delta >= 0 else {"_id": user_id, "credits": {"$gte": -delta}}
    row = {"kind": "adjustment", "admin_id": admin_id, "reason": reason}

    def apply(s):
        return _change(match, delta, row, session=s)

    user, entry = apply(session) if session is not None else db.transaction(apply)
    if user is None:
        current = db.collection("users").find_one({"_id": user_id}, {"credits": 1}, session=session)
        if current is None:
            raise LookupError(f"no user {user_id}")
        raise ApiError(409, "balance_would_go_negative", f"The balance is {current.get('credits', 0)}; removing {-delta} would take it below zero.")
    return entry, user
