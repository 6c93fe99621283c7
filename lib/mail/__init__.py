"""Transactional mail: Amazon SES in production, the local `outbox` otherwise.

`send(to, template, prefs=..., **context)` renders `templates/<name>.txt`
(a `Subject:` line, a `Category:` line, a blank line, the body with `$names`)
into a plain-text and an HTML part. The category decides which notification
preference may silence it; a mail failure never fails the request that sent it.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from pathlib import Path
from string import Template

from lib import config, db

log = logging.getLogger("nexuspoint.mail")
TEMPLATES = Path(__file__).parent / "templates"
# category -> the preference that must be on for it to go out (None: always sent)
CATEGORY_PREF = {"essential": None, "email": "email", "security": "security_alerts", "usage": "usage_alerts", "marketing": "marketing"}
URL = re.compile(r"https?://[^\s<>\"\ue000\ue001]+")
SLOT = re.compile(r"\ue000(\d+)\ue001")  # a context value kept out of the HTML's links (private-use marks)


def _is_link(name: str) -> bool:
    """Only our own links become <a>: `site_url` and values named `*_url`; never user text."""
    return name == "site_url" or name.endswith("_url")


def render(template: str, **context) -> tuple[str, str, str, str]:
    """(subject, category, text, html) of a template filled with `context`."""
    source = (TEMPLATES / f"{template}.txt").read_text()
    head, _, body = source.partition("\n\n")
    fields = dict(line.split(": ", 1) for line in head.splitlines())
    context = {"site_url": config.settings().site_url, **context}
    # One line whatever a user put in their name: a CR/LF must never start a header of its own.
    subject = " ".join(Template(fields["Subject"]).safe_substitute(context).split())
    text = Template(body).safe_substitute(context).strip() + "\n"
    # The HTML part links the template's URLs, with every other value put in afterwards as plain text,
    # so a name like "verify at https://evil.example" never becomes a link.
    import html  # here: its entity table costs ~1 ms at import, paid only by a function that sends mail

    values = [str(v) for v in context.values()]
    slotted = {k: (v if _is_link(k) else f"\ue000{i}\ue001") for i, (k, v) in enumerate(context.items())}
    escaped = html.escape(Template(body).safe_substitute(slotted).strip() + "\n")
    linked = URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)
    linked = SLOT.sub(lambda m: html.escape(values[int(m.group(1))]), linked)
    paragraphs = "".join(f"<p>{p.replace(chr(10), '<br>')}</p>" for p in linked.split("\n\n") if p.strip())
    return subject, fields.get("Category", "essential"), text, f"<!doctype html><html><body>{paragraphs}</body></html>"


def allowed(category: str, prefs: dict | None) -> bool:
    pref = CATEGORY_PREF[category]
    if pref is None:
        return True
    default = pref != "marketing"  # marketing is opt-in; the rest are on until turned off
    return bool((prefs or {}).get(pref, default))


def send(to: str, template: str, *, prefs: dict | None = None, **context) -> bool:
    """Render and send; returns whether a mail went out. Never raises."""
    try:
        subject, category, text, body_html = render(template, **context)
        if not allowed(category, prefs):
            return False
        if config.settings().mail_backend == "ses":
            _send_ses(to, subject, text, body_html)
        else:
            _send_outbox(to, template, subject, text, body_html)
        return True
    except Exception:
        log.exception("mail %r to a user could not be sent", template)
        return False


def _send_ses(to: str, subject: str, text: str, body_html: str) -> None:
    import boto3  # imported on use: most functions never send mail

    settings = config.settings()
    boto3.client("ses", region_name=settings.aws_region).send_email(
        Source=settings.mail_from,
        Destination={"ToAddresses": [to]},
        Message={
            "Subject": {"Data": subject, "Charset": "UTF-8"},
            "Body": {"Text": {"Data": text, "Charset": "UTF-8"}, "Html": {"Data": body_html, "Charset": "UTF-8"}},
        },
    )


def _send_outbox(to: str, template: str, subject: str, text: str, body_html: str) -> None:
    db.collection("outbox").insert_one({
        "to": to, "template": template, "subject": subject, "text": text, "html": body_html,
        "created_at": datetime.now(UTC),
    })
    links = " ".join(URL.findall(text))
    print(f"[mail] to {to}: {subject}" + (f"  {links}" if links else ""), flush=True)
