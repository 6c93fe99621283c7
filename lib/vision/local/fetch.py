"""Fetch an image URL without opening a door into the server's own network (SSRF).

Every address a host name resolves to must be public; the connection then goes
to the very address that was checked (so a second DNS answer can't swap in
127.0.0.1), with the real host name kept for the Host header, TLS SNI and
certificate checks. Redirects are followed by hand, each hop checked again.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from lib.vision.inputs import idna_host
from lib.vision.types import BadImage

MAX_BYTES = 4 * 1024 * 1024
TIMEOUT_SECONDS = 10.0
MAX_REDIRECTS = 3
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "NexusPoint-image-fetcher/1.0"
NOT_ALLOWED = "The image URL is not allowed: only images on the public internet can be fetched."

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud instance metadata services (AWS, GCP, Azure, ...; AWS's IPv6 one too).
METADATA_ADDRESSES = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent on the request line

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def blocked_reason(ip: IPAddress) -> str | None:
    """Why the server must not connect to ``ip``, or None for a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv4 wrapped in IPv6 (::ffff:a.b.c.d, 6to4, Teredo) reaches the IPv4 host.
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return blocked_reason(embedded)
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:  # fec0::/10, deprecated but still routed by some
        return "a site-local address"
    checks = (
        ("is_loopback", "a loopback address"),
        ("is_unspecified", "an unspecified address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_private", "a private network address"),
        ("is_reserved", "a reserved address"),
    )
    for attribute, reason in checks:
        if getattr(ip, attribute):
            return reason
    if not ip.is_global:  # shared (100.64/10), benchmarking, documentation ranges, ...
        return "not a public internet address"
    return None


def parse_url(url: str) -> Target:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise BadImage("The image URL is not a valid URL.", detail=repr(exc)) from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise BadImage("The image URL must start with http:// or https://.")
    if not parts.hostname:
        raise BadImage("The image URL has no host name.")
    try:
        host = idna_host(parts.hostname)
    except UnicodeError as exc:
        raise BadImage("The image URL's host name is not a valid domain name.", detail=repr(exc)) from exc
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme, host, port or (443 if scheme == "https" else 80), path)


def resolve_public(host: str, port: int) -> IPAddress:
    """The address to connect to, after checking every address ``host`` has."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise BadImage(f"The image URL's host {host!r} could not be resolved.", detail=repr(exc)) from exc
    # Strip an IPv6 zone ("fe80::1%eth0") before parsing; such addresses are link-local anyway.
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not addresses:
        raise BadImage(f"The image URL's host {host!r} has no address.")
    for ip in addresses:
        reason = blocked_reason(ip)
        if reason:
            # Which address a name resolved to is for our log, not for whoever probes the network.
            raise BadImage(NOT_ALLOWED, detail=f"{host} resolved to {reason} ({ip})")
    return addresses[0]


def fetch_image(url: str) -> bytes:
    """The body of ``url`` (at most 4 MB, about 10 s in all, at most 3 redirects)."""
    deadline = time.monotonic() + TIMEOUT_SECONDS
    for _ in range(MAX_REDIRECTS + 1):
        target = parse_url(url)
        ip = resolve_public(target.host, target.port)
        response = _request(target, ip, deadline)
        try:
            if response.status in REDIRECT_STATUSES:
                location = response.headers.get("Location")
                if not location:
                    raise BadImage(f"The image URL answered HTTP {response.status} without a Location.")
                url = urljoin(url, location)
                continue
            if response.status != 200:
                raise BadImage(f"The image URL answered HTTP {response.status}, not an image.")
            return _read_capped(response, deadline)
        finally:
            response.close()  # also ends a redirect's unread body; the pool is not reused
    raise BadImage(f"The image URL redirected more than {MAX_REDIRECTS} times.")


def _request(target: Target, ip: IPAddress, deadline: float):
    import certifi
    import urllib3

    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise BadImage(f"The image URL took longer than {TIMEOUT_SECONDS:g} s to fetch.")
    timeout = urllib3.Timeout(connect=min(remaining, 5.0), read=remaining)
    if target.scheme == "https":
        # Connect to the checked address; verify the certificate for the URL's host name.
        pool = urllib3.HTTPSConnectionPool(
            str(ip),
            target.port,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            timeout=timeout,
            retries=False,
        )
    else:
        pool = urllib3.HTTPConnectionPool(str(ip), target.port, timeout=timeout, retries=False)
    headers = {"Host": target.host_header, "User-Agent": USER_AGENT, "Accept": "image/*"}
    try:
        return pool.urlopen("GET", target.path, headers=headers, redirect=False, retries=False, preload_content=False)
    except urllib3.exceptions.HTTPError as exc:
        raise BadImage(f"The image URL could not be fetched from {target.host}.", detail=repr(exc)) from exc


def _read_capped(response, deadline: float) -> bytes:
    """The body, or BadImage once it passes 4 MB or the deadline.

    ``read1`` returns whatever has arrived and the socket's timeout is cut to the
    time left before each read, so a server trickling bytes can't stretch the fetch.
    """
    import urllib3

    too_large = BadImage(f"The image at the URL is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    too_slow = BadImage(f"The image URL took longer than {TIMEOUT_SECONDS:g} s to fetch.")
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_BYTES:
        raise too_large
    sock = getattr(response.connection, "sock", None)
    body = bytearray()
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise too_slow
            if sock is not None:
                sock.settimeout(remaining)
            chunk = response.read1(64 * 1024)
            if not chunk:
                return bytes(body)
            body += chunk
            if len(body) > MAX_BYTES:
                raise too_large
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise too_slow from exc
    except urllib3.exceptions.HTTPError as exc:
        raise BadImage("The image download was interrupted.", detail=repr(exc)) from exc
