"""Two-factor sign-in: TOTP (RFC 6238, pyotp) with 10 single-use recovery codes.

users.two_factor = {secret, enabled_at, last_step, recovery (SHA-256 of each unused code)};
users.two_factor_pending = {secret, created_at} between "set up" and "enable".
Each TOTP step is accepted once (last_step), each recovery code once ($pull), both
by a conditional update, so a code seen over a shoulder can't be replayed.
"""

from __future__ import annotations

import re
import secrets
import time
from datetime import UTC, datetime

from bson import ObjectId

from lib import db, mail, ratelimit, sessions, validation
from lib.accounts import credentials, public_view
from lib.accounts.verification import greeting_name
from lib.digest import sha256_hex
from lib.errors import ApiError, bad_request, conflict
from lib.http import Response, load_user

ISSUER = "NexusPoint"
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper
CODE_ATTEMPTS_ALLOWED = 5
CODE_ATTEMPT_WINDOW = 15 * 60
USED_LOGINS_KEPT = 20  # ids of spent login tokens; they expire in 5 minutes, so the newest 20 cover any real account
CODE_PATTERN = re.compile(r"^\d{6}$")
RECOVERY_PATTERN = re.compile(rf"^[{RECOVERY_ALPHABET}]{{5}}-[{RECOVERY_ALPHABET}]{{5}}$")


def enabled(user: dict) -> bool:
    return bool(user.get("two_factor"))


def code_attempt_key(user_id) -> str:
    return f"2fa-code:{user_id}"


def read_code(body: dict) -> str:
    """The `code` field: six digits (spaces allowed) or a recovery code like `abcde-fghjk`."""
    code = validation.string(body, "code", max_len=40).replace(" ", "").lower()
    if not (CODE_PATTERN.match(code) or RECOVERY_PATTERN.match(code)):
        raise bad_request("invalid_field", "Enter the 6-digit code from your authenticator app, or one of your recovery codes.", field="code")
    return code


def _totp_step(secret: str, code: str) -> int | None:
    """The time step a 6-digit code belongs to (the current one, or one either side for clock drift)."""
    if not CODE_PATTERN.match(code):
        return None
    import pyotp  # here and in setup: a sign-in without two-factor never loads it (bench.cold_start)

    totp = pyotp.TOTP(secret)
    now = time.time()
    for offset in (0, -1, 1):
        if secrets.compare_digest(totp.at(now, counter_offset=offset), code):
            return totp.timecode(now) + offset
    return None


def use_code(user: dict, code: str, login: str | None = None) -> bool:
    """Spend a TOTP code or a recovery code of an account with two-factor on; False if wrong or already used.

    `login`: the sign-in's login-token id, spent in the same write, so one password step gives one session.
    """
    users = db.collection("users")
    guard = {"two_factor.used_logins": {"$ne": login}} if login else {}
    spent = {"$push": {"two_factor.used_logins": {"$each": [login], "$slice": -USED_LOGINS_KEPT}}} if login else {}
    step = _totp_step(user["two_factor"]["secret"], code)
    if step is not None:
        return users.update_one(
            {"_id": user["_id"], "two_factor.last_step": {"$lt": step}, **guard}, {"$set": {"two_factor.last_step": step}, **spent},
        ).modified_count == 1
    if RECOVERY_PATTERN.match(code):
        hashed = sha256_hex(code)
        return users.update_one(
            {"_id": user["_id"], "two_factor.recovery": hashed, **guard}, {"$pull": {"two_factor.recovery": hashed}, **spent},
        ).modified_count == 1
    return False


def check_code(user: dict, code: str, spend=use_code):
    """`spend(user, code)` (falsy for a wrong code), counted per account across IPs: 429 after CODE_ATTEMPTS_ALLOWED wrong codes."""
    succeeded = ratelimit.attempt(code_attempt_key(user["_id"]), CODE_ATTEMPTS_ALLOWED, CODE_ATTEMPT_WINDOW,
                                  "Too many wrong codes. Wait a few minutes and try again.")
    spent = spend(user, code)
    if not spent:
        raise bad_request("wrong_code", "That code is not right, or was already used. Enter the current code from your app.", field="code")
    succeeded()
    return spent


def _qr_svg(uri: str) -> str:
    import segno  # only this route draws QR codes

    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def status(req) -> dict:
    user = load_user(req)
    two_factor = user.get("two_factor") or {}
    return {"enabled": enabled(user), "enabled_at": two_factor.get("enabled_at"),
            "recovery_codes_left": len(two_factor.get("recovery", ())) if two_factor else None}


