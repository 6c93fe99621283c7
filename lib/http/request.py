"""The request as the handlers see it: parsed lazily, cached, size-capped."""

from __future__ import annotations

import io
import json
import uuid
from functools import cached_property
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs

from lib.errors import ApiError, bad_request

MAX_BODY_BYTES = 4_500_000  # Vercel's request body cap


def too_large() -> ApiError:
    return ApiError(413, "payload_too_large", f"The request body is larger than {MAX_BODY_BYTES // 1_000_000}.5 MB.")


class Request:
    def __init__(self, environ: dict):
        self.environ = environ
        self.method = environ.get("REQUEST_METHOD", "GET").upper()
        self.path = environ.get("PATH_INFO", "/") or "/"
        self.id = uuid.uuid4().hex
        self.caller = None  # set by lib.http.auth
        self.response_headers: dict[str, str] = {}  # extra headers any layer may add
        self.log_extra: dict = {}  # extra fields for the request log row
        self.database_down = False  # set when the database could not be reached: skip the log write

    @cached_property
    def headers(self) -> dict[str, str]:
        out = {}
        for key, value in self.environ.items():
            if key.startswith("HTTP_"):
                out[key[5:].replace("_", "-").lower()] = value
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if self.environ.get(key):
                out[key.replace("_", "-").lower()] = self.environ[key]
        return out

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    @cached_property
    def query(self) -> dict[str, str]:
        parsed = parse_qs(self.environ.get("QUERY_STRING", ""), keep_blank_values=True)
        return {k: v[0] for k, v in parsed.items()}

    @cached_property
    def cookies(self) -> dict[str, str]:
        jar = SimpleCookie()
        try:
            jar.load(self.header("cookie"))
        except CookieError:
            return {}
        return {k: m.value for k, m in jar.items()}

    @cached_property
    def content_type(self) -> str:
        return self.header("content-type").split(";")[0].strip().lower()

    @cached_property
    def client_ip(self) -> str:
        forwarded = self.header("x-forwarded-for")
        if forwarded:
            return forwarded.split(",")[0].strip()
        return self.environ.get("REMOTE_ADDR", "")

    @cached_property
    def body(self) -> bytes:
        try:
            length = int(self.environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise bad_request("invalid_content_length", "The Content-Length header is not a number.") from None
        if length > MAX_BODY_BYTES:
            raise too_large()
        stream = self.environ.get("wsgi.input")
        if stream is not None and not self.environ.get("CONTENT_LENGTH") and self.environ.get("wsgi.input_terminated"):
            length = MAX_BODY_BYTES + 1  # a chunked body of unknown size: read one byte past the cap to detect it
        if stream is None or length <= 0:
            return b""
        data = stream.read(length)
        if len(data) > MAX_BODY_BYTES:
            raise too_large()
        return data

    def json(self) -> dict:
        """The JSON object body; 415 for another content type, 400 for bad JSON."""
        if "_json" not in self.__dict__:
            if self.content_type != "application/json":
                raise ApiError(415, "unsupported_media_type", "Send the body as JSON with 'Content-Type: application/json'.")
            try:
                value = json.loads(self.body or b"null")
                # JSON may spell lone surrogates ("\\ud800") that no string can be stored or hashed as.
                json.dumps(value, ensure_ascii=False).encode()
            except (ValueError, UnicodeError, RecursionError):
                raise bad_request("invalid_json", "The body is not valid JSON (or is nested too deeply).") from None
            if not isinstance(value, dict):
                raise bad_request("invalid_json", "The body must be a JSON object.")
            self.__dict__["_json"] = value
        return self.__dict__["_json"]

    @cached_property
    def form(self) -> dict:
        """multipart/form-data parts by name, held in memory only (never spooled to disk)."""
        import multipart  # only the upload routes pay for the parser

        _, options = multipart.parse_options_header(self.header("content-type"))
        boundary = options.get("boundary")
        if self.content_type != "multipart/form-data" or not boundary:
            raise ApiError(415, "unsupported_media_type", "Send a multipart/form-data body with a boundary.")
        parser = multipart.MultipartParser(
            io.BytesIO(self.body), boundary, len(self.body), strict=True,
            spool_limit=MAX_BODY_BYTES + 1, memory_limit=MAX_BODY_BYTES + 1,
            disk_limit=0, mem_limit=MAX_BODY_BYTES + 1, memfile_limit=MAX_BODY_BYTES + 1,
        )
        try:
            return {part.name: part for part in parser}
        except multipart.MultipartError as exc:
            raise bad_request("invalid_multipart", f"The multipart body could not be read: {exc}.") from None
