"""The local vision backend: real models on generated and packaged images, and the URL fetcher's SSRF guard.

No database and no network: URL tests either stop before connecting or talk to a
server on 127.0.0.1 that the test itself runs.
"""

from __future__ import annotations

import io
import json
import ssl
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.util import find_spec
from ipaddress import ip_address
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from lib.vision.local import LocalBackend, fetch, imaging, loader, nsfw, ocr, packages
from lib.vision.types import BadImage, ImageInput, ModelUnavailable, UpstreamError

ROOT = Path(__file__).resolve().parents[2]
backend = LocalBackend()


def png_bytes(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def needs(slug: str):
    """Skip (visibly) where requirements-vision*.txt could not be installed."""
    status = backend.availability()[slug]
    return pytest.mark.skipif(not status["available"], reason=f"{slug}: {status['reason']}")


def grace_hopper() -> bytes:
    """The portrait matplotlib ships as sample data (matplotlib comes with mediapipe)."""
    spec = find_spec("matplotlib")
    if spec is None:
        pytest.skip("matplotlib is not installed")
    return (Path(spec.submodule_search_locations[0]) / "mpl-data" / "sample_data" / "grace_hopper.jpg").read_bytes()


def gradient_image(width: int = 320, height: int = 240) -> bytes:
    img = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    ImageDraw.Draw(img).rectangle((40, 40, 120, 200), fill=(30, 90, 200))
    return png_bytes(img)


# --- availability and degradation ---------------------------------------------------------


def test_availability_lists_every_model_and_loads_nothing():
    # A fresh interpreter: nothing imported or loaded by other tests can hide a load here.
    code = (
        "import sys, json\n"
        "from lib.vision.local import LocalBackend, loader\n"
        "report = LocalBackend().availability()\n"
        "heavy = sorted(m for m in ('numpy', 'onnxruntime', 'mediapipe', 'cv2', 'rapidocr', 'PIL') if m in sys.modules)\n"
        "print(json.dumps({'report': report, 'loaded': loader.loaded(), 'heavy': heavy}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)
    result = json.loads(out.stdout)
    assert result["loaded"] == []
    assert result["heavy"] == []
    report = result["report"]
    slugs = "general-classification places-classification nsfw-classification object-detection instance-segmentation text-recognition"
    assert set(report) == {*slugs.split(), "pose-estimation", "background-removal"}
    for status in report.values():
        assert set(status) == {"available", "engine", "licence", "reason"}
        assert isinstance(status["available"], bool) and isinstance(status["engine"], str)
        assert (status["reason"] is None) == status["available"]


def test_missing_package_makes_the_model_unavailable_not_a_crash(monkeypatch):
    real = packages.find_spec
    monkeypatch.setattr(packages, "find_spec", lambda name: None if name == "rapidocr" else real(name))
    status = backend.availability()["text-recognition"]
    assert status["available"] is False and "rapidocr" in status["reason"]
    with pytest.raises(ModelUnavailable) as caught:
        backend.predict("text-recognition", ImageInput(data=gradient_image()), {})
    assert caught.value.status == 501 and caught.value.code == "model_unavailable_offline"
    assert "rapidocr" in caught.value.message and "SENTISIGHT_API_TOKEN" in caught.value.message


@pytest.mark.skipif(bool(packages.missing(packages.MEDIAPIPE_IMPORTS)), reason="mediapipe is not installed (optional)")
def test_mediapipe_models_are_unavailable_on_a_protobuf_that_breaks_them(monkeypatch):
    real = packages.importlib.metadata.version
    monkeypatch.setattr(packages.importlib.metadata, "version", lambda dist: "7.36.2" if dist == "protobuf" else real(dist))
    report = backend.availability()
    for slug in ("pose-estimation", "background-removal"):
        assert report[slug]["available"] is False and "protobuf 7.36.2" in report[slug]["reason"]


@pytest.mark.parametrize("slug", ["instance-segmentation", "places-classification"])
def test_models_without_offline_weights_point_to_sentisight(slug):
    assert backend.availability()[slug]["available"] is False
    with pytest.raises(ModelUnavailable) as caught:
        backend.predict(slug, ImageInput(data=gradient_image()), {})
    assert caught.value.status == 501
    assert "SentiSight.ai" in caught.value.message and "SENTISIGHT_API_TOKEN" in caught.value.message


def test_models_load_once_under_concurrent_first_use(monkeypatch):
    monkeypatch.setattr(loader, "_loaded", {})  # leave the real cache alone
    calls = []

    def slow_load():
        calls.append(1)
        time.sleep(0.05)
        return object()

    with ThreadPoolExecutor(8) as pool:
        models = list(pool.map(lambda _: loader.get("test-model", slow_load), range(8)))
    assert len(calls) == 1 and all(model is models[0] for model in models)


def test_load_failures_and_inference_crashes_are_answered_not_raised(monkeypatch):
    for name in ("_loaded", "_failed", "_locks"):
        monkeypatch.setattr(loader, name, {})
    monkeypatch.setattr(nsfw, "unavailable_reason", lambda: None)  # whether or not its packages are here
    monkeypatch.setattr(nsfw, "load", lambda: 1 / 0)
    with pytest.raises(ModelUnavailable) as caught:
        backend.predict("nsfw-classification", ImageInput(data=gradient_image()), {})
    assert "failed to load" in caught.value.message and "ZeroDivisionError" in caught.value.detail
    status = backend.availability()["nsfw-classification"]
    assert status["available"] is False and "ZeroDivisionError" in status["reason"]

    monkeypatch.setattr(loader, "_failed", {})
    monkeypatch.setattr(nsfw, "load", lambda: "model")
    monkeypatch.setattr(nsfw, "predict", lambda model, img, options: [][0])
    with pytest.raises(UpstreamError) as caught:
        backend.predict("nsfw-classification", ImageInput(data=gradient_image()), {})
    assert caught.value.status == 502 and "IndexError" in caught.value.detail and "IndexError" not in caught.value.message


def test_undecodable_image_is_a_bad_image():
    with pytest.raises(BadImage) as caught:
        imaging.load_rgb(ImageInput(data=b"definitely not an image"))
    assert caught.value.status == 422


# --- the models ---------------------------------------------------------------------------


@needs("text-recognition")
def test_ocr_reads_back_drawn_text():
    # At least 736 px high: RapidOCR scales smaller images up to that before detecting, which is slow.
    img = Image.new("RGB", (800, 740), "white")
    ImageDraw.Draw(img).text((30, 330), "NEXUSPOINT 2026", fill="black", font=ImageFont.load_default(size=72))
    results = backend.predict("text-recognition", ImageInput(data=png_bytes(img)), {"lang": "en"}).results
    assert "NEXUSPOINT2026" in results["text"].replace(" ", "")
    (line,) = results["lines"]
    assert 0.5 < line["score"] <= 1
    assert len(line["polygon"]) == 4
    xs, ys = [x for x, _ in line["polygon"]], [y for _, y in line["polygon"]]
    assert 0 <= min(xs) < 60 and 400 < max(xs) <= 800
    assert 300 < min(ys) < max(ys) < 460


def test_ocr_language_tags_map_to_the_bundled_model_names():
    langs = frozenset({"ch", "chinese_cht", "en", "pt", "japan"})
    tags = {"en": "en", "zh-Hant": "chinese_cht", "zh-Hans": "ch", "pt-BR": "pt", "ja": "japan", "ar": None}
    assert {tag: ocr.bundled_lang(tag, langs) for tag in tags} == tags


@needs("text-recognition")
def test_ocr_refuses_a_language_the_bundled_model_cannot_read():
    with pytest.raises(ModelUnavailable) as caught:
        backend.predict("text-recognition", ImageInput(data=gradient_image()), {"lang": "ar"})
    assert "'ar'" in caught.value.message and "SENTISIGHT_API_TOKEN" in caught.value.message


@needs("nsfw-classification")
def test_nsfw_scores_a_plain_image_safe():
    labels = backend.predict("nsfw-classification", ImageInput(data=gradient_image()), {}).results["labels"]
    assert [label["label"] for label in labels] == ["safe", "nsfw"]
    assert labels[0]["score"] > 0.9
    assert sum(label["score"] for label in labels) == pytest.approx(1, abs=1e-3)


@needs("general-classification")
def test_classifier_returns_five_ranked_imagenet_labels():
    labels = backend.predict("general-classification", ImageInput(data=gradient_image()), {}).results["labels"]
    assert len(labels) == 5
    scores = [label["score"] for label in labels]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores) and sum(scores) <= 1
    assert all(isinstance(label["label"], str) and label["label"] for label in labels)


@needs("general-classification")
def test_classifier_recognises_a_military_uniform():
    prediction = backend.predict("general-classification", ImageInput(data=grace_hopper()), {})
    assert prediction.engine == "efficientnet-lite0-numpy"
    assert prediction.extra == {"width": 512, "height": 600}
    assert "military uniform" in [label["label"] for label in prediction.results["labels"]]


@needs("pose-estimation")
def test_pose_finds_the_person_in_a_portrait_and_nobody_in_an_empty_image():
    results = backend.predict("pose-estimation", ImageInput(data=grace_hopper()), {}).results
    (person,) = results["people"]
    points = {point["name"]: point for point in person["keypoints"]}
    assert len(points) == 33 and 0 < person["score"] <= 1
    nose = points["nose"]
    assert 180 < nose["x"] < 350 and 150 < nose["y"] < 320 and nose["score"] > 0.9  # the face, in pixels of 512x600
    # Her left shoulder is on the right of the picture.
    assert points["left_shoulder"]["x"] > points["right_shoulder"]["x"]
    assert ["left_shoulder", "right_shoulder"] in results["skeleton"]
    assert {name for pair in results["skeleton"] for name in pair} <= set(points)
    empty = backend.predict("pose-estimation", ImageInput(data=png_bytes(Image.new("RGB", (320, 240), "gray"))), {}).results
    assert empty == {"people": [], "skeleton": results["skeleton"]}


@needs("background-removal")
def test_background_removal_keeps_the_person_and_clears_the_background():
    prediction = backend.predict("background-removal", ImageInput(data=grace_hopper()), {})
    cutout = Image.open(io.BytesIO(prediction.png))
    assert cutout.format == "PNG" and cutout.mode == "RGBA" and cutout.size == (512, 600)
    alpha = cutout.getchannel("A")
    assert alpha.getpixel((256, 450)) > 200  # her uniform
    assert alpha.getpixel((480, 40)) < 30  # the sky-blue backdrop


# --- fetching image URLs ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/cat.png", "loopback"),
        ("http://localhost:8080/cat.png", "loopback"),
        ("http://2130706433/", "loopback"),
        ("http://10.0.0.1/", "private"),
        ("http://192.168.1.10/", "private"),
        ("http://[::1]/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://[fe80::1]/", "link-local"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://[fd00:ec2::254]/", "metadata"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://100.64.0.1/", "not a public"),
        ("http://[fec0::1]/", "site-local"),
    ],
)
def test_fetch_refuses_addresses_inside_the_network(url, reason):
    with pytest.raises(BadImage) as caught:
        imaging.load_rgb(ImageInput(url=url))
    # The caller learns the URL is not allowed; which address the host resolved to stays in the log.
    assert caught.value.message == fetch.NOT_ALLOWED and reason in caught.value.detail


