"""What every bench shares: hermetic settings, one embedded database server per process,
the fake SentiSight, signed-in clients, and the closing table.

The settings mirror tests/conftest.py (bcrypt at 4 rounds, a throwaway DATA_DIR,
nothing from the shell), so a bench measures the code, not the developer's .env.
A global pymongo CommandListener is registered before the first client exists,
so the round-trip bench can count commands without touching lib.db.
"""

from __future__ import annotations

import contextlib
import io
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import uuid
from dataclasses import dataclass

from pymongo import monitoring

HERMETIC_PREFIXES = ("STRIPE_", "SENTISIGHT_", "MONGODB_", "AWS_", "MAIL_", "VERCEL")
HERMETIC_NAMES = ("ADMIN_EMAILS", "VISION_BACKEND", "JWT_SECRET", "API_RATE_LIMIT_PER_MINUTE")
VISION_URL = "/api/vision/general-classification"  # 1 credit: the cheapest, simplest answer


class CommandRecorder(monitoring.CommandListener):
    """Every command sent while `recording()` is on, as (name, collection or None)."""

    def __init__(self):
        self.commands: list[tuple[str, str | None]] = []
        self.on = False
        self._lock = threading.Lock()

    def started(self, event):
        if self.on:
            target = event.command.get(event.command_name)
            with self._lock:
                self.commands.append((event.command_name, target if isinstance(target, str) else None))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass

    def record(self, call) -> tuple[object, list[tuple[str, str | None]]]:
        """Run call(); returns what it returned and the commands it sent."""
        self.commands, self.on = [], True
        try:
            result = call()
        finally:
            self.on = False
        return result, list(self.commands)


COMMANDS = CommandRecorder()
monitoring.register(COMMANDS)  # before lib.db creates its client: global listeners apply to clients made later


def configure_environment() -> None:
    """The settings tests/conftest.py uses, minus anything inherited from the shell."""
    for name in list(os.environ):
        if name.startswith(HERMETIC_PREFIXES) or name in HERMETIC_NAMES:
            del os.environ[name]
    os.environ.update({
        "BCRYPT_ROUNDS": "4",
        "SITE_URL": "http://testserver",
        "DATA_DIR": tempfile.mkdtemp(prefix="nexuspoint-bench-"),
        "JWT_SECRET": "bench-jwt-secret-" + "x" * 32,
        "MONGODB_TIMEOUT_MS": "5000",
        "API_RATE_LIMIT_PER_MINUTE": "100000",  # the benches measure the work, not the limiter
    })


configure_environment()

# Imported after the environment is set: lib.config reads it once.
from bson import ObjectId  # noqa: E402

from lib import config, credits, db  # noqa: E402
from local import embedded_db  # noqa: E402
from local.router import Router  # noqa: E402
from tests.client import Client  # noqa: E402
from tests.fakes.sentisight import FakeSentiSight  # noqa: E402
from tests.fixtures.accounts import PASSWORD, sign_up  # noqa: E402, F401 (PASSWORD: for the benches that sign in)
from tests.fixtures.sentisight import image_bytes  # noqa: E402

DATABASE_PROCESS = ("import time; from local import embedded_db; server, uri = embedded_db.start(':memory:', port={port}); "
                    "print(uri, flush=True); time.sleep(1e9)")


class Stack:
    """The embedded database (in a process of its own, as Atlas is another machine: the benches' client threads
    must not share its interpreter lock) and the fake SentiSight, started once for the process."""

    def __init__(self):
        port = embedded_db.free_port()
        self.server = subprocess.Popen([sys.executable, "-c", DATABASE_PROCESS.format(port=port)], stdout=subprocess.PIPE, text=True)
        self.uri = self.server.stdout.readline().strip()
        self.fake = FakeSentiSight().start()
        os.environ.update({
            "MONGODB_URI": self.uri,
            "VISION_BACKEND": "sentisight",
            "SENTISIGHT_API_TOKEN": self.fake.token,
            "SENTISIGHT_BASE_URL": self.fake.url,
        })
        config.reload()
        self.router = Router()

    def stop(self) -> None:
        self.fake.stop()
        db.client().close()
        self.server.terminate()
        self.server.wait(timeout=30)


