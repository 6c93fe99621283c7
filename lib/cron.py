"""Scheduled jobs: Vercel Cron calls `GET /api/cron/<name>` with `Authorization: Bearer $CRON_SECRET`.

A job is a function with no arguments returning a small JSON-able summary. It
must be idempotent and safe to run twice at once: Vercel may deliver an
invocation more than once, and a slow run can overlap the next one.
"""

from __future__ import annotations

import hmac
import logging

from lib import config
from lib.config import ConfigError
from lib.errors import unauthorized
from lib.http import endpoint

log = logging.getLogger("nexuspoint.cron")
MIN_SECRET_LENGTH = 16


def _check_secret() -> None:
    settings = config.settings()
    if settings.production and len(settings.cron_secret) < MIN_SECRET_LENGTH:
        raise ConfigError(f"Missing required setting for production: CRON_SECRET (at least {MIN_SECRET_LENGTH} characters; "
                          "Vercel Cron sends it as a Bearer token and the scheduled functions refuse to start without it)")


def _authorized(req) -> bool:
    sent = req.header("authorization")
    expected = "Bearer " + config.settings().cron_secret
    return bool(config.settings().cron_secret) and hmac.compare_digest(sent.encode(), expected.encode())


def cron_endpoint(job):
    """The WSGI app of one scheduled function running `job`."""
    _check_secret()
    name = job.__name__

    def run(req):
        if not _authorized(req):
            raise unauthorized("This is a scheduled function; only Vercel Cron (with CRON_SECRET) may call it.", "cron_unauthorized")
        summary = job()
        log.info("cron %s: %s", name, summary)
        return {"job": name, **summary}

    return endpoint(GET=run)
