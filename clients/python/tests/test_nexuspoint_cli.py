"""`nexuspoint` against the fake server: the pre-flight, JSON Lines, resuming, exit codes, --save, Ctrl-C."""

from __future__ import annotations

import io
import json
import socket

import pytest
from conftest import Answer

from nexuspoint import bulk, cli

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF a tiny jpeg"


@pytest.fixture
def run(fake, monkeypatch, capsys):
    """run(*argv) -> (exit code, stdout, stderr) of `nexuspoint` against the fake server, with no real waits."""
    monkeypatch.setenv("NEXUSPOINT_API_KEY", "np_live_test")
    monkeypatch.setenv("NEXUSPOINT_BASE_URL", fake.url)
    monkeypatch.setattr("nexuspoint.client.time.sleep", lambda seconds: None)

    def invoke(*argv):
        code = cli.main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


@pytest.fixture
def photos(tmp_path):
    """A folder of 3 images (one in a subfolder) and a file that isn't an image."""
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    for name in ("a.jpg", "b.png", "sub/c.jpeg"):
        (folder / name).write_bytes(JPEG)
    (folder / "notes.txt").write_text("not an image")
    return folder


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_predict_a_folder_writes_one_line_per_image_and_a_summary(run, fake, photos, tmp_path):
    out = tmp_path / "out.jsonl"
    code, _, err = run("predict", "general-classification", photos, "-j", "2", "-o", out)
    assert code == 0, err
    records = lines(out)
    assert sorted(r["input"] for r in records) == sorted(str(photos / n) for n in ("a.jpg", "b.png", "sub/c.jpeg"))
    assert all(r["ok"] and r["credits_charged"] == 1 and r["results"]["labels"][0]["label"] == "tabby cat" for r in records)
    assert "3 images x general-classification at 1 credit each: 3 credits." in err
    assert "Balance: 50 credits." in err
    assert "Done: 3 ok, 0 failed, 0 not run" in err and "Credits: 3 charged, 47 credits left." in err
    assert len(fake.requests_to("/api/vision/general-classification")) == 3


def test_a_second_run_skips_what_is_already_ok(run, fake, photos, tmp_path):
    out = tmp_path / "out.jsonl"
    run("predict", "general-classification", photos, "-o", out)
    code, _, err = run("predict", "general-classification", photos, "-o", out)
    assert code == 0 and "Nothing to do: all 3 inputs are already recorded as ok" in err
    assert len(fake.requests_to("/api/vision/general-classification")) == 3
    assert len(lines(out)) == 3


def test_failures_exit_1_and_only_they_run_again(run, fake, photos, tmp_path):
    out = tmp_path / "out.jsonl"
    fake.answer("/api/vision/general-classification", Answer(json={"credits_charged": 1, "results": {"labels": []}}),
                Answer(422, {"error": {"code": "image_unreadable", "message": "Could not read it."}}))
    code, _, err = run("predict", "general-classification", photos, "-j", "1", "-o", out)
    assert code == 1
    failed = [r for r in lines(out) if not r["ok"]]
    assert len(failed) == 2 and failed[0]["error"]["code"] == "image_unreadable" and failed[0]["credits_charged"] == 0
    assert "Failures: image_unreadable x2" in err and "run the same command again" in err
    fake.scripts.clear()
    code, _, err = run("predict", "general-classification", photos, "-o", out)
    assert code == 0 and "2 images (1 already done" in err


def test_results_go_to_stdout_without_out(run, photos):
    code, out, _ = run("predict", "general-classification", photos / "a.jpg")
    assert code == 0 and json.loads(out)["input"] == str(photos / "a.jpg")


def test_a_balance_too_low_refuses_with_exit_2_unless_yes(run, fake, photos):
    fake.balance = 2
    code, _, err = run("predict", "general-classification", photos)
    assert code == 2 and "doesn't cover 3 credits" in err and "--yes" in err
    assert fake.requests_to("/api/vision/general-classification") == []
    fake.answer("/api/vision/general-classification", Answer(json={"credits_charged": 1, "results": {}}),
                Answer(json={"credits_charged": 1, "results": {}}),
                Answer(402, {"error": {"code": "insufficient_credits", "message": "Your balance is 0."}}))
    code, _, err = run("predict", "general-classification", photos, "--yes", "-j", "1")
    assert code == 1 and "Stopped early: Your balance is 0." in err


def test_an_invalid_token_stops_the_run_instead_of_failing_every_image(run, fake, photos):
    fake.answer("/api/account/balance", Answer(json={"credits": 50}))
    fake.answer("/api/vision/general-classification", Answer(401, {"error": {"code": "invalid_token", "message": "Invalid API token."}}))
    code, _, err = run("predict", "general-classification", photos, "-j", "1")
    assert code == 1 and "Stopped early: Invalid API token." in err and "1 failed, 2 not run" in err
    assert len(fake.requests_to("/api/vision/general-classification")) == 1


def test_a_test_token_says_the_run_is_free(run, fake, photos, monkeypatch):
    monkeypatch.setenv("NEXUSPOINT_API_KEY", "np_test_abc")
    fake.balance = 0
    code, _, err = run("predict", "general-classification", photos)
    assert code == 0 and "Test token: this run is free" in err


def test_an_unavailable_model_exits_1_before_anything_is_sent(run, fake, photos):
    code, _, err = run("predict", "instance-segmentation", photos)
    assert code == 1 and "can't run on" in err and "no local weights" in err
    assert fake.requests_to("/api/vision/instance-segmentation") == []


