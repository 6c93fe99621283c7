"""Indexes are a deploy step, not a request's work; the embedded server's URI, not production's, turns retryable writes off."""

from __future__ import annotations

import uuid

from lib import db
from tests.client import Client
from tests.fixtures.accounts import sign_up


def test_a_request_never_creates_indexes(mongo_server, router):
    """A database nobody indexed stays unindexed through requests: only `python -m lib.db ensure-indexes` makes them."""
    name = f"t_unindexed_{uuid.uuid4().hex[:8]}"
    db.use_database(name)
    try:
        c = Client(router)
        sign_up(c)
        assert c.get("/api/auth/me").status_code == 200
        assert c.get("/api/account/usage").status_code == 200
        assert [ix["name"] for ix in db.collection("users").list_indexes()] == ["_id_"]
        db.ensure_indexes()
        assert "email_1" in [ix["name"] for ix in db.collection("users").list_indexes()]
    finally:
        db.client().drop_database(name)
        db.use_database(None)


def test_the_embedded_server_uri_turns_retryable_writes_off(mongo_server, settings):
    assert "retryWrites=false" in settings().mongodb_uri
    assert db.client().options.retry_writes is False


def test_production_uris_keep_retryable_writes(settings):
    """lib.db adds nothing to a configured URI: Atlas keeps the driver's default, retryable writes on."""
    for uri in ("mongodb://127.0.0.1:9/?directConnection=true", "mongodb://127.0.0.1:9,127.0.0.1:10/?replicaSet=rs0"):
        settings(MONGODB_URI=uri)
        assert db.client().options.retry_writes is True
