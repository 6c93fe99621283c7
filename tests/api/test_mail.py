"""lib.mail: text + HTML parts, SES (under moto) or the outbox + console, preferences, failures."""

from __future__ import annotations

import logging
import re

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from lib import db, mail
from tests.fixtures.accounts import PASSWORD, sign_up

SENDER = "no-reply@nexuspoint.ai"  # the default MAIL_FROM is "NexusPoint <no-reply@nexuspoint.ai>"
ALL_OFF = {"email": False, "usage_alerts": False, "security_alerts": False, "marketing": False}
ALL_ON = {"email": True, "usage_alerts": True, "security_alerts": True, "marketing": True}
TEMPLATES = {
    "welcome": {"first_name": "Ada", "credits_line": "It holds 50 free credits."},
    "password_changed": {"first_name": "Ada", "sessions_line": "Every session was signed out.", "tokens_line": "Your API tokens were kept."},
    "password_reset": {"first_name": "Ada", "reset_url": "http://testserver/reset?token=abc_DEF-123"},
    "two_factor_changed": {"first_name": "Ada", "state": "on", "ip": "192.0.2.1", "what_it_means": "Codes are needed."},
}


def outbox(**query) -> list[dict]:
    return list(db.collection("outbox").find(query).sort("created_at", 1))


# --- templates ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_each_template_renders_a_subject_a_category_and_both_parts(name):
    subject, category, text, body_html = mail.render(name, **TEMPLATES[name])
    assert subject and "\n" not in subject and "$" not in subject
    assert category in mail.CATEGORY_PREF
    assert "Hi Ada," in text and "$" not in text and text.endswith("\n")
    assert body_html.startswith("<!doctype html>") and "Hi Ada," in body_html and "$" not in body_html
    for url in re.findall(r"https?://\S+", text):
        assert f'<a href="{url}">{url}</a>' in body_html


def test_categories_of_the_account_mails():
    assert mail.render("welcome", **TEMPLATES["welcome"])[1] == "email"
    assert mail.render("password_changed", **TEMPLATES["password_changed"])[1] == "security"
    assert mail.render("password_reset", **TEMPLATES["password_reset"])[1] == "essential"


def test_the_reset_mail_carries_the_link_and_says_one_hour():
    subject, _, text, body_html = mail.render("password_reset", **TEMPLATES["password_reset"])
    assert "http://testserver/reset?token=abc_DEF-123" in text and "one hour" in text and "works once" in text
    assert '<a href="http://testserver/reset?token=abc_DEF-123">' in body_html


def test_user_text_is_escaped_in_html_and_subjects_stay_on_one_line():
    subject, _, text, body_html = mail.render("welcome", first_name='<b onclick="x">Ada</b> & Co\r\nBcc: eve@example.com', credits_line="")
    assert "<b " not in body_html and "&lt;b onclick=&quot;x&quot;&gt;Ada&lt;/b&gt; &amp; Co" in body_html
    assert "\r" not in subject and "\n" not in subject
    assert "Bcc: eve@example.com" in subject  # kept as harmless text, never a header of its own


# --- which mail may go out --------------------------------------------------------------------

@pytest.mark.parametrize("category,prefs,expected", [
    ("essential", ALL_OFF, True),
    ("essential", None, True),
    ("security", None, True),
    ("security", {"security_alerts": True}, True),
    ("security", {**ALL_ON, "security_alerts": False}, False),
    ("security", {**ALL_OFF, "security_alerts": True}, True),
    ("email", {"email": False}, False),
    ("email", {}, True),
    ("usage", {"usage_alerts": False}, False),
    ("usage", None, True),
    ("marketing", None, False),
    ("marketing", {}, False),
    ("marketing", {"marketing": False}, False),
    ("marketing", ALL_ON, True),
])
def test_allowed(category, prefs, expected):
    assert mail.allowed(category, prefs) is expected


@pytest.fixture
def marketing_template(tmp_path, monkeypatch):
    """A marketing-category template (none ships yet) next to copies of the real ones."""
    for source in mail.TEMPLATES.glob("*.txt"):
        (tmp_path / source.name).write_text(source.read_text())
    (tmp_path / "spring_offer.txt").write_text("Subject: Spring offer\nCategory: marketing\n\nHi $first_name, 20% more credits: $site_url/pricing\n")
    monkeypatch.setattr(mail, "TEMPLATES", tmp_path)
    return "spring_offer"


