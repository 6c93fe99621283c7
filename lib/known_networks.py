"""The networks an account signed in from: its owner is not slowed down by a stranger's failed guesses.

The sign-in throttle per account (lib/accounts/throttle.py) stops a botnet
guessing one account from many addresses, but alone it would let anyone keep
the owner waiting by failing on purpose. So a successful sign-in records its
network (the /24 of an IPv4 address, the /64 of an IPv6 one, so a home
router's new address still counts) and a sign-in from a network the account
used in the last KNOWN_FOR skips that throttle; the per email+IP limit of
lib/accounts/login.py still holds everywhere. A network is stored as an HMAC
keyed with the server's secret, never the address: an IPv4 /24 has only 2^24
values, so a plain hash would give it away. At most KEPT are kept, the newest;
the daily expired-sessions job drops those unused for KNOWN_FOR
(lib/sessions.forget_expired).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from datetime import datetime, timedelta

from lib import config

FIELD = "known_networks"  # [{net: <key>, at: the last sign-in from it}], newest first
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
    name = key(ip)
    return name is not None and any(n["net"] == name and n["at"] > now - KNOWN_FOR for n in user.get(FIELD) or ())


def remember(user: dict, ip: str, now: datetime) -> dict:
    """The update operators (for the sign-in's own write) that put this network first and drop old ones.

    Written whole from the document the sign-in read: two sign-ins at once may lose one entry, which only
    means that network meets the throttle until its next sign-in.
    """
    name = key(ip)
    if name is None:
        return {}
    others = [n for n in user.get(FIELD) or () if n["net"] != name and n["at"] > now - KNOWN_FOR]
    return {"$set": {FIELD: [{"net": name, "at": now}, *others][:KEPT]}}
