"""Pages that only the local runtime serves (never deployed): the Checkout stand-in."""

from __future__ import annotations


def local_apps() -> dict:
    """Path prefix -> WSGI app, checked before Vercel-style routing."""
    from local import checkout_standin

    return {checkout_standin.PREFIX: checkout_standin.app}
