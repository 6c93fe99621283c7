"""The official Python client and the installed `nexuspoint` command against the real dev server.

One account's journey with real API tokens over HTTP (the models run on the fake
SentiSight, the one outside service): a call per output kind, what each cost,
options the server applies, the errors as exception classes, a bulk run over a
folder that resumes, a run that the balance can't cover, and a test token's
free sandbox calls. Nothing here talks to the database behind the server's back.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nexuspoint
import pytest
import requests

from local.embedded_db import free_port
from tests.fixtures.accounts import PASSWORD
from tests.fixtures.sentisight import image_bytes

CLI = Path(sys.executable).with_name("nexuspoint")  # the console script the package installs
COSTS = {"general-classification": 1, "object-detection": 2, "instance-segmentation": 5, "text-recognition": 3,
         "pose-estimation": 3, "background-removal": 5}
SANDBOX_ERROR_URL = "https://sandbox.nexuspoint.invalid/error/"


@pytest.fixture(scope="module")
def account(site):
    """A person signed up over HTTP (50 free credits) and their tokens: live, scoped to one model, and test."""
    browser = requests.Session()
    browser.headers["Origin"] = site  # the pages' own origin, as the CSRF check wants for cookie callers
    r = browser.post(f"{site}/api/auth/register", timeout=30, json={
        "first_name": "Ada", "last_name": "Lovelace", "email": "client-e2e@example.com", "password": PASSWORD})
    assert r.status_code == 201, r.text

    def token(name: str, **settings) -> str:
        r = browser.post(f"{site}/api/tokens", json={"name": name, **settings}, timeout=30)
        assert r.status_code == 201, r.text
        return r.json()["token"]["secret"]

    return {"live": token("batch job"), "scoped": token("classifier only", models=["general-classification"]),
            "test": token("staging", mode="test")}


@pytest.fixture
def photos(tmp_path):
    """A folder of six generated images (one in a subfolder) and a file that isn't an image."""
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    for i in range(5):
        (folder / f"p{i}.png").write_bytes(image_bytes(size=(64 + i, 48)))
    (folder / "sub" / "deep.jpg").write_bytes(image_bytes("JPEG", size=(80, 60)))
    (folder / "notes.txt").write_text("not an image")
    return folder


