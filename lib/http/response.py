"""Responses: a status, headers and bytes, with JSON as the common case."""

from __future__ import annotations

import json
from datetime import datetime
from http import HTTPStatus

from bson import ObjectId


def _default(value):
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, ObjectId):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(data) -> bytes:
    return json.dumps(data, default=_default, separators=(",", ":")).encode()


class Response:
    def __init__(self, body: bytes | str = b"", status: int = 200, headers: dict | None = None, content_type: str | None = None):
        self.body = body.encode() if isinstance(body, str) else body
        self.status = status
        self.headers = dict(headers or {})
        self.cookies: list[str] = []
        if content_type:
            self.headers["Content-Type"] = content_type

    @classmethod
    def json(cls, data, status: int = 200, headers: dict | None = None) -> Response:
        return cls(dumps(data), status, headers, "application/json")

    @classmethod
    def empty(cls, status: int = 204, headers: dict | None = None) -> Response:
        return cls(b"", status, headers)

    def set_cookie(self, header_value: str) -> Response:
        self.cookies.append(header_value)
        return self

    def wsgi_status(self) -> str:
        try:
            return f"{self.status} {HTTPStatus(self.status).phrase}"
        except ValueError:
            return f"{self.status} Unknown"

    def wsgi_headers(self) -> list[tuple[str, str]]:
        headers = [(k, v) for k, v in self.headers.items()]
        if self.status not in (204, 304):
            headers.append(("Content-Length", str(len(self.body))))
        headers += [("Set-Cookie", c) for c in self.cookies]
        return headers
