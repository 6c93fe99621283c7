"""The OpenAPI description matches the functions in api/, and the app honours it."""

import json
import re
from pathlib import Path

import pytest

from local.router import api_routes
from tools import build_openapi

ROOT = Path(__file__).resolve().parents[2]
SPEC = json.loads((ROOT / "public" / "openapi.json").read_text())
METHODS = {"get", "post", "put", "patch", "delete"}


def routes_in_code(router) -> set[tuple[str, str]]:
    out = set()
    for route in api_routes(ROOT):
        if route.path.startswith("/api/cron/"):
            continue  # scheduled functions: called by Vercel Cron with CRON_SECRET, not part of the public API
        path = re.sub(r"\[(\w+)\]", r"{\1}", route.path)
        for method in router.load(route).handlers:
            out.add((path, method.lower()))
    return out


def routes_in_spec() -> set[tuple[str, str]]:
    return {(path, method) for path, item in SPEC["paths"].items() for method in item if method in METHODS}


def test_committed_spec_is_what_the_builder_makes():
    assert (ROOT / "public" / "openapi.json").read_text() == build_openapi.render(), "run `python -m tools.build_openapi`"


def test_every_route_is_described(router):
    missing = routes_in_code(router) - routes_in_spec()
    assert not missing, f"routes in api/ missing from public/openapi.json: {sorted(missing)}"


def test_spec_names_no_route_that_does_not_exist(router):
    extra = routes_in_spec() - routes_in_code(router)
    assert not extra, f"public/openapi.json names routes that api/ does not have: {sorted(extra)}"


def test_spec_is_valid_openapi_31():
    from openapi_spec_validator import validate

    validate(SPEC)


@pytest.mark.parametrize("scheme", ["bearer", "session"])
def test_both_security_schemes_are_declared(scheme):
    assert scheme in SPEC["components"]["securitySchemes"]


@pytest.mark.parametrize("slug", ["object-detection", "text-recognition", "background-removal"])
def test_each_model_lists_its_own_options_everywhere_they_are_read(slug):
    from lib.vision import catalog, options

    specs = options.described(catalog.get(slug))
    post = SPEC["paths"][f"/api/vision/{slug}"]["post"]
    in_query = {p["name"]: p["schema"] for p in post["parameters"] if p["in"] == "query" and p["name"] not in ("format", "raw")}
    content = post["requestBody"]["content"]
    in_form = {k: v for k, v in content["multipart/form-data"]["schema"]["properties"].items() if k != "image"}
    in_json = {k: v for k, v in content["application/json"]["schema"]["properties"].items() if k not in ("url", "base64")}
    assert in_query == in_form == in_json == specs
    assert ("min_confidence" in specs) == (slug == "object-detection") and ("lang" in specs) == (slug == "text-recognition")


def test_vision_calls_document_the_idempotency_key_and_its_errors():
    for slug in ("object-detection", "background-removal"):
        post = SPEC["paths"][f"/api/vision/{slug}"]["post"]
        [header] = [p for p in post["parameters"] if p["in"] == "header"]
        assert header["name"] == "Idempotency-Key" and header["schema"]["maxLength"] == 255
        assert {"409", "422", "402"} <= set(post["responses"]) and "idempotency_key_reused" in post["description"]
    codes = SPEC["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
    assert {"idempotency_key_in_use", "idempotency_key_reused", "invalid_idempotency_key", "token_credit_limit"} <= set(codes)
