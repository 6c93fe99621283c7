"""Typed, size-limited reading of request fields.

Anything that is not exactly the expected type is a 400 naming the field, so
a JSON object where a string belongs (`{"$ne": null}`) never reaches a query.
"""

from __future__ import annotations

import re
import unicodedata

from bson import ObjectId
from bson.errors import InvalidId

from lib.errors import bad_request, not_found

# What SES sends to: an ASCII dot-atom local part (RFC 5322, no quoted forms) and an ASCII
# (punycode) domain of letter-digit-hyphen labels ending in a top-level domain of 2+ letters.
_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
EMAIL = re.compile(rf"^(?=[^@]{{1,64}}@){_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+(?:[a-z]{{2,63}}|xn--[a-z0-9-]{{1,59}})$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MISSING = object()


def only(body: dict, allowed: set[str] | frozenset[str]) -> dict:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise bad_request("unknown_field", f"Unknown field(s): {', '.join(unknown[:5])}. Allowed: {', '.join(sorted(allowed))}.", field=unknown[0])
    return body


def string(body: dict, name: str, *, max_len: int, min_len: int = 1, required: bool = True, strip: bool = True, multiline: bool = False):
    value = body.get(name, MISSING)
    if value is MISSING or value is None:
        if required:
            raise bad_request("missing_field", f"'{name}' is required.", field=name)
        return None
    if not isinstance(value, str):
        raise bad_request("invalid_field", f"'{name}' must be a string.", field=name)
    if strip:
        value = value.strip()
    if "\x00" in value:
        raise bad_request("invalid_field", f"'{name}' contains a NUL character.", field=name)
    # Names and subjects end up in mail headers and single-line UI: no line breaks or control characters.
    if not multiline and CONTROL.search(value):
        raise bad_request("invalid_field", f"'{name}' must be a single line without control characters.", field=name)
    if len(value) < min_len:
        raise bad_request("missing_field" if not value else "invalid_field",
                          f"'{name}' is required." if not value else f"'{name}' must be at least {min_len} characters.", field=name)
    if len(value) > max_len:
        raise bad_request("field_too_long", f"'{name}' must be at most {max_len} characters.", field=name)
    return value


# Format (Cf: bidi overrides, zero-width characters), control, surrogate, private-use and
# unassigned code points, and line/paragraph separators: invisible or text-reordering in a name.
HIDDEN_CATEGORIES = frozenset({"Cf", "Cc", "Cs", "Co", "Cn", "Zl", "Zp"})


def person_text(body: dict, name: str, **limits):
    """A name or company: a single line of visible text (a reversed or hidden part would mislead whoever reads it)."""
    value = string(body, name, **limits)
    if value and any(unicodedata.category(ch) in HIDDEN_CATEGORIES for ch in value):
        raise bad_request("invalid_field", f"'{name}' contains invisible or direction-changing characters; type it as plain text.", field=name)
    return value


def boolean(body: dict, name: str, *, required: bool = False):
    value = body.get(name, MISSING)
    if value is MISSING:
        if required:
            raise bad_request("missing_field", f"'{name}' is required.", field=name)
        return None
    if not isinstance(value, bool):
        raise bad_request("invalid_field", f"'{name}' must be true or false.", field=name)
    return value


def integer(body: dict, name: str, *, lo: int, hi: int, required: bool = True):
    value = body.get(name, MISSING)
    if value is MISSING or value is None:
        if required:
            raise bad_request("missing_field", f"'{name}' is required.", field=name)
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise bad_request("invalid_field", f"'{name}' must be a whole number.", field=name)
    if not lo <= value <= hi:
        raise bad_request("invalid_field", f"'{name}' must be between {lo} and {hi}.", field=name)
    return value


def email(body: dict, name: str = "email") -> str:
    value = string(body, name, max_len=254, multiline=True).lower()  # the pattern below refuses line breaks as invalid_email
    if not EMAIL.fullmatch(value):
        raise bad_request("invalid_email", "Enter a valid email address, like name@example.com.", field=name)
    return value


def query_int(query: dict, name: str, default: int, lo: int, hi: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request("invalid_parameter", f"Query parameter '{name}' must be a whole number.", field=name) from None
    if not lo <= value <= hi:
        raise bad_request("invalid_parameter", f"Query parameter '{name}' must be between {lo} and {hi}.", field=name)
    return value


def object_id(value, what: str) -> ObjectId:
    """An id from a URL or body; anything malformed is simply not found."""
    if not isinstance(value, str):
        raise not_found(what)
    try:
        return ObjectId(value)
    except InvalidId:
        raise not_found(what) from None
