"""One `request_log` row per request; the collection's TTL index purges it after 90 days."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from lib import db

log = logging.getLogger("nexuspoint.requests")


def write(req, status: int, duration_ms: float) -> None:
    row = {
        "request_id": req.id,
        "ip": req.client_ip,
        "method": req.method,
        "path": req.path,
        "status": status,
        "user_agent": req.header("user-agent")[:512],
        # Without its query: a page's URL can carry a secret (a password reset link's token).
        "referrer": req.header("referer").split("?", 1)[0].split("#", 1)[0][:1024],
        "duration_ms": round(duration_ms, 2),
        "created_at": datetime.now(UTC),
        **req.log_extra,
    }
    if req.caller is not None:
        row["user_id"] = req.caller.user_id
    try:
        db.collection("request_log").insert_one(row)
    except Exception:  # a lost log line must never fail the request it describes
        log.warning("request log write failed for %s %s", req.method, req.path, exc_info=True)
