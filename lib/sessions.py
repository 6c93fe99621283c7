"""The session: a JWT (HS256, 7 days) in the HttpOnly `np_session` cookie.

The token carries the user's session version; bumping the version in the
database (password change, reset, disable) ends every older session.
"""

from __future__ import annotations

import time

import jwt

from lib import config

COOKIE_NAME = "np_session"
MAX_AGE_SECONDS = 7 * 24 * 3600  # privacy policy §1.1: sessions last up to 7 days
ALGORITHM = "HS256"


def issue(user: dict, now: float | None = None) -> str:
    now = int(now if now is not None else time.time())
    claims = {"sub": str(user["_id"]), "iat": now, "exp": now + MAX_AGE_SECONDS, "sv": int(user.get("session_version", 0))}
    return jwt.encode(claims, config.settings().jwt_secret, algorithm=ALGORITHM)


def decode(token: str) -> dict | None:
    """The claims of a valid token, or None for anything forged, expired or malformed."""
    try:
        claims = jwt.decode(
            token, config.settings().jwt_secret, algorithms=[ALGORITHM],
            options={"require": ["sub", "iat", "exp", "sv"]},
        )
    except jwt.PyJWTError:
        return None
    if not isinstance(claims.get("sub"), str) or not isinstance(claims.get("sv"), int):
        return None
    return claims


def _cookie(value: str, max_age: int) -> str:
    parts = [f"{COOKIE_NAME}={value}", "Path=/", f"Max-Age={max_age}", "HttpOnly", "SameSite=Lax"]
    if config.settings().production:
        parts.append("Secure")
    return "; ".join(parts)


def cookie_for(user: dict) -> str:
    """The Set-Cookie header value that signs this user in."""
    return _cookie(issue(user), MAX_AGE_SECONDS)


def clearing_cookie() -> str:
    return _cookie("", 0)
