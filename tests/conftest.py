"""Shared fixtures: one embedded database server per run, a fresh database per test,
an in-process client that routes exactly like Vercel, and the books checked after each test."""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from pathlib import Path

import pytest

# Hermetic settings: nothing from the developer's shell leaks into a test.
for _name in list(os.environ):
    if _name.startswith(("STRIPE_", "SENTISIGHT_", "MONGODB_", "AWS_", "MAIL_", "VERCEL")) or _name in ("ADMIN_EMAILS", "VISION_BACKEND", "JWT_SECRET"):
        del os.environ[_name]
os.environ.update({
    "BCRYPT_ROUNDS": "4",  # 12 in production (a test proves the default); 4 keeps the suite fast
    "SITE_URL": "http://testserver",
    "DATA_DIR": tempfile.mkdtemp(prefix="nexuspoint-test-"),
    "JWT_SECRET": "test-jwt-secret-" + "x" * 32,
    "MONGODB_TIMEOUT_MS": "3000",
})

from lib import config, credits, db, ratelimit  # noqa: E402
from local import embedded_db  # noqa: E402
from local.router import Router  # noqa: E402
from tests.client import Client  # noqa: E402

pytest_plugins = sorted(f"tests.fixtures.{p.stem}" for p in (Path(__file__).parent / "fixtures").glob("[a-z]*.py"))


@pytest.fixture(scope="session")
def mongo_server():
    """One in-memory SecantusDB server for the whole run."""
    server, uri = embedded_db.start(":memory:", ttl_sweep_seconds=1)
    os.environ["MONGODB_URI"] = uri
    config.reload()
    yield server
    server.stop()


@pytest.fixture
def settings(monkeypatch):
    """Change settings for one test: settings(NAME="value", ...) returns the new Settings."""

    def apply(**env):
        for key, value in env.items():
            if value is None:
                monkeypatch.delenv(key, raising=False)
            else:
                monkeypatch.setenv(key, str(value))
        return config.reload()

    yield apply
    monkeypatch.undo()
    config.reload()


@pytest.fixture
def database(mongo_server):
    """A database of its own for this test, indexed as a deployment is; the books must reconcile when it ends."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    db.use_database(name)
    db.ensure_indexes()
    yield db.database()
    problems = credits.reconcile()
    db.client().drop_database(name)
    db.use_database(None)
    assert problems == [], f"balances differ from ledger sums: {problems}"


@pytest.fixture(scope="session")
def router():
    """The local router: the same file-system routes, rewrites and headers as Vercel."""
    return Router()


@pytest.fixture
def client(database, router):
    """An in-process client for the whole site, sending our own Origin like the pages do."""
    return Client(router)


@pytest.fixture
def anon(database, router):
    """A second client with its own cookie jar."""
    return Client(router)


@pytest.fixture(autouse=True)
def rate_limit_clock(monkeypatch):
    """Rate-limit windows (a minute to a day) all start as the test starts: no test straddles a window edge."""
    start = time.time()
    base = (int(start // 86400) + 1) * 86400 + 1  # just after tomorrow's midnight, in the future so TTLs don't purge
    monkeypatch.setattr(ratelimit, "clock", lambda: base + (time.time() - start))
