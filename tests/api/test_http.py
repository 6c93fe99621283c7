"""lib.http: parsing, limits, errors, security headers and the request log, seen from a client."""

from __future__ import annotations

import io
import logging
import tempfile
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from bson import ObjectId
from pymongo.errors import ServerSelectionTimeoutError

from lib import db, sessions
from lib.errors import ApiError
from lib.http import MAX_BODY_BYTES, Response, endpoint
from lib.http.security import check_csrf
from local.embedded_db import free_port
from tests.client import SITE, Client

PRODUCTION_SECRETS = {
    "VERCEL_ENV": "production",
    "BCRYPT_ROUNDS": "12",
    "JWT_SECRET": "p" * 48,
    "STRIPE_SECRET_KEY": "sk_test_x",
    "STRIPE_WEBHOOK_SECRET": "whsec_x",
    "SENTISIGHT_API_TOKEN": "token",
}


def echo_json(req):
    return {"received": req.json()}


def describe(req):
    return {"query": req.query, "cookies": req.cookies, "agent": req.header("User-Agent"), "ip": req.client_ip}


def upload(req):
    return {
        name: {
            "filename": part.filename, "size": part.size, "in_memory": isinstance(part.file, io.BytesIO),
            "value": part.value if part.filename is None else None,
        }
        for name, part in req.form.items()
    }


def fail(req):
    raise RuntimeError("password=hunter2 at mongodb://admin@10.0.0.5")


def database_gone(req):
    raise ServerSelectionTimeoutError("10.0.0.5:27017: connection refused, topology secret")


def conflict(req):
    raise ApiError(409, "name_taken", "That name is taken.", suggestion="ada2")


@pytest.fixture
def app(database):
    """A small endpoint with a handler for each behaviour under test."""
    return Client(endpoint(GET=describe, POST=echo_json, PUT=upload))


def call(handler, method="GET", **kw):
    """Call a one-handler endpoint in-process."""
    return Client(endpoint(**{method: handler})).request(method, "/api/test", **kw)


def assert_error(result, status, code):
    assert result.status_code == status, result
    assert result.headers["content-type"] == "application/json"
    body = result.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


# -- the error shape -------------------------------------------------------------

def test_api_error_renders_as_one_json_shape(database):
    r = call(conflict)
    assert_error(r, 409, "name_taken")
    assert r.json() == {"error": {"code": "name_taken", "message": "That name is taken.", "suggestion": "ada2"}}


def test_handler_results_become_responses(database):
    assert call(lambda req: {"a": 1}).json() == {"a": 1}
    empty = call(lambda req: None)
    assert empty.status_code == 204 and empty.body == b""
    png = call(lambda req: Response(b"\x89PNG", 201, content_type="image/png"))
    assert png.status_code == 201 and png.headers["content-type"] == "image/png" and png.body == b"\x89PNG"


def test_unknown_api_path_is_json_404(client):
    assert_error(client.get("/api/nope"), 404, "not_found")


# -- request parsing -------------------------------------------------------------

def test_query_cookies_and_headers_are_parsed(app):
    r = app.get("/api/test?q=cat&empty=&q=dog", headers={"Cookie": "theme=dark; lang=en", "User-Agent": "curl/8"})
    assert r.json() == {"query": {"q": "cat", "empty": ""}, "cookies": {"theme": "dark", "lang": "en"}, "agent": "curl/8", "ip": "203.0.113.7"}


def test_a_malformed_cookie_header_is_ignored(app):
    r = app.get("/api/test", headers={"Cookie": 'a="unterminated'})
    assert r.status_code == 200 and r.json()["cookies"] == {}


def test_json_body_is_parsed(app):
    r = app.post("/api/test", json={"name": "Ada", "n": [1, 2]})
    assert r.json() == {"received": {"name": "Ada", "n": [1, 2]}}


