"""The session: a JWT (HS256, 7 days) in the HttpOnly `np_session` cookie, and its record on the server.

The token names a session id (`sid`); the user document keeps the SHA-256 of
each live session's id in `sessions` (with browser, IP, started, last seen).
A cookie works only while its record is there, so signing out, ending a
session from Settings or a password change stops a copied cookie at once, and
the check stays a filter on the user document (no extra read on the vision call).
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta

import jwt

from lib import config, db, known_networks
from lib.digest import sha256_hex

COOKIE_NAME = "np_session"
MAX_AGE_SECONDS = 7 * 24 * 3600  # privacy policy §1.1: sessions last up to 7 days
ALGORITHM = "HS256"
MAX_PER_ACCOUNT = 20  # the oldest record is dropped when a 21st session starts
USER_AGENT_CHARS = 300
PENDING_LOGIN_SECONDS = 5 * 60  # between a right password and the two-factor code
PENDING_PURPOSE = "2fa-login"


def fingerprint(sid: str) -> str:
    """What the user document keeps of a session id: a leaked database holds no live cookie."""
    return sha256_hex(sid)


def issue(user_id, sid: str, now: float | None = None) -> str:
    now = int(now if now is not None else time.time())
    claims = {"sub": str(user_id), "sid": sid, "iat": now, "exp": now + MAX_AGE_SECONDS}
    return jwt.encode(claims, config.settings().jwt_secret, algorithm=ALGORITHM)


def _decode(token: str, required: list[str]) -> dict | None:
    try:
        claims = jwt.decode(token, config.settings().jwt_secret, algorithms=[ALGORITHM], options={"require": required})
    except jwt.PyJWTError:
        return None
    return claims if isinstance(claims.get("sub"), str) else None


def decode(token: str) -> dict | None:
    """The claims of a valid session token, or None for anything forged, expired, malformed or pre-`sid`."""
    claims = _decode(token, ["sub", "sid", "iat", "exp"])
    if claims is None or not isinstance(claims.get("sid"), str) or "purpose" in claims:
        return None
    return claims


def _cookie(value: str, max_age: int) -> str:
    parts = [f"{COOKIE_NAME}={value}", "Path=/", f"Max-Age={max_age}", "HttpOnly", "SameSite=Lax"]
    if config.settings().production:
        parts.append("Secure")
    return "; ".join(parts)


def start(user: dict, req) -> str:
    """Record a new session for this user and return the Set-Cookie header value that carries it."""
    sid = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    record = {
        "hash": fingerprint(sid), "id": secrets.token_hex(8), "user_agent": req.header("user-agent")[:USER_AGENT_CHARS],
        "ip": req.client_ip, "started_at": now, "last_seen_at": now,
    }
    db.collection("users").update_one(
        {"_id": user["_id"]},
        {"$push": {"sessions": {"$each": [record], "$sort": {"started_at": 1}, "$slice": -MAX_PER_ACCOUNT}},
         **known_networks.remember(user, req.client_ip, now)},  # in the same write
    )
    return _cookie(issue(user["_id"], sid), MAX_AGE_SECONDS)


def end(user_id, session_hash: str) -> None:
    db.collection("users").update_one({"_id": user_id}, {"$pull": {"sessions": {"hash": session_hash}}})


def clearing_cookie() -> str:
    return _cookie("", 0)


def pending_login_token(user: dict) -> str:
    """A short-lived proof that the password was right, exchanged for a session with a two-factor code.

    It is no session (no `sid`, a `purpose`), and it names a fingerprint of the
    password hash: a password reset in between makes it worthless.
    """
    now = int(time.time())
    claims = {"sub": str(user["_id"]), "purpose": PENDING_PURPOSE, "ph": sha256_hex(user["password_hash"])[:16],
              "jti": secrets.token_urlsafe(12), "iat": now, "exp": now + PENDING_LOGIN_SECONDS}  # jti: spent by its sign-in
    return jwt.encode(claims, config.settings().jwt_secret, algorithm=ALGORITHM)


def pending_login_claims(token: str) -> dict | None:
    claims = _decode(token, ["sub", "purpose", "ph", "jti", "exp"])
    return claims if claims is not None and claims.get("purpose") == PENDING_PURPOSE else None


def password_fingerprint_matches(claims: dict, user: dict) -> bool:
    return secrets.compare_digest(str(claims.get("ph")), sha256_hex(user["password_hash"])[:16])


def forget_expired() -> dict:
    """Cron job: drop the records of sessions whose cookie has expired (their IP and browser are kept no longer),
    and the known networks unused for known_networks.KNOWN_FOR."""
    now = datetime.now(UTC)
    cutoff, unused = now - timedelta(seconds=MAX_AGE_SECONDS), now - known_networks.KNOWN_FOR
    result = db.collection("users").update_many(
        {"$or": [{"sessions.started_at": {"$lt": cutoff}}, {f"{known_networks.FIELD}.at": {"$lt": unused}}]},
        {"$pull": {"sessions": {"started_at": {"$lt": cutoff}}, known_networks.FIELD: {"at": {"$lt": unused}}}})
    return {"accounts": result.modified_count}
