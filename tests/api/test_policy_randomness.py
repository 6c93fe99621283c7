"""Privacy policy §5: API tokens (and password-reset links) come from cryptographically secure random bytes.

Two checks, each catching a different way to get it wrong:
- `random` seeded to the same state before each value: values from the Mersenne Twister repeat;
- every secure byte source (`os.urandom`, which `secrets` reaches through `random.SystemRandom`)
  is recorded: the value's random part must be bytes one of them returned, which a freshly
  seeded `random.Random()` (seeded from os.urandom, but not made of it) is not.
"""

from __future__ import annotations

import base64
import os
import random
import re

import pytest

from lib import db
from tests.fixtures.accounts import sign_up

TOKEN_PREFIX = "np_live_"
RANDOM_BYTES = 32  # lib.tokens and lib.accounts.credentials: secrets.token_urlsafe(32)


@pytest.fixture
def secure_bytes(monkeypatch) -> list[bytes]:
    """Every byte string the operating system's CSPRNG hands out from here on."""
    handed_out: list[bytes] = []
    real = os.urandom

    def recording(n: int) -> bytes:
        value = real(n)
        handed_out.append(value)
        return value

    monkeypatch.setattr(os, "urandom", recording)
    monkeypatch.setattr(random, "_urandom", recording)  # what random.SystemRandom (so secrets) calls
    return handed_out


def decoded(urlsafe: str) -> bytes:
    return base64.urlsafe_b64decode(urlsafe + "=" * (-len(urlsafe) % 4))


def new_token(client) -> str:
    r = client.post("/api/tokens", json={"name": "randomness"})
    assert r.status_code == 201, r.text
    return r.json()["token"]["secret"]


def reset_token(anon, email: str) -> str:
    db.collection("outbox").delete_many({})
    assert anon.post("/api/auth/forgot", json={"email": email}).status_code == 202
    [mail] = list(db.collection("outbox").find({"template": "password_reset"}))
    return re.search(r"/reset#token=([A-Za-z0-9_\-]+)", mail["text"]).group(1)


def test_token_values_differ_when_random_is_seeded_the_same(client, user):
    values = []
    for _ in range(3):
        random.seed(1234)
        values.append(new_token(client))
    assert len(set(values)) == 3


def test_token_values_are_made_of_secure_random_bytes(client, user, secure_bytes):
    secret = new_token(client)
    assert secret.startswith(TOKEN_PREFIX)
    random_part = decoded(secret[len(TOKEN_PREFIX):])
    assert len(random_part) >= RANDOM_BYTES
    assert random_part in secure_bytes


def test_reset_links_differ_when_random_is_seeded_the_same(anon, new_client):
    email = sign_up(new_client())["email"]
    values = []
    for _ in range(3):
        random.seed(1234)
        values.append(reset_token(anon, email))
    assert len(set(values)) == 3


def test_reset_links_are_made_of_secure_random_bytes(anon, new_client, secure_bytes):
    email = sign_up(new_client())["email"]
    random_part = decoded(reset_token(anon, email))
    assert len(random_part) >= RANDOM_BYTES
    assert random_part in secure_bytes
