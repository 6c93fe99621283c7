"""Exceptions named for what happened, one per error code the API can answer.

Every error the server sends has the shape ``{"error": {"code", "message", ...}}``;
`error_from_response` turns it into the most specific class below: first by
``code`` (stable, for programs), then by HTTP status for codes this version of the
client does not know yet, so a newer server never breaks an older client.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from requests.structures import CaseInsensitiveDict


class APIError(Exception):
    """Base of every error this package raises about a call.

    ``status`` is the HTTP status (None when no answer came back), ``code`` the
    API's stable error code, ``message`` a sentence for people, ``request_id`` the
    server's ``X-Request-Id`` to quote to support, ``body`` the error's JSON fields.
    """

    def __init__(self, message: str, *, status: int | None = None, code: str = "error", request_id: str | None = None,
                 body: dict[str, Any] | None = None, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.body = dict(body or {})
        self.headers = CaseInsensitiveDict(headers or {})

    @property
    def credits_charged(self) -> int:
        """What the failed call cost: 0 unless the server says otherwise (failed calls are refunded)."""
        return _int(self.body.get("credits_charged", self.headers.get("X-Credits-Charged")), 0)

    @property
    def credits_remaining(self) -> int | None:
        return _int(self.body.get("credits_remaining", self.headers.get("X-Credits-Remaining")), None)

    def __str__(self) -> str:
        where = f" (HTTP {self.status}, request {self.request_id})" if self.request_id else (f" (HTTP {self.status})" if self.status else "")
        return f"{self.code}: {self.message}{where}"


class InvalidRequest(APIError):
    """400/404/405/413/415: the request itself is wrong; sending it again won't help."""


class InvalidImage(InvalidRequest):
    """The image is missing, damaged, too large, of a type we can't read, or its URL can't be used."""


class NotFound(InvalidRequest):
    """404: unknown, or not yours."""


class AuthenticationError(APIError):
    """401: no API key, or one the server doesn't accept (unknown, paused or deleted)."""


class TokenExpired(AuthenticationError):
    """401 ``token_expired``: the token has passed its expiry date; create a new one."""


class PermissionDenied(APIError):
    """403: the key is valid but may not do this."""


class ModelNotAllowed(PermissionDenied):
    """403 ``model_not_allowed``: this token is restricted to other models."""


class EmailUnverified(PermissionDenied):
    """403 ``email_unverified``: confirm the account's email address first."""


class InsufficientCredits(APIError):
    """402: the balance doesn't cover the call. Buy a credit pack."""


class TokenCreditLimit(InsufficientCredits):
    """402 ``token_credit_limit``: this token has spent the credits its owner allowed it."""


class Conflict(APIError):
    """409: the request conflicts with the current state (e.g. the 10-token limit)."""


class IdempotencyKeyInUse(Conflict):
    """409 ``idempotency_key_in_use``: the first call with this key is still running; retried after Retry-After."""

    @property
    def retry_after(self) -> float | None:
        return _retry_after(self.headers, self.body)


class IdempotencyKeyReused(InvalidRequest):
    """422 ``idempotency_key_reused``: the key was already used for a different request."""


class RateLimited(APIError):
    """429: too many requests; ``retry_after`` says how many seconds to wait."""

    @property
    def retry_after(self) -> float | None:
        return _retry_after(self.headers, self.body)


class ServerError(APIError):
    """500: a bug on our side. Quote the request id to support."""


class ModelUnavailable(APIError):
    """501/503 for one model: the server can't run this model right now (nothing was charged)."""


class ServiceUnavailable(APIError):
    """503: the service is down for a moment (nothing was charged)."""


class UpstreamError(APIError):
    """502: the vision provider failed (the call was refunded)."""


class UpstreamTimeout(UpstreamError):
    """504: the vision provider took too long (the call was refunded)."""


class APIConnectionError(APIError):
    """No answer: the server couldn't be reached, or the connection broke."""


class APITimeout(APIConnectionError):
    """No answer within the client's timeout."""


BY_CODE = {
    **dict.fromkeys(("unauthenticated", "invalid_token", "session_invalid", "session_required", "invalid_credentials", "missing_api_key"),
                    AuthenticationError),
    "token_expired": TokenExpired,
    **dict.fromkeys(("forbidden", "csrf", "account_disabled"), PermissionDenied),
    "model_not_allowed": ModelNotAllowed,
    "email_unverified": EmailUnverified,
    "insufficient_credits": InsufficientCredits,
    "token_credit_limit": TokenCreditLimit,
    **dict.fromkeys(("missing_image", "invalid_image", "image_unreadable", "image_too_large", "image_too_many_pixels",
                     "unsupported_image_type", "invalid_base64", "invalid_url"), InvalidImage),
    "not_found": NotFound,
    "idempotency_key_in_use": IdempotencyKeyInUse,
    "idempotency_key_reused": IdempotencyKeyReused,
    "rate_limited": RateLimited,
    **dict.fromkeys(("model_unavailable_offline", "vision_unavailable"), ModelUnavailable),
    "database_unavailable": ServiceUnavailable,
    "upstream_error": UpstreamError,
    "upstream_timeout": UpstreamTimeout,
    "internal_error": ServerError,
}

BY_STATUS = {
    400: InvalidRequest, 401: AuthenticationError, 402: InsufficientCredits, 403: PermissionDenied, 404: NotFound,
    405: InvalidRequest, 409: Conflict, 413: InvalidRequest, 415: InvalidRequest, 422: InvalidRequest, 429: RateLimited,
    500: ServerError, 501: ModelUnavailable, 502: UpstreamError, 503: ServiceUnavailable, 504: UpstreamTimeout,
}


def error_from_response(status: int, payload: Any, headers: Mapping[str, str]) -> APIError:
    """The exception for an error answer; tolerant of bodies that aren't our JSON shape (a proxy's HTML page)."""
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        error = {}
    code = str(error.get("code") or f"http_{status}")
    message = str(error.get("message") or f"The server answered HTTP {status}.")
    cls = BY_CODE.get(code) or BY_STATUS.get(status) or (ServerError if status >= 500 else InvalidRequest if status >= 400 else APIError)
    return cls(message, status=status, code=code, request_id=headers.get("X-Request-Id"), body=error, headers=headers)


def _int(value, default):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _retry_after(headers: Mapping[str, str], body: Mapping[str, Any]) -> float | None:
    """Seconds from the Retry-After header (or the body's retry_after); HTTP dates count as unknown."""
    for value in (headers.get("Retry-After"), body.get("retry_after")):
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            continue
        return max(0.0, seconds)
    return None
