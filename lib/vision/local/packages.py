"""Cheap checks that a model's packages are installed, without importing them."""

from __future__ import annotations

import importlib.metadata
from importlib.util import find_spec

INSTALL_HINT = "pip install -r requirements-vision.txt && pip install --no-deps -r requirements-vision-nodeps.txt"


def missing(imports: tuple[str, ...]) -> str | None:
    """Why these top-level modules can't be imported, or None when all can be.

    ``find_spec`` on a top-level name only looks at the file system: nothing is
    imported, so this stays fast enough for every ``availability()`` call.
    """
    absent = [name for name in imports if find_spec(name) is None]
    if not absent:
        return None
    return f"missing Python package(s) {', '.join(absent)} (install with: {INSTALL_HINT})"


# What ``mediapipe.python.solutions`` imports (its wheel is installed with --no-deps).
MEDIAPIPE_IMPORTS = ("mediapipe", "cv2", "numpy", "matplotlib", "absl", "attr", "flatbuffers")


def mediapipe_problem() -> str | None:
    """Why the MediaPipe models can't run here, or None."""
    absent = missing(MEDIAPIPE_IMPORTS)
    if absent:
        return absent
    # mediapipe 0.10.21 declares protobuf<5 (pinned in requirements-vision.txt); 5 and 6 still
    # run it, 7 fails on the first result (FieldDescriptor lost ``label``).
    try:
        version = importlib.metadata.version("protobuf")
    except importlib.metadata.PackageNotFoundError:
        return f"missing Python package protobuf (install with: {INSTALL_HINT})"
    if int(version.split(".")[0]) >= 7:
        return f"mediapipe 0.10.21 does not run on protobuf {version}; it needs protobuf<5 (install with: {INSTALL_HINT})"
    return None
