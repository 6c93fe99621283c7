"""POST /api/vision/<model> at its edges: result options on both backends, inputs that look harmless
and aren't (a GIF's hidden frame, a text part in no known charset, a sliver, look-alike hosts),
SentiSight's own refusals, and a cut-out too large to send back whole."""

from __future__ import annotations

import base64
import io
import struct
import sys

import pytest
from PIL import Image

from lib.vision import cutout
from tests.fakes import sentisight as fake_sentisight
from tests.fixtures.sentisight import image_bytes, ledger_rows
from tests.unit.test_local_vision import grace_hopper, needs
from tests.unit.test_vision_cutout import noise_png


def balance(client) -> int:
    return client.get("/api/auth/me").json()["user"]["credits"]


def assert_free(client, user, sentisight=None) -> None:
    assert balance(client) == 50 and ledger_rows(user, "use") == []
    if sentisight is not None:
        assert sentisight.requests == []


def send(client, slug: str, how: str, data: bytes, **fields):
    """One call with `fields` as query parameters, multipart fields or JSON members."""
    path = f"/api/vision/{slug}"
    if how == "query":
        return client.post(path, data=data, headers={"content-type": "image/png"}, query=fields)
    if how == "form":
        return client.post(path, files={"image": ("a.png", data, "image/png"), **{k: str(v) for k, v in fields.items()}})
    return client.post(path, json={"base64": base64.b64encode(data).decode(), **fields})


# --- options, the same whichever backend answers ----------------------------------

FILTERED = [  # slug, options, what the fake's answer becomes (labels or objects or people, best first)
    ("general-classification", {"min_confidence": 0.85}, ["dog", "pet"]),
    ("general-classification", {"max_results": 1}, ["dog"]),
    ("nsfw-classification", {"max_results": 1}, ["safe"]),
    ("object-detection", {"min_confidence": 0.9}, ["person"]),
    ("instance-segmentation", {"min_confidence": 0.5, "max_results": 1}, ["person"]),
    ("pose-estimation", {"min_confidence": 0.9}, []),
]


def names(results: dict) -> list:
    if "labels" in results:
        return [entry["label"] for entry in results["labels"]]
    if "objects" in results:
        return [entry["label"] for entry in results["objects"]]
    return [round(person["score"], 3) for person in results["people"]]


@pytest.mark.parametrize("how", ["query", "form", "json"])
@pytest.mark.parametrize(("slug", "options", "expected"), FILTERED, ids=[f"{c[0]}-{'-'.join(c[1])}" for c in FILTERED])
def test_options_cut_sentisight_results(client, user, sentisight, how, slug, options, expected):
    r = send(client, slug, how, image_bytes(), **options)
    assert r.status_code == 200, r.text
    assert names(r.json()["results"]) == expected
    assert sentisight.requests[0]["query"] == {}  # applied here, never sent on as SentiSight parameters


@pytest.mark.parametrize(("slug", "fields", "field"), [
    ("object-detection", {"min_confidence": "1.5"}, "min_confidence"),
    ("object-detection", {"min_confidence": "-0.1"}, "min_confidence"),
    ("object-detection", {"min_confidence": "nan"}, "min_confidence"),
    ("object-detection", {"max_results": "0"}, "max_results"),
    ("object-detection", {"max_results": "101"}, "max_results"),
    ("object-detection", {"max_results": "2.5"}, "max_results"),
    ("object-detection", {"max_results": "lots"}, "max_results"),
    ("object-detection", {"lang": "de"}, "lang"),
    ("background-removal", {"min_confidence": "0.5"}, "min_confidence"),
    ("text-recognition", {"max_results": "3"}, "max_results"),
])
@pytest.mark.parametrize("how", ["query", "form"])
def test_a_wrong_option_is_400_naming_it_and_free(client, user, sentisight, slug, fields, field, how):
    r = send(client, slug, how, image_bytes(), **fields)
    assert (r.status_code, r.error_code, r.json()["error"].get("field")) == (400, "invalid_parameter", field), r.text
    assert_free(client, user, sentisight)


@pytest.mark.parametrize("value", [True, "0.5", [0.5], {"$gt": 0}])
def test_json_options_must_be_numbers(client, user, sentisight, value):
    r = send(client, "object-detection", "json", image_bytes(), max_results=value)
    assert (r.status_code, r.error_code) == (400, "invalid_parameter"), r.text
    assert_free(client, user, sentisight)


