"""Sign in, sign out, and who am I."""

from __future__ import annotations

from lib import passwords, ratelimit, sessions, validation
from lib.accounts import find_by_email, public_view
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
    # verify() spends a hash's time even without a user, so both failures look alike.
    if not passwords.verify(password, user.get("password_hash") if user else None):
        raise ApiError(401, "invalid_credentials", "Wrong email or password.")
    succeeded()
    if user.get("disabled"):
        raise ApiError(403, "account_disabled", "This account has been disabled. Contact support@nexuspoint.ai.")
    return Response.json({"user": public_view(user)}).set_cookie(sessions.cookie_for(user))


def logout(req) -> Response:
    return Response.empty().set_cookie(sessions.clearing_cookie())


def me(req) -> dict:
    return {"user": public_view(load_user(req))}
