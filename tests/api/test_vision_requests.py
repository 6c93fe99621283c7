"""POST /api/vision/<model>: every way to send an image, and every way to get it wrong (for free)."""

from __future__ import annotations

import base64
import struct
import zlib

import pytest

from tests.fixtures.sentisight import image_bytes, ledger_rows

URL = "/api/vision/general-classification"


def balance(client) -> int:
    return client.get("/api/auth/me").json()["user"]["credits"]


def test_multipart_upload_is_forwarded_as_raw_bytes(client, user, sentisight):
    data = image_bytes("PNG", (120, 80))
    r = client.post(URL, files={"image": ("photo.png", data, "image/png")})
    assert r.status_code == 200, r.text
    assert r.json()["image"] == {"width": 120, "height": 80}
    [sent] = sentisight.requests
    assert sent["content_type"] == "application/octet-stream" and sent["body"] == data
    assert sent["model"] == "General-classification" and sent["headers"]["X-Auth-token"] == sentisight.token


@pytest.mark.parametrize("ctype", ["image/jpeg", "image/png", "application/octet-stream"])
def test_raw_body_is_recognised_by_its_bytes_not_its_declared_type(client, user, sentisight, ctype):
    data = image_bytes("JPEG", (50, 70))
    r = client.post(URL, data=data, headers={"content-type": ctype})
    assert r.status_code == 200, r.text
    assert r.json()["image"] == {"width": 50, "height": 70}
    assert sentisight.requests[0]["body"] == data


def test_a_file_named_like_a_png_that_is_a_gif_still_works(client, user, sentisight):
    r = client.post(URL, files={"image": ("looks.png", image_bytes("GIF", (33, 22)), "image/png")})
    assert r.status_code == 200 and r.json()["image"] == {"width": 33, "height": 22}


@pytest.mark.parametrize("prefix", ["", "data:image/webp;base64,"])
def test_base64_json(client, user, sentisight, prefix):
    data = image_bytes("WEBP", (40, 30))
    r = client.post(URL, json={"base64": prefix + base64.b64encode(data).decode()})
    assert r.status_code == 200, r.text
    assert r.json()["image"] == {"width": 40, "height": 30}
    assert sentisight.requests[0]["body"] == data


def test_url_json_is_passed_on_for_sentisight_to_fetch(client, user, sentisight):
    r = client.post(URL, json={"url": "https://images.example.com/dog.jpg"})
    assert r.status_code == 200, r.text
    assert r.json()["image"] == {"width": None, "height": None}  # we never downloaded it
    [sent] = sentisight.requests
    assert sent["content_type"] == "application/json" and sent["json"] == {"url": "https://images.example.com/dog.jpg"}


@pytest.mark.parametrize(("how", "lang"), [("query", "de"), ("json", "de"), ("form", "de"), ("none", None)])
def test_text_recognition_passes_the_language_on(client, user, sentisight, how, lang):
    data = image_bytes()
    path = "/api/vision/text-recognition"
    if how == "query":
        r = client.post(path + "?lang=de", data=data, headers={"content-type": "image/png"})
    elif how == "json":
        r = client.post(path, json={"base64": base64.b64encode(data).decode(), "lang": "de"})
    elif how == "form":
        r = client.post(path, files={"image": ("a.png", data, "image/png"), "lang": "de"})
    else:
        r = client.post(path, data=data, headers={"content-type": "image/png"})
    assert r.status_code == 200, r.text
    assert sentisight.requests[0]["query"] == ({"lang": [lang]} if lang else {})
    assert r.json()["results"]["text"].startswith("KAUFHAUS" if lang == "de" else "NEXUSPOINT")


def bomb_png() -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)) + chunk(b"IEND", b"")


def _raw(data: bytes, ctype: str = "image/png") -> dict:
    return {"data": data, "headers": {"content-type": ctype}}


REFUSED = [
    ("no body", {}, 400, "missing_image"),
    ("empty image body", _raw(b""), 400, "missing_image"),
    ("multipart without image", {"files": {"file": ("a.png", image_bytes(), "image/png")}}, 400, "missing_image"),
    ("json without image", {"json": {}}, 400, "missing_image"),
    ("json with both", {"json": {"url": "https://example.com/a.png", "base64": "aGk="}}, 400, "invalid_field"),
    ("json unknown field", {"json": {"url": "https://example.com/a.png", "image": "x"}}, 400, "unknown_field"),
    ("json not an object", {"data": b"[1]", "headers": {"content-type": "application/json"}}, 400, "invalid_json"),
    ("ftp url", {"json": {"url": "ftp://example.com/a.png"}}, 400, "invalid_url"),
    ("url with credentials", {"json": {"url": "https://me:pw@example.com/a.png"}}, 400, "invalid_url"),
    ("url with a space", {"json": {"url": "https://example.com/a b.png"}}, 400, "invalid_url"),
    ("url too long", {"json": {"url": "https://example.com/" + "a" * 2100}}, 400, "invalid_url"),
    ("url not a string", {"json": {"url": {"$ne": None}}}, 400, "invalid_url"),
    ("bad base64", {"json": {"base64": "%%%"}}, 400, "invalid_base64"),
    ("base64 of text", {"json": {"base64": base64.b64encode(b"just text").decode()}}, 415, "unsupported_image_type"),
    ("text body", _raw(b"hello", "text/plain"), 415, "unsupported_media_type"),
    ("not an image", _raw(b"hello, I am text"), 415, "unsupported_image_type"),
    ("svg", _raw(b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml"), 415, "unsupported_image_type"),
    ("image over 4 MB", _raw(image_bytes() + b"\0" * (4 * 1024 * 1024)), 413, "image_too_large"),
    ("body over 4.5 MB", _raw(image_bytes() + b"\0" * 4_600_000), 413, "payload_too_large"),
    ("decompression bomb", _raw(bomb_png()), 413, "image_too_many_pixels"),
    ("cut-off header", _raw(image_bytes("PNG")[:18]), 422, "invalid_image"),
    ("bad lang", {"data": image_bytes(), "headers": {"content-type": "image/png"}, "query": {"lang": "klingon!"}}, 400, "invalid_parameter"),
    ("bad format", {"data": image_bytes(), "headers": {"content-type": "image/png"}, "query": {"format": "gif"}}, 400, "invalid_parameter"),
    ("png of a label list", {"data": image_bytes(), "headers": {"content-type": "image/png"}, "query": {"format": "png"}}, 400, "invalid_parameter"),
]


@pytest.mark.parametrize(("case", "kwargs", "status", "code"), REFUSED, ids=[c[0] for c in REFUSED])
def test_refused_input_costs_nothing_and_never_reaches_sentisight(client, user, sentisight, case, kwargs, status, code):
    r = client.post(URL, **kwargs)
    assert (r.status_code, r.error_code) == (status, code), r.text
    assert r.json()["error"]["message"]
    assert sentisight.requests == []
    assert balance(client) == 50
    assert ledger_rows(user, "use") == []
