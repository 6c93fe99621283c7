"""Password hashing: bcrypt with 12 rounds (privacy policy §5)."""

from __future__ import annotations

import bcrypt

from lib import config
from lib.errors import bad_request

MIN_BYTES = 8
MAX_BYTES = 72  # bcrypt ignores everything past 72 bytes: refuse rather than truncate


def validate(password, field: str = "password") -> str:
    if password is None:
        raise bad_request("missing_field", f"'{field}' is required.", field=field)
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
# Any well-formed bcrypt salt and digest: checking against it costs exactly what its cost
# field says. Built as a constant so that even a cold process never spends an extra hash.
_DUMMY_SALT_AND_DIGEST = "N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"


def _dummy_hash() -> bytes:
    rounds = config.settings().bcrypt_rounds
    if rounds not in _DUMMY:
        _DUMMY[rounds] = f"$2b${rounds:02d}${_DUMMY_SALT_AND_DIGEST}".encode()
    return _DUMMY[rounds]


def cost_of(hashed: str) -> int:
    """The cost factor stored in a bcrypt hash ($2b$12$...)."""
    return int(hashed.split("$")[2])
