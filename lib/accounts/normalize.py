"""One address, however it is spelled: the key of the once-per-address free credits.

Every provider delivers `ada+anything@` to `ada@` (plus tags), and Gmail also
ignores dots in the local part and answers for googlemail.com. So
`Ada+x@gmail.com`, `a.da@gmail.com` and `ada@googlemail.com` are one mailbox.
"""

from __future__ import annotations

from lib.digest import sha256_hex

GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


def canonical_email(email: str) -> str:
    local, _, domain = email.strip().lower().rpartition("@")
    local = local.split("+", 1)[0] or local  # "+x@" has no tag to strip, only a local part
    if domain in GMAIL_DOMAINS:
        local, domain = local.replace(".", "") or local, "gmail.com"
    return f"{local}@{domain}"


def bonus_key(email: str) -> str:
    """The `signup_bonuses` id of an address: SHA-256 of its canonical form, never the address itself."""
    return sha256_hex(canonical_email(email))
