"""GET /api/health: is the database reachable, and which backend serves each service."""

from __future__ import annotations

import lib
from lib import config, db
from lib.http import Response


def backends() -> dict[str, str]:
    settings = config.settings()
    return {
        "vision": settings.vision_backend,
        "payments": "stripe" if settings.stripe_enabled else "local-checkout",
        "mail": settings.mail_backend,
    }


def status(req) -> Response:
    up = db.ping()
    req.database_down = not up
    body = {"status": "ok" if up else "degraded", "version": lib.__version__, "database": "ok" if up else "down", "backends": backends()}
    return Response.json(body, 200 if up else 503)
