"""The dev server over real HTTP: what `make dev` serves, and the `make dev` supervisor itself."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest

from local.embedded_db import free_port
from tests.fixtures.dev_server import ROOT


def fetch(url: str, method: str = "GET", headers: dict | None = None, body: bytes | None = None):
    """(status, headers, body) of one request, without following redirects."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def test_landing_page_is_html(dev_server):
    status, headers, body = fetch(dev_server + "/")
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    assert b"<html" in body.lower() and b"NexusPoint" in body
    assert "default-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"


def test_health_says_ok(dev_server):
    with urllib.request.urlopen(dev_server + "/api/health", timeout=30) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/json"
        body = json.load(response)
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["backends"]["mail"] == "outbox"


def test_unknown_api_path_is_json_404(dev_server):
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(dev_server + "/api/nope", timeout=30)
    assert caught.value.code == 404
    assert caught.value.headers["Content-Type"] == "application/json"
    assert json.load(caught.value)["error"]["code"] == "not_found"


def test_delete_health_is_405_with_allow(dev_server):
    status, headers, body = fetch(dev_server + "/api/health", "DELETE")
    assert status == 405
    assert headers["allow"] == "GET, HEAD, OPTIONS"
    assert json.loads(body)["error"]["code"] == "method_not_allowed"


def test_head_health_has_no_body(dev_server):
    status, headers, body = fetch(dev_server + "/api/health", "HEAD")
    assert status == 200 and body == b"" and int(headers["content-length"]) > 0


def test_html_suffix_redirects_to_the_clean_url(dev_server):
    status, headers, _ = fetch(dev_server + "/index.html")
    assert status == 308 and headers["location"] == "/"


@pytest.mark.parametrize("path", ["/%2e%2e/vercel.json", "/..%2f..%2fvercel.json", "/%2e%2e/lib/config.py"])
def test_encoded_path_traversal_is_refused(dev_server, path):
    status, _, body = fetch(dev_server + path)
    assert status == 404
    assert b"cleanUrls" not in body and b"PRODUCTION_REQUIRED" not in body


def test_request_is_logged_in_the_servers_database(dev_server, dev_server_process):
    status, headers, _ = fetch(dev_server + "/api/health", headers={"X-Forwarded-For": "198.51.100.9, 10.1.1.1", "User-Agent": "e2e"})
    assert status == 200
    row = dev_server_process.database.request_log.find_one({"request_id": headers["x-request-id"]})
    assert row is not None
    assert (row["ip"], row["method"], row["path"], row["status"], row["user_agent"]) == ("198.51.100.9", "GET", "/api/health", 200, "e2e")


def test_twenty_concurrent_requests_are_served(dev_server):
    start = threading.Barrier(20)
    paths = ["/api/health", "/"] * 10

    def one(path):
        start.wait(timeout=30)
        return fetch(dev_server + path)[0]

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(one, paths))
    assert statuses == [200] * 20


# -- `make dev`: the supervisor with its embedded database -------------------------------------

def port_is_closed(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_make_dev_serves_the_product_with_an_embedded_database(tmp_path):
    port, db_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("MONGODB_URI", "MONGODB_DB", "SITE_URL")}
    env.update(PORT=str(port), EMBEDDED_DB_PORT=str(db_port), DATA_DIR=str(tmp_path), DEV_SERVER_QUIET="1", PYTHONUNBUFFERED="1")
    log = tmp_path / "dev.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "local.dev"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    try:
        deadline, health = time.monotonic() + 90, None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                status, _, body = fetch(f"http://127.0.0.1:{port}/api/health")
                if status == 200:
                    health = json.loads(body)
                    break
            except OSError:
                time.sleep(0.2)
        assert health is not None, f"`python -m local.dev` did not come up:\n{log.read_text(errors='replace')}"
        assert health["database"] == "ok"
        assert fetch(f"http://127.0.0.1:{port}/")[0] == 200
        banner = log.read_text()
        assert f"http://127.0.0.1:{port}" in banner
        assert f"embedded SecantusDB at mongodb://127.0.0.1:{db_port}/?directConnection=true, data in {tmp_path / 'db'}" in banner
        assert "outbox" in banner and "local Checkout stand-in" in banner
        assert (tmp_path / "db").is_dir()
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    # Stopping the supervisor stops the server it started and the database with it.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not (port_is_closed(port) and port_is_closed(db_port)):
        time.sleep(0.2)
    stopped = port_is_closed(port) and port_is_closed(db_port)
    if not stopped:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # the group this test started: leave no orphan behind
        except ProcessLookupError:
            pass
    assert stopped, f"the dev server outlived `local.dev`:\n{log.read_text(errors='replace')}"
