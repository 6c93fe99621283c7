"""EfficientNet-Lite0 in plain numpy, built from a PyTorch state dict.

Lite0 is EfficientNet-B0 without squeeze-excite, with ReLU6 and a fixed stem and
head. The weights were trained in TensorFlow, so convolutions pad like its
"SAME" (the odd extra pixel goes after). Batch norm is folded into the
convolutions once, when the network is built.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BN_EPSILON = 1e-3
# (stride of the first block, number of blocks) for the seven stages of EfficientNet-B0/Lite0;
# kernel sizes and channel counts are read from the weights.
STAGES = ((1, 1), (2, 2), (2, 2), (2, 3), (1, 3), (2, 4), (1, 1))

Affine = tuple[np.ndarray, np.ndarray]  # (weights, bias)


@dataclass(frozen=True)
class Block:
    expand: Affine | None  # 1x1 conv as [in, out]; the first block has none
    depthwise: Affine  # [k, k, channels]
    project: Affine
    stride: int


@dataclass(frozen=True)
class Network:
    stem: Affine  # 3x3 stride-2 conv as a matmul over [3*3*3, 32]
    blocks: list[Block]
    head: Affine
    fc: Affine


def build(weights: dict[str, np.ndarray]) -> Network:
    def folded(conv: str, bn: str) -> Affine:
        """Conv weights [out, in, kh, kw] and bias with batch norm folded in."""
        scale = weights[bn + ".weight"] / np.sqrt(weights[bn + ".running_var"] + BN_EPSILON)
        bias = weights[bn + ".bias"] - weights[bn + ".running_mean"] * scale
        return weights[conv + ".weight"] * scale[:, None, None, None], bias

    def pointwise(conv: str, bn: str) -> Affine:
        kernel, bias = folded(conv, bn)
        return np.ascontiguousarray(kernel[:, :, 0, 0].T), bias

    stem_kernel, stem_bias = folded("_conv_stem", "_bn0")
    # [out, in, kh, kw] -> rows ordered (kh, kw, in), the order _stem_patches() lays patches out.
    stem = (np.ascontiguousarray(stem_kernel.transpose(2, 3, 1, 0).reshape(-1, stem_kernel.shape[0])), stem_bias)
    blocks: list[Block] = []
    for stride, repeats in STAGES:
        for i in range(repeats):
            name = f"_blocks.{len(blocks)}."
            expand = pointwise(name + "_expand_conv", name + "_bn0") if name + "_expand_conv.weight" in weights else None
            dw_kernel, dw_bias = folded(name + "_depthwise_conv", name + "_bn1")
            depthwise = (np.ascontiguousarray(dw_kernel[:, 0].transpose(1, 2, 0)), dw_bias)
            blocks.append(Block(expand, depthwise, pointwise(name + "_project_conv", name + "_bn2"), stride if i == 0 else 1))
    fc = (np.ascontiguousarray(weights["_fc.weight"].T), weights["_fc.bias"])
    return Network(stem, blocks, pointwise("_conv_head", "_bn1"), fc)


def forward(network: Network, x: np.ndarray) -> np.ndarray:
    """Logits for one image laid out as [height, width, 3], float32."""
    x = _relu6(_pointwise(_stem_patches(x), network.stem))
    for block in network.blocks:
        inputs = x
        if block.expand is not None:
            x = _relu6(_pointwise(x, block.expand))
        x = _relu6(_depthwise(x, block.depthwise, block.stride))
        x = _pointwise(x, block.project)
        if block.stride == 1 and x.shape == inputs.shape:
            x += inputs
    features = _relu6(_pointwise(x, network.head)).mean(axis=(0, 1))
    return features @ network.fc[0] + network.fc[1]


def _same_padding(x: np.ndarray, kernel: int, stride: int) -> tuple[np.ndarray, int, int]:
    """x padded like TensorFlow's "SAME", and the output height and width."""
    pads, out = [], []
    for size in x.shape[:2]:
        n = -(-size // stride)
        total = max((n - 1) * stride + kernel - size, 0)
        pads.append((total // 2, total - total // 2))
        out.append(n)
    return np.pad(x, (*pads, (0, 0))), out[0], out[1]


def _stem_patches(x: np.ndarray) -> np.ndarray:
    """The 3x3 stride-2 patches of the image as [h, w, 27], so the stem conv is one matmul."""
    padded, h, w = _same_padding(x, 3, 2)
    return np.concatenate([padded[i : i + 2 * h : 2, j : j + 2 * w : 2] for i in range(3) for j in range(3)], axis=2)


def _pointwise(x: np.ndarray, affine: Affine) -> np.ndarray:
    kernel, bias = affine
    h, w, c = x.shape
    return (x.reshape(-1, c) @ kernel + bias).reshape(h, w, -1)


def _depthwise(x: np.ndarray, affine: Affine, stride: int) -> np.ndarray:
    kernel, bias = affine
    k = kernel.shape[0]
    padded, h, w = _same_padding(x, k, stride)
    out = np.zeros((h, w, x.shape[2]), dtype=np.float32)
    for i in range(k):
        for j in range(k):
            out += padded[i : i + stride * h : stride, j : j + stride * w : stride] * kernel[i, j]
    return out + bias


def _relu6(x: np.ndarray) -> np.ndarray:
    return np.clip(x, 0.0, 6.0, out=x)
