"""Security headers for every response, and the CSRF origin check for cookie callers."""

from __future__ import annotations

from urllib.parse import urlsplit

from lib import config
from lib.errors import forbidden

CSP = (
    "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def headers() -> dict[str, str]:
    out = {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
    }
    if config.settings().production:
        out["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains; preload"
    return out


def _origin_of(req) -> str:
    origin = req.header("origin")
    if origin and origin != "null":
        return origin
    referer = req.header("referer")
    if referer:
        parts = urlsplit(referer)
        return f"{parts.scheme}://{parts.netloc}"
    return origin  # "null" or empty


DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin_key(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of a URL, the default port filled in; None if it has no usable origin."""
    try:
        parts = urlsplit(url.strip())
        scheme, host, port = parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
    except ValueError:  # a malformed port
        return None
    if scheme not in DEFAULT_PORTS or not host:
        return None
    return scheme, host, port or DEFAULT_PORTS[scheme]


def _is_own_origin(req, origin: str) -> bool:
    """The full origin — scheme, host and port — is SITE_URL's, or the host this request was sent to
    (with the scheme the proxy says it used, else SITE_URL's): http://site is not https://site."""
    key = _origin_key(origin)
    if key is None:
        return False
    site = config.settings().site_url
    own = {_origin_key(site)}
    host = (req.header("x-forwarded-host") or req.header("host")).split(",")[0].strip()
    if host:
        scheme = req.header("x-forwarded-proto").split(",")[0].strip() or urlsplit(site).scheme
        own.add(_origin_key(f"{scheme}://{host}"))
    return key in own


def check_csrf(req, cookie_authenticated: bool) -> None:
    """Cookie callers must prove the request came from our own pages.

    Browsers send Origin on every cross-site POST, so a foreign or missing
    Origin (Referer as fallback) on a cookie-authenticated write is refused.
    Unauthenticated writes (sign-up, login, contact) are refused only when
    they name a foreign origin; scripts without one may still call them.
    """
    if req.method not in UNSAFE_METHODS:
        return
    origin = _origin_of(req)
    if cookie_authenticated:
        if not origin or not _is_own_origin(req, origin):
            raise forbidden("csrf", "This request must come from the NexusPoint site (Origin check failed).")
    elif origin and not _is_own_origin(req, origin):
        raise forbidden("csrf", "Cross-site requests are not allowed (Origin check failed).")
