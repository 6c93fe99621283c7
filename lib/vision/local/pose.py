"""Pose estimation: MediaPipe Pose (BlazePose, 33 key points, one person; Apache-2.0).

mediapipe 0.10.21 is the last release with ``mp.solutions`` and its models bundled;
only ``model_complexity=1`` (pose_landmark_full) ships in the wheel.
"""

from __future__ import annotations

import threading
from typing import Any

from lib.vision.local import packages
from lib.vision.types import Prediction

SLUG = "pose-estimation"
ENGINE = "mediapipe-pose"
LICENCE = "Apache-2.0 (PyPI mediapipe)"

# A MediaPipe graph processes one image at a time.
_run_lock = threading.Lock()


def unavailable_reason() -> str | None:
    return packages.mediapipe_problem()


def load() -> Any:
    from mediapipe.python.solutions import pose

    return pose.Pose(static_image_mode=True, model_complexity=1)


def landmark_names() -> list[str]:
    from mediapipe.python.solutions.pose import PoseLandmark

    return [landmark.name.lower() for landmark in sorted(PoseLandmark)]


def skeleton() -> list[list[str]]:
    """MediaPipe's POSE_CONNECTIONS as pairs of key point names."""
    from mediapipe.python.solutions.pose import POSE_CONNECTIONS

    names = landmark_names()
    return [[names[a], names[b]] for a, b in sorted(POSE_CONNECTIONS)]


def predict(model, img, options: dict) -> Prediction:
    import numpy as np

    pixels = np.ascontiguousarray(np.asarray(img))  # RGB, as MediaPipe wants
    with _run_lock:
        found = model.process(pixels).pose_landmarks
    people = []
    if found is not None:
        width, height = img.size
        names = landmark_names()
        keypoints = [
            # Coordinates are normalized to the image; a point guessed outside it keeps its place.
            {"name": names[i], "x": round(mark.x * width, 1), "y": round(mark.y * height, 1), "score": round(float(mark.visibility), 4)}
            for i, mark in enumerate(found.landmark)
        ]
        # MediaPipe gives no per-person score: the mean visibility says how much of the body was seen.
        score = round(sum(point["score"] for point in keypoints) / len(keypoints), 4)
        people.append({"score": score, "keypoints": keypoints})
    return Prediction(results={"people": people, "skeleton": skeleton()}, engine=ENGINE)
