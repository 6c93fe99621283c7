"""The caller's image, read from the request and checked before anything is charged.

An image arrives as a multipart field `image`, as the raw body, or as JSON
`{"url": ...}` / `{"base64": ...}`. Bytes stay in memory (the privacy policy
promises images are never stored). The type comes from the magic bytes and
the size from the file header alone: decoding pixels would cost Pillow's
import on every cold start and let a decompression bomb fill the memory.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import socket
import struct
from urllib.parse import urlsplit

from lib import validation
from lib.errors import ApiError, bad_request
from lib.vision.types import ImageInput

MAX_IMAGE_BYTES = 4 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_URL_LENGTH = 2048
RAW_BODY_TYPES = ("application/octet-stream",)
OPTION_FIELDS = ("lang", "min_confidence", "max_results")  # lib/vision/options.py checks them
JSON_FIELDS = frozenset({"url", "base64", *OPTION_FIELDS})
LANG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?$")  # BCP-47 ("zh-Hant") or EasyOCR ("rs_cyrillic")
DATA_URL_PREFIX = re.compile(r"^data:[\w/+.-]*(?:;[\w=.-]+)*;base64,", re.IGNORECASE)
SUPPORTED = "JPEG, PNG, WebP, GIF or BMP"


def _invalid_image(mime: str) -> ApiError:
    kind = mime.split("/")[1].upper()
    return ApiError(422, "invalid_image", f"The file starts like a {kind} image but its header is damaged or cut short. Send the complete file.")


# --- type and size from the header -------------------------------------------

def sniff_type(data: bytes) -> str | None:
    """The MIME type its magic bytes announce, or None for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data.startswith(b"BM"):
        return "image/bmp"
    return None


def _png_size(data: bytes):
    if data[12:16] != b"IHDR" or len(data) < 24:
        return None
    return struct.unpack(">II", data[16:24])


def _gif_size(data: bytes):
    """The size Pillow will decode: the logical screen, grown to hold every frame (a 1x1 screen
    may carry a 9000x9000 frame). None for a file cut short before its first frame."""
    if len(data) < 13:
        return None
    width, height = struct.unpack("<HH", data[6:10])
    i = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)  # after the global colour table
    frames = 0
    while i < len(data):
        block = data[i]
        if block == 0x3B:  # trailer
            break
        if block == 0x21:  # extension: label, then data sub-blocks
            i = _skip_sub_blocks(data, i + 2)
        elif block == 0x2C:  # image descriptor: left, top, width, height, flags
            if i + 10 > len(data):
                break
            left, top, frame_w, frame_h = struct.unpack("<HHHH", data[i + 1:i + 9])
            width, height, frames = max(width, left + frame_w), max(height, top + frame_h), frames + 1
            flags = data[i + 9]
            i += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
            i = _skip_sub_blocks(data, i + 1)  # after the LZW minimum code size
        else:
            break
        if i is None:
            break
    return (width, height) if frames else None


def _skip_sub_blocks(data: bytes, i: int) -> int | None:
    while i < len(data):
        size = data[i]
        i += 1 + size
        if size == 0:
            return i
    return None


def _bmp_size(data: bytes):
    if len(data) < 26:
        return None
    header_size = struct.unpack("<I", data[14:18])[0]
    if header_size == 12:  # the old OS/2 BITMAPCOREHEADER: 16-bit sizes
        return struct.unpack("<HH", data[18:22])
    width, height = struct.unpack("<ii", data[18:26])
    return abs(width), abs(height)  # a negative height means rows stored top-down


def _webp_size(data: bytes):
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None


# Start-of-frame markers carry the size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but don't.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_STANDALONE = frozenset(range(0xD0, 0xD9)) | {0x01}  # RSTn, SOI, TEM: no length field


def _jpeg_size(data: bytes):
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte before a marker
            i += 1
            continue
        if marker in _JPEG_STANDALONE:
            i += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image or start of scan before any frame header
            return None
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in _JPEG_SOF:
            if i + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height
        i += 2 + length
    return None


