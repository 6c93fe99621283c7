"""The library against a fake server: what each kind of input sends, typed results, retries and idempotency keys."""

from __future__ import annotations

import base64
import io
import json
import socket

import pytest
from conftest import Answer

import nexuspoint
from nexuspoint import Client

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF a tiny jpeg"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR a tiny png"
VISION = "/api/vision/general-classification"


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- configuration -----------------------------------------------------------------

def test_key_and_base_url_come_from_the_environment(fake, monkeypatch):
    monkeypatch.setenv("NEXUSPOINT_API_KEY", "np_live_from_env")
    monkeypatch.setenv("NEXUSPOINT_BASE_URL", fake.url + "/")
    assert Client().balance().credits == 50
    assert fake.seen[0].headers["Authorization"] == "Bearer np_live_from_env"


def test_the_default_server_is_the_production_site():
    assert Client(api_key="x").base_url == "https://nexuspoint.ai"


# --- inputs ----------------------------------------------------------------------------

def test_a_file_path_is_sent_as_its_bytes_with_its_type(fake, client, tmp_path):
    photo = tmp_path / "cat.jpg"
    photo.write_bytes(JPEG)
    client.general_classification(str(photo))
    client.general_classification(photo)  # a Path too
    for seen in fake.requests_to(VISION):
        assert seen.method == "POST" and seen.body == JPEG
        assert seen.headers["Content-Type"] == "image/jpeg"


def test_bytes_and_binary_files_are_sent_as_they_are(fake, client):
    client.predict("general-classification", PNG)
    client.predict("general-classification", io.BytesIO(PNG))
    assert [(s.body, s.headers["Content-Type"]) for s in fake.requests_to(VISION)] == [(PNG, "image/png")] * 2


def test_a_url_is_sent_as_a_url_call_not_downloaded(fake, client):
    client.general_classification("https://images.example/cat.jpg")
    seen = fake.requests_to(VISION)[0]
    assert seen.headers["Content-Type"] == "application/json"
    assert json.loads(seen.body) == {"url": "https://images.example/cat.jpg"}
    assert [s.path for s in fake.seen] == [VISION]  # nothing fetched the URL


def test_a_text_file_opened_as_text_is_refused_before_sending(fake, client, tmp_path):
    with pytest.raises(TypeError, match="binary mode"):
        client.general_classification(io.StringIO("not bytes"))
    assert fake.seen == []


def test_options_go_in_the_query(fake, client):
    client.text_recognition(JPEG, lang="de")
    client.general_classification(JPEG, min_confidence=0.5, max_results=2)
    first, second = fake.seen
    assert first.path == "/api/vision/text-recognition" and first.query == {"lang": "de"}
    assert second.query == {"min_confidence": "0.5", "max_results": "2"}


# --- results ------------------------------------------------------------------------

def test_classification_result_is_typed_with_its_metadata(client):
    result = client.general_classification(JPEG)
    assert isinstance(result, nexuspoint.Classification)
    assert result.top == nexuspoint.Label("tabby cat", 0.91)
    assert (result.credits_charged, result.credits_remaining, result.usage_id, result.request_id) == (1, 49, "u1", "req-1")
    assert (result.width, result.height, result.engine, result.sandbox, result.replayed) == (4, 3, "fake", False, False)
    assert result.raw["results"]["labels"][0]["label"] == "tabby cat"


def test_min_confidence_and_max_results_hold_on_a_server_that_ignores_them(client):
    result = client.general_classification(JPEG, min_confidence=0.02)
    assert [label.label for label in result.labels] == ["tabby cat", "tiger cat"]
    assert [label["label"] for label in result.results["labels"]] == ["tabby cat", "tiger cat"]
    assert [label.label for label in client.general_classification(JPEG, max_results=1).labels] == ["tabby cat"]


