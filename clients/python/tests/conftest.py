"""A fake NexusPoint server on 127.0.0.1 that answers what each test scripts, and records every request."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from nexuspoint import Client

MODELS = {"models": [
    {"slug": "general-classification", "name": "General classification", "cost": 1, "output": "labels",
     "options": ["min_confidence", "max_results"], "available": True},
    {"slug": "object-detection", "name": "Object detection", "cost": 2, "output": "boxes",
     "options": ["min_confidence", "max_results"], "available": True},
    {"slug": "pose-estimation", "name": "Pose estimation", "cost": 3, "output": "keypoints",
     "options": ["min_confidence", "max_results"], "available": True},
    {"slug": "background-removal", "name": "Background removal", "cost": 5, "output": "image", "options": [], "available": True},
    {"slug": "instance-segmentation", "name": "Instance segmentation", "cost": 5, "output": "polygons", "options": [],
     "available": False, "reason": "no local weights"},
]}
LABELS = {"labels": [{"label": "tabby cat", "score": 0.91}, {"label": "tiger cat", "score": 0.05}, {"label": "lynx", "score": 0.01}]}


@dataclass
class Seen:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes


@dataclass
class Answer:
    status: int = 200
    json: object = None
    headers: dict = field(default_factory=dict)
    body: bytes = b""
    drop: bool = False  # close the connection without answering


class FakeServer:
    """Scripted answers per path (`answer(path, ...)`, used in order, the last one repeats) and every request seen."""

    def __init__(self):
        self.scripts: dict[str, list[Answer]] = {}
        self.seen: list[Seen] = []
        self.balance = 50
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                fake.handle(self)

            do_POST = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def answer(self, path: str, *answers: Answer) -> None:
        self.scripts[path] = list(answers)

    def requests_to(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    def default(self, path: str, headers: dict) -> Answer:
        if path == "/api/vision/models":
            return Answer(json=MODELS)
        if path == "/api/account/balance":
            return Answer(json={"credits": self.balance})
        if path.startswith("/api/vision/"):
            model = path.rsplit("/", 1)[1]
            self.balance -= 1
            return Answer(json={"model": model, "credits_charged": 1, "credits_remaining": self.balance, "usage_id": "u1",
                                "engine": "fake", "image": {"width": 4, "height": 3}, "results": LABELS},
                          headers={"X-Credits-Charged": "1", "X-Credits-Remaining": str(self.balance), "X-Usage-Id": "u1"})
        return Answer(404, {"error": {"code": "not_found", "message": "No such route."}})

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        self.seen.append(Seen(handler.command, parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}, dict(handler.headers), body))
        script = self.scripts.get(parts.path)
        answer = (script.pop(0) if len(script) > 1 else script[0]) if script else self.default(parts.path, dict(handler.headers))
        if answer.drop:
            handler.close_connection = True
            handler.connection.shutdown(2)
            return
        payload = json.dumps(answer.json).encode() if answer.json is not None else answer.body
        headers = dict(answer.headers)
        handler.send_response(answer.status)
        handler.send_header("Content-Type", headers.pop("Content-Type", "application/json" if answer.json is not None else "image/png"))
        handler.send_header("Content-Length", str(len(payload)))
        handler.send_header("X-Request-Id", f"req-{len(self.seen)}")
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(payload)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def no_environment(monkeypatch):
    """The developer's own key or server never reaches these tests."""
    monkeypatch.delenv("NEXUSPOINT_API_KEY", raising=False)
    monkeypatch.delenv("NEXUSPOINT_BASE_URL", raising=False)


@pytest.fixture
def fake():
    """A running FakeServer."""
    server = FakeServer()
    yield server
    server.stop()


@pytest.fixture
def waits():
    """The waits the client asked for (instead of sleeping)."""
    return []


@pytest.fixture
def client(fake, waits):
    """A Client for the fake server that records its waits instead of sleeping."""
    with Client(api_key="np_live_test", base_url=fake.url, max_retries=3, sleep=waits.append) as c:
        yield c
