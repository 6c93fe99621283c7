"""The client of our calls out (lib/outbound_http.py) against a real local server: reuse, gzip, deadline, size cap, failures."""

from __future__ import annotations

import gzip
import socket
import threading
import time
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lib import outbound_http

JSON = b'[{"label": "cat", "score": 97.5}]'
BOMB = gzip.compress(bytes(10_000_000))  # 10 MB of zeros in ~10 KB, made before any memory is traced


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        self.connections = 0
        super().__init__(("127.0.0.1", 0), Handler)

    def handle_error(self, request, client_address):
        pass  # the client hanging up on /drip and /bomb is the point of those tests

    def get_request(self):
        self.connections += 1
        return super().get_request()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as SentiSight's servers speak

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/echo":
            self._send(body)
        elif self.path == "/gzip":
            self._send(gzip.compress(JSON), encoding="gzip")
        elif self.path == "/bomb":
            self._send(BOMB, encoding="gzip")
        elif self.path == "/close-after":  # an idle timeout: closes once answered, without saying so
            self._send(JSON)
            self.close_connection = True
        elif self.path == "/drip":  # promises 100 bytes, sends one every 0.9 s
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            for _ in range(100):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.9)

    def _send(self, body: bytes, encoding: str = ""):
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        if encoding:
            self.send_header("Content-Encoding", encoding)
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def server():
    srv = Server()
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture(autouse=True)
def no_idle_connections():
    """Each test starts with an empty pool and counts its own connections."""
    yield
    with outbound_http._lock:
        for conns in outbound_http._idle.values():
            for conn in conns:
                conn.close()
        outbound_http._idle.clear()


def post(server, path: str, body: bytes = b"image", **kw) -> tuple[int, bytes]:
    limits = {"connect_timeout": 2.0, "read_timeout": 2.0, "max_bytes": 1_000_000, **kw}
    status, _, data = outbound_http.request("POST", f"http://127.0.0.1:{server.server_port}{path}", body,
                                            {"Accept-Encoding": "gzip"}, **limits)
    return status, data


def test_a_warm_caller_reuses_its_connection(server):
    before = server.connections
    assert post(server, "/echo", b"first") == (200, b"first")
    assert post(server, "/echo", b"second") == (200, b"second")
    assert server.connections - before == 1


def test_a_connection_the_server_closed_is_replaced(server):
    before = server.connections
    assert post(server, "/close-after") == (200, JSON)
    time.sleep(0.1)  # the server's close reaches the idle connection
    assert post(server, "/echo") == (200, b"image")
    assert server.connections - before == 2


def test_gzip_answers_are_decoded(server):
    assert post(server, "/gzip") == (200, JSON)


@pytest.mark.parametrize("path", ["/echo", "/bomb"])
def test_an_answer_over_the_cap_is_refused_and_its_connection_dropped(server, path):
    tracemalloc.start()
    try:
        with pytest.raises(outbound_http.TooLarge):
            post(server, path, bytes(5000), max_bytes=4000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000  # the bomb's 10 MB never came out of the decompressor
    assert outbound_http._idle.get(("http", "127.0.0.1", server.server_port), []) == []


def test_a_dripping_server_is_cut_off_at_the_deadline(server):
    """Every byte arrives within the read timeout; the call as a whole still ends when it is up.

    The second byte is due at 1.8 s: a read given the full timeout would wait for it.
    """
    started = time.monotonic()
    with pytest.raises(outbound_http.TimedOut):
        post(server, "/drip", read_timeout=1.0)
    assert time.monotonic() - started < 1.5  # not the 90 s the server would take


def test_nothing_listening_is_unreachable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again before the call: nothing listens there
    with pytest.raises(outbound_http.Unreachable):
        outbound_http.request("GET", f"http://127.0.0.1:{port}/", None, {}, connect_timeout=1.0, read_timeout=1.0, max_bytes=10)