_stack: Stack | None = None


def stack() -> Stack:
    global _stack
    if _stack is None:
        _stack = Stack()
    return _stack


def shutdown() -> None:
    global _stack
    if _stack is not None:
        _stack.stop()
        _stack = None


def fresh_database(label: str) -> str:
    """Point lib.db at a new, empty database (each bench gets its own), indexed as deployed; returns its name."""
    stack()
    name = f"bench_{label}_{uuid.uuid4().hex[:8]}"
    db.use_database(name)
    db.ensure_indexes()
    return name


def client() -> Client:
    return Client(stack().router)


def signed_in(credits_to_add: int = 0, **sign_up_extra) -> tuple[Client, dict]:
    """A new account through the real sign-up route, topped up with bought credits."""
    c = client()
    with quiet():
        user = sign_up(c, **sign_up_extra)
    if credits_to_add:
        top_up(user["id"], credits_to_add)
    return c, user


def quiet():
    """Hide the local mail backend's console lines (welcome, new token) from the bench output."""
    return contextlib.redirect_stdout(io.StringIO())


def top_up(user_id: str, amount: int) -> None:
    """A purchase with a made-up payment id: the ledger stays reconcilable."""
    credits.grant(ObjectId(user_id), amount, "purchase", payment_id=ObjectId())


def api_token(c: Client, **settings) -> str:
    """A token's secret; `settings` as POST /api/tokens takes them (mode, models, credit_limit, expires_at)."""
    with quiet():
        r = c.post("/api/tokens", json={"name": f"bench {uuid.uuid4().hex[:6]}", **settings})
    assert r.status_code == 201, r.text
    return r.json()["token"]["secret"]


def vision_call(c: Client, data: bytes, token: str | None = None, key: str | None = None):
    headers = {"content-type": "image/png"}
    if key:
        headers["idempotency-key"] = key
    if token:
        headers["authorization"] = f"Bearer {token}"
    return c.post(VISION_URL, data=data, headers=headers, cookies=token is None)


def png() -> bytes:
    return image_bytes()


# --- figures ------------------------------------------------------------------

def percentile(samples: list[float], p: float) -> float:
    """The p-th percentile (0-100), nearest rank: what p% of the samples stay under."""
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def median(samples: list[float]) -> float:
    return statistics.median(samples)


@dataclass
class Figure:
    name: str
    value: str
    target: str = ""
    met: bool | None = None  # None: no target

    @property
    def verdict(self) -> str:
        return "" if self.met is None else ("met" if self.met else "NOT MET")


def at_most(name: str, value: float, limit: float, unit: str = "", fmt: str = "{:.0f}") -> Figure:
    """A figure whose target is an upper bound."""
    shown = fmt.format(value) + (f" {unit}" if unit else "")
    return Figure(name, shown, f"<= {fmt.format(limit)}{f' {unit}' if unit else ''}", value <= limit)


def print_table(figures: list[Figure], title: str = "NexusPoint benchmarks") -> None:
    widths = [max(len(h), *(len(getattr(f, a)) for f in figures)) if figures else len(h)
              for h, a in (("figure", "name"), ("value", "value"), ("target", "target"), ("", "verdict"))]
    line = "  ".join("-" * w for w in widths)
    print(f"\n{title}\n{line}")
    print("  ".join(h.ljust(w) for h, w in zip(("figure", "value", "target", ""), widths)).rstrip())
    print(line)
    for f in figures:
        print("  ".join(v.ljust(w) for v, w in zip((f.name, f.value, f.target, f.verdict), widths)).rstrip())
    print(line, flush=True)


def run_alone(run) -> None:
    """`python -m bench.<name>`: run one bench and print its part of the table."""
    try:
        figures = run()
    finally:
        shutdown()
    print_table(figures)
