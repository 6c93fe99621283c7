"""POST /api/contact: a message to support, stored in `messages`, with a confirmation mail.

Anyone may write, signed in or not. The confirmation repeats nothing the sender
typed (name, subject, text): the address is unverified, and echoing input would
let anyone send our mail with their words to a stranger.
"""

from __future__ import annotations

from datetime import UTC, datetime

from lib import db, mail, ratelimit, validation
from lib.http import Response
from lib.http.auth import optional_user

PER_IP_PER_HOUR = 5
MAILS_PER_ADDRESS_PER_DAY = 3  # confirmations to one address, whoever sends the messages
MAIL_WINDOW = 24 * 3600
TOO_MANY = "You have sent several messages in the last hour. Try again later, or write to support@nexuspoint.ai."
THANKS = "Thanks, your message has been sent. We aim to answer within 5 business days."


def mail_counter_key(email: str) -> str:
    """The rate-limit key counting confirmations to one address (account deletion clears it)."""
    return f"contact-mail:{email}"


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
    user = optional_user(req)  # a signed-in sender's message is linked to the account (export, deletion)
    if user:
        doc["user_id"] = user["_id"]
    doc["created_at"] = datetime.now(UTC)
    doc["_id"] = db.collection("messages").insert_one(doc).inserted_id
    reference = str(doc["_id"])[-8:].upper()
    sent_to_address, _ = ratelimit.hit(mail_counter_key(doc["email"]), MAIL_WINDOW)
    if sent_to_address <= MAILS_PER_ADDRESS_PER_DAY:
        mail.send(doc["email"], "contact_received", reference=reference)
    return Response.json({"id": doc["_id"], "reference": reference, "message": THANKS}, 201)
