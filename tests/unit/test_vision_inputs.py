"""The image checks that run before a call is charged: magic bytes, header sizes, URLs, base64."""

from __future__ import annotations

import base64
import io
import struct
import zlib

import pytest
from PIL import Image

from lib.errors import ApiError
from lib.vision import inputs
from tests.fixtures.sentisight import image_bytes


def png_header(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims this size, with one tiny IDAT: what a decompression bomb looks like."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def error_of(call, *args) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call(*args)
    return caught.value


@pytest.mark.parametrize(("fmt", "mime", "save"), [
    ("PNG", "image/png", {}),
    ("JPEG", "image/jpeg", {}),
    ("JPEG", "image/jpeg", {"progressive": True}),
    ("JPEG", "image/jpeg", {"exif": b"Exif\x00\x00" + b"MM\x00\x2a\x00\x00\x00\x08\x00\x00"}),
    ("GIF", "image/gif", {}),
    ("BMP", "image/bmp", {}),
    ("WEBP", "image/webp", {}),
    ("WEBP", "image/webp", {"lossless": True}),
])
def test_type_and_size_come_from_the_header(fmt, mime, save):
    data = image_bytes(fmt, (123, 45), **save)
    image = inputs.check_image(data)
    assert (image.mime, image.width, image.height) == (mime, 123, 45)
    assert image.data == data


def test_webp_with_alpha_uses_the_extended_header():
    out = io.BytesIO()
    Image.new("RGBA", (321, 17), (255, 0, 0, 128)).save(out, "WEBP")
    data = out.getvalue()
    assert data[12:16] == b"VP8X"
    assert inputs.image_size(data, "image/webp") == (321, 17)


def test_bmp_stored_top_down_has_a_negative_height():
    data = bytearray(image_bytes("BMP", (30, 20)))
    data[22:26] = struct.pack("<i", -20)
    assert inputs.image_size(bytes(data), "image/bmp") == (30, 20)


def test_bmp_with_the_old_os2_header():
    header = b"BM" + struct.pack("<IHHI", 26, 0, 0, 26) + struct.pack("<IHHHH", 12, 640, 480, 1, 24)
    assert inputs.image_size(header, "image/bmp") == (640, 480)


def test_the_declared_name_or_type_does_not_matter():
    # what counts is the bytes: a JPEG is a JPEG whatever it is called
    assert inputs.sniff_type(image_bytes("JPEG")) == "image/jpeg"
    assert inputs.sniff_type(b"<svg xmlns='http://www.w3.org/2000/svg'/>") is None
    assert inputs.sniff_type(b"%PDF-1.7") is None


def test_decompression_bomb_is_refused_from_its_header():
    err = error_of(inputs.check_image, png_header(100_000, 100_000))
    assert (err.status, err.code) == (413, "image_too_many_pixels")
    assert err.extra["width"] == 100_000 and err.extra["limit_pixels"] == inputs.MAX_PIXELS


def test_jpeg_bomb_is_refused_too():
    data = bytearray(image_bytes("JPEG", (16, 16)))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", 65000, 65000)
    assert error_of(inputs.check_image, bytes(data)).code == "image_too_many_pixels"


def test_forty_megapixels_is_the_limit():
    assert inputs.check_image(png_header(8000, 5000)).width == 8000
    assert error_of(inputs.check_image, png_header(8000, 5001)).status == 413


@pytest.mark.parametrize("data", [
    image_bytes("PNG")[:20],
    image_bytes("JPEG")[:30],
    image_bytes("GIF")[:8],
    image_bytes("WEBP")[:20],
    image_bytes("BMP")[:20],
    png_header(0, 10),
])
def test_a_damaged_header_is_unprocessable(data):
    err = error_of(inputs.check_image, data)
    assert (err.status, err.code) == (422, "invalid_image")


@pytest.mark.parametrize(("data", "status", "code"), [
    (b"", 400, "missing_image"),
    (b"hello, world", 415, "unsupported_image_type"),
    (image_bytes("PNG") + b"\0" * inputs.MAX_IMAGE_BYTES, 413, "image_too_large"),
])
def test_what_is_not_an_image(data, status, code):
    err = error_of(inputs.check_image, data)
    assert (err.status, err.code) == (status, code)


@pytest.mark.parametrize("url", [
    "https://example.com/cat.jpg",
    "HTTP://example.com/cat.jpg?size=large&x=%20",
    "http://203.0.113.9:8080/a.png",
    "https://[2001:db8::1]/a.png",
])
def test_accepted_urls(url):
    assert inputs.check_url(url) == url


@pytest.mark.parametrize("url", [
    "ftp://example.com/cat.jpg",
    "javascript:alert(1)",
    "file:///etc/passwd",
    "//example.com/cat.jpg",
    "https://user:secret@example.com/cat.jpg",
    "https://user@example.com/cat.jpg",
    "https://example.com/my cat.jpg",
    "https://example.com/cat.jpg\n",
    "https://example.com/\tcat.jpg",
    "https:///cat.jpg",
    "https://example.com:port/cat.jpg",
    "https://example.com/" + "a" * 2048,
    "",
    42,
    {"$ne": None},
])
def test_refused_urls(url):
    err = error_of(inputs.check_url, url)
    assert (err.status, err.code) == (400, "invalid_url")


def test_url_of_exactly_the_maximum_length_is_fine():
    url = "https://example.com/" + "a" * (inputs.MAX_URL_LENGTH - len("https://example.com/"))
    assert inputs.check_url(url) == url


def test_base64_plain_data_url_and_wrapped_lines():
    data = image_bytes("PNG")
    encoded = base64.b64encode(data).decode()
    assert inputs.decode_base64(encoded) == data
    assert inputs.decode_base64("data:image/png;base64," + encoded) == data
    assert inputs.decode_base64("\n".join(encoded[i:i + 76] for i in range(0, len(encoded), 76))) == data


@pytest.mark.parametrize("value", ["not base64!", "abc", "", None, 123, ["aGVsbG8="]])
def test_bad_base64(value):
    err = error_of(inputs.decode_base64, value)
    assert (err.status, err.code) == (400, "invalid_base64")


def test_oversized_base64_is_refused_before_decoding():
    err = error_of(inputs.decode_base64, "A" * (inputs.MAX_IMAGE_BYTES // 3 * 4 + 8))
    assert (err.status, err.code) == (413, "image_too_large")


@pytest.mark.parametrize(("value", "expected"), [("en", "en"), ("zh-Hans", "zh-Hans"), ("", None), (None, None)])
def test_lang_codes(value, expected):
    assert inputs.check_lang(value) == expected


@pytest.mark.parametrize("value", ["english please", "e", 7, "en;drop", "x" * 20])
def test_bad_lang(value):
    err = error_of(inputs.check_lang, value)
    assert (err.status, err.code, err.extra["field"]) == (400, "invalid_parameter", "lang")
