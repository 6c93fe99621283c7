"""Builds public/openapi.json, the API's description, from one place.

Run `python -m tools.build_openapi` after changing a route; a test fails when
the committed file differs from what this builds, when a route in api/ is
missing from it, or when it names a route that doesn't exist.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from lib.vision import catalog, cutout, options

OUT = Path(__file__).resolve().parent.parent / "public" / "openapi.json"

ERROR_CODES = sorted({
    "account_disabled", "admin_2fa_required", "age_not_confirmed", "already_verified", "email_unverified", "invalid_link", "same_email",
    "balance_would_go_negative", "ceiling_below_pack_price", "invalid_range", "missing_parameter", "range_too_long",
    "unknown_pack", "cannot_change_self", "csrf", "database_unavailable", "email_taken", "field_too_long", "forbidden",
    "idempotency_key_in_use", "idempotency_key_reused", "invalid_idempotency_key",
    "image_too_large", "image_too_many_pixels", "image_unreadable", "insufficient_credits", "internal_error", "invalid_base64",
    "invalid_content_length", "invalid_credentials", "invalid_email", "invalid_field", "invalid_image", "invalid_json", "invalid_multipart",
    "invalid_login_token",
    "invalid_parameter", "invalid_reset_token", "invalid_signature", "invalid_token", "invalid_url", "method_not_allowed", "missing_field",
    "missing_image", "model_not_allowed", "model_unavailable_offline", "not_found", "password_too_long", "password_too_short", "payload_too_large",
    "rate_limited", "session_invalid", "session_required", "token_credit_limit", "token_expired",
    "token_limit", "two_factor_already_enabled", "two_factor_changed", "two_factor_not_enabled", "two_factor_not_set_up",
    "unauthenticated", "unknown_field", "unsupported_image_type", "unsupported_image_shape", "image_url_unreachable",
    "unsupported_media_type", "upstream_error", "upstream_timeout", "vision_unavailable", "wrong_code", "wrong_password",
})

STATUS_TEXT = {
    400: "Invalid input", 401: "Not signed in, or the token is invalid", 402: "Not enough credits", 403: "Forbidden (role or CSRF origin check)",
    404: "Unknown, or not yours", 405: "Method not allowed", 409: "Conflict (for a vision call: its Idempotency-Key is still running; see Retry-After)",
    413: "Body or image too large", 415: "Unsupported media type",
    422: "Unprocessable image, or an Idempotency-Key reused for another request", 429: "Rate limited (see Retry-After)",
    501: "Model not available on the local backend",
    502: "The vision provider failed (credits refunded)", 503: "Service or backend unavailable", 504: "The vision provider timed out (credits refunded)",
}

SESSION = [{"session": []}]
TOKEN = [{"bearer": []}]
EITHER = [{"session": []}, {"bearer": []}]


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def json_body(schema: dict, required: bool = True) -> dict:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def obj(properties: dict, required: tuple = (), extra: bool = True) -> dict:
    out = {"type": "object", "properties": properties}
    if required:
        out["required"] = list(required)
    if not extra:
        out["additionalProperties"] = False
    return out


def string(max_len: int, **kw) -> dict:
    return {"type": "string", "maxLength": max_len, **kw}


def page_params(*extra: dict) -> list:
    return [{"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}}, *extra]


def query(name: str, schema: dict) -> dict:
    return {"name": name, "in": "query", "schema": schema}


def op(summary: str, tag: str, ok: tuple[int, dict | None], errors: tuple[int, ...] = (), *, security=None, body=None, params=None, desc=None) -> dict:
    status, schema = ok
    responses = {str(status): {"description": "Success"} if schema is None else
                 {"description": "Success", "content": {"application/json": {"schema": schema}}}}
    for code in sorted({*errors, 405}):
        responses[str(code)] = {"$ref": f"#/components/responses/E{code}"}
    out = {"summary": summary, "tags": [tag], "responses": responses}
    if desc:
        out["description"] = desc
    out["security"] = security if security is not None else []
    if body:
        out["requestBody"] = body
    if params:
        out["parameters"] = params
    return out


AUTH = (400, 401, 403, 413, 415, 429)
ANY = ref("Anything")


TOKEN_SETTINGS = (
    "`mode` \"test\" makes an `np_test_` token: vision calls answer fixed sandbox results (`\"sandbox\": true`, `X-Sandbox: true`, "
    "`X-Credits-Charged: 0`), are never charged, and an image URL `https://sandbox.nexuspoint.invalid/error/<code>` answers that error. "
    "`models` limits the token to some models (403 `model_not_allowed`); `credit_limit` caps its spend per UTC day, month or in total "
    "(402 `token_credit_limit`); after `expires_at` calls answer 401 `token_expired`, and the owner is mailed 7 days before (live tokens)."
)


IDEMPOTENCY = (
    "Send an `Idempotency-Key` (kept 24 hours, per account) to retry safely: a repeat of a call that succeeded runs the model "
    "again for free and answers `Idempotent-Replayed: true`, `X-Credits-Charged: 0` and the original `usage_id`, from any token "
    "or session of the account; a repeat while the first call runs is 409 `idempotency_key_in_use` (Retry-After); the same key "
    "for another model, image, option or query is 422 `idempotency_key_reused`; after a failed (refunded) call it starts a new attempt. "
    "A token with a credit cap answers 402 `token_credit_limit` (`limit`, `used`, `period`, `resets_at`) when the call would pass it."
)


def token_settings() -> dict:
    return {
        "models": {"type": "array", "items": {"type": "string", "enum": list(catalog.MODELS)}, "uniqueItems": True, "maxItems": len(catalog.MODELS)},
        "credit_limit": {"oneOf": [{"type": "null"}, obj({"credits": {"type": "integer", "minimum": 1, "maximum": 10_000_000},
                                                          "period": {"type": "string", "enum": ["day", "month", "total"]}},
                                                         ("credits", "period"), extra=False)]},
        "expires_at": {"type": ["string", "null"], "format": "date-time", "description": "UTC, in the future, at most two years ahead"},
    }


VISION_OPTIONS = (
    " Options (`option_specs` in `GET /api/vision/models`) go in the query string, as multipart fields or as JSON members; "
    "a value out of range, or an option the model doesn't take, is 400 `invalid_parameter` naming the `field`, free. "
    "`min_confidence` and `max_results` are applied to the results the same way on either backend."
)
CUTOUT = (f" An image whose cut-out might not fit the 4.5 MB response (over {cutout.PIXEL_BUDGET['json'] / 1e6:.2f} megapixels as JSON, "
          f"{cutout.PIXEL_BUDGET['png'] / 1e6:.2f} as PNG) is scaled down before the call, and `image` gives the cut-out's size.")


def vision_path(model) -> dict:
    specs = options.described(model)
    url_body = obj({"url": string(2048, format="uri"), "base64": {"type": "string"}, **specs}, extra=False)
    form = obj({"image": {"type": "string", "format": "binary"}, **specs}, ("image",))
    desc = f"{model.description} Costs {model.cost} credit{'s' if model.cost != 1 else ''} per call; failed calls are refunded."
    desc += (VISION_OPTIONS if specs else "") + (CUTOUT if model.output == "image" else "")
    return {"post": op(
        f"Run {model.name}", "Vision", (200, ref("VisionResult")), (400, 401, 402, 403, 409, 413, 415, 422, 429, 501, 502, 503, 504),
        security=EITHER, desc=f"{desc} {IDEMPOTENCY}",
        params=[query("format", {"type": "string", "enum": ["json", "png"]}), query("raw", {"type": "string", "enum": ["0", "1"]}),
                *(query(name, spec) for name, spec in specs.items()),
                {"name": "Idempotency-Key", "in": "header", "schema": string(255, minLength=1, pattern="^[ -~]+$"),
                 "description": "Any 1-255 printable ASCII characters, new for each logical call and reused on its retries."}],
        body={"required": True, "content": {
            "multipart/form-data": {"schema": form},
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
            "image/png": {"schema": {"type": "string", "format": "binary"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "application/json": {"schema": url_body},
        }},
    )}


def paths() -> dict:
    user_out = obj({"user": ref("User")})
    credentials = obj({"email": string(254), "password": string(200)}, ("email", "password"), extra=False)
    register = obj({"first_name": string(80), "last_name": string(80), "email": string(254), "password": string(200), "company": string(120),
                    "age_confirmed": {"type": "boolean", "const": True, "description": "The person confirms they are 16 or older"}},
                   ("first_name", "last_name", "email", "password", "age_confirmed"), extra=False)
    prefs = obj({k: {"type": "boolean"} for k in ("email", "usage_alerts", "security_alerts", "marketing")}, extra=False)
    profile = obj({"first_name": string(80), "last_name": string(80), "company": string(120), "notifications": prefs,
                   "object_to_analytics": {"type": "boolean", "description": "Keep my usage out of platform-wide statistics"}}, extra=False)
    listing = ref("Page")
    two_factor = obj({"password": string(200), "code": string(40)}, ("password", "code"), extra=False)
    out = {
        "/api/health": {"get": op("Service health", "Meta", (200, ANY), (503,))},
        "/api/auth/register": {"post": op("Create an account (the 50 free credits come when its email is verified)", "Account", (201, user_out),
                                          (400, 403, 409, 415, 429), body=json_body(register))},
        "/api/auth/verify": {"post": op("Follow a verification or email-change link (its token)", "Account", (200, user_out), (400, 403, 409, 415),
                                        body=json_body(obj({"token": string(200)}, ("token",), extra=False)))},
        "/api/auth/resend-verification": {"post": op("Mail a new verification link", "Account", (202, ANY), (401, 403, 409, 429), security=SESSION)},
        "/api/auth/login": {"post": op("Sign in (with two-factor on: answers a login_token for /api/auth/two-factor, no session yet)",
                                       "Account", (200, ANY), (400, 401, 403, 415, 429), body=json_body(credentials))},
        "/api/auth/two-factor": {"post": op("Sign in, step two: the login_token and a 6-digit or recovery code", "Account", (200, user_out),
                                            (400, 403, 415, 429), body=json_body(obj({"login_token": string(1000), "code": string(40)},
                                                                                     ("login_token", "code"), extra=False)))},
        "/api/auth/logout": {"post": op("Sign out", "Account", (204, None), (403,))},
        "/api/auth/me": {"get": op("The signed-in user", "Account", (200, user_out), (401, 429), security=EITHER)},
        "/api/auth/password": {"post": op("Change the password (ends other sessions)", "Account", (204, None), AUTH, security=SESSION,
                                          body=json_body(obj({"current_password": string(200), "new_password": string(200),
                                                              "revoke_tokens": {"type": "boolean"}},
                                                             ("current_password", "new_password"), extra=False)))},
        "/api/auth/forgot": {"post": op("Mail a password reset link", "Account", (202, ANY), (400, 403, 415, 429),
                                        body=json_body(obj({"email": string(254)}, ("email",), extra=False)))},
        "/api/auth/reset": {"post": op("Set a new password with a reset link's token", "Account", (204, None), (400, 403, 415),
                                       body=json_body(obj({"token": string(200), "new_password": string(200), "revoke_tokens": {"type": "boolean"}},
                                                          ("token", "new_password"), extra=False)))},
        "/api/account/sessions": {
            "get": op("Your active sessions (browser, OS, IP, started, last seen)", "Account", (200, ANY), (401,), security=SESSION),
            "delete": op("Sign out everywhere else", "Account", (200, ANY), (401, 403), security=SESSION),
        },
        "/api/account/sessions/{id}": {
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "delete": op("End one session (this one too: signs out here)", "Account", (204, None), (401, 403, 404), security=SESSION),
        },
        "/api/account/two-factor": {"get": op("Whether two-factor sign-in is on", "Account", (200, ANY), (401,), security=SESSION)},
        "/api/account/two-factor/setup": {"post": op("A new TOTP secret with its QR code (SVG); nothing is on until enabled", "Account",
                                                     (200, ANY), (401, 403, 409), security=SESSION)},
        "/api/account/two-factor/enable": {"post": op("Turn two-factor on (password and a code); answers 10 recovery codes once", "Account",
                                                      (200, ANY), (*AUTH, 409), security=SESSION, body=json_body(two_factor))},
        "/api/account/two-factor/disable": {"post": op("Turn two-factor off (password and a code or recovery code)", "Account",
                                                       (200, ANY), AUTH, security=SESSION, body=json_body(two_factor))},
        "/api/account/profile": {
            "get": op("Profile and notification preferences", "Account", (200, user_out), (401,), security=SESSION),
            "patch": op("Update profile or preferences", "Account", (200, user_out), AUTH, security=SESSION, body=json_body(profile)),
        },
        "/api/account/balance": {"get": op("Credit balance", "Account", (200, obj({"credits": {"type": "integer"}})), (401, 429), security=EITHER)},
        "/api/account/usage": {"get": op("Usage summary: daily series, per model, API vs dashboard", "Usage", (200, ANY), (400, 401, 429),
                                         security=EITHER, params=[query("days", {"type": "integer", "minimum": 1, "maximum": 365})])},
        "/api/account/usage/calls": {"get": op("The call log", "Usage", (200, listing), (400, 401, 429), security=EITHER,
                                               params=page_params(query("model", string(60)),
                                                                  query("source", {"type": "string", "enum": ["api", "dashboard"]}),
                                                                  query("token", string(24)),
                                                                  query("status", {"type": "string", "enum": ["succeeded", "failed"]}),
                                                                  query("from", {"type": "string", "format": "date"}),
                                                                  query("to", {"type": "string", "format": "date"})))},
        "/api/account/usage/export": {"get": op(
            "The call log for a date range (UTC, at most 366 days) as CSV or JSON, in pages under 4.5 MB (Link rel=next)", "Usage",
            (200, ANY), (400, 401, 429), security=EITHER,
            params=[query("from", {"type": "string", "format": "date"}), query("to", {"type": "string", "format": "date"}),
                    query("format", {"type": "string", "enum": ["json", "csv"]}), query("cursor", string(80))])},
        "/api/account/alerts": {
            "get": op("Your low-credit alert threshold", "Account", (200, ANY), (401,), security=SESSION),
            "patch": op("Set your low-credit alert threshold (0 to 1,000,000)", "Account", (200, ANY), AUTH, security=SESSION,
                        body=json_body(obj({"low_credit_threshold": {"type": "integer", "minimum": 0, "maximum": 1000000}},
                                           ("low_credit_threshold",), extra=False))),
        },
        "/api/account/email": {"post": op("Change the email address (a link to the new one confirms it)", "Privacy", (202, ANY),
                                          (*AUTH, 409), security=SESSION,
                                          body=json_body(obj({"password": string(200), "new_email": string(254)}, ("password", "new_email"),
                                                             extra=False)))},
        "/api/account/notices": {
            "get": op("Notices to read: privacy policy updates since you signed up or last dismissed one", "Privacy", (200, ANY), (401,),
                      security=SESSION),
            "post": op("Dismiss a notice (and the older ones)", "Privacy", (204, None), (*AUTH, 404), security=SESSION,
                       body=json_body(obj({"id": string(24)}, ("id",), extra=False))),
        },
        "/api/account/export": {"get": op("Download everything we hold about you (JSON)", "Privacy", (200, ANY), (401,), security=SESSION)},
        "/api/account": {"delete": op("Delete the account (usage anonymised, payments kept unlinked)", "Privacy", (204, None), AUTH, security=SESSION,
                                      body=json_body(obj({"password": string(200)}, ("password",), extra=False)))},
        "/api/tokens": {
            "get": op("List API tokens (never the secret)", "Tokens", (200, ANY), (401,), security=SESSION),
            "post": op("Create an API token (the full value is shown once)", "Tokens", (201, ANY), (*AUTH, 409), security=SESSION,
                       desc=TOKEN_SETTINGS, body=json_body(obj({"name": string(60), "mode": {"type": "string", "enum": ["live", "test"]},
                                                                **token_settings()}, ("name",), extra=False))),
        },
        "/api/tokens/{id}": {
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "patch": op("Rename, pause, resume a token or change its scope, cap and expiry (not its mode)", "Tokens", (200, ANY), (*AUTH, 404),
                        security=SESSION, desc=TOKEN_SETTINGS,
                        body=json_body(obj({"name": string(60), "active": {"type": "boolean"}, **token_settings()}, extra=False))),
            "delete": op("Delete a token at once", "Tokens", (204, None), (401, 403, 404), security=SESSION),
        },
        "/api/vision/models": {"get": op("The eight models, their costs and availability", "Vision", (200, ANY))},
        "/api/billing/packs": {"get": op("Credit packs and prices", "Billing", (200, ANY))},
        "/api/billing/checkout": {"post": op("Start a Checkout for a pack", "Billing", (200, obj({"url": {"type": "string"}})), (*AUTH, 404, 502),
                                             security=SESSION, body=json_body(obj({"pack_id": string(60), "invoice": {"type": "boolean"}},
                                                                                  ("pack_id",), extra=False)))},
        "/api/billing/auto-topup": {
            "get": op("Your auto top-up settings", "Billing", (200, ANY), (401,), security=SESSION),
            "put": op("Turn on or change auto top-up (answers a Checkout url to save a card when none is saved)", "Billing", (200, ANY),
                      (*AUTH, 502), security=SESSION,
                      body=json_body(obj({"pack_id": string(60), "threshold": {"type": "integer", "minimum": 0, "maximum": 1000000},
                                          "ceiling_cents": {"type": "integer", "minimum": 0}}, ("pack_id", "threshold", "ceiling_cents"),
                                         extra=False))),
            "delete": op("Turn off auto top-up and detach the saved card", "Billing", (204, None), (401, 403), security=SESSION),
        },
        "/api/billing/webhook": {"post": op("Stripe webhook (signed)", "Billing", (200, ANY), (400, 413),
                                            params=[{"name": "Stripe-Signature", "in": "header", "schema": {"type": "string"}}],
                                            body=json_body(ANY))},
        "/api/billing/transactions": {"get": op("Your payments, newest first", "Billing", (200, listing), (400, 401), security=SESSION, params=page_params())},
        "/api/admin/users": {"get": op("Search users", "Admin", (200, listing), (400, 401, 403), security=SESSION,
                                       params=page_params(query("q", string(100))))},
        "/api/admin/users/{id}": {
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": op("A user's profile, balance, payments, usage and tokens", "Admin", (200, ANY), (401, 403, 404), security=SESSION),
            "patch": op("Change a user's role or disable them", "Admin", (200, ANY), (*AUTH, 404, 409), security=SESSION,
                        body=json_body(obj({"role": {"type": "string", "enum": ["user", "admin"]}, "disabled": {"type": "boolean"}}, extra=False))),
            "delete": op("Erase a user's account without its password (audited with the reason)", "Admin", (204, None), (*AUTH, 404, 409),
                         security=SESSION, body=json_body(obj({"reason": string(500)}, ("reason",), extra=False))),
        },
        "/api/admin/policy-updates": {
            "get": op("Published privacy policy updates", "Admin", (200, listing), (400, 401, 403), security=SESSION, params=page_params()),
            "post": op("Publish a privacy policy update (notice to everyone, one mail each)", "Admin", (201, ANY), AUTH, security=SESSION,
                       body=json_body(obj({"effective_date": {"type": "string", "format": "date"}, "summary": string(2000)},
                                          ("effective_date", "summary"), extra=False))),
        },
        "/api/admin/credits": {"post": op("Adjust a user's credits", "Admin", (201, ANY), (*AUTH, 404, 409), security=SESSION,
                                          body=json_body(obj({"user_id": string(24), "amount": {"type": "integer"}, "reason": string(500)},
                                                             ("user_id", "amount", "reason"), extra=False)))},
        "/api/admin/stats": {"get": op("Platform statistics", "Admin", (200, ANY), (400, 401, 403), security=SESSION,
                                       params=[query("days", {"type": "integer", "minimum": 1, "maximum": 365})])},
        "/api/admin/payments": {"get": op("All payments", "Admin", (200, listing), (400, 401, 403), security=SESSION,
                                          params=page_params(query("status", {"type": "string", "enum": ["pending", "succeeded", "failed", "refunded"]})))},
        "/api/admin/messages": {"get": op("Contact messages", "Admin", (200, listing), (400, 401, 403), security=SESSION, params=page_params())},
        "/api/admin/audit": {"get": op("Audit log of admin actions", "Admin", (200, listing), (400, 401, 403), security=SESSION, params=page_params())},
        "/api/contact": {"post": op("Write to support", "Meta", (201, ANY), (400, 403, 415, 429),
                                    body=json_body(obj({"name": string(100), "email": string(254), "subject": string(150), "message": string(5000)},
                                                       ("name", "email", "message"), extra=False)))},
    }
    for model in catalog.MODELS.values():
        out[f"/api/vision/{model.slug}"] = vision_path(model)
    return out


def spec() -> dict:
    error = obj({"error": obj({"code": {"type": "string", "enum": ERROR_CODES}, "message": {"type": "string"}}, ("code", "message"))}, ("error",))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "NexusPoint API", "version": "1.0.0",
            "description": "Pay-per-use computer vision. Authenticate with `Authorization: Bearer np_live_...` (create tokens in the dashboard). "
                           "Every error has the shape `{\"error\": {\"code\", \"message\"}}`; every response carries `X-Request-Id`; "
                           "token calls carry `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`.",
        },
        "servers": [{"url": "/"}],
        "paths": paths(),
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "An API token, np_live_..."},
                "session": {"type": "apiKey", "in": "cookie", "name": "np_session", "description": "The dashboard's session cookie (HttpOnly)."},
            },
            "schemas": {
                "Error": error,
                "Anything": {},
                "Page": obj({"items": {"type": "array"}, "page": {"type": "integer"}, "pages": {"type": "integer"}, "total": {"type": "integer"}}),
                "User": obj({k: {} for k in ("id", "first_name", "last_name", "email", "company", "role", "credits", "notifications", "created_at",
                                              "two_factor_enabled", "email_verified", "object_to_analytics")}),
                "VisionResult": obj({k: {} for k in ("model", "credits_charged", "credits_remaining", "usage_id", "engine", "image", "results", "sandbox")},
                                    ("model", "credits_charged", "credits_remaining", "results")),
            },
            "responses": {f"E{code}": {"description": text, "content": {"application/json": {"schema": ref("Error")}}}
                          for code, text in STATUS_TEXT.items()} | {"E405": {"description": "Method not allowed",
                                                                             "content": {"application/json": {"schema": ref("Error")}}}},
        },
    }


def render() -> str:
    return json.dumps(spec(), indent=1) + "\n"


if __name__ == "__main__":
    OUT.write_text(render())
    print(f"wrote {OUT.relative_to(Path.cwd()) if OUT.is_relative_to(Path.cwd()) else OUT}", file=sys.stderr)
