"""Privacy policy §3: SentiSight.ai receives the image (bytes or URL) and nothing personal.

The fake records each request as received: its header names must be exactly these, each
value one that names no person, the body exactly the image (or exactly `{"url": ...}`),
and no query parameter (text recognition's `lang` is the one model option; see test_vision_requests).
"""

from __future__ import annotations

import json

import pytest

from tests.fixtures.vision_calls import CALL_KINDS, IMAGE_URL, noisy_image

# What an HTTP client sends anyway, plus our SentiSight credential; nothing from the caller.
SENTISIGHT_HEADERS = frozenset({"host", "user-agent", "accept-encoding", "accept", "x-auth-token", "content-type",
                                "content-length"})
CALLER = {"user-agent": "Ada's own browser 1.0", "referer": "http://testserver/dashboard/try?email=ada",
          "x-forwarded-for": "198.51.100.23", "accept-language": "de-CH"}


def expected_values(sentisight, content_type: str, body: bytes) -> dict[str, str]:
    """Header -> its exact value."""
    return {
        "host": f"{sentisight.host}:{sentisight.port}",
        "user-agent": "NexusPoint",
        "accept-encoding": "gzip",
        "accept": "application/json",
        "x-auth-token": sentisight.token,
        "content-type": content_type,
        "content-length": str(len(body)),
    }


@pytest.mark.parametrize("kind", CALL_KINDS)
def test_sentisight_receives_the_image_and_nothing_else(vision_call, client, user, api_token, sentisight, kind):
    image = noisy_image()
    r = vision_call(kind, image=image, headers=CALLER)
    assert r.status_code == 200, r.text
    [sent] = sentisight.requests
    assert (sent["path"], sent["query"]) == ("/api/pm-predict/Object-detection", {})

    if kind == "api url":
        assert json.loads(sent["body"]) == {"url": IMAGE_URL}
        content_type = "application/json"
    else:
        assert sent["body"] == image
        content_type = "application/octet-stream"

    headers = {name.lower(): value for name, value in sent["headers"].items()}
    assert set(headers) == SENTISIGHT_HEADERS
    assert headers == expected_values(sentisight, content_type, sent["body"])

    # And spelled out: nothing that identifies the caller, in any header, the path or the query.
    envelope = repr((sent["headers"], sent["path"], sent["query"]))
    canaries = [user["email"], user["id"], "Lovelace", api_token["secret"], api_token["id"], "198.51.100", "203.0.113",
                "Ada's", "de-CH", *client.cookies.values()]
    assert [c for c in canaries if c in envelope] == []