def test_marketing_mail_goes_only_to_those_who_turned_it_on(database, marketing_template):
    assert mail.send("a@example.com", marketing_template, prefs=None, first_name="A") is False
    assert mail.send("b@example.com", marketing_template, prefs={"email": True, "marketing": False}, first_name="B") is False
    assert mail.send("c@example.com", marketing_template, prefs={"marketing": True}, first_name="C") is True
    assert [m["to"] for m in outbox()] == ["c@example.com"]


def test_a_new_account_gets_no_marketing_until_it_opts_in(client, user, marketing_template):
    prefs = db.collection("users").find_one({"email": user["email"]})["notifications"]
    assert mail.send(user["email"], marketing_template, prefs=prefs, first_name="Ada") is False
    client.patch("/api/account/profile", json={"notifications": {"marketing": True}})
    prefs = db.collection("users").find_one({"email": user["email"]})["notifications"]
    assert mail.send(user["email"], marketing_template, prefs=prefs, first_name="Ada") is True


def test_security_alerts_off_silences_the_password_changed_mail(client, user):
    client.patch("/api/account/profile", json={"notifications": {"security_alerts": False}})
    assert client.post("/api/auth/password", json={"current_password": PASSWORD, "new_password": "a brand new secret"}).status_code == 204
    assert not outbox(template="password_changed")


def test_security_alerts_go_out_even_with_other_mail_off(client, user):
    client.patch("/api/account/profile", json={"notifications": {"email": False, "usage_alerts": False, "marketing": False}})
    client.post("/api/auth/password", json={"current_password": PASSWORD, "new_password": "a brand new secret"})
    assert [m["to"] for m in outbox(template="password_changed")] == [user["email"]]


def test_the_reset_mail_ignores_preferences(client, anon, user):
    client.patch("/api/account/profile", json={"notifications": {k: False for k in ALL_OFF}})
    anon.post("/api/auth/forgot", json={"email": user["email"]})
    assert [m["to"] for m in outbox(template="password_reset")] == [user["email"]]


# --- the outbox (local) -----------------------------------------------------------------------

def test_the_outbox_keeps_the_mail_and_the_console_shows_subject_and_link(client, anon, user, capsys):
    capsys.readouterr()
    anon.post("/api/auth/forgot", json={"email": user["email"]})
    [row] = outbox(template="password_reset")
    assert row["to"] == user["email"] and row["subject"] == "Reset your NexusPoint password"
    assert row["created_at"].tzinfo is not None
    link = re.search(r"http://testserver/reset#token=\S+", row["text"]).group(0)
    assert f'<a href="{link}">' in row["html"]
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[mail]")]
    assert lines == [f"[mail] to {user['email']}: Reset your NexusPoint password  {link}"]