@pytest.mark.parametrize("url", ["ftp://example.com/cat.png", "file:///etc/passwd", "gopher://example.com/", "http:///cat.png", "http://host:99999/"])
def test_fetch_refuses_urls_that_are_not_http(url):
    with pytest.raises(BadImage):
        fetch.fetch_image(url)


def test_public_addresses_pass_the_check():
    assert fetch.blocked_reason(ip_address("93.184.215.14")) is None
    assert fetch.blocked_reason(ip_address("2606:4700:4700::1111")) is None
    assert fetch.blocked_reason(ip_address("2002:7f00:1::")) == "a loopback address"  # 6to4 around 127.0.0.1


class ImageServer(BaseHTTPRequestHandler):
    """Answers like an image host would, plus the tricks an attacker's host would play (HTTP/1.0: a body ends at close)."""

    hosts: list[str] = []
    too_big = b"\0" * (fetch.MAX_BYTES + 1)
    routes = {  # path: (status, headers, body); a list body goes out one item every 0.1 s
        "/cat.png": (200, {"Content-Type": "image/png"}, png_bytes(Image.new("RGB", (4, 3), "orange"))),
        "/to-metadata": (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""),
        "/to-cat": (301, {"Location": "/cat.png"}, b""),
        "/loop": (302, {"Location": "/loop"}, b""),
        "/huge": (200, {"Content-Length": str(len(too_big))}, too_big),
        "/huge-unannounced": (200, {}, too_big),
        "/trickle": (200, {"Content-Length": "300"}, [b"\0"] * 300),  # every read gets data in time; the whole takes 30 s
        "/gone": (404, {}, b"not here"),
    }

    def do_GET(self):
        ImageServer.hosts.append(self.headers["Host"])
        status, headers, body = self.routes[self.path]
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        try:
            for chunk in body if isinstance(body, list) else [body]:
                self.wfile.write(chunk)
                self.wfile.flush()
                time.sleep(0.1 if isinstance(body, list) else 0)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the fetcher hung up once it had seen enough, as it should

    def log_message(self, *args):
        pass


