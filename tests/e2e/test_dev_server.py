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
        assert f"embedded SecantusDB at mongodb://127.0.0.1:{db_port}/?directConnection=true&retryWrites=false, data in {tmp_path / 'db'}" in banner
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


# -- the dev server's own holes ----------------------------------------------------------------

@pytest.mark.parametrize("path", ["/%2Fevil.example.html", "//evil.example.html", "/%2F%2Fevil.example/index.html"])
def test_an_html_path_naming_another_host_is_404_not_an_open_redirect(dev_server, path):
    status, headers, _ = fetch(dev_server + path)
    assert status == 404 and "location" not in headers


STINGY_TIMEOUT_SECONDS, STINGY_THREADS = 1, 4


@pytest.fixture(scope="module")
def stingy_server(start_dev_server):
    """A dev server with a one-second read timeout and four request threads."""
    with start_dev_server(DEV_SERVER_READ_TIMEOUT=STINGY_TIMEOUT_SECONDS, DEV_SERVER_THREADS=STINGY_THREADS) as server:
        yield server


def stalled_connection(server, announced: int = 100) -> socket.socket:
    """A POST that announces a body and never sends it."""
    conn = socket.create_connection(("127.0.0.1", server.port), timeout=15)
    conn.sendall(f"POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {announced}\r\n\r\n".encode())
    return conn


def read_all(conn: socket.socket) -> bytes:
    chunks = []
    while chunk := conn.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def thread_count(pid: int) -> int:
    status = open(f"/proc/{pid}/status").read()  # noqa: SIM115 (Linux, where the suite runs)
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("Threads:")))


def test_a_body_that_never_arrives_is_answered_408_after_the_read_timeout(stingy_server):
    started = time.monotonic()
    with stalled_connection(stingy_server) as conn:
        answer = read_all(conn)  # raises TimeoutError (15 s) if the server holds on
    assert answer.startswith(b"HTTP/1.0 408 "), answer[:200]
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]["code"] == "request_timeout"
    assert time.monotonic() - started < STINGY_TIMEOUT_SECONDS + 5


def test_a_client_that_sends_nothing_is_dropped_after_the_read_timeout(stingy_server):
    with socket.create_connection(("127.0.0.1", stingy_server.port), timeout=15) as conn:
        assert read_all(conn) == b""  # closed by the server, not by our 15 s timeout


def test_stalled_clients_hold_a_bounded_number_of_threads_and_the_server_recovers(stingy_server):
    pid = stingy_server.process.pid
    before = thread_count(pid)
    stalled = [stalled_connection(stingy_server) for _ in range(5 * STINGY_THREADS)]
    try:
        time.sleep(0.5)  # long enough for an unbounded server to start a thread for each
        assert thread_count(pid) <= before + STINGY_THREADS
        status, _, body = fetch(stingy_server.url + "/api/health")  # served once the timeouts free the threads
        assert status == 200 and json.loads(body)["status"] == "ok"
    finally:
        for conn in stalled:
            conn.close()
