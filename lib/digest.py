"""One-way fingerprints of secrets and personal keys: what we store instead of the value."""

import hashlib


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
