"""`endpoint(GET=..., POST=..., auth=...)`: one WSGI app per function file.

A handler takes the Request and returns a Response, a JSON-able value (200, or
the handler's `success_status` attribute), or None (204). Errors are ApiError values rendered as one JSON shape.
"""

from __future__ import annotations

import logging
import time

from pymongo.errors import ConnectionFailure, ServerSelectionTimeoutError

from lib import config
from lib.errors import ApiError
from lib.http import auth as callers
from lib.http import requestlog, security
from lib.http.request import Request
from lib.http.response import Response

log = logging.getLogger("nexuspoint.http")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def error_response(err: ApiError) -> Response:
    return Response.json(err.body(), err.status, err.headers)


def _to_response(result, status: int = 200) -> Response:
    if isinstance(result, Response):
        return result
    if result is None:
        return Response.empty()
    return Response.json(result, status)


def endpoint(*, auth: str | None = None, csrf: bool = True, **handlers):
    """Build the WSGI app of one function file. `csrf=False` is for webhooks only."""
    mode = auth
    if mode not in callers.MODES:
        raise ValueError(f"auth must be one of {callers.MODES}")
    if not csrf and mode is not None:
        raise ValueError("csrf=False is only for unauthenticated routes (webhooks)")
    unknown = set(handlers) - set(METHODS)
    if unknown:
        raise ValueError(f"unknown HTTP method(s): {', '.join(sorted(unknown))}")
    # Read the settings now, at import: in production a missing secret stops the
    # function from starting, with a ConfigError naming the variable.
    config.settings()
    allow = sorted(set(handlers) | ({"HEAD"} if "GET" in handlers else set()) | {"OPTIONS"})
    allow_header = ", ".join(allow)

    def handle(req: Request) -> Response:
        method = "GET" if req.method == "HEAD" else req.method
        if req.method == "OPTIONS":
            return Response.empty(204, {"Allow": allow_header})
        handler = handlers.get(method)
        if handler is None:
            raise ApiError(405, "method_not_allowed", f"{req.method} is not allowed here. Allowed: {allow_header}.", headers={"Allow": allow_header})
        if csrf:
            req.caller = callers.resolve(req, mode)
        if mode == "admin":
            callers.require_admin(req)
        elif mode is not None and not getattr(handler, "verifies_caller_itself", False):
            callers.load_user(req)
        # `handler.success_status = 201`: a domain module answers Created without importing lib.http
        return _to_response(handler(req), getattr(handler, "success_status", 200))

    def app(environ, start_response):
        started = time.perf_counter()
        req = Request(environ)
        try:
            response = handle(req)
        except ApiError as err:
            response = error_response(err)
        except (ServerSelectionTimeoutError, ConnectionFailure):
            req.database_down = True
            log.exception("database unavailable during %s %s", req.method, req.path)
            response = error_response(ApiError(503, "database_unavailable", "The service is temporarily unavailable. Try again in a moment."))
        except Exception:
            log.exception("unhandled error in %s %s (request %s)", req.method, req.path, req.id)
            response = error_response(ApiError(500, "internal_error", f"Something went wrong on our side. Quote request id {req.id} to support."))
        response.headers.update(req.response_headers)
        response.headers.update(security.headers())
        response.headers["X-Request-Id"] = req.id
        body = b"" if req.method == "HEAD" else response.body
        if not req.database_down:  # writing the log line would only wait for the same timeout again
            requestlog.write(req, response.status, (time.perf_counter() - started) * 1000)
        start_response(response.wsgi_status(), response.wsgi_headers())
        return [body]

    app.handlers = handlers
    app.auth = mode
    return app
