"""The dev server process: Vercel-style routing over a threaded WSGI server.

Started (and restarted on code changes) by `local.dev`; run alone it expects
MONGODB_URI to be set already. A client can hold a thread for at most the read
timeout per socket read (and the whole body within it), and at most
DEV_SERVER_THREADS requests run at once; more connections wait in the listen queue.
"""

from __future__ import annotations

import io
import json
import logging
import os
import sys
import threading
import time
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from lib.http.request import MAX_BODY_BYTES
from local.router import Router
from local.routes import local_apps

READ_TIMEOUT_SECONDS = 15.0
MAX_THREADS = 32
CHUNK_BYTES = 64 * 1024


class ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address, handler, *, read_timeout: float = READ_TIMEOUT_SECONDS, max_threads: int = MAX_THREADS):
        self.read_timeout = read_timeout
        self._slots = threading.BoundedSemaphore(max_threads)
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        self._slots.acquire()  # every thread busy: stop accepting until one is free
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


class QuietHandler(WSGIRequestHandler):
    def setup(self):
        self.timeout = self.server.read_timeout  # applied to the socket by StreamRequestHandler.setup
        super().setup()

    def handle(self):
        try:
            super().handle()
        except TimeoutError:  # the request line or headers never came: drop the connection
            self.close_connection = True

    def log_message(self, format, *args):  # one short line per request, not wsgiref's full format
        if os.environ.get("DEV_SERVER_QUIET") != "1":
            sys.stderr.write(f"{self.command} {self.path} -> {args[1] if len(args) > 1 else ''}\n")


def read_body_first(app, timeout: float):
    """Hand the app the whole body, read within `timeout`, as Vercel does; else answer 408.

    A client that announces a body and never sends it (or drips it) then costs one
    thread for `timeout` seconds, not forever.
    """

    def buffered(environ, start_response):
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # the app answers a bad Content-Length itself
        if 0 < length <= MAX_BODY_BYTES:  # larger bodies are refused by their header, unread
            body = _read(environ["wsgi.input"], length, time.monotonic() + timeout)
            if body is None:
                message = f"The request body did not arrive within {timeout:g} seconds."
                payload = json.dumps({"error": {"code": "request_timeout", "message": message}}).encode()
                # wsgiref closes the connection after every request: no Connection header needed (or allowed)
                start_response("408 Request Timeout", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
                return [payload]
            environ["wsgi.input"] = io.BytesIO(body)
        return app(environ, start_response)

    return buffered


def _read(stream, length: int, deadline: float) -> bytes | None:
    """Up to `length` bytes (fewer if the client hangs up), or None when the deadline passes first."""
    read = getattr(stream, "read1", stream.read)  # read1: one socket read at a time, so the deadline is checked
    chunks, left = [], length
    while left:
        if time.monotonic() > deadline:
            return None
        try:
            chunk = read(min(left, CHUNK_BYTES))
        except TimeoutError:
            return None
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def build_app(read_timeout: float = READ_TIMEOUT_SECONDS):
    return read_body_first(Router(extra_apps=local_apps()), read_timeout)


def serve(host: str = "127.0.0.1", port: int = 3000) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    read_timeout = float(os.environ.get("DEV_SERVER_READ_TIMEOUT") or READ_TIMEOUT_SECONDS)
    max_threads = int(os.environ.get("DEV_SERVER_THREADS") or MAX_THREADS)
    server = ThreadingServer((host, port), QuietHandler, read_timeout=read_timeout, max_threads=max_threads)
    server.set_app(build_app(read_timeout))
    if os.environ.get("LOCAL_CRON", "").strip().lower() != "off":
        from lib import config
        from local import cron

        cron.start(f"http://{host}:{port}", config.settings().cron_secret)
    try:
        server.serve_forever()
    except KeyboardInterrupt:  # Ctrl-C in `make dev` reaches this child too: stop quietly
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    serve(port=int(os.environ.get("PORT") or 3000))
