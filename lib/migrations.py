"""One-off data migrations, run by `python -m lib.db migrate` at deploy time; each is idempotent.

A migration changes only documents that still need it, so running the command
again (or twice at once) changes nothing more.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pymongo.errors import DuplicateKeyError

from lib import db
from lib.accounts.normalize import bonus_key


def verify_existing_accounts() -> int:
    """Accounts made before email verification existed are treated as verified (issue 17).

    Their addresses also get a canonical-form bonus record: the free credits they had
    then count for every spelling of the address (Gmail dots, plus tags) from now on.
    """
    now = datetime.now(UTC)
    users = db.collection("users")
    for user in users.find({"email_verified": {"$exists": False}}, {"email": 1}):
        try:
            db.collection("signup_bonuses").update_one({"_id": bonus_key(user["email"])},
                                                       {"$setOnInsert": {"granted_at": now}}, upsert=True)
        except DuplicateKeyError:  # a concurrent run upserted the same record
            pass
    return users.update_many({"email_verified": {"$exists": False}},
                             {"$set": {"email_verified": True, "email_verified_at": now}}).modified_count


MIGRATIONS = (verify_existing_accounts,)


def run_all() -> list[tuple[str, int]]:
    return [(m.__name__, m()) for m in MIGRATIONS]