@pytest.mark.parametrize("argv,message", [
    (("predict", "no-such-model", "{photos}"), "unknown model 'no-such-model'"),
    (("predict", "general-classification", "/no/such/place"), "no such file or folder"),
    (("predict", "general-classification", "{photos}", "-j", "0"), "--concurrency must be at least 1"),
    (("predict", "general-classification", "{photos}", "--min-confidence", "2"), "between 0 and 1"),
    (("predict", "background-removal", "{photos}", "--max-results", "1"), "background-removal has no --max-results (it takes no options)"),
    (("predict", "object-detection", "{photos}", "--lang", "de"), "object-detection has no --lang (it takes --min-confidence, --max-results)"),
])
def test_usage_errors_exit_2(run, photos, argv, message):
    code, _, err = run(*(a.format(photos=photos) for a in argv))
    assert code == 2 and message in err


def test_bad_arguments_and_help_exit_like_argparse(run):
    with pytest.raises(SystemExit) as caught:
        run("predict")
    assert caught.value.code == 2
    for command in ("models", "balance", "usage", "predict"):
        with pytest.raises(SystemExit) as caught:
            run(command, "--help")
        assert caught.value.code == 0


def test_an_unreachable_server_is_a_clear_message_and_exit_1(run, photos, monkeypatch, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, _, err = run("predict", "general-classification", photos, "--base-url", f"http://127.0.0.1:{port}", "--max-retries", "1")
    assert code == 1
    assert f"error: Could not reach http://127.0.0.1:{port}: connection refused" in err and "Traceback" not in err


def test_models_balance_usage_commands(run, fake):
    code, out, _ = run("models")
    assert code == 0 and "object-detection" in out and "no: no local weights" in out
    assert run("balance") == (0, "50 credits\n", "")
    assert json.loads(run("balance", "--json")[1]) == {"credits": 50, "sandbox": False}
    fake.answer("/api/account/usage", Answer(json={"days": 7, "from": "2026-11-26", "to": "2026-12-02", "daily": [], "by_model": [],
                                                   "by_source": {}, "totals": {"calls": 4, "credits": 6, "failed": 1}}))
    code, out, _ = run("usage", "--days", "7")
    assert code == 0 and "Last 7 days (2026-11-26 to 2026-12-02): 4 calls, 6 credits, 1 failed" in out
    assert fake.seen[-1].query == {"days": "7"}


def test_save_writes_background_removal_pngs(run, fake, photos, tmp_path):
    fake.answer("/api/vision/background-removal", Answer(body=b"\x89PNG cut-out", headers={"Content-Type": "image/png", "X-Credits-Charged": "5"}))
    out, saved = tmp_path / "out.jsonl", tmp_path / "saved"
    code, _, err = run("predict", "background-removal", photos / "a.jpg", "-o", out, "--save", saved)
    assert code == 0, err
    record = lines(out)[0]
    assert record["credits_charged"] == 5 and "image" not in record["results"]
    assert (saved / "a.png").read_bytes() == b"\x89PNG cut-out" and record["saved"] == str(saved / "a.png")


def test_save_draws_boxes_on_a_copy_with_pillow(run, fake, tmp_path):
    image = pytest.importorskip("PIL.Image")
    photo = tmp_path / "street.jpg"
    buffer = io.BytesIO()
    image.new("RGB", (64, 48), "white").save(buffer, "JPEG")
    photo.write_bytes(buffer.getvalue())
    fake.answer("/api/vision/object-detection", Answer(json={"credits_charged": 2, "results": {
        "objects": [{"label": "car", "score": 0.9, "box": {"x0": 5, "y0": 5, "x1": 40, "y1": 30}}]}}))
    code, _, _ = run("predict", "object-detection", photo, "--save", tmp_path / "saved")
    assert code == 0
    with image.open(tmp_path / "saved" / "street.png") as drawn:
        assert drawn.size == (64, 48) and drawn.getpixel((5, 15)) != (255, 255, 255)  # the box's left edge


def test_ctrl_c_keeps_the_calls_in_flight_and_a_valid_file(run, fake, photos, tmp_path, monkeypatch):
    out = tmp_path / "out.jsonl"
    out.write_text('{"input": "half a line from a killed run"')
    real_wait, calls = bulk.wait, []

    def wait_then_interrupt(futures, return_when):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_wait(futures, return_when=return_when)

    monkeypatch.setattr(bulk, "wait", wait_then_interrupt)
    code, _, err = run("predict", "general-classification", photos, "-j", "1", "-o", out)
    assert code == 130 and "Stopped by Ctrl-C." in err
    text = out.read_text().splitlines()
    assert text[0] == '{"input": "half a line from a killed run"'
    assert [json.loads(line)["ok"] for line in text[1:]] == [True, True]  # the first answer, then the one in flight
    monkeypatch.setattr(bulk, "wait", real_wait)
    code, _, err = run("predict", "general-classification", photos, "-o", out)
    assert code == 0 and "1 image (2 already done" in err


def test_the_cli_sends_the_same_key_for_the_same_image_on_a_re_run(run, fake, photos):
    run("predict", "general-classification", photos / "a.jpg")
    run("predict", "general-classification", photos / "a.jpg")
    run("predict", "general-classification", photos / "b.png")
    first, again, other = (s.headers["Idempotency-Key"] for s in fake.requests_to("/api/vision/general-classification"))
    assert first == again != other


def test_a_replayed_answer_is_recorded_as_free(run, fake, photos):
    """A re-run after a crash between the charge and the JSONL line: the server replays, the record says so."""
    fake.answer("/api/vision/general-classification", Answer(json={"credits_charged": 1, "credits_remaining": 49, "results": {"labels": []}},
                                                             headers={"Idempotent-Replayed": "true", "X-Credits-Charged": "0"}))
    code, out, err = run("predict", "general-classification", photos / "a.jpg")
    record = json.loads(out)
    assert code == 0 and record["replayed"] is True and record["credits_charged"] == 0
    assert "Credits: 0 charged" in err
