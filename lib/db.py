"""One MongoClient per process, created when this module is imported and reused while warm.

MongoDB's serverless guidance: create the client outside the handler so a
warm function reuses its connection pool instead of reconnecting per call.
Created at import, its monitor finds the server in the background while the
rest of the function loads: a cold function's first command took 4.5 ms
here when the client was made on first use, 1.4 ms this way (on Atlas the
overlap also hides DNS and TLS). A setting that is missing or wrong is left
for the first request to report, as before.

Indexes are created at deploy time (`python -m lib.db ensure-indexes`; `make dev`
runs it at start), never on a request: on a cold function's first request the
23 createIndexes commands cost ~29 ms here and more on Atlas.
"""

from __future__ import annotations

import threading

from pymongo import ASCENDING, DESCENDING, MongoClient
from pymongo.database import Database
from pymongo.errors import ConfigurationError, ConnectionFailure

from lib import config

REQUEST_LOG_TTL_SECONDS = 90 * 24 * 3600  # privacy policy §6: server logs kept 90 days

_lock = threading.Lock()
_client: MongoClient | None = None
_client_uri: str | None = None
_db_name_override: str | None = None

INDEXES = {
    "users": [
        ([("email", ASCENDING)], {"unique": True}), ([("created_at", ASCENDING)], {}),
        ([("auto_topup.active", ASCENDING)], {"sparse": True}),  # the auto top-up cron job's query (lib/billing/topups)
        ([("object_to_analytics", ASCENDING)], {"sparse": True}),  # admin stats leave these people's usage out
    ],
    "tokens": [([("hash", ASCENDING)], {"unique": True}), ([("user_id", ASCENDING), ("created_at", ASCENDING)], {}),
               ([("warn_at", ASCENDING)], {})],  # the expiry-warning job's scan
    "ledger": [
        ([("user_id", ASCENDING), ("kind", ASCENDING), ("created_at", DESCENDING)], {}),
        ([("created_at", ASCENDING)], {}),
    ],
    "payments": [
        ([("session_id", ASCENDING)], {"unique": True}),
        ([("user_id", ASCENDING), ("created_at", DESCENDING)], {}),
        ([("payment_intent_id", ASCENDING)], {"sparse": True}),
        ([("status", ASCENDING), ("created_at", DESCENDING)], {}),
        ([("created_at", DESCENDING)], {}),
        ([("charge_lease", ASCENDING)], {"sparse": True}),  # auto top-ups Stripe has not answered yet
    ],
    "messages": [([("created_at", DESCENDING)], {}), ([("email", ASCENDING)], {}), ([("user_id", ASCENDING)], {"sparse": True})],
    "request_log": [
        ([("created_at", ASCENDING)], {"expireAfterSeconds": REQUEST_LOG_TTL_SECONDS}),
        ([("user_id", ASCENDING)], {"sparse": True}),
    ],
    "outbox": [([("created_at", DESCENDING)], {})],
    "audit": [([("created_at", DESCENDING)], {}), ([("target_user_id", ASCENDING)], {}), ([("admin_id", ASCENDING)], {})],
    "ratelimits": [([("expires_at", ASCENDING)], {"expireAfterSeconds": 0})],
    "stripe_cleanups": [([("next_at", ASCENDING)], {})],  # the stripe-cleanup cron job's due debts (lib/billing/cleanup)
    "idempotency_keys": [([("created_at", ASCENDING)], {"expireAfterSeconds": 24 * 3600})],  # lib/idempotency.KEPT
    "reset_tokens": [([("hash", ASCENDING)], {"unique": True}), ([("expires_at", ASCENDING)], {"expireAfterSeconds": 0})],
    "email_links": [([("hash", ASCENDING)], {"unique": True}), ([("user_id", ASCENDING)], {}),
                    ([("expires_at", ASCENDING)], {"expireAfterSeconds": 0})],
    "policy_updates": [([("published_at", DESCENDING)], {})],
}


def client() -> MongoClient:
    global _client, _client_uri
    settings = config.settings()
    if _client is not None and _client_uri == settings.mongodb_uri:
        return _client
    with _lock:
        if _client is None or _client_uri != settings.mongodb_uri:
            if not settings.mongodb_uri:
                raise config.ConfigError("MONGODB_URI is not set: run the product with `make dev`, or point it at MongoDB")
            if _client is not None:
                _client.close()
            _client = MongoClient(
                settings.mongodb_uri,
                serverSelectionTimeoutMS=settings.mongodb_timeout_ms,
                connectTimeoutMS=settings.mongodb_timeout_ms,
                tz_aware=True,
                appname="nexuspoint",
            )
            _client_uri = settings.mongodb_uri
    return _client


def _connect_early() -> None:
    try:
        client()
    except (config.ConfigError, ConfigurationError):
        pass


def use_database(name: str | None) -> None:
    """Point this process at another database name (tests get one each)."""
    global _db_name_override
    _db_name_override = name


def database() -> Database:
    return client()[_db_name_override or config.settings().mongodb_db]


def collection(name: str):
    return database()[name]


def ensure_indexes(db: Database | None = None) -> None:
    """Create every index the queries rely on; safe to run any number of times (a deploy step)."""
    db = db if db is not None else database()
    for coll, specs in INDEXES.items():
        for keys, options in specs:
            db[coll].create_index(keys, **options)


class DatabaseUnreachable(ConnectionFailure):
    """A connection failure inside a transaction, stripped of its TransientTransactionError label."""


def transaction(callback):
    """Run callback(session) in one transaction; with_transaction retries transient write conflicts.

    Not an unreachable server, though: with_transaction would retry that for 120 s, far past a
    function's time limit. The caller gets the ConnectionFailure at once (the HTTP layer's 503).
    """

    def attempt(session):
        try:
            return callback(session)
        except ConnectionFailure as exc:
            raise DatabaseUnreachable(str(exc)) from exc

    with client().start_session() as session:
        return session.with_transaction(attempt)


def ping() -> bool:
    try:
        client().admin.command("ping")
        return True
    except Exception:  # any failure means "down" for the health check
        return False


_connect_early()

if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["ensure-indexes"]:
        ensure_indexes()
        print("indexes ok")
    elif sys.argv[1:] == ["migrate"]:
        from lib import migrations  # above lib/db: it may use any module

        for name, changed in migrations.run_all():
            print(f"{name}: {changed} document(s) changed")
    else:
        sys.exit("usage: python -m lib.db ensure-indexes | migrate")
