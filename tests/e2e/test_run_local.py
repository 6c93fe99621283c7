"""The dashboard's run page on the local backend: object detection with options, boxes drawn on the photo."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw, ImageFont

from lib.vision.local import LocalBackend
from tests.e2e.test_pages import balance, sign_up
from tests.fixtures.browser import screenshot
from tests.unit.test_local_vision import grace_hopper

STATUS = LocalBackend().availability()
DETECTION = STATUS["object-detection"]
pytestmark = pytest.mark.skipif(not DETECTION["available"], reason=f"object-detection offline: {DETECTION['reason']}")
FIRST_RUN_MS = 120_000  # the first call loads the model (and converts its graph) on a busy 2-core machine


@pytest.fixture(scope="module")
def site(start_dev_server):
    """A dev server with the models on this machine's CPU, as `make dev` runs them."""
    with start_dev_server(VISION_BACKEND="local", SENTISIGHT_API_TOKEN=None) as server:
        yield server.url


@pytest.fixture(scope="module")
def portrait(tmp_path_factory):
    path = tmp_path_factory.mktemp("images") / "grace_hopper.jpg"
    path.write_bytes(grace_hopper())
    return path


@pytest.fixture(scope="module")
def sign(tmp_path_factory):
    """Two lines of printed text, 800x740 (RapidOCR scales anything smaller up to 736 px first, which is slow)."""
    path = tmp_path_factory.mktemp("images") / "sign.png"
    img = Image.new("RGB", (800, 740), "white")
    draw = ImageDraw.Draw(img)
    draw.text((40, 200), "NEXUSPOINT", fill="black", font=ImageFont.load_default(size=72))
    draw.text((40, 420), "OPEN 2026", fill="black", font=ImageFont.load_default(size=72))
    img.save(path)
    return path


def test_object_detection_runs_offline_with_options_and_draws_its_boxes(open_page, portrait):
    page = open_page()
    sign_up(page)
    page.check("input[name=model][value=object-detection]")
    page.wait_for_selector("#option-min_confidence")
    assert page.locator("#run-options").is_visible()
    page.set_input_files("#image-file", str(portrait))

    # A value the server would refuse is marked next to its box, and nothing is sent or charged.
    page.fill("#option-min_confidence", "2")
    page.click("#run-button")
    assert "from 0 to 1" in page.text_content("#option-min_confidence-error")
    assert page.locator("#result[data-model]").count() == 0

    page.fill("#option-min_confidence", "0.05")
    page.fill("#option-max_results", "3")
    page.click("#run-button")
    page.wait_for_selector("#result[data-model=object-detection]", timeout=FIRST_RUN_MS)
    boxes = page.locator("#result svg.overlay rect.box")
    assert boxes.count() == 3  # the default threshold finds two (person, tie); 0.05 finds more, cut to three
    assert float(boxes.first.get_attribute("width")) > 200  # the portrait's person: most of the 512 px frame
    assert "person" in page.text_content("#result .result-list li:first-child")
    assert "centernet" in page.text_content("#result .result-meta")
    assert page.text_content("#option-min_confidence-error") == ""
    assert balance(page) == 48
    screenshot(page, "dashboard-run-object-detection-local")

    # The same run asked again (a double click, a click after a lost answer) is its Idempotency-Key's free replay;
    # any change to the inputs is a new run.
    page.evaluate("document.querySelector('#result').removeAttribute('data-model')")
    page.click("#run-button")
    page.wait_for_selector("#result[data-model=object-detection]")
    assert "Charged 0 credits" in page.text_content("#result .result-meta") and balance(page) == 48
    page.fill("#option-max_results", "2")
    page.evaluate("document.querySelector('#result').removeAttribute('data-model')")
    page.click("#run-button")
    page.wait_for_selector("#result[data-model=object-detection]")
    assert "Charged 2 credits" in page.text_content("#result .result-meta") and balance(page) == 46
    assert page.locator("#result svg.overlay rect.box").count() == 2

    # Models without options hide the row; text recognition offers only its language.
    page.check("input[name=model][value=background-removal]")
    assert not page.locator("#run-options").is_visible()
    page.check("input[name=model][value=text-recognition]")
    assert page.locator("#option-lang").is_visible() and page.locator("#option-max_results").count() == 0


@pytest.mark.skipif(not STATUS["text-recognition"]["available"], reason=f"text-recognition offline: {STATUS['text-recognition']['reason']}")
def test_text_recognition_draws_its_lines(open_page, sign):
    page = open_page()
    sign_up(page)
    page.check("input[name=model][value=text-recognition]")
    page.fill("#option-lang", "en")
    page.set_input_files("#image-file", str(sign))
    page.click("#run-button")
    page.wait_for_selector("#result[data-model=text-recognition]", timeout=FIRST_RUN_MS)
    assert page.locator("#result svg.overlay polygon.text-line").count() == 2
    assert page.text_content("#result .ocr-text").replace(" ", "").splitlines() == ["NEXUSPOINT", "OPEN2026"]
    screenshot(page, "dashboard-run-text-recognition-local")
