"""The one place a StripeClient is built; importing this module loads `stripe`.

`STRIPE_API_BASE` points the client elsewhere (the tests' fake Stripe).
Timeouts are short because a function has 10 s in all.
"""

from __future__ import annotations

import logging
from functools import lru_cache

import stripe

from lib import config
from lib.errors import ApiError

log = logging.getLogger("nexuspoint.billing")
TIMEOUT = (3.05, 6)  # connect, read (seconds)


@lru_cache(maxsize=4)
def _client(secret_key: str, api_base: str) -> stripe.StripeClient:
    return stripe.StripeClient(
        secret_key,
        base_addresses={"api": api_base} if api_base else None,
        http_client=stripe.RequestsClient(timeout=TIMEOUT),
        max_network_retries=1,  # a retry re-sends the same Idempotency-Key, so it can't double-create
    )


def client() -> stripe.StripeClient:
    settings = config.settings()
    if not settings.stripe_enabled:
        raise RuntimeError("Stripe is not configured (STRIPE_SECRET_KEY is empty)")
    return _client(settings.stripe_secret_key, settings.stripe_api_base)


def unavailable(exc: stripe.StripeError) -> ApiError:
    """What the caller sees when Stripe fails: a 502, never Stripe's own message."""
    log.error("Stripe request failed: %s (%s, request %s)", type(exc).__name__, exc.user_message or exc, exc.request_id)
    return ApiError(502, "upstream_error", "The payment provider could not be reached. Nothing was charged; try again in a moment.")


def is_missing(exc: stripe.StripeError, param: str | None = None) -> bool:
    """Stripe's 'No such customer' style error, optionally for one parameter."""
    return isinstance(exc, stripe.InvalidRequestError) and exc.code == "resource_missing" and (param is None or exc.param == param)
