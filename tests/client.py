"""An in-process HTTP client for WSGI apps, with a cookie jar, for API tests."""

from __future__ import annotations

import io
import json as jsonlib
import uuid
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

SITE = "http://testserver"


class Result:
    def __init__(self, status: str, headers: list[tuple[str, str]], body: bytes):
        self.status_code = int(status.split()[0])
        self.header_list = headers
        self.headers = {}
        for k, v in headers:
            self.headers[k.lower()] = v
        self.body = body

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self):
        return jsonlib.loads(self.body)

    @property
    def cookies(self) -> list[str]:
        return [v for k, v in self.header_list if k.lower() == "set-cookie"]

    @property
    def error_code(self) -> str | None:
        try:
            return self.json()["error"]["code"]
        except (ValueError, KeyError, TypeError):
            return None

    def __repr__(self):
        return f"<Result {self.status_code} {self.body[:200]!r}>"


def multipart_body(fields: dict) -> tuple[bytes, str]:
    """fields: name -> str or (filename, bytes, content_type)."""
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f"--{boundary}\r\n".encode())
        if isinstance(value, tuple):
            filename, data, ctype = value
            out.write(f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\nContent-Type: {ctype}\r\n\r\n'.encode())
            out.write(data)
        else:
            out.write(f'Content-Disposition: form-data; name="{name}"\r\n\r\n{value}'.encode())
        out.write(b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


class Client:
    """Calls a WSGI app (the local router, so routes match production) in-process.

    Sends the site's own Origin by default, as the pages do; pass
    ``origin=None`` to send none, or another value to play a foreign site.
    """

    def __init__(self, app, origin: str | None = SITE):
        self.app = app
        self.origin = origin
        self.cookies: dict[str, str] = {}

    def request(self, method, path, *, json=None, data=None, files=None, headers=None, query=None, origin="default", cookies=True, ip="203.0.113.7"):
        headers = {k.lower(): v for k, v in (headers or {}).items()}
        body = b""
        if json is not None:
            body = jsonlib.dumps(json).encode()
            headers.setdefault("content-type", "application/json")
        elif files is not None:
            body, ctype = multipart_body(files)
            headers.setdefault("content-type", ctype)
        elif data is not None:
            body = data if isinstance(data, bytes) else data.encode()
        parts = urlsplit(path)
        qs = parts.query
        if query:
            qs = (qs + "&" if qs else "") + urlencode(query)
        environ = {
            "REQUEST_METHOD": method.upper(),
            "PATH_INFO": parts.path,
            "QUERY_STRING": qs,
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": ip,
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
            "wsgi.errors": io.StringIO(),
            "HTTP_HOST": "testserver",
        }
        if body or method.upper() in ("POST", "PUT", "PATCH"):
            environ["CONTENT_LENGTH"] = str(len(body))
        origin = self.origin if origin == "default" else origin
        if origin is not None and "origin" not in headers:
            headers["origin"] = origin
        if cookies and self.cookies and "cookie" not in headers:
            headers["cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for key, value in headers.items():
            if key == "content-type":
                environ["CONTENT_TYPE"] = value
            elif key == "content-length":
                environ["CONTENT_LENGTH"] = value
            else:
                environ["HTTP_" + key.upper().replace("-", "_")] = value
        captured = {}

        def start_response(status, response_headers, exc_info=None):
            captured["status"], captured["headers"] = status, response_headers

        chunks = self.app(environ, start_response)
        result = Result(captured["status"], captured["headers"], b"".join(chunks))
        for raw in result.cookies:
            jar = SimpleCookie()
            jar.load(raw)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return result

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)
