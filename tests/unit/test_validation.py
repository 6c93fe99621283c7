"""lib.validation: anything that is not exactly the expected type or size is a 400 naming the field."""

from __future__ import annotations

import pytest
from bson import ObjectId

from lib import validation
from lib.errors import ApiError

NOT_STRINGS = [{"$ne": None}, {"$gt": ""}, ["a"], [], {}, 1, 1.5, True]


def error(fn, *args, **kw) -> ApiError:
    with pytest.raises(ApiError) as info:
        fn(*args, **kw)
    return info.value


def test_only_passes_known_fields_and_names_the_first_unknown():
    body = {"a": 1, "b": 2}
    assert validation.only(body, {"a", "b", "c"}) is body
    err = error(validation.only, {"a": 1, "zz": 2, "$where": 3}, {"a"})
    assert (err.status, err.code, err.extra["field"]) == (400, "unknown_field", "$where")
    assert "Allowed: a" in err.message


def test_string_trims_and_returns():
    assert validation.string({"n": "  Ada \n"}, "n", max_len=10) == "Ada"
    assert validation.string({"n": "  Ada "}, "n", max_len=10, strip=False) == "  Ada "


@pytest.mark.parametrize("value", NOT_STRINGS)
def test_string_refuses_every_non_string(value):
    err = error(validation.string, {"n": value}, "n", max_len=10)
    assert (err.status, err.code, err.extra["field"]) == (400, "invalid_field", "n")


@pytest.mark.parametrize("body", [{}, {"n": None}, {"n": ""}, {"n": "   "}])
def test_string_required(body):
    err = error(validation.string, body, "n", max_len=10)
    assert (err.status, err.code) == (400, "missing_field")


def test_string_optional():
    assert validation.string({}, "n", max_len=10, required=False) is None
    assert validation.string({"n": None}, "n", max_len=10, required=False) is None
    assert validation.string({"n": " "}, "n", max_len=10, required=False, min_len=0) == ""
    assert error(validation.string, {"n": []}, "n", max_len=10, required=False).code == "invalid_field"


def test_string_length_limits_count_after_trimming():
    assert validation.string({"n": "x" * 10}, "n", max_len=10) == "x" * 10
    assert validation.string({"n": "  " + "x" * 10 + "  "}, "n", max_len=10) == "x" * 10
    err = error(validation.string, {"n": "x" * 11}, "n", max_len=10)
    assert (err.code, err.extra["field"]) == ("field_too_long", "n")
    assert error(validation.string, {"n": "ab"}, "n", max_len=10, min_len=3).code == "invalid_field"


def test_string_refuses_nul():
    assert error(validation.string, {"n": "a\x00b"}, "n", max_len=10).code == "invalid_field"


@pytest.mark.parametrize("value", [True, False])
def test_boolean_accepts_booleans(value):
    assert validation.boolean({"b": value}, "b") is value


@pytest.mark.parametrize("value", [None, 0, 1, "true", "false", [], {"$ne": None}])
def test_boolean_refuses_everything_else(value):
    err = error(validation.boolean, {"b": value}, "b")
    assert (err.status, err.code, err.extra["field"]) == (400, "invalid_field", "b")


def test_boolean_missing():
    assert validation.boolean({}, "b") is None
    assert error(validation.boolean, {}, "b", required=True).code == "missing_field"


def test_integer():
    assert validation.integer({"i": 5}, "i", lo=1, hi=5) == 5
    assert validation.integer({}, "i", lo=1, hi=5, required=False) is None
    assert error(validation.integer, {}, "i", lo=1, hi=5).code == "missing_field"
    for bad in (True, 1.0, "3", [3], {"$gt": 0}):
        assert error(validation.integer, {"i": bad}, "i", lo=0, hi=5).code == "invalid_field"
    for out in (0, 6):
        assert error(validation.integer, {"i": out}, "i", lo=1, hi=5).code == "invalid_field"


@pytest.mark.parametrize("raw,expected", [
    ("ada@example.com", "ada@example.com"),
    ("  Ada.Lovelace@Example.COM \t", "ada.lovelace@example.com"),
    ("a+tag@sub.example.co.uk", "a+tag@sub.example.co.uk"),
])
def test_email_is_trimmed_and_lower_cased(raw, expected):
    assert validation.email({"email": raw}) == expected


@pytest.mark.parametrize("raw", ["", "ada", "ada@", "@example.com", "ada@example", "ada @example.com", "ada@exa mple.com",
                                 "ada@@example.com", "ada@-example.com", "ada@example.com\nBcc: x@y.com", "ada@example..com"])
def test_email_refuses_what_is_not_an_address(raw):
    err = error(validation.email, {"email": raw})
    assert err.status == 400 and err.code in ("invalid_email", "missing_field") and err.extra["field"] == "email"


@pytest.mark.parametrize("value", NOT_STRINGS + [None])
def test_email_refuses_non_strings(value):
    err = error(validation.email, {"email": value})
    assert err.status == 400 and err.code in ("invalid_field", "missing_field")


def test_email_has_a_length_limit():
    assert error(validation.email, {"email": "a" * 250 + "@example.com"}).code == "field_too_long"


def test_query_int():
    assert validation.query_int({}, "n", 7, 1, 10) == 7
    assert validation.query_int({"n": ""}, "n", 7, 1, 10) == 7
    assert validation.query_int({"n": "3"}, "n", 7, 1, 10) == 3
    for bad in ("x", "1.5", "0", "11"):
        err = error(validation.query_int, {"n": bad}, "n", 7, 1, 10)
        assert (err.status, err.code, err.extra["field"]) == (400, "invalid_parameter", "n")


def test_object_id():
    oid = ObjectId()
    assert validation.object_id(str(oid), "token") == oid
    for bad in ("nope", "", None, {"$ne": None}, 123):
        err = error(validation.object_id, bad, "token")
        assert (err.status, err.code) == (404, "not_found")
