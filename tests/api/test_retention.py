"""Policy §6: server logs are purged after 90 days, by the request log's TTL index."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from lib import db


def test_the_request_log_expires_after_90_days(database):
    logs = db.collection("request_log")
    ttl = [i for i in logs.index_information().values() if "expireAfterSeconds" in i]
    assert [(i["key"], i["expireAfterSeconds"]) for i in ttl] == [([("created_at", 1)], 90 * 24 * 3600)]
    now = datetime.now(UTC)
    logs.insert_many([
        {"path": "/api/old", "ip": "203.0.113.1", "created_at": now - timedelta(days=91)},
        {"path": "/api/recent", "ip": "203.0.113.2", "created_at": now - timedelta(days=89)},
        {"path": "/api/fresh", "ip": "203.0.113.3", "created_at": now},
    ])
    deadline = time.monotonic() + 10  # the test server sweeps expired documents every second
    while logs.count_documents({"path": "/api/old"}) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert logs.count_documents({"path": "/api/old"}) == 0, "a 91-day-old log row survived the TTL sweep"
    assert sorted(r["path"] for r in logs.find({"path": {"$in": ["/api/old", "/api/recent", "/api/fresh"]}})) == ["/api/fresh", "/api/recent"]
