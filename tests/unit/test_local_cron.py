"""The local stand-in for Vercel Cron: vercel.json's schedules, called over HTTP with the secret."""

import json
import threading
from datetime import UTC, datetime
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from local import cron


class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def recording_server():
    """A local HTTP server that records the path and Authorization header of each request."""
    seen = []

    def app(environ, start_response):
        seen.append((environ["PATH_INFO"], environ.get("HTTP_AUTHORIZATION"), environ.get("HTTP_USER_AGENT")))
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]

    server = make_server("127.0.0.1", 0, app, handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", seen
    server.shutdown()


def test_schedules_fire_on_their_minutes():
    every_five = cron.Job("/api/cron/x", "*/5 * * * *")
    assert every_five.due_at(datetime(2026, 12, 2, 8, 5, 30, tzinfo=UTC))
    assert not every_five.due_at(datetime(2026, 12, 2, 8, 6, tzinfo=UTC))
    daily = cron.Job("/api/cron/y", "0 3 * * *")
    assert daily.due_at(datetime(2026, 12, 2, 3, 0, tzinfo=UTC))
    assert not daily.due_at(datetime(2026, 12, 2, 4, 0, tzinfo=UTC))


def test_jobs_are_read_from_vercel_json(tmp_path):
    (tmp_path / "vercel.json").write_text(json.dumps({"crons": [{"path": "/api/cron/a", "schedule": "* * * * *"}]}))
    assert cron.jobs(tmp_path) == [cron.Job("/api/cron/a", "* * * * *")]
    assert all(job.path.startswith("/api/cron/") for job in cron.jobs())  # the project's own


def test_due_jobs_are_called_with_the_bearer_secret_like_vercel(recording_server):
    base_url, seen = recording_server
    jobs = [cron.Job("/api/cron/every-minute", "* * * * *"), cron.Job("/api/cron/hourly", "0 * * * *")]
    results = cron.run_due(base_url, "s3cret", datetime(2026, 12, 2, 8, 7, tzinfo=UTC), jobs)
    assert [(job.path, status) for job, status in results] == [("/api/cron/every-minute", 200)]
    assert seen == [("/api/cron/every-minute", "Bearer s3cret", "vercel-cron/1.0")]


def test_a_server_that_does_not_answer_is_reported_not_raised():
    job = cron.Job("/api/cron/x", "* * * * *")
    assert cron.call("http://127.0.0.1:9", "s", job, timeout=2) == 0
