"""POST /api/account/email: move an account to another address (the right to rectification, policy §8).

The password proves it's the owner; a link mailed to the new address proves
that address (lib/accounts/verification.verify makes the change); the old
address then gets a notice. Nothing changes until the link is followed.
"""

from __future__ import annotations

from lib import mail, ratelimit, validation
from lib.accounts import credentials, find_by_email
from lib.accounts.verification import issue_link
from lib.errors import bad_request, conflict
from lib.http import Response, load_user

MAILS_PER_HOUR = 5
MAIL_WINDOW = 3600


def request_change(req) -> Response:
    body = validation.only(req.json(), {"password", "new_email"})
    new_email = validation.email(body, "new_email")
    user = load_user(req)
    credentials.check_password(user, body)
    if new_email == user["email"]:
        raise bad_request("same_email", "That is already your email address.", field="new_email")
    # Counted before the lookup: otherwise the answer would tell whether any number of addresses have accounts.
    ratelimit.enforce(mail_key(user["_id"]), MAILS_PER_HOUR, MAIL_WINDOW,
                      "Too many confirmation mails. Wait an hour and try again.")
    if find_by_email(new_email):
        raise conflict("email_taken", "Another account uses this email address.", field="new_email")
    # No name or other typed text: the new address is not proven yet and may be a stranger's.
    mail.send(new_email, "email_change_confirm", verify_url=issue_link(user, "email_change", new_email))
    return Response.json({"message": f"Open the link we sent to {new_email} to confirm it.", "pending_email": new_email}, 202)


def mail_key(user_id) -> str:
    return f"email-change-mail:{user_id}"
