"""A local HTTP server that speaks SentiSight.ai's pre-trained model API, with faults on demand.

    fake = FakeSentiSight().start()   # SENTISIGHT_BASE_URL=fake.url, SENTISIGHT_API_TOKEN=fake.token
    fake.fail("http_500")             # the next calls fail that way; fake.fail(None) heals
    fake.requests                     # what was received: model, query, headers, content_type, body, json
    fake.stop()

Answers have SentiSight's shapes (bare JSON arrays, scores 0-100, pixel
coordinates scaled to the image sent; 640x480 for a URL, which is not fetched).
Run `python -m tests.fakes.sentisight [port]` to serve one by hand.
"""

from __future__ import annotations

import base64
import io
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from PIL import Image, ImageDraw

# http_404: what SentiSight answers when it can't fetch the URL it was given; http_504: its gateway giving up;
# no_polygon: instance segmentation with objects whose outline is empty (as SentiSight sometimes sends).
MODES = ("http_500", "http_404", "http_504", "slow", "slow_then_ok", "refused", "non_json", "wrong_shape", "no_polygon")
URL_IMAGE_SIZE = (640, 480)
PATH = re.compile(r"^/api/pm-predict/([A-Za-z-]+)$")
ERROR_500_TEXT = "Internal Server Error: worker 7 crashed while predicting"
COCO_KEYPOINTS = (  # name, x and y as fractions of a standing person's box
    ("nose", 0.50, 0.08), ("left_eye", 0.53, 0.06), ("right_eye", 0.47, 0.06), ("left_ear", 0.56, 0.08),
    ("right_ear", 0.44, 0.08), ("left_shoulder", 0.62, 0.22), ("right_shoulder", 0.38, 0.22),
    ("left_elbow", 0.68, 0.38), ("right_elbow", 0.32, 0.38), ("left_wrist", 0.70, 0.52), ("right_wrist", 0.30, 0.52),
    ("left_hip", 0.58, 0.55), ("right_hip", 0.42, 0.55), ("left_knee", 0.59, 0.75), ("right_knee", 0.41, 0.75),
    ("left_ankle", 0.60, 0.95), ("right_ankle", 0.40, 0.95),
)


def _box(w, h, fx0, fy0, fx1, fy1) -> dict:
    return {"x0": round(w * fx0), "y0": round(h * fy0), "x1": round(w * fx1), "y1": round(h * fy1)}


def _outline(box: dict) -> list[dict]:
    """An octagon inside the box: a plausible instance mask outline."""
    x0, y0, x1, y1 = box["x0"], box["y0"], box["x1"], box["y1"]
    dx, dy = (x1 - x0) // 4, (y1 - y0) // 4
    corners = [(x0 + dx, y0), (x1 - dx, y0), (x1, y0 + dy), (x1, y1 - dy), (x1 - dx, y1), (x0 + dx, y1), (x0, y1 - dy), (x0, y0 + dy)]
    return [{"x": x, "y": y} for x, y in corners]


