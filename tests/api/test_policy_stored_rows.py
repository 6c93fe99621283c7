"""Privacy policy §4 and §1.3: a vision call stores neither the image nor the results.

What a call writes is exactly two rows: the request log's and the usage (ledger `use`) row.
Each may hold only the fields below, each a small scalar, so neither the image nor the
model's answer fits in anywhere. (The command-count tests leave the request log out.)

When another change adds a field, add it to the set here, after checking it cannot carry
an image or a result.
"""

from __future__ import annotations

import datetime

import bson
import pytest
from bson import ObjectId

from lib import db
from tests.fixtures.sentisight import ledger_rows
from tests.fixtures.vision_calls import CALL_KINDS, IMAGE_URL

# The fields each row may hold; the ones only some calls have are below, by kind of call.
REQUEST_LOG_FIELDS = frozenset({"_id", "request_id", "ip", "method", "path", "status", "user_agent", "referrer",
                                "duration_ms", "created_at", "user_id"})
USAGE_ROW_FIELDS = frozenset({"_id", "user_id", "kind", "model", "source", "credits", "status", "delta", "balance_after",
                              "created_at", "request_id", "latency_ms"})
EXTRA_FIELDS = {  # kind of call -> (request log, usage row)
    "dashboard upload": (frozenset(), frozenset()),
    "api upload": (frozenset({"token_id"}), frozenset({"token_id", "token_name"})),
    "api url": (frozenset({"token_id"}), frozenset({"token_id", "token_name", "image_url"})),  # §1.3: the URL of an API URL call
}
MAX_ROW_BYTES = 512  # BSON; today's rows are 190-280 bytes, an image or a result is far more
MAX_STRING_CHARS = 64  # the longest string the test sends is the image URL (38 characters)
SCALARS = (str, int, float, bool, datetime.datetime, ObjectId, type(None))
BROWSER = {"user-agent": "Policy test browser", "referer": "http://testserver/dashboard"}


def assert_small_scalars(row: dict) -> None:
    assert len(bson.encode(row)) <= MAX_ROW_BYTES, row
    for key, value in row.items():
        assert isinstance(value, SCALARS), f"{key} holds a {type(value).__name__}"
        assert not isinstance(value, str) or len(value) <= MAX_STRING_CHARS, f"{key} holds {len(value)} characters"


@pytest.mark.parametrize("kind", CALL_KINDS)
@pytest.mark.parametrize("model", ["object-detection", "background-removal"])
def test_a_vision_call_stores_only_its_request_log_and_usage_fields(vision_call, user, kind, model):
    r = vision_call(kind, model, headers=BROWSER)
    assert r.status_code == 200, r.text
    log_extra, usage_extra = EXTRA_FIELDS[kind]

    log_row = db.collection("request_log").find_one({"request_id": r.headers["x-request-id"]})
    assert set(log_row) == REQUEST_LOG_FIELDS | log_extra
    assert_small_scalars(log_row)

    [use] = ledger_rows(user, "use")
    assert set(use) == USAGE_ROW_FIELDS | usage_extra
    assert_small_scalars(use)
    assert (use["model"], use["source"]) == (model, "dashboard" if kind == "dashboard upload" else "api")
    assert use.get("image_url") == (IMAGE_URL if kind == "api url" else None)


@pytest.mark.parametrize("kind", CALL_KINDS)
def test_a_vision_call_writes_to_no_other_collection(vision_call, user, kind, mongo_commands):
    assert vision_call(kind).status_code == 200
    written = {target for name, target in mongo_commands.commands if name in ("insert", "update", "findAndModify", "delete")}
    assert written <= {"tokens", "users", "ledger", "request_log"}
