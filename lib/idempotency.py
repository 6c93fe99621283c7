"""`Idempotency-Key` on vision calls: a retry of a call that succeeded is never charged again.

A key is scoped to the account (any token or session of it) and kept 24 hours.
Its document holds a SHA-256 of the request (never the image) and the `_id`
the call's usage row gets, chosen when the key is claimed. What happened to
that attempt is read from the ledger, not stored twice:

- a `use` row that succeeded: a repeat is a free replay (the model runs again,
  since outputs are never stored);
- a failed one (refunded): the key starts a new attempt;
- none yet: the first call is still running (409), unless it never charged and
  is older than any function can run (it died before the debit): a new attempt.

Claiming is one insert, the only command a keyed call adds to an unkeyed one.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from lib import db
from lib.errors import ApiError, bad_request

HEADER = "idempotency-key"
KEPT = timedelta(hours=24)
ABANDONED_AFTER = timedelta(seconds=60)  # past every vision function's maxDuration (vercel.json: 30 s)
RETRY_AFTER_SECONDS = 1


class Claim(NamedTuple):  # a NamedTuple: cheaper to define than a frozen dataclass on a cold start (bench/cold_start.py)
    doc_id: str
    usage_id: ObjectId
    replay: bool = False  # True: the key's call succeeded; answer it again for free


def key_of(req) -> str | None:
    """The request's key, or None; 400 unless 1-255 printable ASCII characters."""
    raw = req.headers.get(HEADER)  # lower-cased names
    if raw is None:
        return None
    if not 1 <= len(raw) <= 255 or not all(" " <= ch <= "~" for ch in raw):
        raise bad_request("invalid_idempotency_key", "The Idempotency-Key header must be 1 to 255 printable ASCII characters.",
                          field="Idempotency-Key")
    return raw


def fingerprint(model: str, query: dict, fields: dict, image_bytes: bytes | None, image_url: str | None) -> str:
    """SHA-256 of what makes two requests the same call: model, query, option fields and the image (or its URL).

    The image's bytes, not the raw body: a client library retrying a multipart upload picks a new boundary.
    """
    h = hashlib.sha256()
    for part in (model, sorted(query.items()), sorted((k, str(v)) for k, v in fields.items() if v is not None), image_url or ""):
        h.update(repr(part).encode() + b"\0")
    h.update(image_bytes or b"")
    return h.hexdigest()


def claim(user_id: ObjectId, key: str, model: str, digest: str) -> Claim:
    """Take the key for a new attempt, or say the call is to be replayed; 409 / 422 otherwise."""
    now = datetime.now(UTC)
    keys = db.collection("idempotency_keys")
    doc = {"_id": f"{user_id}:{key}", "user_id": user_id, "model": model, "digest": digest, "usage_id": ObjectId(), "created_at": now}
    try:
        keys.insert_one(doc)
        return Claim(doc["_id"], doc["usage_id"])
    except DuplicateKeyError:
        pass
    held = keys.find_one({"_id": doc["_id"]})
    if held is None or held["created_at"] <= now - KEPT:  # expired (the TTL monitor runs once a minute)
        return _take_over(held, doc)
    if (held["model"], held["digest"]) != (model, digest):
        raise ApiError(422, "idempotency_key_reused",
                       "This Idempotency-Key was used for a different request in the last 24 hours. Use a new key for a new request; nothing was charged.")
    row = db.collection("ledger").find_one({"_id": held["usage_id"]}, {"status": 1})
    if row is not None and row.get("status") == "succeeded":
        return Claim(held["_id"], held["usage_id"], replay=True)
    if row is not None or (not _charging(user_id, held["usage_id"]) and held["created_at"] <= now - ABANDONED_AFTER):
        return _take_over(held, doc)  # failed and refunded, or died before it charged
    raise in_use()


def release(claim_: Claim) -> None:
    """Free the key of an attempt that was refused before any charge (402, a closed account...)."""
    db.collection("idempotency_keys").delete_one({"_id": claim_.doc_id, "usage_id": claim_.usage_id})


def in_use() -> ApiError:
    return ApiError(409, "idempotency_key_in_use",
                    "A request with this Idempotency-Key is still running. Retry after it has finished; nothing was charged.",
                    headers={"Retry-After": str(RETRY_AFTER_SECONDS)}, retry_after=RETRY_AFTER_SECONDS)


def _take_over(held: dict | None, doc: dict) -> Claim:
    """Move the key to a new attempt, if nobody else did meanwhile."""
    keys = db.collection("idempotency_keys")
    if held is None:
        try:
            keys.insert_one(doc)
        except DuplicateKeyError:
            raise in_use() from None
    else:
        moved = keys.update_one({"_id": doc["_id"], "usage_id": held["usage_id"]},
                                {"$set": {k: doc[k] for k in ("model", "digest", "usage_id", "created_at")}})
        if not moved.modified_count:
            raise in_use()
    return Claim(doc["_id"], doc["usage_id"])


def _charging(user_id: ObjectId, usage_id: ObjectId) -> bool:
    """Whether the attempt holds a pending debit on the user document (it charged and is running, or awaits settlement)."""
    return db.collection("users").count_documents({"_id": user_id, "pending._id": usage_id}, limit=1) > 0

