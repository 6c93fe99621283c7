"""Alerts people set: their own low-credit threshold (Settings) and the alert at 0 credits."""

from bson import ObjectId

from lib import credits, db
from tests.api.test_vision_credits import post_image, set_balance


def mails(user: dict, template: str) -> list[dict]:
    return list(db.collection("outbox").find({"template": template, "to": user["email"]}))


def test_the_threshold_is_per_person_with_the_global_default(client, user):
    assert client.get("/api/account/alerts").json() == {"low_credit_threshold": 10}
    r = client.patch("/api/account/alerts", json={"low_credit_threshold": 30})
    assert r.status_code == 200 and r.json() == {"low_credit_threshold": 30}
    assert client.get("/api/account/alerts").json() == {"low_credit_threshold": 30}


def test_bad_thresholds_are_400(client, user):
    for body, code in (({"low_credit_threshold": -1}, "invalid_field"), ({"low_credit_threshold": 1_000_001}, "invalid_field"),
                       ({"low_credit_threshold": "5"}, "invalid_field"), ({"low_credit_threshold": {"$gt": 1}}, "invalid_field"),
                       ({"other": 1}, "unknown_field"), ({}, "missing_field")):
        r = client.patch("/api/account/alerts", json=body)
        assert r.status_code == 400 and r.error_code == code, body
    assert client.get("/api/account/alerts").json() == {"low_credit_threshold": 10}


def test_the_low_mail_uses_the_persons_threshold(client, user, sentisight):
    client.patch("/api/account/alerts", json={"low_credit_threshold": 30})
    set_balance(user, 31)
    post_image(client)  # 31 -> 29: below their 30 (the global 10 would stay silent)
    [mail] = mails(user, "low_credits")
    assert "29 credits" in mail["subject"] and "below 30" in mail["text"]


def test_a_second_alert_at_zero(client, user, sentisight):
    set_balance(user, 13)
    post_image(client)  # 13 -> 11: still above 10, no mail
    assert mails(user, "low_credits") == []
    post_image(client)  # 11 -> 9: the low alert
    post_image(client)  # 9 -> 7: already below, no second mail
    credits.adjust(ObjectId(user["id"]), -5, ObjectId(), "test: spend down to 2")
    post_image(client)  # 2 -> 0: the zero alert
    assert len(mails(user, "low_credits")) == 1
    [zero] = mails(user, "zero_credits")
    assert "0 credits" in zero["subject"]


def test_both_respect_usage_alerts(client, user, sentisight):
    db.collection("users").update_one({"_id": ObjectId(user["id"])}, {"$set": {"notifications.usage_alerts": False}})
    set_balance(user, 11)
    post_image(client)  # 11 -> 9: crosses 10, silenced
    credits.adjust(ObjectId(user["id"]), -7, ObjectId(), "test: spend down to 2")
    post_image(client)  # 2 -> 0: silenced too
    assert mails(user, "low_credits") == [] and mails(user, "zero_credits") == []


def test_no_alert_for_a_call_that_settle_refunded_before_it_was_recorded(client, user, sentisight, monkeypatch):
    """The call outlived its settlement (it answers free): the balance it crossed was given back, so nothing is mailed."""
    set_balance(user, 11)
    real = credits.succeed

    def settled_first(charge, **outcome):
        credits.fail(charge, "outcome_unknown")  # what settle does to an entry past SETTLE_AFTER
        return real(charge, **outcome)

    monkeypatch.setattr(credits, "succeed", settled_first)
    r = post_image(client)  # 11 -> 9 -> 11
    assert r.status_code == 200 and r.headers["x-credits-charged"] == "0"
    assert mails(user, "low_credits") == []
