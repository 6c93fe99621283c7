"""lib.passwords: bcrypt at 12 rounds, 8 to 72 bytes, never truncated, failures that look alike."""

from __future__ import annotations

import bcrypt
import pytest

from lib import passwords
from lib.errors import ApiError


def error_of(value, field="password") -> ApiError:
    with pytest.raises(ApiError) as info:
        passwords.validate(value, field)
    return info.value


@pytest.mark.parametrize("value", ["12345678", "x" * 72, "é" * 36, "🔑" * 18, "pass word with spaces"])
def test_validate_accepts_8_to_72_bytes(value):
    assert passwords.validate(value) == value


@pytest.mark.parametrize("value", ["", "1234567", "ééé"])  # "ééé" is 3 characters, 6 bytes
def test_validate_refuses_under_8_bytes(value):
    err = error_of(value)
    assert (err.status, err.code, err.extra["field"]) == (400, "password_too_short", "password")


@pytest.mark.parametrize("value", ["x" * 73, "é" * 37, "🔑" * 19, "a" * 10_000])
def test_validate_refuses_over_72_bytes_counting_bytes_not_characters(value):
    # "é" * 37 is only 37 characters but 74 bytes: bcrypt would silently drop the tail.
    err = error_of(value, "new_password")
    assert (err.status, err.code, err.extra["field"]) == (400, "password_too_long", "new_password")
    assert "72" in err.message


@pytest.mark.parametrize("value", [None, 12345678, ["password1"], {"$ne": None}, True])
def test_validate_refuses_non_strings(value):
    err = error_of(value)
    assert err.status == 400 and err.code in ("invalid_field", "missing_field")


def test_validate_names_a_missing_password_as_missing():
    assert error_of(None).code == "missing_field"


def test_default_cost_is_12(settings):
    settings(BCRYPT_ROUNDS=None)
    hashed = passwords.hash_password("correct horse battery")
    assert hashed.startswith("$2b$12$") and passwords.cost_of(hashed) == 12
    assert passwords.verify("correct horse battery", hashed)


def test_cost_follows_config_outside_production(settings):
    settings(BCRYPT_ROUNDS="5")
    assert passwords.cost_of(passwords.hash_password("correct horse battery")) == 5


def test_hash_is_salted_and_verifies_only_the_same_password():
    a, b = passwords.hash_password("correct horse battery"), passwords.hash_password("correct horse battery")
    assert a != b and "correct horse battery" not in a
    assert passwords.verify("correct horse battery", a) and passwords.verify("correct horse battery", b)
    assert not passwords.verify("correct horse batterz", a)
    assert not passwords.verify("Correct horse battery", a)


def test_the_whole_72_bytes_count_and_nothing_is_cut():
    base = "x" * 71
    hashed = passwords.hash_password(base + "a")
    assert passwords.verify(base + "a", hashed)
    assert not passwords.verify(base + "b", hashed)  # the 72nd byte matters
    assert not passwords.verify(base + "a" + "tail", hashed)  # a longer one is not "the same up to 72"


def test_bytes_after_a_nul_still_count():
    hashed = passwords.hash_password("abcdefgh\x00xyz")
    assert passwords.verify("abcdefgh\x00xyz", hashed)
    assert not passwords.verify("abcdefgh\x00abc", hashed)
    assert not passwords.verify("abcdefgh", hashed)


@pytest.mark.parametrize("password,hashed", [("whatever1", None), ("whatever1", ""), (None, "$2b$04$x"), ("y" * 100, "$2b$04$x")])
def test_verify_without_a_usable_pair_is_false_and_never_raises(password, hashed):
    assert passwords.verify(password, hashed) is False


class Spy:
    def __init__(self, monkeypatch):
        self.checkpw, self.hashpw = [], []
        real_check, real_hash = bcrypt.checkpw, bcrypt.hashpw

        def checkpw(password, hashed):
            self.checkpw.append(hashed)
            return real_check(password, hashed)

        def hashpw(password, salt):
            self.hashpw.append(salt)
            return real_hash(password, salt)

        monkeypatch.setattr(passwords.bcrypt, "checkpw", checkpw)
        monkeypatch.setattr(passwords.bcrypt, "hashpw", hashpw)


@pytest.mark.parametrize("password,hashed", [("whatever1", None), ("y" * 100, "real")])
def test_a_failure_without_a_real_check_still_costs_one_hash_of_the_configured_cost(monkeypatch, settings, password, hashed):
    """No account, or an impossible password: one checkpw at the configured cost, like a real check."""
    settings(BCRYPT_ROUNDS="6")
    if hashed == "real":
        hashed = passwords.hash_password("correct horse battery")
    monkeypatch.setattr(passwords, "_DUMMY", {})  # a cold serverless instance
    spy = Spy(monkeypatch)
    assert passwords.verify(password, hashed) is False
    assert len(spy.checkpw) == 1 and spy.hashpw == []  # no extra hash on the first call of a process
    assert passwords.cost_of(spy.checkpw[0].decode()) == 6


def test_a_real_check_is_one_checkpw(monkeypatch):
    hashed = passwords.hash_password("correct horse battery")
    spy = Spy(monkeypatch)
    assert passwords.verify("wrong password", hashed) is False
    assert len(spy.checkpw) == 1 and spy.hashpw == []
