"""What a vision call sends for each kind of `image` argument.

A URL goes as JSON ``{"url": ...}`` (the server fetches it; this client never
downloads it). Anything else is read into bytes once and sent as the raw body
with the type its magic bytes announce, so every retry sends identical bytes
under the same idempotency key.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Union

ImageArg = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, BinaryIO]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp")


@dataclass(frozen=True)
class Body:
    data: bytes
    content_type: str
    url: str = ""  # set for URL calls, for messages and the JSONL `input`


def is_url(value) -> bool:
    return isinstance(value, str) and value.lower().startswith(("http://", "https://"))


def sniff_type(data: bytes) -> str:
    """The image type by magic bytes (what the server checks too), else octet-stream for the server to refuse."""
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
    return "application/octet-stream"


def read_bytes(image: ImageArg) -> bytes:
    if isinstance(image, (bytes, bytearray, memoryview)):
        return bytes(image)
    if isinstance(image, (str, os.PathLike)):
        return Path(image).expanduser().read_bytes()
    if hasattr(image, "read"):
        data = image.read()
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError("Open the image file in binary mode ('rb').")
        return bytes(data)
    raise TypeError(f"image must be a path, bytes, a binary file object or an http(s):// URL, not {type(image).__name__}")


def body_for(image: ImageArg) -> Body:
    if is_url(image):
        return Body(json.dumps({"url": image}).encode(), "application/json", url=str(image))
    data = read_bytes(image)
    return Body(data, sniff_type(data))