def test_detection_segmentation_pose_and_text_shapes(fake, client):
    box = {"x0": 1, "y0": 2, "x1": 30, "y1": 40}
    fake.answer("/api/vision/instance-segmentation", Answer(json={"model": "instance-segmentation", "credits_charged": 5, "results": {
        "objects": [{"label": "dog", "score": 0.8, "box": box, "polygon": [[1, 2], [30, 2], [30, 40]]}]}}))
    fake.answer("/api/vision/pose-estimation", Answer(json={"credits_charged": 3, "results": {
        "people": [{"score": 0.9, "keypoints": [{"name": "nose", "x": 5, "y": 6, "score": 0.99}]}], "skeleton": [["nose", "left_eye"]]}}))
    fake.answer("/api/vision/text-recognition", Answer(json={"credits_charged": 3, "results": {
        "text": "OPEN\nDAILY", "lines": [{"text": "OPEN", "score": 0.98, "polygon": [[0, 0], [9, 0], [9, 4]],
                                          "words": [{"text": "OPEN", "score": 0.98}]}, {"text": "DAILY"}]}}))
    segments = client.instance_segmentation(JPEG)
    assert segments.objects[0].box == nexuspoint.Box(1, 2, 30, 40) and segments.objects[0].polygon[2] == (30, 40)
    pose = client.pose_estimation(JPEG)
    assert pose.people[0].keypoints[0] == nexuspoint.Keypoint("nose", 5, 6, 0.99) and pose.skeleton == [("nose", "left_eye")]
    text = client.text_recognition(JPEG)
    assert text.text == "OPEN\nDAILY" and [line.text for line in text.lines] == ["OPEN", "DAILY"]
    assert [w.text for w in text.words] == ["OPEN"]  # words, on servers that send them


def test_background_removal_returns_png_bytes_and_metadata_from_headers(fake, client, tmp_path):
    cutout = b"\x89PNG\r\n\x1a\n the cut-out"
    fake.answer("/api/vision/background-removal", Answer(body=cutout, headers={
        "Content-Type": "image/png", "X-Credits-Charged": "5", "X-Credits-Remaining": "45", "X-Usage-Id": "u9"}))
    result = client.background_removal(JPEG)
    assert fake.seen[0].query == {"format": "png"}
    assert isinstance(result, nexuspoint.BackgroundRemoval)
    assert (result.png, result.credits_charged, result.credits_remaining, result.usage_id) == (cutout, 5, 45, "u9")
    assert result.save(tmp_path / "out.png").read_bytes() == cutout


def test_background_removal_as_json_data_url_is_decoded_too(fake, client):
    fake.answer("/api/vision/background-removal", Answer(json={"credits_charged": 5, "results": {
        "image": "data:image/png;base64," + base64.b64encode(b"PNGDATA").decode()}}))
    assert client.background_removal(JPEG).png == b"PNGDATA"


def test_a_replay_reports_what_it_really_cost(fake, client):
    """Idempotent-Replayed answers repeat the first body; the header says this call cost nothing."""
    fake.answer(VISION, Answer(json={"credits_charged": 1, "credits_remaining": 49, "results": {"labels": []}},
                               headers={"Idempotent-Replayed": "true", "X-Credits-Charged": "0"}))
    result = client.general_classification(JPEG)
    assert result.replayed and result.credits_charged == 0


def test_a_test_token_marks_results_as_sandbox(fake):
    fake.answer(VISION, Answer(json={"credits_charged": 0, "sandbox": True, "results": {"labels": []}}, headers={"X-Sandbox": "true"}))
    client = Client(api_key="np_test_abc", base_url=fake.url)
    assert client.sandbox and client.general_classification(JPEG).sandbox
    assert client.balance().sandbox


def test_models_balance_and_usage(fake, client):
    fake.answer("/api/account/usage", Answer(json={"days": 7, "from": "2026-11-26", "to": "2026-12-02", "daily": [],
                                                   "by_model": [{"model": "general-classification", "calls": 3, "credits": 3, "failed": 0}],
                                                   "by_source": {"api": {"calls": 3}}, "totals": {"calls": 3, "credits": 3, "failed": 0}}))
    models = {m.slug: m for m in client.models()}
    assert models["object-detection"].cost == 2 and not models["instance-segmentation"].available
    assert "Authorization" in fake.seen[0].headers  # harmless on the public route
    assert client.balance().credits == 50
    usage = client.usage(days=7)
    assert fake.seen[-1].query == {"days": "7"}
    assert (usage.days, usage.start, usage.totals["credits"], usage.by_model[0]["model"]) == (7, "2026-11-26", 3, "general-classification")


# --- retries and idempotency ----------------------------------------------------------

def test_429_waits_for_retry_after_then_succeeds(fake, client, waits):
    fake.answer(VISION, Answer(429, {"error": {"code": "rate_limited", "message": "Slow down."}}, headers={"Retry-After": "3"}),
                Answer(json={"credits_charged": 1, "results": {"labels": []}}))
    assert client.general_classification(JPEG).credits_charged == 1
    assert len(waits) == 1 and 3 <= waits[0] <= 3.5  # Retry-After, plus a little jitter


