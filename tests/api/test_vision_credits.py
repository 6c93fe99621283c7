"""The bill under load and at the edges: the low-credit mail, the database round trips, 200 calls at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from bson import ObjectId

from lib import config, credits, db
from tests.fixtures.sentisight import image_bytes, ledger_rows

URL = "/api/vision/object-detection"  # 2 credits


def post_image(client, path: str = URL):
    return client.post(path, data=image_bytes(), headers={"content-type": "image/png"})


def set_balance(user: dict, target: int) -> None:
    credits.adjust(ObjectId(user["id"]), target - 50, ObjectId(), "test: set the starting balance")


def stored_user(user: dict) -> dict:
    return db.collection("users").find_one({"_id": ObjectId(user["id"])})


def low_credit_mails(user: dict) -> list[dict]:
    return list(db.collection("outbox").find({"template": "low_credits", "to": user["email"]}))


def test_one_mail_when_the_balance_crosses_the_threshold(client, user, sentisight):
    assert config.settings().low_credit_threshold == 10
    set_balance(user, 12)
    assert post_image(client).json()["credits_remaining"] == 10  # at the threshold: not below it yet
    assert low_credit_mails(user) == []
    assert post_image(client).json()["credits_remaining"] == 8
    [mail] = low_credit_mails(user)
    assert "8 credits" in mail["subject"] and "Ada" in mail["text"] and "/dashboard/billing" in mail["text"]
    post_image(client)
    assert len(low_credit_mails(user)) == 1  # already below: no second mail


def test_no_mail_when_usage_alerts_are_off(client, user, sentisight):
    db.collection("users").update_one({"_id": ObjectId(user["id"])}, {"$set": {"notifications.usage_alerts": False}})
    set_balance(user, 11)
    assert post_image(client).status_code == 200
    assert low_credit_mails(user) == []


def test_no_mail_for_a_failed_call(client, user, sentisight):
    set_balance(user, 11)
    sentisight.fail("http_500")
    assert post_image(client).status_code == 502
    assert low_credit_mails(user) == []


def test_a_dashboard_call_costs_two_database_commands(client, user, sentisight, mongo_commands):
    """The debit with its pending entry and the usage row; the caller check rides in the debit.

    The settled entry stays until the next debit, which drops it in its own write.
    """
    first = post_image(client)
    assert first.status_code == 200
    assert mongo_commands.counted() == ["findAndModify", "insert"]
    second = post_image(client)
    assert second.status_code == 200
    assert mongo_commands.counted() == ["findAndModify", "insert"] * 2
    assert [str(e["_id"]) for e in stored_user(user)["pending"]] == [second.json()["usage_id"]] != [first.json()["usage_id"]]
    assert credits.reconcile(ObjectId(user["id"])) == [] and credits.unsettled() == []


def test_a_process_remembering_too_many_accounts_pulls_the_entry_at_once(client, user, sentisight, mongo_commands, monkeypatch):
    monkeypatch.setattr(credits.calls, "MAX_REMEMBERED", 0)  # its memory of settled entries is full
    assert post_image(client).status_code == 200
    assert mongo_commands.counted() == ["findAndModify", "insert", "update"]
    assert stored_user(user)["pending"] == []


def test_two_hundred_calls_at_once_on_fifty_credits(client, user, sentisight, new_client, settings):
    # 200 threads on 2 cores: give the fake time to answer, so a slow reply isn't a (refunded) timeout.
    settings(SENTISIGHT_CONNECT_TIMEOUT=10, SENTISIGHT_READ_TIMEOUT=20)
    set_balance(user, 50)
    data = image_bytes()

    def one_call(_):
        own = new_client()
        own.cookies = dict(client.cookies)
        return own.post("/api/vision/general-classification", data=data, headers={"content-type": "image/png"}).status_code

    with ThreadPoolExecutor(max_workers=200) as pool:
        statuses = list(pool.map(one_call, range(200)))
    assert (statuses.count(200), statuses.count(402)) == (50, 150), statuses
    assert client.get("/api/auth/me").json()["user"]["credits"] == 0
    assert len([row for row in ledger_rows(user, "use") if row["status"] == "succeeded"]) == 50
    assert len(sentisight.requests) == 50