_SIZE_READERS = {"image/png": _png_size, "image/gif": _gif_size, "image/bmp": _bmp_size, "image/webp": _webp_size, "image/jpeg": _jpeg_size}


def image_size(data: bytes, mime: str) -> tuple[int, int] | None:
    """(width, height) read from the header of an image of type `mime`, or None if unreadable."""
    size = _SIZE_READERS[mime](data)
    if size is None or not size[0] or not size[1]:
        return None
    return size


def check_image(data: bytes) -> ImageInput:
    """The image's type and size, or the error that says what is wrong with it."""
    if not data:
        raise bad_request("missing_image", "The image is empty. Send the file's bytes.")
    if len(data) > MAX_IMAGE_BYTES:
        raise ApiError(413, "image_too_large", f"The image is {len(data) / 1_048_576:.1f} MB; the limit is 4 MB. Resize or compress it first.",
                       limit_bytes=MAX_IMAGE_BYTES)
    mime = sniff_type(data)
    if mime is None:
        raise ApiError(415, "unsupported_image_type", f"This file is not an image we can read. Send a {SUPPORTED} file.")
    size = image_size(data, mime)
    if size is None:
        raise _invalid_image(mime)
    width, height = size
    if width * height > MAX_PIXELS:
        raise ApiError(413, "image_too_many_pixels",
                       f"The image is {width}x{height} pixels; the limit is {MAX_PIXELS // 1_000_000} megapixels. Scale it down first.",
                       width=width, height=height, limit_pixels=MAX_PIXELS)
    return ImageInput(data=data, mime=mime, width=width, height=height)


# --- URLs and base64 ------------------------------------------------------------

# Addresses no image URL may name: this machine, private networks, link-local (cloud metadata
# at 169.254.169.254), multicast and reserved. Host names are resolved by whoever fetches
# (SentiSight, or lib/vision/local/fetch.py, which checks every address it connects to).
INTERNAL_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16",
    "224.0.0.0/4", "240.0.0.0/4", "::/128", "::1/128", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
))
NUMERIC_HOST = re.compile(r"^[0-9a-fx.]+$", re.IGNORECASE)


def _host_address(hostname: str):
    """The IP address a host part spells, legacy forms included ("2130706433", "0x7f.1"), else None."""
    try:
        return ipaddress.ip_address(hostname)
    except ValueError:
        pass
    if NUMERIC_HOST.match(hostname):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(hostname))
        except OSError:
            return None
    return None


def is_internal_host(hostname: str) -> bool:
    """`localhost`, or an address literal inside INTERNAL_NETWORKS (IPv4 wrapped in IPv6 too)."""
    name = hostname.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    ip = _host_address(name)
    if isinstance(ip, ipaddress.IPv6Address):
        ip = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None) or ip
    return ip is not None and any(ip in net for net in INTERNAL_NETWORKS if net.version == ip.version)

def idna_host(hostname: str) -> str:
    """The host as it will be looked up: IDNA (with its Unicode normalization, so a full-width
    "１２７.０.０.１" becomes 127.0.0.1). UnicodeError for a name IDNA refuses."""
    if hostname.isascii() or ":" in hostname:
        return hostname.lower()
    return hostname.encode("idna").decode("ascii").lower()


def check_url(value) -> str:
    """A public http(s) URL as the caller gave it, or a 400 `invalid_url` saying what is wrong."""
    if not isinstance(value, str) or not value:
        raise bad_request("invalid_url", "'url' must be a non-empty string.", field="url")
    if len(value) > MAX_URL_LENGTH:
        raise bad_request("invalid_url", f"The URL is longer than {MAX_URL_LENGTH} characters.", field="url")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise bad_request("invalid_url", "The URL contains spaces or control characters; percent-encode them.", field="url")
    try:
        parts = urlsplit(value)
        hostname = parts.hostname
        parts.port  # noqa: B018 (raises ValueError for a port that isn't a number)
    except ValueError:
        raise bad_request("invalid_url", "The URL could not be parsed.", field="url") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise bad_request("invalid_url", "Only http:// and https:// image URLs are accepted.", field="url")
    if "@" in parts.netloc:
        raise bad_request("invalid_url", "The URL must not contain a user name or password.", field="url")
    if not hostname:
        raise bad_request("invalid_url", "The URL has no host name.", field="url")
    try:
        hostname = idna_host(hostname)
    except UnicodeError:
        raise bad_request("invalid_url", "The URL's host name is not a valid domain name.", field="url") from None
    if is_internal_host(hostname):
        raise bad_request("invalid_url", "The URL points into a private network or at this machine; use a public address.", field="url")
    return value