def setup(req) -> dict:
    """A new secret to scan (QR code drawn here, never by a third party); nothing is on until `enable`."""
    user = load_user(req)
    if enabled(user):
        raise conflict("two_factor_already_enabled", "Two-factor sign-in is already on. Turn it off first to set up a new app.")
    import pyotp

    secret = pyotp.random_base32()
    db.collection("users").update_one({"_id": user["_id"]},
                                      {"$set": {"two_factor_pending": {"secret": secret, "created_at": datetime.now(UTC)}}})
    uri = pyotp.TOTP(secret).provisioning_uri(name=user["email"], issuer_name=ISSUER)
    return {"secret": secret, "otpauth_uri": uri, "qr_svg": _qr_svg(uri)}


def _tell(user: dict, req, on: bool) -> None:
    meaning = ("Signing in now asks for a code from your authenticator app, or one of your 10 recovery codes." if on
               else "Signing in now needs only your password.")
    mail.send(user["email"], "two_factor_changed", prefs=user.get("notifications"), first_name=greeting_name(user),
              state="on" if on else "off", ip=req.client_ip or "unknown", what_it_means=meaning)


def _recovery_codes() -> list[str]:
    def one() -> str:
        chars = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(10))
        return f"{chars[:5]}-{chars[5:]}"

    return [one() for _ in range(RECOVERY_CODES)]


def enable(req) -> dict:
    """Turn two-factor on with the password and a code from the app just set up; answers the recovery codes, once."""
    body = validation.only(req.json(), {"password", "code"})
    user = load_user(req)
    code = read_code(body)
    if enabled(user):
        raise conflict("two_factor_already_enabled", "Two-factor sign-in is already on.")
    pending = user.get("two_factor_pending")
    if not pending:
        raise bad_request("two_factor_not_set_up", "Start with 'Set up two-factor sign-in' to get a QR code, then enter its code.")
    credentials.check_password(user, body)
    step = check_code(user, code, lambda _, c: _totp_step(pending["secret"], c))  # a step number, never 0 since 1970
    codes = _recovery_codes()
    record = {"secret": pending["secret"], "enabled_at": datetime.now(UTC), "last_step": step,
              "recovery": [sha256_hex(c) for c in codes]}
    # Conditional on the same pending secret: a second setup in between makes this one fail, not mix.
    done = db.collection("users").update_one(
        {"_id": user["_id"], "two_factor_pending.secret": pending["secret"], "two_factor": None},
        {"$set": {"two_factor": record}, "$unset": {"two_factor_pending": ""}},
    ).modified_count
    if not done:
        raise conflict("two_factor_changed", "Two-factor settings changed in another window. Reload and try again.")
    _tell(user, req, True)
    return {"enabled": True, "recovery_codes": codes}


def disable(req) -> dict:
    """Turn two-factor off with the password and a current code (or a recovery code)."""
    body = validation.only(req.json(), {"password", "code"})
    user = load_user(req)
    code = read_code(body)
    if not enabled(user):
        raise bad_request("two_factor_not_enabled", "Two-factor sign-in is not on.")
    credentials.check_password(user, body)
    check_code(user, code)
    db.collection("users").update_one({"_id": user["_id"]}, {"$unset": {"two_factor": "", "two_factor_pending": ""}})
    _tell(user, req, False)
    return {"enabled": False}


def login_with_code(req) -> Response:
    """The second step of a sign-in with two-factor on: the login token from step one, and a code."""
    body = validation.only(req.json(), {"login_token", "code"})
    token = validation.string(body, "login_token", max_len=1000)
    code = read_code(body)
    claims = sessions.pending_login_claims(token)
    # `sub` was signed by us: always an id.
    user = db.collection("users").find_one({"_id": ObjectId(claims["sub"])}) if claims else None
    if (not user or not enabled(user) or not sessions.password_fingerprint_matches(claims, user)
            or claims["jti"] in user["two_factor"].get("used_logins", ())):
        raise bad_request("invalid_login_token", "This sign-in has expired or is not valid. Enter your email and password again.",
                          field="login_token")
    check_code(user, code, lambda u, c: use_code(u, c, login=claims["jti"]))
    if user.get("disabled"):
        raise ApiError(403, "account_disabled", "This account has been disabled. Contact support@nexuspoint.ai.")
    return Response.json({"user": public_view(user)}).set_cookie(sessions.start(user, req))
