"""Settings → Active sessions: list them, end one, end every other one.

A session's record lives in users.sessions (lib.sessions); this module only
reads it back as a person would recognise it, and removes records.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from lib import db, sessions
from lib.errors import not_found
from lib.http import Response, load_user

# First match wins: Edge and Opera also say "Chrome", Chrome also says "Safari".
BROWSERS = (("Edge", r"Edg(?:e|A|iOS)?/"), ("Opera", r"OPR/|Opera"), ("Firefox", r"Firefox/|FxiOS/"),
            ("Chrome", r"Chrome/|CriOS/|Chromium/"), ("Safari", r"Safari/"))
SYSTEMS = (("iOS", r"iPhone|iPad|iPod"), ("Android", r"Android"), ("ChromeOS", r"CrOS"), ("Windows", r"Windows"),
           ("macOS", r"Mac OS X|Macintosh"), ("Linux", r"Linux"))


def _first(table, user_agent: str) -> str | None:
    return next((name for name, pattern in table if re.search(pattern, user_agent)), None)


def describe(user_agent: str) -> dict:
    """Browser and operating system from a User-Agent header, or None for each when unknown."""
    return {"browser": _first(BROWSERS, user_agent or ""), "os": _first(SYSTEMS, user_agent or "")}


def _live(user: dict, now: datetime) -> list[dict]:
    """Records of sessions whose cookie has not expired yet, newest first."""
    oldest = now - timedelta(seconds=sessions.MAX_AGE_SECONDS)
    return sorted((s for s in user.get("sessions", ()) if s["started_at"] > oldest), key=lambda s: s["started_at"], reverse=True)


def view(record: dict, current_hash: str) -> dict:
    return {"id": record["id"], **describe(record.get("user_agent", "")), "ip": record.get("ip") or None,
            "started_at": record["started_at"], "last_seen_at": record["last_seen_at"], "current": record["hash"] == current_hash}


def list_for(req) -> dict:
    user = load_user(req)
    return {"sessions": [view(s, req.caller.session_hash) for s in _live(user, datetime.now(UTC))]}


def end_others(req) -> dict:
    """Sign out everywhere else: every session but the one asking."""
    user = load_user(req)
    others = [s for s in user.get("sessions", ()) if s["hash"] != req.caller.session_hash]
    db.collection("users").update_one({"_id": user["_id"]}, {"$pull": {"sessions": {"hash": {"$ne": req.caller.session_hash}}}})
    return {"ended": len(others)}


def end_one(req) -> Response | None:
    """End one session by its id from the list; ending the current one signs this browser out as well."""
    user = load_user(req)
    session_id = req.query.get("id")
    record = next((s for s in user.get("sessions", ()) if s["id"] == session_id), None)
    if record is None:
        raise not_found("session")
    sessions.end(user["_id"], record["hash"])
    if record["hash"] == req.caller.session_hash:
        return Response.empty().set_cookie(sessions.clearing_cookie())
    return None