def _cutout_png(w: int, h: int) -> str:
    image = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((w * 0.2, h * 0.1, w * 0.8, h * 0.95), fill=(200, 120, 60, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()


def answer(model: str, w: int, h: int, query: dict) -> list | None:
    """SentiSight's answer for `model` on a w x h image, or None for a model it doesn't have."""
    person, dog = _box(w, h, 0.10, 0.20, 0.45, 0.95), _box(w, h, 0.50, 0.55, 0.90, 0.95)
    if model == "General-classification":
        return [{"label": "dog", "score": 92.5}, {"label": "pet", "score": 88.1}, {"label": "animal", "score": 80.24}]
    if model == "Places-classification":
        return [{"label": "beach", "score": 71.3}, {"label": "coast", "score": 64.0}, {"label": "ocean", "score": 22.9}]
    if model == "NSFW-classification":
        return [{"label": "unsafe", "score": 3.2}, {"label": "safe", "score": 96.8}]
    if model == "Object-detection":
        return [{"label": "person", "score": 91.2, **person}, {"label": "dog", "score": 84.7, **dog}]
    if model == "Instance-segmentation":
        return [{"label": "person", "score": 90.1, **person, "points": _outline(person)},
                {"label": "dog", "score": 83.0, **dog, "points": _outline(dog)}]
    if model == "Text-recognition":
        words = ["KAUFHAUS", "Sommerschlussverkauf"] if query.get("lang") == ["de"] else ["NEXUSPOINT", "Computer vision by the credit"]
        lines = []
        for i, word in enumerate(words):
            b = _box(w, h, 0.1, 0.2 + 0.3 * i, 0.9, 0.35 + 0.3 * i)
            points = [{"x": b["x0"], "y": b["y0"]}, {"x": b["x1"], "y": b["y0"]}, {"x": b["x1"], "y": b["y1"]}, {"x": b["x0"], "y": b["y1"]}]
            lines.append({"label": word, "score": 97.5 - 5 * i, "points": points})
        return lines
    if model == "Pose-estimation":
        b = person
        keypoints = [{"label": name, "x": round(b["x0"] + fx * (b["x1"] - b["x0"])), "y": round(b["y0"] + fy * (b["y1"] - b["y0"])), "score": 88.0}
                     for name, fx, fy in COCO_KEYPOINTS]
        return [{"score": 89.4, "keypoints": keypoints}]
    if model == "Background-removal":
        return [{"image": _cutout_png(w, h)}]
    return None


def _json_or_none(body: bytes, ctype: str):
    try:
        return json.loads(body) if ctype == "application/json" else None
    except ValueError:
        return None


def _image_size(record: dict):
    """((width, height), None) for an image SentiSight could read, else (None, (status, text))."""
    if record["content_type"] == "application/octet-stream":
        try:
            image = Image.open(io.BytesIO(record["body"]))
            image.load()  # a real model decodes every pixel
            return image.size, None
        except Exception:
            return None, (400, "Could not decode the image")
    if record["content_type"] == "application/json":
        if isinstance(record["json"], dict) and isinstance(record["json"].get("url"), str):
            return URL_IMAGE_SIZE, None
        return None, (400, 'Expected JSON {"url": ...}')
    return None, (415, "Send the image as application/octet-stream or a JSON url")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for a handler that is sleeping on purpose
    allow_reuse_address = True
    request_queue_size = 256  # concurrency tests open many connections at once

    def handle_error(self, request, client_address):
        pass  # clients hanging up on a slow answer is what the timeout tests do


class FakeSentiSight:
    def __init__(self, token: str = "fake-sentisight-token", slow_seconds: float = 3.0, host: str = "127.0.0.1"):
        self.token = token
        self.slow_seconds = slow_seconds
        self.host = host
        self.port = 0
        self.mode: str | None = None
        self.requests: list[dict] = []
        self._server: _Server | None = None
        self._lock = threading.Lock()
        self._release = threading.Event()  # wakes slow handlers when the fake stops

    @property
    def url(self) -> str:
        """The base URL, like production's https://platform.sentisight.ai/api."""
        return f"http://{self.host}:{self.port}/api"

    def start(self) -> FakeSentiSight:
        self._release.clear()
        self._server = _Server((self.host, self.port), self._handler_class())
        self.port = self._server.server_address[1]
        # a short poll interval: stop() waits for the loop to notice, and tests stop a fake each
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-sentisight", daemon=True).start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def fail(self, mode: str | None) -> None:
        """Answer the next calls with a fault (one of MODES); None answers normally again."""
        if mode is not None and mode not in MODES:
            raise ValueError(f"mode must be one of {MODES} or None")
        self.mode = mode
        if mode == "refused":
            self.stop()  # the port is closed: connecting is refused
        elif self._server is None:
            self.start()  # back on the same port

    def reset(self) -> None:
        self.fail(None)
        self.requests.clear()

    def _take_mode(self) -> str | None:
        with self._lock:
            mode = self.mode
            if mode == "slow_then_ok":
                self.mode = None
            return mode

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status: int, body: bytes, ctype: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _text(self, status: int, text: str) -> None:
                self._send(status, text.encode(), "text/plain; charset=utf-8")

            def do_POST(self):
                parts = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                match = PATH.match(parts.path)
                ctype = self.headers.get_content_type()
                record = {"model": match.group(1) if match else None, "path": parts.path, "query": parse_qs(parts.query),
                          "headers": dict(self.headers), "content_type": ctype, "body": body, "json": _json_or_none(body, ctype)}
                with fake._lock:
                    fake.requests.append(record)
                if self.headers.get("X-Auth-token") != fake.token:
                    return self._text(401, "Unauthorized: wrong or missing X-Auth-token")
                if match is None:
                    return self._text(404, "Not found")
                mode = fake._take_mode()
                if mode in ("slow", "slow_then_ok"):
                    fake._release.wait(fake.slow_seconds)
                if mode == "http_500":
                    return self._text(500, ERROR_500_TEXT)
                if mode == "http_404":
                    return self._text(404, "HTTP 404 Not Found")
                if mode == "http_504":
                    return self._send(504, b"<html><head><title>504 Gateway Time-out</title></head></html>", "text/html")
                if mode == "non_json":
                    return self._send(200, b"<html><body>502 Bad Gateway</body></html>", "text/html")
                if mode == "wrong_shape":
                    return self._send(200, b'{"predictions": "not what you expected"}', "application/json")
                size, refusal = _image_size(record)
                if refusal:
                    return self._text(*refusal)
                result = answer(match.group(1), *size, record["query"])
                if result is None:
                    return self._text(404, f"Model {match.group(1)} not found")
                if mode == "no_polygon" and match.group(1) == "Instance-segmentation":
                    result = [{**found, "points": []} for found in result]
                return self._send(200, json.dumps(result).encode(), "application/json")

        return Handler


if __name__ == "__main__":
    server = FakeSentiSight()
    server.port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server.start()
    print(f"SENTISIGHT_BASE_URL={server.url} SENTISIGHT_API_TOKEN={server.token}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()