def test_models_list_their_options_with_schemas(anon, sentisight):
    models = {m["slug"]: m for m in anon.get("/api/vision/models").json()["models"]}
    assert models["object-detection"]["option_specs"]["max_results"] == {
        "type": "integer", "minimum": 1, "maximum": 100, "description": "Return at most this many results, best first (1-100)."}
    assert list(models["text-recognition"]["option_specs"]) == ["lang"]
    assert models["background-removal"]["option_specs"] == {}


@pytest.fixture
def local(settings):
    settings(VISION_BACKEND="local")


def test_the_local_listing_names_each_engine_and_its_licence(anon, local):
    models = {m["slug"]: m for m in anon.get("/api/vision/models").json()["models"]}
    detection = models["object-detection"]
    assert (detection["backend"], detection["engine"]) == ("local", "centernet-mobilenetv3-onnx")
    assert detection["licence"].startswith("MIT") and "@vladmandic/human" in detection["licence"]
    assert models["instance-segmentation"]["licence"] is None and "no pre-trained weights" in models["instance-segmentation"]["reason"]


@needs("object-detection")
@pytest.mark.parametrize("how", ["query", "form", "json"])
def test_options_cut_local_detections_the_same_way(client, user, local, how):
    r = send(client, "object-detection", how, grace_hopper(), min_confidence=0.05, max_results=3)
    assert r.status_code == 200, r.text
    found = r.json()["results"]["objects"]
    assert len(found) == 3 and found[0]["label"] == "person"  # at its default threshold the model finds two
    assert [o["score"] for o in found] == sorted((o["score"] for o in found), reverse=True)
    strict = send(client, "object-detection", how, grace_hopper(), min_confidence=0.5).json()["results"]["objects"]
    assert [o["label"] for o in strict] == ["person"]


@needs("general-classification")
def test_options_cut_local_labels(client, user, local):
    r = send(client, "general-classification", "query", grace_hopper(), max_results=2)
    assert r.status_code == 200, r.text
    assert len(r.json()["results"]["labels"]) == 2


@needs("object-detection")
def test_a_wrong_option_is_refused_by_the_local_backend_too(client, user, local):
    r = send(client, "object-detection", "form", grace_hopper(), max_results=500)
    assert (r.status_code, r.json()["error"].get("field")) == (400, "max_results")
    assert_free(client, user)


# --- inputs ------------------------------------------------------------------------

def gif_with_a_hidden_frame(frame: int = 9000) -> bytes:
    """A GIF whose logical screen says 1x1 but whose one frame is frame x frame pixels."""
    screen = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0, 0, 0)  # no global colour table
    descriptor = b"\x2c" + struct.pack("<HHHHB", 0, 0, frame, frame, 0)
    pixels = b"\x02" + b"\x02\x4c\x01" + b"\x00"  # LZW minimum code size, one tiny sub-block, terminator
    return screen + descriptor + pixels + b"\x3b"


def test_a_gif_is_read_with_its_size(client, user, sentisight):
    data = image_bytes("GIF", (90, 60))
    r = client.post("/api/vision/object-detection", data=data, headers={"content-type": "image/gif"})
    assert r.status_code == 200, r.text
    assert r.json()["image"] == {"width": 90, "height": 60} and sentisight.requests[0]["body"] == data


def test_a_gif_hiding_a_huge_frame_behind_a_tiny_screen_is_refused_free(client, user, sentisight):
    r = client.post("/api/vision/object-detection", data=gif_with_a_hidden_frame(), headers={"content-type": "image/gif"})
    assert (r.status_code, r.error_code) == (413, "image_too_many_pixels"), r.text
    assert (r.json()["error"]["width"], r.json()["error"]["height"]) == (9000, 9000)
    assert_free(client, user, sentisight)


def test_a_fetched_gif_is_checked_like_an_upload(client, user, local, monkeypatch):
    """The local backend fetches URLs itself: those bytes pass the same frame check, before the charge."""
    from lib.vision.local import fetch

    monkeypatch.setattr(fetch, "fetch_image", lambda url: gif_with_a_hidden_frame())  # the outside web server
    r = client.post("/api/vision/general-classification", json={"url": "https://images.example.com/tiny.gif"})
    assert (r.status_code, r.error_code) == (413, "image_too_many_pixels"), r.text
    assert_free(client, user)