def decode_base64(value) -> bytes:
    """The bytes of a base64 string (a `data:` URL prefix is allowed), or 400 `invalid_base64`."""
    if not isinstance(value, str) or not value:
        raise bad_request("invalid_base64", "'base64' must be a non-empty string.", field="base64")
    text = DATA_URL_PREFIX.sub("", value.strip(), count=1)
    text = "".join(text.split())  # line breaks, as `base64` the command writes them
    if len(text) > (MAX_IMAGE_BYTES + 2) // 3 * 4:
        raise ApiError(413, "image_too_large", "The image is larger than 4 MB; the limit is 4 MB. Resize or compress it first.",
                       limit_bytes=MAX_IMAGE_BYTES)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise bad_request("invalid_base64", "'base64' is not valid base64 (standard alphabet, with padding).", field="base64") from None


def check_lang(value) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not LANG.match(value):
        raise bad_request("invalid_parameter", "'lang' must be a language code such as 'en', 'de' or 'zh-Hans'.", field="lang")
    return value


# --- the request ----------------------------------------------------------------

def _from_json(req) -> tuple[ImageInput, dict]:
    body = validation.only(req.json(), JSON_FIELDS)
    has_url, has_base64 = body.get("url") is not None, body.get("base64") is not None
    fields = {name: body[name] for name in OPTION_FIELDS if name in body}
    if has_url and has_base64:
        raise bad_request("invalid_field", "Send either 'url' or 'base64', not both.", field="base64")
    if has_url:
        return ImageInput(url=check_url(body["url"])), fields
    if has_base64:
        return check_image(decode_base64(body["base64"])), fields
    raise bad_request("missing_image", "Send the image as JSON {\"url\": \"https://...\"} or {\"base64\": \"...\"}.")


def _form_text(form, name: str) -> str:
    """A text part's value; a part that is not valid in its charset (or names an unknown one) is a 400."""
    try:
        return form[name].value
    except (UnicodeError, LookupError):
        raise bad_request("invalid_parameter", f"The multipart field '{name}' is not valid UTF-8 text.", field=name) from None


def _from_form(req) -> tuple[ImageInput, dict]:
    form = req.form
    part = form.get("image")
    if part is None:
        raise bad_request("missing_image", "The multipart body has no field named 'image'. Send the file as 'image'.", field="image")
    return check_image(part.raw), {name: _form_text(form, name) for name in OPTION_FIELDS if name in form}


def image_from_request(req) -> tuple[ImageInput, dict]:
    """The image and the raw option fields (`lang`, `min_confidence`, `max_results`) of a vision call.

    Options come from the body (multipart or JSON) or else the query string.
    Raises 400/413/415/422 naming exactly what is wrong.
    """
    ctype = req.content_type
    if ctype == "multipart/form-data":
        image, fields = _from_form(req)
    elif ctype == "application/json":
        image, fields = _from_json(req)
    elif ctype.startswith("image/") or ctype in RAW_BODY_TYPES:
        image, fields = check_image(req.body), {}
    elif not ctype and not req.body:
        raise bad_request("missing_image", "No image was sent. Upload a file as multipart field 'image', send its bytes, or JSON with 'url' or 'base64'.")
    else:
        raise ApiError(415, "unsupported_media_type",
                       f"'{ctype or '(none)'}' bodies are not accepted. Use multipart/form-data, image/*, application/octet-stream or application/json.")
    for name in OPTION_FIELDS:
        if fields.get(name) is None and req.query.get(name):
            fields[name] = req.query[name]
    return image, fields