@pytest.fixture
def lookups(monkeypatch):
    """*.example resolves to 127.0.0.1, and the guard lets that one address through; yields the names looked up."""
    real_check, real_resolve = fetch.blocked_reason, fetch.socket.getaddrinfo
    names = []

    def resolve(host, *args, **kwargs):
        names.append(host)
        return real_resolve("127.0.0.1" if host.endswith(".example") else host, *args, **kwargs)

    monkeypatch.setattr(fetch, "blocked_reason", lambda ip: None if ip == ip_address("127.0.0.1") else real_check(ip))
    monkeypatch.setattr(fetch.socket, "getaddrinfo", resolve)
    return names


def serve(server):
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ImageServer.hosts = []
    return server.server_address[1]


@pytest.fixture
def image_host(lookups):
    """A web server on 127.0.0.1 posing as the public host images.example."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), ImageServer)
    yield f"http://images.example:{serve(server)}", lookups
    server.shutdown()
    server.server_close()


@pytest.fixture
def tls_image_host(lookups, tmp_path, monkeypatch):
    """The same over HTTPS, with a self-signed certificate for images.example that the fetcher is told to trust."""
    import certifi

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"]
        + ["-subj", "/CN=images.example", "-addext", "subjectAltName=DNS:images.example", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    monkeypatch.setattr(certifi, "where", lambda: str(cert))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), ImageServer)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    yield serve(server)
    server.shutdown()
    server.server_close()


def test_fetch_connects_to_the_checked_address_and_keeps_the_host_name(image_host):
    base, lookups = image_host
    img = imaging.load_rgb(ImageInput(url=base + "/to-cat"))
    assert img.size == (4, 3)
    assert ImageServer.hosts == [base.removeprefix("http://")] * 2
    # Resolved (and checked) once per hop; the connection itself only ever looked up the checked address.
    assert [host for host in lookups if host != "127.0.0.1"] == ["images.example"] * 2


def test_fetch_checks_every_redirect_and_follows_at_most_three(image_host):
    base, _ = image_host
    with pytest.raises(BadImage) as caught:
        fetch.fetch_image(base + "/to-metadata")
    assert "cloud metadata address" in caught.value.detail and "169.254" not in caught.value.message
    ImageServer.hosts = []
    with pytest.raises(BadImage, match="redirected more than 3 times"):
        fetch.fetch_image(base + "/loop")
    assert len(ImageServer.hosts) == 4


@pytest.mark.timeout(10)  # a fetch that only checks its deadline between large reads would hang here for 30 s
def test_fetch_gives_up_on_a_server_that_trickles(image_host, monkeypatch):
    base, _ = image_host
    monkeypatch.setattr(fetch, "TIMEOUT_SECONDS", 0.5)
    with pytest.raises(BadImage, match="took longer than 0.5 s"):
        fetch.fetch_image(base + "/trickle")


def test_fetch_caps_the_size_and_reports_http_errors(image_host):
    base, _ = image_host
    for path in ("/huge", "/huge-unannounced"):
        with pytest.raises(BadImage, match="larger than 4 MB"):
            fetch.fetch_image(base + path)
    with pytest.raises(BadImage, match="HTTP 404"):
        fetch.fetch_image(base + "/gone")


def test_fetch_over_https_checks_the_certificate_against_the_url_host(tls_image_host):
    img = imaging.load_rgb(ImageInput(url=f"https://images.example:{tls_image_host}/cat.png"))
    assert img.size == (4, 3)
    # Same server and address, but the certificate is not for this name.
    with pytest.raises(BadImage, match="could not be fetched"):
        fetch.fetch_image(f"https://other.example:{tls_image_host}/cat.png")
