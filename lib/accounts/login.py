"""Sign in, sign out, and who am I."""

from __future__ import annotations

from datetime import UTC, datetime

from bson import ObjectId

from lib import known_networks, passwords, ratelimit, sessions, validation
from lib.accounts import find_by_email, public_view, throttle, twofactor
from lib.errors import ApiError
from lib.http import Response, load_user

FAILURES_ALLOWED = 10
FAILURE_WINDOW = 15 * 60


def login(req) -> Response:
    body = validation.only(req.json(), {"email", "password"})
    email = validation.email(body)
    password = body.get("password")
    if not isinstance(password, str):
        raise ApiError(400, "invalid_field", "'password' must be a string.", field="password")
    succeeded = ratelimit.attempt(f"login:{email}:{req.client_ip}", FAILURES_ALLOWED, FAILURE_WINDOW,
                                  "Too many failed sign-in attempts. Wait a few minutes and try again.")
    user = find_by_email(email)
    # The owner's own network skips the account's throttle: a stranger's failures must not keep them out.
    # Anyone else meets it, the same for unknown addresses (no enumeration).
    owners = user is not None and known_networks.is_known(user, req.client_ip, datetime.now(UTC))
    account_succeeded = _nothing if owners else throttle.attempt(email)
    # verify() spends a hash's time even without a user, so both failures look alike.
    if not passwords.verify(password, user.get("password_hash") if user else None):
        raise ApiError(401, "invalid_credentials", "Wrong email or password.")
    succeeded()
    account_succeeded()
    if user.get("disabled"):
        raise ApiError(403, "account_disabled", "This account has been disabled. Contact support@nexuspoint.ai.")
    if twofactor.enabled(user):
        # Step one of two: no session yet, only a short-lived token to send back with the code.
        return Response.json({"two_factor_required": True, "login_token": sessions.pending_login_token(user),
                              "expires_in": sessions.PENDING_LOGIN_SECONDS})
    return Response.json({"user": public_view(user)}).set_cookie(sessions.start(user, req))


def _nothing() -> None:
    pass


def logout(req) -> Response:
    """End this session on the server too, so a copy of the cookie stops working at once."""
    claims = sessions.decode(req.cookies.get(sessions.COOKIE_NAME, ""))
    if claims is not None and ObjectId.is_valid(claims["sub"]):
        sessions.end(ObjectId(claims["sub"]), sessions.fingerprint(claims["sid"]))
    return Response.empty().set_cookie(sessions.clearing_cookie())


def me(req) -> dict:
    return {"user": public_view(load_user(req))}
