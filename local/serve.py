"""The dev server process: Vercel-style routing over a threaded WSGI server.

Started (and restarted on code changes) by `local.dev`; run alone it expects
MONGODB_URI to be set already.
"""

from __future__ import annotations

import logging
import os
import sys
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from local.router import Router
from local.routes import local_apps


class ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # one short line per request, not wsgiref's full format
        if os.environ.get("DEV_SERVER_QUIET") != "1":
            sys.stderr.write(f"{self.command} {self.path} -> {args[1] if len(args) > 1 else ''}\n")


def build_app():
    return Router(extra_apps=local_apps())


def serve(host: str = "127.0.0.1", port: int = 3000) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    server = make_server(host, port, build_app(), server_class=ThreadingServer, handler_class=QuietHandler)
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