def multipart_with_lang(raw_lang: bytes, ctype: str) -> tuple[bytes, str]:
    boundary = "nexuspoint-test-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n".encode()
            + image_bytes() + f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"lang\"\r\nContent-Type: {ctype}\r\n\r\n".encode()
            + raw_lang + f"\r\n--{boundary}--\r\n".encode())
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize(("raw", "ctype"), [
    (b"\xff\xfede", "text/plain; charset=utf-8"),
    (b"\xc3", "text/plain"),
    (b"de", "text/plain; charset=x-klingon"),
])
def test_a_lang_part_that_is_not_text_is_400_not_500(client, user, sentisight, raw, ctype):
    body, content_type = multipart_with_lang(raw, ctype)
    r = client.post("/api/vision/text-recognition", data=body, headers={"content-type": content_type})
    assert (r.status_code, r.error_code, r.json()["error"].get("field")) == (400, "invalid_parameter", "lang"), r.text
    assert_free(client, user, sentisight)


@pytest.mark.parametrize("size", [(1, 4000), (4000, 1), (60, 3500)])
def test_text_recognition_refuses_a_sliver_before_the_charge(client, user, sentisight, size):
    r = client.post("/api/vision/text-recognition", data=image_bytes("PNG", size), headers={"content-type": "image/png"})
    assert (r.status_code, r.error_code) == (422, "unsupported_image_shape"), r.text
    assert "not charged" in r.json()["error"]["message"]
    assert_free(client, user, sentisight)


def test_other_models_take_a_sliver(client, user, sentisight):
    r = client.post("/api/vision/general-classification", data=image_bytes("PNG", (1, 4000)), headers={"content-type": "image/png"})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("url", ["https://bücher.example/katze.jpg", "https://例え.テスト/猫.png"])
def test_international_host_names_are_accepted_as_given(client, user, sentisight, url):
    r = client.post("/api/vision/object-detection", json={"url": url})
    assert r.status_code == 200, r.text
    assert sentisight.requests[0]["json"] == {"url": url}


@pytest.mark.parametrize("url", [
    "http://１２７.０.０.１/a.png",  # full-width digits: IDNA normalizes them to 127.0.0.1
    "http://ｌｏｃａｌｈｏｓｔ/a.png",
    "http://[fec0::1]/a.png",  # site-local IPv6
    "https://" + "ü" * 70 + ".example/a.png",  # a label IDNA can't encode (over 63 characters)
])
def test_look_alike_and_private_hosts_are_refused_free(client, user, sentisight, url):
    r = client.post("/api/vision/object-detection", json={"url": url})
    assert (r.status_code, r.error_code) == (400, "invalid_url"), r.text
    assert_free(client, user, sentisight)


# --- what SentiSight says ------------------------------------------------------------

def test_sentisight_unable_to_fetch_the_url_is_422_and_refunded(client, user, sentisight):
    sentisight.fail("http_404")
    r = client.post("/api/vision/object-detection", json={"url": "https://images.example.com/gone.jpg"})
    assert (r.status_code, r.error_code) == (422, "image_url_unreachable"), r.text
    assert "HTTP 404" not in r.text and r.json()["error"]["credits_remaining"] == 50
    assert [row["delta"] for row in ledger_rows(user, "refund")] == [2]


def test_sentisight_gateway_timeout_is_504_and_refunded(client, user, sentisight):
    sentisight.fail("http_504")
    r = client.post("/api/vision/object-detection", data=image_bytes(), headers={"content-type": "image/png"})
    assert (r.status_code, r.error_code) == (504, "upstream_timeout"), r.text
    assert "Gateway" not in r.text and balance(client) == 50
    assert [row["delta"] for row in ledger_rows(user, "refund")] == [2]


def test_segmentation_without_outlines_is_not_charged(client, user, sentisight):
    sentisight.fail("no_polygon")
    r = client.post("/api/vision/instance-segmentation", data=image_bytes(), headers={"content-type": "image/png"})
    assert (r.status_code, r.error_code) == (502, "upstream_error"), r.text
    assert balance(client) == 50 and [row["delta"] for row in ledger_rows(user, "refund")] == [5]


# --- a cut-out that must fit the 4.5 MB response ----------------------------------

def photo(size: tuple[int, int], orientation: int | None = None) -> bytes:
    """A JPEG as a phone makes it (a gradient, so that 12 MP stay under the 4 MB upload limit)."""
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80, exif=exif)
    return out.getvalue()


def png_size(data: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(data)).size


