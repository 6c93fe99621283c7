"""`Idempotency-Key` on vision calls: a retry of a success is free, a different request is refused, a failure can be retried."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from bson import ObjectId

from lib import credits, db
from tests.fixtures.accounts import sign_up
from tests.fixtures.sentisight import image_bytes, ledger_rows
from tests.reliability.support import clone

URL = "/api/vision/general-classification"


def call(client, key: str | None, *, token: str | None = None, data: bytes | None = None, url: str = URL, **kw):
    headers = {"content-type": "image/png", **({"idempotency-key": key} if key is not None else {}), **kw.pop("headers", {})}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return client.post(url, data=data if data is not None else image_bytes(), headers=headers,
                       cookies=token is None, origin="default" if token is None else None, **kw)


def new_token(client, name: str) -> str:
    return client.post("/api/tokens", json={"name": name}).json()["token"]["secret"]


def balance(user) -> int:
    return db.collection("users").find_one({"_id": ObjectId(user["id"])})["credits"]


def test_a_repeat_is_free_from_any_token_or_session_of_the_account(client, user, sentisight):
    first = call(client, "order-42")
    assert first.status_code == 200 and first.headers["x-credits-charged"] == "1"
    assert "idempotent-replayed" not in first.headers
    ci, laptop = new_token(client, "ci"), new_token(client, "laptop")
    for repeat in (call(client, "order-42"), call(client, "order-42", token=ci), call(client, "order-42", token=laptop)):
        assert repeat.status_code == 200, repeat.text
        assert (repeat.headers["x-credits-charged"], repeat.headers["idempotent-replayed"]) == ("0", "true")
        assert repeat.json()["usage_id"] == first.json()["usage_id"] == repeat.headers["x-usage-id"]
        assert repeat.json()["credits_charged"] == 0 and repeat.json()["credits_remaining"] == 49
        assert repeat.json()["results"] == first.json()["results"]  # the model ran again: outputs are never stored
    assert balance(user) == 49 and len(ledger_rows(user, "use")) == 1 and len(sentisight.requests) == 4


def test_a_multipart_retry_with_a_new_boundary_is_the_same_request(client, user, sentisight):
    data = image_bytes()
    for boundary in ("first-boundary", "another-boundary"):
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n"
                ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
        r = call(client, "multipart", data=body, headers={"content-type": f"multipart/form-data; boundary={boundary}"})
        assert r.status_code == 200, r.text
    assert balance(user) == 49 and r.headers["idempotent-replayed"] == "true"


@pytest.mark.parametrize("change", ["another image", "another model", "another query"])
def test_the_same_key_for_another_request_is_422_and_charges_nothing(client, user, sentisight, change):
    assert call(client, "k1").status_code == 200
    r = {"another image": lambda: call(client, "k1", data=image_bytes(size=(80, 60))),
         "another model": lambda: call(client, "k1", url="/api/vision/places-classification"),
         "another query": lambda: call(client, "k1", url=URL + "?max_results=2")}[change]()
    assert (r.status_code, r.error_code) == (422, "idempotency_key_reused"), r.text
    assert balance(user) == 49 and len(sentisight.requests) == 1


def test_a_repeat_while_the_first_runs_is_409_with_retry_after(client, user, sentisight):
    sentisight.slow_seconds = 30
    sentisight.fail("slow")
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(call, client, "slow-one")
        deadline = time.monotonic() + 10
        while not db.collection("users").find_one({"_id": ObjectId(user["id"])}).get("pending"):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        r = call(client, "slow-one")
        assert (r.status_code, r.error_code, r.headers["retry-after"]) == (409, "idempotency_key_in_use", "1"), r.text
        sentisight.fail(None)
        sentisight._release.set()
        assert first.result().status_code == 200
    assert call(client, "slow-one").headers["idempotent-replayed"] == "true" and balance(user) == 49


def test_after_a_failed_call_the_key_starts_a_new_attempt(client, user, sentisight):
    sentisight.fail("http_500")
    failed = call(client, "try-again")
    assert failed.status_code == 502 and balance(user) == 50
    sentisight.fail(None)
    retried = call(client, "try-again")
    assert retried.status_code == 200 and retried.headers["x-credits-charged"] == "1" and "idempotent-replayed" not in retried.headers
    assert balance(user) == 49 and credits.reconcile(ObjectId(user["id"])) == []


def test_a_refusal_before_the_charge_frees_the_key(client, user, sentisight):
    db.collection("users").update_one({"_id": ObjectId(user["id"])}, {"$set": {"credits": 0}})
    db.collection("ledger").insert_one({"user_id": ObjectId(user["id"]), "kind": "adjustment", "delta": -50, "created_at": credits.ledger._now()})
    assert call(client, "broke").error_code == "insufficient_credits"
    credits.grant(ObjectId(user["id"]), 5, "purchase", payment_id=ObjectId())
    r = call(client, "broke")
    assert r.status_code == 200 and r.headers["x-credits-charged"] == "1" and balance(user) == 4


def test_twenty_concurrent_repeats_from_two_tokens_and_a_session_are_charged_once(client, user, sentisight):
    gate = threading.Barrier(20)
    senders = [None, new_token(client, "worker a"), new_token(client, "worker b")]

    def one(i):
        own = clone(client)
        gate.wait()
        return call(own, "burst", token=senders[i % 3])

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(one, range(20)))
    statuses = [r.status_code for r in answers]
    assert set(statuses) <= {200, 409} and statuses.count(200) >= 1, statuses
    assert sum(int(r.headers.get("x-credits-charged", "0")) for r in answers) == 1
    assert balance(user) == 49 and len([row for row in ledger_rows(user, "use") if row["status"] == "succeeded"]) == 1
    assert {r.error_code for r in answers if r.status_code == 409} <= {"idempotency_key_in_use"}


def test_keys_are_per_account_and_expire_after_24_hours(client, user, new_client, sentisight):
    assert call(client, "shared-name").status_code == 200
    other = new_client()
    sign_up(other, email="other@example.com")
    r = call(other, "shared-name")
    assert r.status_code == 200 and r.headers["x-credits-charged"] == "1"  # another account's key is another key
    db.collection("idempotency_keys").update_many({"user_id": ObjectId(user["id"])}, {"$set": {
        "created_at": credits.ledger._now() - timedelta(hours=24, seconds=1)}})
    again = call(client, "shared-name")
    assert again.headers["x-credits-charged"] == "1" and balance(user) == 48


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "tab\there", "new\nline"])
def test_a_malformed_key_is_400_and_charges_nothing(client, user, sentisight, key):
    r = call(client, None, headers={"idempotency-key": key})
    assert (r.status_code, r.error_code) == (400, "invalid_idempotency_key"), r.text
    assert r.json()["error"]["field"] == "Idempotency-Key" and balance(user) == 50 and sentisight.requests == []


def test_a_call_without_a_key_costs_no_extra_command_and_a_keyed_one_costs_one(client, user, sentisight, mongo_commands):
    assert call(client, None).status_code == 200
    plain = mongo_commands.counted()
    mongo_commands.commands.clear()
    assert call(client, "one-more").status_code == 200
    assert mongo_commands.counted() == ["insert", *plain]
