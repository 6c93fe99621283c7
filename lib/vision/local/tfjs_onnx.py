"""Turn a TF.js graph model (model.json + weights .bin) into an ONNX model, in memory.

Only the ops CenterNet-MobileNetV3 needs on its way to the outputs asked for
(convolutions with fused bias/ReLU, depthwise convolutions, ReLU6, element-wise
Mul/Add, Mean, Concat, bilinear resize, Sigmoid). The TF graph is NHWC; ONNX
convolutions are NCHW, so the input is transposed once, every op works in NCHW,
and each output is transposed back. An op outside that list is a ValueError that
names it, so a different graph fails loudly at load instead of computing nonsense.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np

OPSET = 18  # Resize with `axes`, ReduceMean with axes as an input


def read_weights(manifest: list[dict], blob: bytes) -> dict[str, np.ndarray]:
    """Every constant of the graph, decoded from the weights file (float16 stored as float16)."""
    out, offset = {}, 0
    for group in manifest:
        for spec in group["weights"]:
            stored = (spec.get("quantization") or {}).get("dtype") or spec["dtype"]
            dtype = {"float16": np.float16, "float32": np.float32, "int32": np.int32}[stored]
            count = int(np.prod(spec["shape"])) if spec["shape"] else 1
            size = count * np.dtype(dtype).itemsize
            values = np.frombuffer(blob, dtype=dtype, count=count, offset=offset).reshape(spec["shape"])
            out[spec["name"]] = values.astype(np.float32) if dtype is np.float16 else values.copy()
            offset += size
    if offset != len(blob):
        raise ValueError(f"the weights file holds {len(blob)} bytes, the manifest describes {offset}")
    return out


def _attr(node: dict, name: str, default=None):
    value = node.get("attr", {}).get(name)
    if value is None:
        return default
    if "s" in value:
        return base64.b64decode(value["s"]).decode()
    if "list" in value:
        items = value["list"]
        if "s" in items:
            return [base64.b64decode(s).decode() for s in items["s"]]
        return [int(i) for i in items.get("i", [])]
    if "b" in value:
        return value["b"]
    if "i" in value:
        return int(value["i"])
    return value


def _name(ref: str) -> str:
    """A node input ("name:0", "^name") as the node's name."""
    return ref.lstrip("^").split(":")[0]