@pytest.mark.parametrize(("query", "fmt"), [({}, "json"), ({"format": "png"}, "png")])
def test_a_phone_photo_is_scaled_to_fit_not_refused(client, user, sentisight, query, fmt):
    r = client.post("/api/vision/background-removal", data=photo((4000, 3000)), headers={"content-type": "image/jpeg"}, query=query)
    assert r.status_code == 200, r.error_code
    [sent] = sentisight.requests
    width, height = png_size(sent["body"])
    assert width * height <= cutout.PIXEL_BUDGET[fmt] and width * height > 0.98 * cutout.PIXEL_BUDGET[fmt]
    assert abs(width / height - 4 / 3) < 0.01
    if fmt == "json":
        assert r.json()["image"] == {"width": width, "height": height}  # the size of the cut-out, not of the upload
        returned = base64.b64decode(r.json()["results"]["image"].split(",", 1)[1])
        assert len(r.body) < cutout.RESPONSE_LIMIT
    else:
        returned = r.body
    assert png_size(returned) == (width, height)
    assert balance(client) == 45


@needs("background-removal")
def test_the_local_cut_out_of_a_phone_photo_is_scaled_too(client, user, local):
    r = client.post("/api/vision/background-removal", data=photo((3000, 2000)), headers={"content-type": "image/jpeg"})
    assert r.status_code == 200, r.text
    width, height = r.json()["image"]["width"], r.json()["image"]["height"]
    assert width * height <= cutout.PIXEL_BUDGET["json"] and abs(width / height - 1.5) < 0.01
    assert png_size(base64.b64decode(r.json()["results"]["image"].split(",", 1)[1])) == (width, height)


def test_a_turned_phone_photo_is_scaled_upright(client, user, sentisight):
    r = client.post("/api/vision/background-removal", data=photo((4000, 3000), orientation=6), headers={"content-type": "image/jpeg"})
    assert r.status_code == 200, r.text
    width, height = r.json()["image"]["width"], r.json()["image"]["height"]
    assert height > width and png_size(sentisight.requests[0]["body"]) == (width, height)


def test_a_cut_out_that_fits_is_sent_as_it_came(client, user, sentisight):
    data = photo((1000, 800))
    r = client.post("/api/vision/background-removal", data=data, headers={"content-type": "image/jpeg"})
    assert r.status_code == 200 and sentisight.requests[0]["body"] == data
    assert r.json()["image"] == {"width": 1000, "height": 800}


@pytest.mark.parametrize("fmt", ["json", "png"])
def test_the_cut_out_of_a_large_image_url_is_scaled_to_the_format_asked_for(client, user, sentisight, monkeypatch, fmt):
    """A URL only SentiSight fetched: its cut-out (random RGBA, 4 bytes a pixel) fits a PNG answer but not JSON's base64."""
    big = noise_png(1000, 900)
    assert cutout.MAX_CUTOUT_BYTES["json"] < len(big) <= cutout.MAX_CUTOUT_BYTES["png"]
    monkeypatch.setattr(fake_sentisight, "answer", lambda *args: [{"image": base64.b64encode(big).decode()}])
    r = client.post(f"/api/vision/background-removal?format={fmt}", json={"url": "https://images.example.com/big.png"})
    assert r.status_code == 200, r.text
    if fmt == "png":
        assert r.body == big  # sent as it came: a PNG answer has room for it
    else:
        png = base64.b64decode(r.json()["results"]["image"].removeprefix("data:image/png;base64,"))
        width, height = Image.open(io.BytesIO(png)).size
        assert len(png) <= cutout.MAX_CUTOUT_BYTES["json"] and width < 1000
        assert r.json()["image"] == {"width": width, "height": height}


def test_a_large_photo_cut_short_is_refused_free_not_a_500(client, user, sentisight):
    data = photo((4000, 3000))
    r = client.post("/api/vision/background-removal", data=data[: len(data) // 2], headers={"content-type": "image/jpeg"})
    assert (r.status_code, r.error_code) == (422, "image_unreadable"), r.text
    assert_free(client, user, sentisight)


def test_without_pillow_a_large_cut_out_is_refused_before_the_charge(client, user, sentisight, monkeypatch):
    data = photo((4000, 3000))
    monkeypatch.setitem(sys.modules, "PIL", None)  # a deployment without Pillow
    r = client.post("/api/vision/background-removal", data=data, headers={"content-type": "image/jpeg"})
    assert (r.status_code, r.error_code) == (413, "image_too_many_pixels"), r.text
    assert r.json()["error"]["limit_pixels"] == cutout.PIXEL_BUDGET["json"]
    assert_free(client, user, sentisight)