def test_a_retried_call_reuses_its_idempotency_key(fake, client, waits):
    fake.answer(VISION, Answer(503, {"error": {"code": "database_unavailable", "message": "Down."}}),
                Answer(502, {"error": {"code": "upstream_error", "message": "Provider down."}}),
                Answer(json={"credits_charged": 1, "results": {"labels": []}}))
    client.general_classification(JPEG)
    keys = [s.headers.get("Idempotency-Key") for s in fake.requests_to(VISION)]
    assert len(keys) == 3 and keys[0] and len(set(keys)) == 1
    assert all(s.body == JPEG for s in fake.requests_to(VISION))
    client.general_classification(JPEG)
    assert fake.requests_to(VISION)[-1].headers["Idempotency-Key"] != keys[0]  # a new call, a new key


def test_a_given_idempotency_key_is_sent(fake, client):
    client.predict("general-classification", JPEG, idempotency_key="my-key-1")
    assert fake.seen[0].headers["Idempotency-Key"] == "my-key-1"


def test_a_key_still_in_use_is_retried_after_retry_after(fake, client, waits):
    fake.answer(VISION, Answer(409, {"error": {"code": "idempotency_key_in_use", "message": "Still running."}}, headers={"Retry-After": "1"}),
                Answer(json={"credits_charged": 0, "results": {"labels": []}}, headers={"Idempotent-Replayed": "true"}))
    assert client.general_classification(JPEG).replayed
    assert len(waits) == 1 and waits[0] >= 1


def test_backoff_grows_and_gives_up_after_max_retries(fake, client, waits):
    fake.answer(VISION, Answer(504, {"error": {"code": "upstream_timeout", "message": "Too slow."}}))
    with pytest.raises(nexuspoint.UpstreamTimeout):
        client.general_classification(JPEG)
    assert len(fake.requests_to(VISION)) == 4  # the first attempt and 3 retries
    assert len(waits) == 3 and waits[0] < waits[2] and all(0 < w <= 8 for w in waits)


@pytest.mark.parametrize("status,code", [(400, "invalid_parameter"), (401, "invalid_token"), (402, "insufficient_credits"),
                                         (422, "image_unreadable"), (500, "internal_error"), (501, "model_unavailable_offline")])
def test_errors_that_would_repeat_are_not_retried(fake, client, waits, status, code):
    fake.answer(VISION, Answer(status, {"error": {"code": code, "message": "No."}}))
    with pytest.raises(nexuspoint.APIError):
        client.general_classification(JPEG)
    assert len(fake.requests_to(VISION)) == 1 and waits == []


def test_a_retry_after_longer_than_max_retry_wait_raises_at_once(fake, client, waits):
    fake.answer(VISION, Answer(429, {"error": {"code": "rate_limited", "message": "Come back tomorrow."}}, headers={"Retry-After": "3600"}))
    with pytest.raises(nexuspoint.RateLimited) as caught:
        client.general_classification(JPEG)
    assert caught.value.retry_after == 3600 and waits == []


def test_a_dropped_connection_is_retried_with_the_same_key(fake, client, waits):
    fake.answer(VISION, Answer(drop=True), Answer(json={"credits_charged": 1, "results": {"labels": []}}))
    assert client.general_classification(JPEG).credits_charged == 1
    keys = {s.headers["Idempotency-Key"] for s in fake.requests_to(VISION)}
    assert len(fake.requests_to(VISION)) == 2 and len(keys) == 1 and len(waits) == 1


def test_an_unreachable_server_is_retried_then_a_clear_connection_error(waits):
    client = Client(api_key="np_live_x", base_url=f"http://127.0.0.1:{unused_port()}", max_retries=2, sleep=waits.append)
    with pytest.raises(nexuspoint.APIConnectionError) as caught:
        client.balance()
    assert len(waits) == 2
    assert caught.value.status is None and caught.value.code == "connection_error"
    assert "Could not reach http://127.0.0.1:" in caught.value.message and "connection refused" in caught.value.message


def test_a_timeout_is_an_api_timeout(fake, waits):
    import threading

    release = threading.Event()
    original = fake.handle
    fake.handle = lambda handler: (release.wait(2), original(handler))
    client = Client(api_key="np_live_x", base_url=fake.url, timeout=0.2, max_retries=0, sleep=waits.append)
    try:
        with pytest.raises(nexuspoint.APITimeout, match="did not answer within 0.2 s"):
            client.balance()
    finally:
        release.set()
