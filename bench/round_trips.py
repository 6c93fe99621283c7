"""MongoDB commands per request, counted by pymongo's command monitoring.

Every database command is a network round trip to Atlas, so on a serverless
function the count matters more than the embedded server's speed. Each request
is sent once to warm up (index creation, first connection), then once recorded.
The request log's insert is one extra command per request by design (the
privacy policy's server log); figures are given with and without it.

    python -m bench.round_trips
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from bench import _setup
from bench._setup import COMMANDS, Figure, at_most

TARGETS = {"API vision call": 4, "API call, scoped capped expiring": 4, "test-token vision call": 2, "dashboard vision call": 3,
           "API vision call with an Idempotency-Key": 5}  # without the request log


def _label(command: tuple[str, str | None]) -> str:
    name, target = command
    return f"{name}({target})" if target else name


def requests_to_measure():
    """(label, call) for each request; every call must succeed, or the count means nothing."""
    dashboard, user = _setup.signed_in(credits_to_add=1000)
    token = _setup.api_token(dashboard)
    limited = _setup.api_token(dashboard, models=["general-classification"], credit_limit={"credits": 10_000, "period": "month"},
                               expires_at=(datetime.now(UTC) + timedelta(days=30)).isoformat())
    test_token = _setup.api_token(dashboard, mode="test")
    image = _setup.png()
    anon = _setup.client()
    login_body = {"email": user["email"], "password": _setup.PASSWORD}
    return [
        ("dashboard vision call", lambda: _setup.vision_call(dashboard, image)),
        ("API vision call", lambda: _setup.vision_call(anon, image, token=token)),
        ("API call, scoped capped expiring", lambda: _setup.vision_call(anon, image, token=limited)),
        ("API vision call with an Idempotency-Key", lambda: _setup.vision_call(anon, image, token=token, key=str(uuid.uuid4()))),
        ("test-token vision call", lambda: _setup.vision_call(anon, image, token=test_token)),
        ("login", lambda: anon.post("/api/auth/login", json=login_body)),
        ("/api/auth/me", lambda: dashboard.get("/api/auth/me")),
        ("usage summary", lambda: dashboard.get("/api/account/usage?days=30")),
    ]


def run() -> list[Figure]:
    _setup.fresh_database("round_trips")
    figures = []
    print("MongoDB commands per request (after one warm-up each)")
    for label, call in requests_to_measure():
        warm = call()
        assert warm.status_code < 300, f"{label}: {warm.status_code} {warm.text}"
        result, commands = COMMANDS.record(call)
        assert result.status_code < 300, f"{label}: {result.status_code} {result.text}"
        without_log = [c for c in commands if c[1] != "request_log"]
        print(f"  {label:<32} {len(commands)} with the request log, {len(without_log)} without: {' '.join(map(_label, commands))}")
        if label in TARGETS:
            figures.append(at_most(f"round trips: {label} (no request log)", len(without_log), TARGETS[label]))
        else:
            figures.append(Figure(f"round trips: {label} (no request log)", str(len(without_log))))
        figures.append(Figure(f"round trips: {label} (with request log)", str(len(commands))))
    return figures


if __name__ == "__main__":
    _setup.run_alone(run)
