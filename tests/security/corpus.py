"""Bad requests for every route, generated: each one must be refused with a 4xx in the error shape.

Routes and methods come from the router (local.router.api_routes and each
app's `.handlers`); the fields of each JSON body from the OpenAPI document.
A field case starts from a body that would be accepted and spoils one field,
so a refusal is about that field, not about something else missing.
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass, field

from lib import usage
from local.router import ROOT, api_routes
from tests.fixtures.accounts import PASSWORD
from tests.fixtures.sentisight import image_bytes

SPEC = json.loads((ROOT / "public" / "openapi.json").read_text())
DEPTH = 10_000  # far past Python's recursion limit, as a JSON parser would meet it
FIVE_MB = 5 * 1024 * 1024
NOSQL = {"$ne": {"$ne": None}, "$gt": {"$gt": ""}, "$where": {"$where": "sleep(1000) || true"}, "$regex": {"$regex": ".*"}}
WRONG_TYPES = {"string": "text", "array": ["x"], "integer": 12345, "boolean": True, "object": {"a": 1}}
STRINGS = {"huge string": "A" * 200_000, "NUL byte": "ab\x00cd", "lone surrogate": "\ud800"}
NESTED_MARK = "__deeply_nested__"
BAD_URLS = [
    "http://127.0.0.1/cat.png", "http://localhost:3000/cat.png", "http://10.0.0.7/cat.png", "http://192.168.1.1/cat.png",
    "http://169.254.169.254/latest/meta-data/", "http://[::1]/cat.png", "http://0.0.0.0/cat.png", "http://[::ffff:127.0.0.1]/cat.png",
    "http://2130706433/cat.png", "http://0x7f.1/cat.png", "http://127.1/cat.png", "http://[fe80::1]/cat.png", "http://metadata.localhost/",
    "http://user:secret@example.com/cat.png", "https://token@example.com/cat.png",
    "file:///etc/passwd", "ftp://example.com/cat.png", "gopher://example.com/_", "javascript:alert(1)",
    "data:image/png;base64,iVBORw0KGgo=", "//example.com/cat.png", "http:///cat.png", "https://example.com/" + "a" * 3000,
]


@dataclass
class Case:
    label: str
    method: str
    path: str
    kwargs: dict = field(default_factory=dict)  # for Client.request: json/data/headers/query/cookies


@dataclass
class Context:
    """Real ids and credentials, so a spoiled body is the only thing wrong with a request."""

    admin_email: str
    own_token_id: str
    victim_id: str


def valid_bodies(ctx: Context) -> dict[tuple[str, str], dict]:
    """(METHOD, OpenAPI path) -> a body the route would accept."""
    vision = {"url": "https://images.example.com/cat.png"}
    bodies = {
        ("POST", "/api/auth/register"): {"first_name": "Ada", "last_name": "Lovelace", "email": "new.person@example.com",
                                         "password": PASSWORD, "company": "Analytical Engines", "age_confirmed": True},
        ("POST", "/api/auth/login"): {"email": ctx.admin_email, "password": PASSWORD},
        ("POST", "/api/auth/password"): {"current_password": PASSWORD, "new_password": "a new and better password"},
        ("POST", "/api/auth/forgot"): {"email": ctx.admin_email},
        ("POST", "/api/auth/reset"): {"token": "r" * 43, "new_password": "a new and better password"},
        ("PATCH", "/api/account/profile"): {"first_name": "Ada", "last_name": "King", "company": "Engines", "notifications": {"marketing": True}},
        ("DELETE", "/api/account"): {"password": PASSWORD},
        ("POST", "/api/tokens"): {"name": "ci"},
        ("PATCH", "/api/tokens/{id}"): {"name": "renamed", "active": False},
        ("POST", "/api/billing/checkout"): {"pack_id": "starter"},
        ("PATCH", "/api/admin/users/{id}"): {"role": "admin", "disabled": True},
        ("POST", "/api/admin/credits"): {"user_id": ctx.victim_id, "amount": 5, "reason": "goodwill"},
        ("POST", "/api/auth/verify"): {"token": "v" * 43},
        ("POST", "/api/account/email"): {"password": PASSWORD, "new_email": "moved@example.com"},
        ("POST", "/api/account/notices"): {"id": ctx.victim_id},
        ("DELETE", "/api/admin/users/{id}"): {"reason": "under 16, as their parent wrote"},
        ("POST", "/api/admin/policy-updates"): {"effective_date": "2027-01-31", "summary": "We now keep server logs for 60 days."},
        ("POST", "/api/contact"): {"name": "Ada", "email": "ada@example.com", "subject": "Hello", "message": "A question."},
    }
    for path in SPEC["paths"]:
        if path.startswith("/api/vision/") and path != "/api/vision/models":
            bodies[("POST", path)] = vision
    return bodies


def operations(router) -> list[tuple[str, str, str, object]]:
    """(METHOD, concrete-path template, OpenAPI path, app) for every route and method it handles."""
    out = []
    for route in api_routes():
        app = router.load(route)
        spec_path = route.path.replace("[", "{").replace("]", "}")
        for method in app.handlers:
            out.append((method, route.path, spec_path, app))
    return out


def _path(template: str, ctx: Context) -> str:
    if template.startswith("/api/tokens/"):
        return template.replace("[id]", ctx.own_token_id)
    return template.replace("[id]", ctx.victim_id)


def _json_case(label: str, method: str, path: str, body: dict) -> Case:
    text = json.dumps(body)
    if NESTED_MARK in text:  # built as text: json.dumps itself would hit the recursion limit
        text = text.replace(json.dumps(NESTED_MARK), "[" * DEPTH + "]" * DEPTH)
    return Case(label, method, path, {"data": text.encode(), "headers": {"content-type": "application/json"}})


def _field_values(kind: str) -> dict[str, object]:
    """Values that are wrong for a field of JSON type `kind`."""
    values = {**NOSQL, **{f"wrong type ({t})": v for t, v in WRONG_TYPES.items() if t != kind}, "deep nesting": NESTED_MARK}
    if kind == "string":
        values.update(STRINGS)
    if kind == "integer":
        values["huge integer"] = 10**30
    return values


def field_cases(method: str, path: str, spec_path: str, body: dict) -> list[Case]:
    schema = SPEC["paths"][spec_path][method.lower()]["requestBody"]["content"]["application/json"]["schema"]
    cases = []
    for name, prop in schema.get("properties", {}).items():
        base = {} if spec_path.startswith("/api/vision/") and name != "lang" else dict(body)
        for label, value in _field_values(prop.get("type", "string")).items():
            cases.append(_json_case(f"{method} {spec_path} {name}={label}", method, path, {**base, name: value}))
    return cases


def body_cases(method: str, path: str, spec_path: str, body: dict) -> list[Case]:
    """Bodies wrong as a whole: not an object, not JSON, not UTF-8, too deep, too big, the wrong type."""
    raw = json.dumps(body).encode()
    as_json = {"content-type": "application/json"}
    shapes = {"array": b"[]", "string": b'"x"', "number": b"1", "null": b"null", "true": b"true", "truncated": raw[:-3],
              "invalid UTF-8": b'{"email": "\xff\xfe\xfa"}', "NaN": b'{"a": NaN}', "BOM and garbage": b"\xef\xbb\xbf{,}"}
    cases = [Case(f"{method} {spec_path} body={k}", method, path, {"data": v, "headers": as_json}) for k, v in shapes.items()]
    cases += [
        _json_case(f"{method} {spec_path} body=nested arrays", method, path, NESTED_MARK),
        Case(f"{method} {spec_path} body=nested objects", method, path,
             {"data": ('{"a":' * DEPTH + "1" + "}" * DEPTH).encode(), "headers": as_json}),
        _json_case(f"{method} {spec_path} unknown $where field", method, path, {**body, "$where": "1 == 1"}),
        Case(f"{method} {spec_path} 5 MB body", method, path, {"data": b'{"a": "' + b"A" * FIVE_MB + b'"}', "headers": as_json}),
        Case(f"{method} {spec_path} Content-Length lies", method, path, {"data": raw, "headers": {**as_json, "content-length": "abc"}}),
    ]
    if not spec_path.startswith("/api/vision/"):  # vision routes take images as other types on purpose
        for ctype in ("text/plain", "application/x-www-form-urlencoded", "application/xml", "multipart/form-data; boundary=x"):
            cases.append(Case(f"{method} {spec_path} as {ctype.split(';')[0]}", method, path, {"data": raw, "headers": {"content-type": ctype}}))
    return cases


def _png(width: int, height: int, idat: bytes = b"") -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _multipart(boundary: str, name: str, filename: str, data: bytes, ctype: str = "image/png") -> bytes:
    return (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {ctype}\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()


def image_cases(path: str) -> list[Case]:
    """Uploads and URLs a vision route must refuse before it charges anything."""
    png = image_bytes()
    bomb = _png(60_000, 60_000, zlib.compress(b"\x00" * 1_000_000, 9))  # 3.6 gigapixels declared
    good = _multipart("b0undary", "image", "cat.png", png)
    mp = "multipart/form-data; boundary=b0undary"
    raw = {
        "non-image bytes named .png": (_multipart("b0undary", "image", "cat.png", b"#!/bin/sh\nrm -rf /\n"), mp),
        "HTML named .jpg": (_multipart("b0undary", "image", "cat.jpg", b"<html><script>alert(1)</script></html>", "image/jpeg"), mp),
        "truncated multipart": (good[: len(good) // 2], mp),
        "multipart without a closing boundary": (good.replace(b"--b0undary--", b""), mp),
        "multipart without boundary parameter": (good, "multipart/form-data"),
        "multipart with another boundary": (good, "multipart/form-data; boundary=other"),
        "multipart without an image field": (_multipart("b0undary", "picture", "cat.png", png), mp),
        "multipart with an empty image": (_multipart("b0undary", "image", "cat.png", b""), mp),
        "PNG decompression bomb": (bomb, "image/png"),
        "PNG with a zero-size header": (_png(0, 0), "image/png"),
        "PNG cut inside its header": (png[:20], "image/png"),
        "JPEG magic then garbage": (b"\xff\xd8\xff" + b"\x00" * 64, "image/jpeg"),
        "5 MB image": (png + b"\x00" * FIVE_MB, "image/png"),
        "empty body as image/png": (b"", "image/png"),
        "text body": (b"hello", "text/plain"),
        "form-urlencoded body": (b"url=http://127.0.0.1/", "application/x-www-form-urlencoded"),
    }
    cases = [Case(f"POST {path} {label}", "POST", path, {"data": data, "headers": {"content-type": ctype}}) for label, (data, ctype) in raw.items()]
    cases += [_json_case(f"POST {path} url={url[:40]}", "POST", path, {"url": url}) for url in BAD_URLS]
    cases += [_json_case(f"POST {path} base64 of a script", "POST", path, {"base64": "IyEvYmluL3NoCg=="})]
    cases += [Case(f"POST {path} ?format={v}", "POST", path, {"data": png, "headers": {"content-type": "image/png"}, "query": {"format": v}})
              for v in ("xml", "png" if not path.endswith("background-removal") else "gif", "$ne")]
    cases += [Case(f"POST {path} ?lang={v[:10]}", "POST", path, {"data": png, "headers": {"content-type": "image/png"}, "query": {"lang": v}})
              for v in ("$ne", "e" * 100, "en;drop", "../../etc")]
    return cases


QUERY_VALUES = ["abc", "-1", "0", "1.5", "99999999999999999999999", "$ne", "9" * 5000, "1e9", "[]"]
QUERY_PARAMS = {"days", "page", "status", "model", "source"}  # `q` is free text: any string is a valid search


def query_cases(method: str, path: str, spec_path: str) -> list[Case]:
    params = [p["name"] for p in SPEC["paths"][spec_path][method.lower()].get("parameters", []) if p["name"] in QUERY_PARAMS]
    # A well-formed model slug ("abc", "0") is a filter that matches nothing, not an error.
    return [Case(f"{method} {spec_path} ?{name}={v[:12]}", method, path, {"query": {name: v}}) for name in params for v in QUERY_VALUES
            if not (name == "model" and usage.MODEL_SLUG.match(v))]


def id_cases(method: str, template: str, spec_path: str, body: dict | None) -> list[Case]:
    kw = {"json": body} if body else {}
    return [Case(f"{method} {spec_path} id={label}", method, template.replace("[id]", raw), dict(kw))
            for label, raw in (("not an id", "not-an-id"), ("operator", "%7B%22%24ne%22%3A1%7D"), ("unknown", "0" * 24),
                               ("too long", "a" * 500), ("dots", "..%2F..%2Fetc"))]


def generate(router, ctx: Context) -> list[Case]:
    bodies = valid_bodies(ctx)
    cases = []
    for method, template, spec_path, app in operations(router):
        path = _path(template, ctx)
        wrong_method = next(m for m in ("PUT", "PATCH", "DELETE", "POST") if m not in app.handlers)
        cases.append(Case(f"{wrong_method} {spec_path} (method not allowed)", wrong_method, path))
        if app.auth is not None:
            cases.append(Case(f"{method} {spec_path} garbled session cookie", method, path, {"headers": {"cookie": "np_session=garbage.not.a.jwt"}}))
        body = bodies.get((method, spec_path))
        if body is not None:
            cases += field_cases(method, path, spec_path, body) + body_cases(method, path, spec_path, body)
        elif spec_path == "/api/billing/webhook":
            cases += body_cases(method, path, spec_path, {"id": "evt_1", "type": "checkout.session.completed"})
        if spec_path in SPEC["paths"] and method.lower() in SPEC["paths"][spec_path]:
            cases += query_cases(method, path, spec_path)
        if "[id]" in template:
            cases += id_cases(method, template, spec_path, body if method != "GET" else None)
        if spec_path.startswith("/api/vision/") and method == "POST" and spec_path.endswith(("general-classification", "background-removal")):
            cases += image_cases(path)  # two models cover both output kinds; the input checks are shared
    return cases

