"""POST /api/account/email: move an account to another address (the right to rectification, policy §8).

The password proves it's the owner; a link mailed to the new address proves
that address (lib/accounts/verification.verify makes the change); the old
address then gets a notice. Nothing changes until the link is followed.
"""

from __future__ import annotations

from lib import mail, passwords, ratelimit, validation
from lib.accounts import find_by_email
from lib.accounts.verification import issue_link
from lib.errors import ApiError, bad_request, conflict
from lib.http import Response, load_user

ATTEMPTS_ALLOWED = 10  # wrong passwords per 15 minutes, as for a password change
ATTEMPT_WINDOW = 15 * 60
MAILS_PER_HOUR = 5
MAIL_WINDOW = 3600


def request_change(req) -> Response:
    body = validation.only(req.json(), {"password", "new_email"})
    new_email = validation.email(body, "new_email")
    user = load_user(req)
    password = body.get("password")
    succeeded = ratelimit.attempt(attempt_key(user["_id"]), ATTEMPTS_ALLOWED, ATTEMPT_WINDOW,
                                  "Too many wrong passwords. Wait a few minutes and try again.")
    if not isinstance(password, str) or not passwords.verify(password, user.get("password_hash")):
        raise ApiError(400, "wrong_password", "The password is not right.", field="password")
    succeeded()
    if new_email == user["email"]:
        raise bad_request("same_email", "That is already your email address.", field="new_email")
    if find_by_email(new_email):
        raise conflict("email_taken", "Another account uses this email address.", field="new_email")
    ratelimit.enforce(mail_key(user["_id"]), MAILS_PER_HOUR, MAIL_WINDOW,
                      "Too many confirmation mails. Wait an hour and try again.")
    # No name or other typed text: the new address is not proven yet and may be a stranger's.
    mail.send(new_email, "email_change_confirm", verify_url=issue_link(user, "email_change", new_email))
    return Response.json({"message": f"Open the link we sent to {new_email} to confirm it.", "pending_email": new_email}, 202)


def attempt_key(user_id) -> str:
    return f"email-change:{user_id}"


def mail_key(user_id) -> str:
    return f"email-change-mail:{user_id}"