def test_a_failing_outbox_is_logged_and_does_not_fail_the_request(client, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("outbox unavailable")

    monkeypatch.setattr(mail, "_send_outbox", broken)
    with caplog.at_level(logging.ERROR, logger="nexuspoint.mail"):
        user = sign_up(client, email="quiet@example.com", verify=False)
    assert user["email"] == "quiet@example.com" and client.get("/api/auth/me").status_code == 200
    [record] = [r for r in caplog.records if r.name == "nexuspoint.mail"]
    assert record.levelno == logging.ERROR and record.exc_info and "verify_email" in record.getMessage()


def test_an_unknown_template_is_a_logged_false_not_an_exception(database, caplog):
    assert mail.send("a@example.com", "no_such_template") is False
    assert any(r.name == "nexuspoint.mail" for r in caplog.records)


# --- Amazon SES (under moto) --------------------------------------------------------------------

@pytest.fixture
def ses(settings, monkeypatch):
    """MAIL_BACKEND=ses against moto; yields (moto's SES backend, the SendEmail parameters we sent)."""
    settings(MAIL_BACKEND="ses", AWS_REGION="eu-west-1")
    sent_params: list[dict] = []
    real_client = boto3.client

    def client(*args, **kwargs):
        made = real_client(*args, **kwargs)
        made.meta.events.register("provide-client-params.ses.SendEmail", lambda params, **_: sent_params.append(params))
        return made

    with mock_aws():
        monkeypatch.setattr(boto3, "client", client)
        yield ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"], sent_params


def verify_sender():
    boto3.client("ses", region_name="eu-west-1").verify_email_identity(EmailAddress=SENDER)


def test_ses_sends_the_verification_then_the_welcome_mail_with_text_and_html(client, ses):
    backend, params = ses
    verify_sender()
    sign_up(client, email="ses@example.com", verify=False)
    [verification] = backend.sent_messages
    token = re.search(r"http://testserver/verify#token=([A-Za-z0-9_\-]+)", verification.body).group(1)
    assert client.post("/api/auth/verify", json={"token": token}).json()["user"]["credits"] == 50
    params.pop(0)
    message = backend.sent_messages[1]
    assert message.destinations["ToAddresses"] == ["ses@example.com"]
    assert message.subject == "Welcome to NexusPoint, Ada" and SENDER in message.source
    assert "http://testserver/dashboard" in message.body
    [sent] = params
    assert sent["Source"] == "NexusPoint <no-reply@nexuspoint.ai>"
    body = sent["Message"]["Body"]
    assert "50 free credits" in body["Text"]["Data"] and "<p>" not in body["Text"]["Data"]
    assert body["Html"]["Data"].startswith("<!doctype html>") and "50 free credits" in body["Html"]["Data"]
    assert sent["Message"]["Subject"]["Charset"] == body["Text"]["Charset"] == body["Html"]["Charset"] == "UTF-8"
    assert not outbox()  # SES instead of the outbox, not as well


def test_ses_carries_the_reset_link(client, anon, user, ses):
    backend, params = ses
    verify_sender()
    assert anon.post("/api/auth/forgot", json={"email": user["email"]}).status_code == 202
    [message] = backend.sent_messages
    assert message.subject == "Reset your NexusPoint password"
    assert re.search(r'<a href="http://testserver/reset#token=[A-Za-z0-9_\-]+">', message.body)
    assert re.search(r"http://testserver/reset#token=[A-Za-z0-9_\-]+", params[0]["Message"]["Body"]["Text"]["Data"])


def test_an_ses_failure_never_fails_the_request_and_is_logged(client, ses, caplog):
    backend, _ = ses  # the sender is not verified: SES answers MessageRejected
    with caplog.at_level(logging.ERROR, logger="nexuspoint.mail"):
        r = client.post("/api/auth/register", json={"first_name": "Ada", "last_name": "L", "email": "fail@example.com", "password": PASSWORD,
                                                    "age_confirmed": True})
    assert r.status_code == 201 and r.json()["user"]["email"] == "fail@example.com"
    assert client.get("/api/auth/me").status_code == 200
    assert backend.sent_messages == [] and not outbox()
    [record] = [r for r in caplog.records if r.name == "nexuspoint.mail"]
    assert record.exc_info and "MessageRejected" in caplog.text


def test_an_ses_failure_during_reset_still_answers_202(client, anon, user, ses, caplog):
    backend, params = ses  # the sender is not verified: SES answers MessageRejected
    with caplog.at_level(logging.ERROR, logger="nexuspoint.mail"):
        assert anon.post("/api/auth/forgot", json={"email": user["email"]}).status_code == 202
    [attempt] = params  # the reset mail was handed to SES...
    assert attempt["Destination"] == {"ToAddresses": [user["email"]]} and "/reset" in attempt["Message"]["Body"]["Text"]["Data"]
    assert backend.sent_messages == []  # ...which refused it, and the refusal is in the log
    [record] = [r for r in caplog.records if r.name == "nexuspoint.mail"]
    assert record.exc_info and "'password_reset'" in record.getMessage() and "MessageRejected" in caplog.text


def test_plaintext_passwords_never_enter_a_mail(client, anon, ses):
    backend, params = ses
    verify_sender()
    sign_up(client, email="secret@example.com", password="Mail-Canary-Password-1", verify=False)
    client.post("/api/auth/password", json={"current_password": "Mail-Canary-Password-1", "new_password": "Mail-Canary-Password-2"})
    assert len(params) == 2
    assert "Mail-Canary" not in repr(params) and "Mail-Canary" not in repr([vars(m) for m in backend.sent_messages])