class _Builder:
    def __init__(self, nodes: dict[str, dict], weights: dict[str, np.ndarray]):
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes, self.weights = nodes, weights
        self.onnx_nodes, self.initializers, self.done, self.constants = [], [], set(), set()

    def const(self, name: str, array: np.ndarray) -> str:
        if name in self.constants:  # a scalar several ops share
            return name
        self.constants.add(name)
        self.initializers.append(self.numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def emit(self, op: str, inputs: list[str], output: str, **attrs) -> str:
        self.onnx_nodes.append(self.helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def scalar(self, ref: str) -> str:
        return self.const(ref + "/value", self.weights[_name(ref)].astype(np.float32))

    def operand(self, ref: str) -> str:
        """A Mul/Add input: a constant (scalars only, which broadcast in any layout) or a tensor."""
        name = _name(ref)
        if self.nodes[name]["op"] == "Const":
            if self.weights[name].ndim:
                raise ValueError(f"element-wise constant {name} is not a scalar")
            return self.scalar(name)
        return self.visit(name)

    def conv(self, node: dict, depthwise: bool) -> str:
        x = self.visit(_name(node["input"][0]))
        kernel = self.weights[_name(node["input"][1])]  # HWIO, or HW C multiplier for depthwise
        if depthwise:
            channels = kernel.shape[2] * kernel.shape[3]
            weight = kernel.reshape(kernel.shape[0], kernel.shape[1], 1, channels).transpose(3, 2, 0, 1)
            group = kernel.shape[2]
        else:
            weight, group = kernel.transpose(3, 2, 0, 1), 1
        inputs = [x, self.const(node["name"] + "/W", weight.astype(np.float32))]
        fused = _attr(node, "fused_ops", [])
        if "BiasAdd" in fused:
            inputs.append(self.const(node["name"] + "/B", self.weights[_name(node["input"][2])].astype(np.float32)))
        strides, dilations = _attr(node, "strides", [1, 1, 1, 1]), _attr(node, "dilations", [1, 1, 1, 1])
        padding = _attr(node, "padding", "VALID")
        out = node["name"] + ("/conv" if len(fused) > 1 else "")
        self.emit("Conv", inputs, out, group=group, kernel_shape=list(weight.shape[2:]), strides=strides[1:3],
                  dilations=dilations[1:3], auto_pad="SAME_UPPER" if padding == "SAME" else "VALID")
        for extra in fused[1:]:
            if extra != "Relu":
                raise ValueError(f"unsupported fused op {extra} in {node['name']}")
            out = self.emit("Relu", [out], node["name"])
        return out

    def visit(self, name: str) -> str:
        if name in self.done:
            return name
        node = self.nodes[name]
        op, inputs = node["op"], node.get("input", [])
        if op == "Placeholder":
            self.emit("Transpose", [name + "/nhwc"], name, perm=[0, 3, 1, 2])
        elif op in ("_FusedConv2D", "Conv2D"):
            self.conv(node, depthwise=False)
        elif op in ("FusedDepthwiseConv2dNative", "DepthwiseConv2dNative"):
            self.conv(node, depthwise=True)
        elif op in ("Mul", "Add"):
            self.emit(op, [self.operand(inputs[0]), self.operand(inputs[1])], name)
        elif op == "Relu6":
            self.emit("Clip", [self.visit(_name(inputs[0])), self.const(name + "/lo", np.float32(0)), self.const(name + "/hi", np.float32(6))], name)
        elif op in ("Relu", "Sigmoid", "Identity"):
            self.emit(op, [self.visit(_name(inputs[0]))], name)
        elif op == "Mean":
            axes = [_NCHW_AXIS[int(a)] for a in np.atleast_1d(self.weights[_name(inputs[1])])]
            axes = self.const(name + "/axes", np.array(axes, dtype=np.int64))
            self.emit("ReduceMean", [self.visit(_name(inputs[0])), axes], name, keepdims=int(bool(_attr(node, "keep_dims", False))))
        elif op == "ConcatV2":
            axis = _NCHW_AXIS[int(self.weights[_name(inputs[-1])])]
            self.emit("Concat", [self.visit(_name(ref)) for ref in inputs[:-1]], name, axis=axis)
        elif op == "ResizeBilinear":
            if _attr(node, "align_corners", False) or _attr(node, "half_pixel_centers", False):
                raise ValueError(f"{name}: only align_corners=false, half_pixel_centers=false is supported")
            sizes = self.const(name + "/sizes", self.weights[_name(inputs[1])].astype(np.int64))  # [height, width]
            self.emit("Resize", [self.visit(_name(inputs[0])), "", "", sizes], name, axes=[2, 3], mode="linear",
                      coordinate_transformation_mode="asymmetric")
        else:
            raise ValueError(f"unsupported TF.js op {op} ({name})")
        self.done.add(name)
        return name


_NCHW_AXIS = {0: 0, 1: 2, 2: 3, 3: 1, -1: 1}


def convert(model_json: Path, outputs: list[str]) -> bytes:
    """The serialized ONNX model computing `outputs` (NHWC, as in the TF graph) from the graph's input."""
    from onnx import TensorProto, checker, helper

    graph = json.loads(model_json.read_text(encoding="utf-8"))
    manifest = graph["weightsManifest"]
    blob = b"".join((model_json.parent / path).read_bytes() for group in manifest for path in group["paths"])
    weights = read_weights(manifest, blob)
    nodes = {node["name"]: node for node in graph["modelTopology"]["node"]}
    builder = _Builder(nodes, weights)
    ((input_name, spec),) = graph["signature"]["inputs"].items()
    dims = [int(d["size"]) for d in spec["tensorShape"]["dim"]]
    onnx_outputs = []
    for name in outputs:
        nchw = builder.visit(name)
        builder.emit("Transpose", [nchw], name + "/nhwc", perm=[0, 2, 3, 1])
        shape = [int(d["size"]) for d in graph["signature"]["outputs"][name]["tensorShape"]["dim"]]
        onnx_outputs.append(helper.make_tensor_value_info(name + "/nhwc", TensorProto.FLOAT, shape))
    model = helper.make_model(
        helper.make_graph(builder.onnx_nodes, "tfjs", [helper.make_tensor_value_info(input_name + "/nhwc", TensorProto.FLOAT, dims)],
                          onnx_outputs, builder.initializers),
        opset_imports=[helper.make_opsetid("", OPSET)], producer_name="nexuspoint-tfjs-onnx",
    )
    checker.check_model(model)
    return model.SerializeToString()
