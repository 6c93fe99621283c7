"""The networks an account signed in from: its owner is not slowed down by a stranger's failed guesses.

The sign-in throttle per account (lib/accounts/throttle.py) stops a botnet
guessing one account from many addresses, but alone it would let anyone keep
the owner waiting by failing on purpose. So a successful sign-in records its
network (the /24 of an IPv4 address, the /64 of an IPv6 one, so a home
router's new address still counts) and a sign-in from a network the account
used in the last KNOWN_FOR skips that throttle; the per email+IP limit of
lib/accounts/login.py still holds everywhere. A network is stored as an HMAC
keyed with the server's secret, never the address: an IPv4 /24 has only 2^24
values, so a plain hash would give it away. At most KEPT are kept, the newest.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from datetime import datetime, timedelta

from lib import config

FIELD = "known_networks"  # {<key>: time of the last sign-in from that network}
KEPT = 10
KNOWN_FOR = timedelta(days=30)


def key(ip: str) -> str | None:
    """The network's stored name, or None for a client address that is no IP address."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    network = ipaddress.ip_network(f"{address}/{24 if address.version == 4 else 64}", strict=False)
    return hmac.new(config.settings().jwt_secret.encode(), f"network:{network}".encode(), hashlib.sha256).hexdigest()[:32]


def is_known(user: dict, ip: str, now: datetime) -> bool:
    last = (user.get(FIELD) or {}).get(key(ip) or "")
    return last is not None and last > now - KNOWN_FOR


def remember(user: dict, ip: str, now: datetime) -> dict:
    """The update operators (for the sign-in's own write) that record this network and drop old ones."""
    name = key(ip)
    if name is None:
        return {}
    others = sorted(((at, k) for k, at in (user.get(FIELD) or {}).items() if k != name and at > now - KNOWN_FOR), reverse=True)
    dropped = set(user.get(FIELD) or {}) - {k for _, k in others[:KEPT - 1]} - {name}
    return {"$set": {f"{FIELD}.{name}": now}, **({"$unset": {f"{FIELD}.{k}": "" for k in sorted(dropped)}} if dropped else {})}