def cli(site: str, key: str, *args: str) -> subprocess.CompletedProcess:
    assert CLI.exists(), f"{CLI} is missing: `make install` installs the client and its command"
    return subprocess.run([str(CLI), *args, "--base-url", site, "--api-key", key], capture_output=True, text=True, timeout=120)


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_live_token_journey_through_the_library_and_the_cli(site, account, photos, tmp_path):
    client = nexuspoint.Client(api_key=account["live"], base_url=site, max_retries=0)
    assert {m.slug for m in client.models() if m.available} >= set(COSTS)
    start = client.balance().credits
    assert start == 50 and not client.balance().sandbox
    photo = photos / "p0.png"

    # One call per output kind, each typed and saying what it cost.
    labels = client.general_classification(photo)
    assert isinstance(labels, nexuspoint.Classification) and labels.top.label == "dog"
    boxes = client.object_detection(photo.read_bytes(), min_confidence=0.5, max_results=1)
    assert isinstance(boxes, nexuspoint.Detection) and [o.label for o in boxes.objects] == ["person"]
    assert len(boxes.raw["results"]["objects"]) == 1, "the server itself applied max_results from the query"
    with photo.open("rb") as file:
        polygons = client.instance_segmentation(file)
    assert polygons.objects[0].box is not None and len(polygons.objects[0].polygon) >= 3
    text = client.text_recognition(photo, lang="de")
    assert isinstance(text, nexuspoint.TextRecognition) and "KAUFHAUS" in text.text, "lang reached the model"
    pose = client.pose_estimation(photo)
    assert len(pose.people[0].keypoints) == 17
    cutout = client.background_removal(photo)
    assert isinstance(cutout, nexuspoint.BackgroundRemoval) and cutout.png.startswith(b"\x89PNG\r\n\x1a\n")
    by_url = client.general_classification("https://images.example.com/dog.jpg")  # sent as a URL call, fetched upstream
    assert by_url.top.label == "dog" and by_url.width is None
    calls = [labels, boxes, polygons, text, pose, cutout, by_url]
    assert [c.credits_charged for c in calls] == [1, 2, 5, 3, 3, 5, 1]
    assert all(c.usage_id and c.request_id and not c.sandbox and not c.replayed for c in calls)
    assert cutout.credits_remaining == start - 19 and by_url.credits_remaining == start - 20

    # The same key twice: the repeat is a free replay of the first call
    first = client.general_classification(photo, idempotency_key="e2e-one-image")
    again = client.general_classification(photo, idempotency_key="e2e-one-image")
    assert (first.credits_charged, first.replayed, again.credits_charged, again.replayed) == (1, False, 0, True)
    assert again.usage_id == first.usage_id
    spent = 21
    assert client.balance().credits == start - spent
    usage = client.usage(days=1)
    assert usage.totals["credits"] == spent and usage.by_source["api"]["calls"] >= 8

    # Errors, named for what happened, carrying the status, code and request id.
    with pytest.raises(nexuspoint.InvalidRequest) as bad:
        client.object_detection(photo, max_results=0)
    assert (bad.value.status, bad.value.code, bad.value.body.get("field")) == (400, "invalid_parameter", "max_results")
    with pytest.raises(nexuspoint.InvalidRequest):
        client.text_recognition(photo, min_confidence=0.5)  # text recognition has no such option
    with pytest.raises(nexuspoint.ModelNotAllowed) as scoped:
        nexuspoint.Client(api_key=account["scoped"], base_url=site).object_detection(photo)
    assert isinstance(scoped.value, nexuspoint.PermissionDenied) and scoped.value.status == 403
    with pytest.raises(nexuspoint.AuthenticationError) as unknown:
        nexuspoint.Client(api_key="np_live_" + "x" * 43, base_url=site).balance()
    assert unknown.value.status == 401 and unknown.value.request_id
    assert client.balance().credits == start - spent, "refused calls cost nothing"

    # The CLI over the folder, 4 at a time: one JSON line per image, the summary, and a balance drop that matches.
    out = tmp_path / "results.jsonl"
    run = cli(site, account["live"], "predict", "general-classification", str(photos), "-j", "4", "-o", str(out))
    assert run.returncode == 0, run.stderr
    assert "6 images x general-classification at 1 credit each: 6 credits." in run.stderr
    assert "Done: 6 ok, 0 failed, 0 not run" in run.stderr and "Credits: 6 charged" in run.stderr
    records = lines(out)
    assert sorted(Path(r["input"]).name for r in records) == ["deep.jpg", "p0.png", "p1.png", "p2.png", "p3.png", "p4.png"]
    assert all(r["ok"] and r["results"]["labels"][0]["label"] == "dog" and r["usage_id"] for r in records)
    spent += sum(r["credits_charged"] for r in records)
    assert cli(site, account["live"], "balance", "--json").stdout.strip() == json.dumps({"credits": start - spent, "sandbox": False})
    rerun = cli(site, account["live"], "predict", "general-classification", str(photos), "-o", str(out))
    assert rerun.returncode == 0 and "Nothing to do: all 6 inputs are already recorded as ok" in rerun.stderr
    assert len(lines(out)) == 6

    # A run the balance can't cover: refused (exit 2) unless --yes, then it stops at the first 402.
    left = start - spent
    segment = ["predict", "instance-segmentation", str(photos), "-j", "1", "-o", str(tmp_path / "segments.jsonl")]
    refused = cli(site, account["live"], *segment)
    assert refused.returncode == 2 and f"Balance: {left} credits." in refused.stderr and "doesn't cover 30 credits" in refused.stderr
    drained = cli(site, account["live"], *segment, "--yes")
    assert drained.returncode == 1, drained.stderr
    assert "Stopped early:" in drained.stderr and "insufficient_credits x1" in drained.stderr
    records = lines(tmp_path / "segments.jsonl")
    assert [r["ok"] for r in records] == [True] * (left // 5) + [False]
    assert records[-1]["error"]["code"] == "insufficient_credits" and records[-1]["error"]["status"] == 402
    with pytest.raises(nexuspoint.InsufficientCredits) as broke:
        client.background_removal(photo)
    assert broke.value.status == 402 and broke.value.credits_charged == 0
    assert client.balance().credits == left % 5

    summary = cli(site, account["live"], "usage", "--days", "1")
    assert summary.returncode == 0 and f"{spent + left - left % 5} credits" in summary.stdout.splitlines()[0]


def test_a_test_tokens_calls_are_free_sandbox_answers(site, account, photos, tmp_path):
    client = nexuspoint.Client(api_key=account["test"], base_url=site, max_retries=0)
    before = client.balance()
    assert before.sandbox
    labels = client.general_classification(photos / "p1.png")
    assert labels.sandbox and labels.credits_charged == 0 and labels.labels
    cutout = client.background_removal(photos / "p1.png")
    assert cutout.sandbox and cutout.png.startswith(b"\x89PNG")
    with pytest.raises(nexuspoint.UpstreamError) as upstream:
        client.object_detection(SANDBOX_ERROR_URL + "upstream_error")
    assert upstream.value.status == 502 and upstream.value.credits_charged == 0
    with pytest.raises(nexuspoint.RateLimited) as limited:
        client.general_classification(SANDBOX_ERROR_URL + "rate_limited")
    assert limited.value.retry_after == 30

    out = tmp_path / "sandbox.jsonl"
    run = cli(site, account["test"], "predict", "object-detection", str(photos), "-o", str(out), "--max-results", "1")
    assert run.returncode == 0, run.stderr
    assert "Test token: this run is free" in run.stderr and "Credits: 0 charged" in run.stderr
    assert all(r["ok"] and r["sandbox"] and r["credits_charged"] == 0 and len(r["results"]["objects"]) == 1 for r in lines(out))
    assert client.balance().credits == before.credits


def test_an_unreachable_server_is_a_clear_message_and_exit_1(account):
    run = cli(f"http://127.0.0.1:{free_port()}", account["live"], "balance", "--max-retries", "0")
    assert run.returncode == 1
    assert "Could not reach http://127.0.0.1:" in run.stderr and "connection refused" in run.stderr
    assert "Traceback" not in run.stderr
