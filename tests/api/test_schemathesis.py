"""Property-based calls generated from public/openapi.json against the in-process site: no 5xx.

Bounded in examples so the suite stays quick; each operation runs signed in
(session cookie and our own Origin) so the handlers, not just the auth check,
see the generated input.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from local.router import Router
from tests.client import SITE, Client
from tests.fixtures.accounts import sign_up

schema = schemathesis.openapi.from_wsgi("/openapi.json", Router())


def not_a_server_error(ctx, response, case):
    # Upstream-facing 502/503/504 answers are documented outcomes; a 500 never is.
    assert response.status_code < 500 or response.status_code in (501, 502, 503, 504), f"{case.method} {case.path} -> {response.status_code}"


@pytest.fixture
def signed_in_headers(database, router):
    """Headers of a signed-in person, made once per operation (not per example)."""
    client = Client(router)
    sign_up(client, ip="198.51.100.1")
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    return {"Cookie": cookie, "Origin": SITE, "Host": "testserver"}


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_never_answers_500(case, signed_in_headers):
    case.call_and_validate(
        headers=signed_in_headers,
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
    )
