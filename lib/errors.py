"""Errors as values: lib code raises ApiError, the HTTP layer renders it.

Every error a client sees has one shape:
``{"error": {"code": "...", "message": "...", ...extra}}``.
"""

from __future__ import annotations


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, *, headers=None, **extra):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.extra = extra

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, **self.extra}}


def bad_request(code: str, message: str, **extra) -> ApiError:
    return ApiError(400, code, message, **extra)


def unauthorized(message: str = "Sign in first, or send an API token as 'Authorization: Bearer <token>'.", code: str = "unauthenticated") -> ApiError:
    return ApiError(401, code, message)


def forbidden(code: str = "forbidden", message: str = "You are not allowed to do this.") -> ApiError:
    return ApiError(403, code, message)


def not_found(what: str = "resource") -> ApiError:
    return ApiError(404, "not_found", f"No such {what}.")


def conflict(code: str, message: str, **extra) -> ApiError:
    return ApiError(409, code, message, **extra)


def rate_limited(retry_after: int, message: str = "Too many requests. Try again later.", headers=None) -> ApiError:
    retry_after = max(1, int(retry_after))
    return ApiError(429, "rate_limited", message, headers={**(headers or {}), "Retry-After": str(retry_after)}, retry_after=retry_after)