def test_json_with_a_charset_parameter_is_accepted(app):
    r = app.post("/api/test", data='{"a": "é"}'.encode(), headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.json() == {"received": {"a": "é"}}


@pytest.mark.parametrize("body", [b"{not json", b'{"a": 1', b"\xff\xfe{}", b"[1, 2]", b'"text"', b""])
def test_bad_json_is_400_invalid_json(app, body):
    assert_error(app.post("/api/test", data=body, headers={"Content-Type": "application/json"}), 400, "invalid_json")


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_json_route_refuses_another_content_type_with_415(app, ctype):
    headers = {"Content-Type": ctype} if ctype else {}
    assert_error(app.post("/api/test", data=b'{"a": 1}', headers=headers), 415, "unsupported_media_type")


def test_non_numeric_content_length_is_400(app):
    assert_error(app.post("/api/test", data=b"{}", headers={"Content-Type": "application/json", "Content-Length": "lots"}), 400, "invalid_content_length")


# -- the 4.5 MB body limit ---------------------------------------------------------

def test_a_body_at_the_limit_is_accepted(app):
    padding = "x" * (MAX_BODY_BYTES - len('{"p": ""}'))
    r = app.post("/api/test", data=f'{{"p": "{padding}"}}', headers={"Content-Type": "application/json"})
    assert r.status_code == 200 and len(r.json()["received"]["p"]) == len(padding)


def test_a_body_over_the_limit_is_413(app):
    body = b'{"p": "' + b"x" * MAX_BODY_BYTES + b'"}'
    assert_error(app.post("/api/test", data=body, headers={"Content-Type": "application/json"}), 413, "payload_too_large")


def test_a_declared_length_over_the_limit_is_413_before_reading(app):
    r = app.post("/api/test", data=b"{}", headers={"Content-Type": "application/json", "Content-Length": str(MAX_BODY_BYTES + 1)})
    assert_error(r, 413, "payload_too_large")


def test_a_body_without_length_is_measured_as_read(database):
    """Servers that pass chunked bodies (wsgi.input_terminated) give no Content-Length."""
    app = endpoint(POST=lambda req: {"size": len(req.body)})

    def send(size):
        environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/api/test", "wsgi.input": io.BytesIO(b"x" * size), "wsgi.input_terminated": True}
        captured = {}
        body = b"".join(app(environ, lambda status, headers, exc_info=None: captured.update(status=status)))
        return captured["status"], body

    status, body = send(1000)
    assert status.startswith("200") and body == b'{"size":1000}'
    status, body = send(MAX_BODY_BYTES + 10)
    assert status.startswith("413") and b"payload_too_large" in body


def test_an_upload_over_the_limit_is_413(app):
    r = app.put("/api/test", files={"image": ("big.png", b"\0" * (MAX_BODY_BYTES + 1), "image/png")})
    assert_error(r, 413, "payload_too_large")


# -- multipart -------------------------------------------------------------------------

@pytest.fixture
def no_temp_files(monkeypatch):
    """Any attempt to create a temporary file fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("an upload was about to be written to disk")

    for name in ("TemporaryFile", "NamedTemporaryFile", "SpooledTemporaryFile", "mkstemp", "mkdtemp"):
        monkeypatch.setattr(tempfile, name, refuse)


def test_multipart_is_parsed_in_memory_only(app, no_temp_files):
    image = bytes(range(256)) * 8000  # ~2 MB: far past the parser's default in-memory size
    r = app.put("/api/test", files={"image": ("cat.png", image, "image/png"), "model": "object-detection"})
    assert r.status_code == 200, r
    assert r.json() == {
        "image": {"filename": "cat.png", "size": len(image), "in_memory": True, "value": None},
        "model": {"filename": None, "size": len("object-detection"), "in_memory": True, "value": "object-detection"},
    }


@pytest.mark.parametrize("body", [
    b"--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue",  # never closed
    b"garbage without any boundary",
    b"--B\r\nX-No-Disposition: 1\r\n\r\nvalue\r\n--B--\r\n",
])
def test_bad_multipart_is_400(app, body):
    assert_error(app.put("/api/test", data=body, headers={"Content-Type": "multipart/form-data; boundary=B"}), 400, "invalid_multipart")


@pytest.mark.parametrize("ctype", ["multipart/form-data", "application/json", "image/png"])
def test_an_upload_route_refuses_other_bodies_with_415(app, ctype):
    assert_error(app.put("/api/test", data=b"{}", headers={"Content-Type": ctype}), 415, "unsupported_media_type")


# -- methods -----------------------------------------------------------------------------

def test_undefined_method_is_405_with_allow(app):
    r = app.delete("/api/test")
    assert_error(r, 405, "method_not_allowed")
    assert r.headers["allow"] == "GET, HEAD, OPTIONS, POST, PUT"


def test_options_is_204_with_allow(app):
    r = app.request("OPTIONS", "/api/test")
    assert r.status_code == 204 and r.body == b""
    assert r.headers["allow"] == "GET, HEAD, OPTIONS, POST, PUT"


def test_head_answers_like_get_without_a_body(app):
    get = app.get("/api/test")
    head = app.request("HEAD", "/api/test")
    assert head.status_code == 200 and head.body == b""
    assert head.headers["content-length"] == get.headers["content-length"] == str(len(get.body))


def test_head_is_not_allowed_without_get(database):
    head = Client(endpoint(POST=echo_json)).request("HEAD", "/api/test")
    assert head.status_code == 405 and head.body == b""
    assert head.headers["allow"] == "OPTIONS, POST"


def test_health_refuses_delete_with_allow(client):
    r = client.delete("/api/health")
    assert_error(r, 405, "method_not_allowed")
    assert r.headers["allow"] == "GET, HEAD, OPTIONS"


def test_endpoint_refuses_unknown_methods_and_auth_modes():
    with pytest.raises(ValueError, match="FETCH"):
        endpoint(FETCH=describe)
    with pytest.raises(ValueError, match="auth"):
        endpoint(GET=describe, auth="cookie")


# -- unexpected failures -----------------------------------------------------------------

def test_unexpected_exception_is_a_generic_500_and_a_logged_traceback(database, caplog):
    caplog.set_level(logging.ERROR, logger="nexuspoint.http")
    r = call(fail)
    assert_error(r, 500, "internal_error")
    assert "hunter2" not in r.text and "RuntimeError" not in r.text and "mongodb://" not in r.text
    assert r.headers["x-request-id"] in r.json()["error"]["message"]
    [record] = [rec for rec in caplog.records if rec.name == "nexuspoint.http"]
    assert record.exc_info and record.exc_info[0] is RuntimeError
    assert "hunter2" in caplog.text and "Traceback" in caplog.text
    assert r.headers["x-request-id"] in record.getMessage()


def test_database_unavailable_is_503(database, caplog):
    caplog.set_level(logging.ERROR, logger="nexuspoint.http")
    r = call(database_gone)
    assert_error(r, 503, "database_unavailable")
    assert "topology" not in r.text and "27017" not in r.text
    assert "ServerSelectionTimeoutError" in caplog.text


# -- security headers ---------------------------------------------------------------------

def assert_security_headers(result):
    csp = result.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "img-src 'self' data: blob:" in csp
    assert result.headers["x-content-type-options"] == "nosniff"
    assert result.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert result.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("request_args", [("GET", "/api/test"), ("DELETE", "/api/test"), ("OPTIONS", "/api/test"), ("POST", "/api/test")])
def test_security_headers_on_every_api_response(app, request_args):
    assert_security_headers(app.request(*request_args))


def test_security_headers_on_an_unexpected_error(database):
    assert_security_headers(call(fail))


@pytest.mark.parametrize("path", ["/", "/no-such-page", "/api/health", "/api/nope", "/index.html"])
def test_security_headers_through_the_router(client, path):
    assert_security_headers(client.get(path))


def test_api_responses_are_not_cached(app):
    assert app.get("/api/test").headers["cache-control"] == "no-store"


def test_no_hsts_outside_production(app):
    assert "strict-transport-security" not in app.get("/api/test").headers


def test_hsts_in_production(database, settings):
    settings(**PRODUCTION_SECRETS)
    r = call(describe)
    assert r.status_code == 200
    assert r.headers["strict-transport-security"].startswith("max-age=")
    assert int(r.headers["strict-transport-security"].split(";")[0].split("=")[1]) >= 365 * 24 * 3600


# -- the request log ------------------------------------------------------------------------

def test_one_request_log_row_per_request_with_its_id(client, database):
    r = client.get(
        "/api/health?probe=1",
        headers={"X-Forwarded-For": "198.51.100.23, 10.0.0.1, 10.0.0.2", "User-Agent": "Mozilla/5.0 test", "Referer": "http://testserver/dashboard"},
    )
    assert r.status_code == 200
    rows = list(database.request_log.find())
    assert len(rows) == 1
    row = rows[0]
    assert row["request_id"] == r.headers["x-request-id"]
    assert len(r.headers["x-request-id"]) == 32
    assert row["ip"] == "198.51.100.23"
    assert row["method"] == "GET" and row["path"] == "/api/health" and row["status"] == 200
    assert row["user_agent"] == "Mozilla/5.0 test"
    assert row["referrer"] == "http://testserver/dashboard"
    assert isinstance(row["duration_ms"], float) and 0 <= row["duration_ms"] < 60_000
    assert abs(datetime.now(UTC) - row["created_at"]) < timedelta(minutes=1)


def test_request_log_uses_the_peer_address_without_a_proxy(client, database):
    client.get("/api/health", ip="192.0.2.44")
    assert database.request_log.find_one()["ip"] == "192.0.2.44"


def test_request_log_records_errors_and_each_request(client, database):
    ids = [client.request(method, "/api/health").headers["x-request-id"] for method in ("DELETE", "GET", "OPTIONS")]
    rows = {row["request_id"]: row for row in database.request_log.find()}
    assert set(rows) == set(ids)
    assert [rows[i]["status"] for i in ids] == [405, 200, 204]
    assert [rows[i]["method"] for i in ids] == ["DELETE", "GET", "OPTIONS"]


def test_request_log_expires_after_90_days(database):
    ttl = [spec for spec in database.request_log.index_information().values() if spec["key"] == [("created_at", 1)]]
    assert len(ttl) == 1
    assert ttl[0]["expireAfterSeconds"] == 90 * 24 * 3600


def test_request_ids_are_unique(app):
    assert len({app.get("/api/test").headers["x-request-id"] for _ in range(5)}) == 5


# -- health ------------------------------------------------------------------------------

def test_health_up(client):
    r = client.get("/api/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["version"]
    assert body["backends"] == {"vision": "local", "payments": "local-checkout", "mail": "outbox"}


def test_health_down_is_503(router, settings):
    closed = free_port()  # nothing listens there
    settings(MONGODB_URI=f"mongodb://127.0.0.1:{closed}/?directConnection=true", MONGODB_TIMEOUT_MS=200)
    r = Client(router).get("/api/health")
    assert r.status_code == 503
    assert r.json()["status"] != "ok" and r.json()["database"] == "down"
    assert r.headers["content-type"] == "application/json"


def test_database_is_reachable_again_after_the_outage_test(client, database):
    assert db.ping() is True
    assert client.get("/api/health").status_code == 200


# -- CSRF ---------------------------------------------------------------------------------

def fake_request(method="POST", **headers):
    headers = {k.replace("_", "-").lower(): v for k, v in headers.items()}
    headers.setdefault("host", "testserver")
    return SimpleNamespace(method=method, header=lambda name, default="": headers.get(name.lower(), default))


@pytest.mark.parametrize("headers", [
    {"origin": "https://evil.example"},
    {},
    {"origin": "null"},
    {"referer": "https://evil.example/page"},
    {"origin": "http://testserver.evil.example"},
    {"origin": "http://evil.example", "referer": "http://testserver/page"},
    {"origin": "https://testserver"},  # the right host and port but another scheme: another origin
    {"origin": "http://testserver:8080"},
    {"origin": "https://nexuspoint.example", "host": "internal:8080", "x_forwarded_host": "nexuspoint.example", "x_forwarded_proto": "http"},
    {"origin": "ftp://testserver"},
    {"origin": "http://testserver:99999"},
    {"origin": "https://testserver:80"},  # SITE_URL's host and port, another scheme
    {"origin": "https://127.0.0.1:3000", "host": "127.0.0.1:3000"},  # the host's port, but https where the site is http
])
def test_csrf_refuses_cookie_writes_not_from_our_site(headers):
    with pytest.raises(ApiError) as caught:
        check_csrf(fake_request(**headers), cookie_authenticated=True)
    assert caught.value.status == 403 and caught.value.code == "csrf"


@pytest.mark.parametrize("headers", [
    {"origin": SITE},
    {"referer": f"{SITE}/dashboard/tokens"},
    {"origin": "null", "referer": f"{SITE}/dashboard"},
    {"origin": "http://127.0.0.1:3000", "host": "127.0.0.1:3000"},
    {"origin": "https://nexuspoint.example", "host": "internal:8080", "x_forwarded_host": "nexuspoint.example", "x_forwarded_proto": "https"},
    {"origin": "http://testserver:80"},  # the default port, spelled out
    {"origin": "HTTP://TestServer"},
])
def test_csrf_accepts_cookie_writes_from_our_site(headers):
    check_csrf(fake_request(**headers), cookie_authenticated=True)


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_csrf_ignores_safe_methods(method):
    check_csrf(fake_request(method, origin="https://evil.example"), cookie_authenticated=True)


def test_csrf_without_a_cookie_refuses_only_a_foreign_origin():
    check_csrf(fake_request(), cookie_authenticated=False)  # a script: no Origin at all
    check_csrf(fake_request(origin=SITE), cookie_authenticated=False)
    with pytest.raises(ApiError) as caught:
        check_csrf(fake_request(origin="https://evil.example"), cookie_authenticated=False)
    assert caught.value.code == "csrf"


def test_unauthenticated_route_refuses_a_foreign_origin(database):
    app = endpoint(POST=lambda req: {"ok": True})
    assert_error(Client(app, origin="https://evil.example").post("/api/test", json={}), 403, "csrf")
    assert Client(app, origin=None).post("/api/test", json={}).status_code == 200
    assert Client(app).post("/api/test", json={}).status_code == 200


@pytest.fixture
def signed_in(database):
    """A user document with one recorded session, and its cookie."""
    sid = "s" * 43
    now = datetime.now(UTC)
    record = {"hash": sessions.fingerprint(sid), "id": "0123456789abcdef", "started_at": now, "last_seen_at": now}
    user = {"_id": ObjectId(), "email": "csrf@example.com", "name": "Ada", "sessions": [record], "credits": 0}
    database.users.insert_one(user)
    return {"Cookie": f"{sessions.COOKIE_NAME}={sessions.issue(user['_id'], sid)}"}


def test_session_route_refuses_a_cookie_write_from_elsewhere(signed_in):
    app = endpoint(POST=lambda req: {"user": req.caller.user_id}, auth="session")
    assert_error(Client(app, origin="https://evil.example").post("/api/test", json={}, headers=signed_in), 403, "csrf")
    assert_error(Client(app, origin=None).post("/api/test", json={}, headers=signed_in), 403, "csrf")
    ok = Client(app).post("/api/test", json={}, headers=signed_in)
    assert ok.status_code == 200 and ok.json()["user"]
    by_referer = Client(app, origin=None).post("/api/test", json={}, headers={**signed_in, "Referer": f"{SITE}/dashboard"})
    assert by_referer.status_code == 200


def test_csrf_is_checked_only_for_cookie_callers_on_session_routes(database):
    app = endpoint(POST=lambda req: {}, auth="session")
    assert_error(Client(app, origin=None).post("/api/test", json={}), 401, "unauthenticated")


def test_lone_surrogate_in_json_is_a_400_not_a_500(client):
    body = b'{"email": "a@example.com", "password": "\\ud800abcdefghij"}'
    r = client.post("/api/auth/login", data=body, headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.error_code == "invalid_json"


def test_deeply_nested_json_is_a_400_not_a_500(client):
    body = b"[" * 100_000 + b"]" * 100_000
    r = client.post("/api/auth/login", data=body, headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.error_code == "invalid_json"


def test_api_and_static_responses_carry_the_same_csp():
    """The CSP lives in lib/http (functions) and vercel.json (pages): the two must not drift."""
    import json as jsonlib
    from pathlib import Path

    from lib.http import security

    vercel = jsonlib.loads((Path(__file__).resolve().parents[2] / "vercel.json").read_text())
    static = {h["key"]: h["value"] for rule in vercel["headers"] for h in rule["headers"]}
    assert static["Content-Security-Policy"] == security.CSP
