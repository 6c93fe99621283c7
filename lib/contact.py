"""POST /api/contact: a message to support, stored in `messages`, with a confirmation mail.

Anyone may write, signed in or not. The confirmation repeats nothing the sender
typed (name, subject, text): the address is unverified, and echoing input would
let anyone send our mail with their words to a stranger.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bson import ObjectId
from bson.errors import InvalidId

from lib import db, mail, ratelimit, sessions, validation
from lib.http import Response

PER_IP_PER_HOUR = 5
MAILS_PER_ADDRESS_PER_DAY = 3  # confirmations to one address, whoever sends the messages
MAIL_WINDOW = 24 * 3600
TOO_MANY = "You have sent several messages in the last hour. Try again later, or write to support@nexuspoint.ai."
THANKS = "Thanks, your message has been sent. We aim to answer within 5 business days."


def mail_counter_key(email: str) -> str:
    """The rate-limit key counting confirmations to one address (account deletion clears it)."""
    return f"contact-mail:{email}"


def _signed_in_user_id(req) -> ObjectId | None:
    """The sender's account when a current session cookie came along; otherwise None."""
    raw = req.cookies.get(sessions.COOKIE_NAME)
    claims = sessions.decode(raw) if raw else None
    if not claims:
        return None
    try:
        uid = ObjectId(claims["sub"])
    except InvalidId:
        return None
    user = db.collection("users").find_one({"_id": uid}, {"session_version": 1, "disabled": 1})
    if not user or user.get("disabled") or user.get("session_version", 0) != claims["sv"]:
        return None
    return uid


def submit(req) -> Response:
    body = validation.only(req.json(), {"name", "email", "subject", "message"})
    doc = {
        "name": validation.string(body, "name", max_len=100),
        "email": validation.email(body),
        "subject": validation.string(body, "subject", max_len=150, min_len=0, required=False) or "",
        "message": validation.string(body, "message", max_len=5000, multiline=True),
    }
    # Counted after validation: only messages that would be stored and mailed use up the allowance.
    ratelimit.enforce(f"contact:{req.client_ip}", PER_IP_PER_HOUR, 3600, TOO_MANY)
    user_id = _signed_in_user_id(req)
    if user_id:
        doc["user_id"] = user_id
    doc["created_at"] = datetime.now(UTC)
    doc["_id"] = db.collection("messages").insert_one(doc).inserted_id
    reference = str(doc["_id"])[-8:].upper()
    sent_to_address, _ = ratelimit.hit(mail_counter_key(doc["email"]), MAIL_WINDOW)
    if sent_to_address <= MAILS_PER_ADDRESS_PER_DAY:
        mail.send(doc["email"], "contact_received", reference=reference)
    return Response.json({"id": doc["_id"], "reference": reference, "message": THANKS}, 201)
