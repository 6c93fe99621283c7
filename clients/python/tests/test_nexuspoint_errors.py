"""Every error code the API answers becomes the exception named for it, with status, code, message and request id."""

from __future__ import annotations

import pytest
from conftest import Answer

import nexuspoint
from nexuspoint import errors

# (status, code, exception): the codes of tools/build_openapi.py's ERROR_CODES a client call can meet,
# plus the ones other issues add (test tokens, token expiry and limits, idempotency keys, email verification).
CASES = [
    (401, "unauthenticated", nexuspoint.AuthenticationError),
    (401, "invalid_token", nexuspoint.AuthenticationError),
    (401, "session_invalid", nexuspoint.AuthenticationError),
    (401, "token_expired", nexuspoint.TokenExpired),
    (402, "insufficient_credits", nexuspoint.InsufficientCredits),
    (402, "token_credit_limit", nexuspoint.TokenCreditLimit),
    (403, "forbidden", nexuspoint.PermissionDenied),
    (403, "csrf", nexuspoint.PermissionDenied),
    (403, "account_disabled", nexuspoint.PermissionDenied),
    (403, "model_not_allowed", nexuspoint.ModelNotAllowed),
    (403, "email_unverified", nexuspoint.EmailUnverified),
    (400, "missing_image", nexuspoint.InvalidImage),
    (400, "invalid_base64", nexuspoint.InvalidImage),
    (400, "invalid_url", nexuspoint.InvalidImage),
    (413, "image_too_large", nexuspoint.InvalidImage),
    (413, "image_too_many_pixels", nexuspoint.InvalidImage),
    (415, "unsupported_image_type", nexuspoint.InvalidImage),
    (422, "invalid_image", nexuspoint.InvalidImage),
    (422, "image_unreadable", nexuspoint.InvalidImage),
    (400, "invalid_parameter", nexuspoint.InvalidRequest),
    (400, "invalid_field", nexuspoint.InvalidRequest),
    (400, "unknown_field", nexuspoint.InvalidRequest),
    (400, "invalid_json", nexuspoint.InvalidRequest),
    (400, "invalid_content_length", nexuspoint.InvalidRequest),
    (400, "invalid_multipart", nexuspoint.InvalidRequest),
    (404, "not_found", nexuspoint.NotFound),
    (405, "method_not_allowed", nexuspoint.InvalidRequest),
    (409, "token_limit", nexuspoint.Conflict),
    (409, "idempotency_key_in_use", nexuspoint.IdempotencyKeyInUse),
    (413, "payload_too_large", nexuspoint.InvalidRequest),
    (415, "unsupported_media_type", nexuspoint.InvalidRequest),
    (422, "idempotency_key_reused", nexuspoint.IdempotencyKeyReused),
    (429, "rate_limited", nexuspoint.RateLimited),
    (500, "internal_error", nexuspoint.ServerError),
    (501, "model_unavailable_offline", nexuspoint.ModelUnavailable),
    (502, "upstream_error", nexuspoint.UpstreamError),
    (503, "vision_unavailable", nexuspoint.ModelUnavailable),
    (503, "database_unavailable", nexuspoint.ServiceUnavailable),
    (504, "upstream_timeout", nexuspoint.UpstreamTimeout),
]


@pytest.mark.parametrize(("status", "code", "expected"), CASES, ids=[c[1] for c in CASES])
def test_each_error_code_raises_its_exception(fake, client, status, code, expected):
    fake.answer("/api/vision/general-classification", Answer(status, {"error": {"code": code, "message": f"it went wrong: {code}"}},
                                                             headers={"Retry-After": "0"}))
    client.max_retries = 0
    with pytest.raises(expected) as caught:
        client.general_classification(b"\xff\xd8\xff\xe0 a jpeg")
    error = caught.value
    assert type(error) is expected  # the most specific class, not just a parent
    assert isinstance(error, nexuspoint.APIError)
    assert (error.status, error.code, error.message) == (status, code, f"it went wrong: {code}")
    assert error.request_id == "req-1"
    assert code in str(error) and "req-1" in str(error)


def test_every_openapi_error_code_is_mapped_by_code_or_status():
    """The server's list of codes (tools/build_openapi.py) is all known here, or falls to its status's class."""
    server_codes = {
        "account_disabled", "balance_would_go_negative", "cannot_change_self", "csrf", "database_unavailable", "email_taken", "field_too_long",
        "forbidden", "image_too_large", "image_too_many_pixels", "image_unreadable", "insufficient_credits", "internal_error",
        "invalid_base64", "invalid_content_length", "invalid_credentials", "invalid_email", "invalid_field", "invalid_image", "invalid_json",
        "invalid_multipart", "invalid_parameter", "invalid_reset_token", "invalid_signature", "invalid_token", "invalid_url",
        "method_not_allowed", "missing_field", "missing_image", "model_unavailable_offline", "not_found", "password_too_long",
        "password_too_short", "payload_too_large", "rate_limited", "session_invalid", "session_required", "token_limit", "unauthenticated",
        "unknown_field", "unsupported_image_type", "unsupported_media_type", "upstream_error", "upstream_timeout", "vision_unavailable",
        "wrong_password",
    }
    tested = {code for _, code, _ in CASES}
    not_client_facing = server_codes - tested - set(errors.BY_CODE)
    # Dashboard-only codes (sign-up, passwords, admin, webhooks): mapped by their status alone.
    assert not_client_facing == {"balance_would_go_negative", "cannot_change_self", "email_taken", "field_too_long", "invalid_email",
                                 "invalid_reset_token", "invalid_signature", "missing_field", "password_too_long", "password_too_short",
                                 "wrong_password"}


def test_an_unknown_code_falls_back_to_its_status(fake, client):
    fake.answer("/api/account/balance", Answer(402, {"error": {"code": "some_future_code", "message": "Pay up."}}))
    with pytest.raises(nexuspoint.InsufficientCredits) as caught:
        client.balance()
    assert caught.value.code == "some_future_code"


def test_a_non_json_error_page_still_gives_a_clear_error(fake, client):
    fake.answer("/api/account/balance", Answer(403, body=b"<html>Forbidden by the proxy</html>", headers={"Content-Type": "text/html"}))
    with pytest.raises(nexuspoint.PermissionDenied) as caught:
        client.balance()
    assert caught.value.code == "http_403" and "HTTP 403" in caught.value.message


def test_rate_limited_carries_retry_after(fake, client):
    fake.answer("/api/account/balance", Answer(429, {"error": {"code": "rate_limited", "message": "Slow down.", "retry_after": 7}},
                                               headers={"Retry-After": "7"}))
    client.max_retries = 0
    with pytest.raises(nexuspoint.RateLimited) as caught:
        client.balance()
    assert caught.value.retry_after == 7


def test_a_refunded_failure_says_it_cost_nothing(fake, client):
    fake.answer("/api/vision/general-classification", Answer(502, {"error": {"code": "upstream_error", "message": "Provider down.",
                                                                             "credits_charged": 0, "credits_remaining": 50}}))
    client.max_retries = 0
    with pytest.raises(nexuspoint.UpstreamError) as caught:
        client.general_classification(b"\x89PNG\r\n\x1a\n...")
    assert caught.value.credits_charged == 0 and caught.value.credits_remaining == 50


def test_no_api_key_is_an_authentication_error_without_a_request(fake):
    client = nexuspoint.Client(base_url=fake.url)
    with pytest.raises(nexuspoint.AuthenticationError, match="NEXUSPOINT_API_KEY"):
        client.balance()
    assert fake.seen == []
