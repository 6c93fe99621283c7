"""Password hashing: bcrypt with 12 rounds (privacy policy §5)."""

from __future__ import annotations

import bcrypt

from lib import config
from lib.errors import bad_request

MIN_BYTES = 8
MAX_BYTES = 72  # bcrypt ignores everything past 72 bytes: refuse rather than truncate


def validate(password, field: str = "password") -> str:
    if not isinstance(password, str):
        raise bad_request("invalid_field", "The password must be a string.", field=field)
    size = len(password.encode())
    if size < MIN_BYTES:
        raise bad_request("password_too_short", f"Use at least {MIN_BYTES} characters.", field=field)
    if size > MAX_BYTES:
        raise bad_request("password_too_long", f"Use at most {MAX_BYTES} bytes: longer passwords would be silently cut by bcrypt.", field=field)
    return password


def hash_password(password: str) -> str:
    rounds = config.settings().bcrypt_rounds
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()


def verify(password: str, hashed: str | None) -> bool:
    if not hashed or not isinstance(password, str) or len(password.encode()) > MAX_BYTES:
        # Still spend a hash's time so a missing account looks like a wrong password.
        bcrypt.checkpw(b"timing-equaliser", _dummy_hash())
        return False
    return bcrypt.checkpw(password.encode(), hashed.encode())


_DUMMY: dict[int, bytes] = {}


def _dummy_hash() -> bytes:
    rounds = config.settings().bcrypt_rounds
    if rounds not in _DUMMY:
        _DUMMY[rounds] = bcrypt.hashpw(b"dummy-password", bcrypt.gensalt(rounds))
    return _DUMMY[rounds]


def cost_of(hashed: str) -> int:
    """The cost factor stored in a bcrypt hash ($2b$12$...)."""
    return int(hashed.split("$")[2])
