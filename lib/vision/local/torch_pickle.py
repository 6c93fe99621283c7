"""Read a PyTorch state dict saved in the legacy (pre-1.6) format, without torch.

Such a ``.pth`` file is a run of pickles: a magic number, the protocol version,
system info, the state dict (tensors point at storages by key), the list of
storage keys, then each storage's raw bytes (an int64 element count, then the
elements, little-endian). Only plain tensors are rebuilt: the unpickler refuses
every other class, so the file can't run code.
"""

from __future__ import annotations

import collections
import pickle
import struct
from typing import BinaryIO

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001
STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
}


class _TensorRef:
    def __init__(self, storage_key: str, offset: int, shape: tuple[int, ...], stride: tuple[int, ...]):
        self.storage_key, self.offset, self.shape, self.stride = storage_key, offset, shape, stride


def _rebuild_tensor_v2(storage_key, offset, shape, stride, *_ignored) -> _TensorRef:
    return _TensorRef(storage_key, offset, tuple(shape), tuple(stride))


class _StateDictUnpickler(pickle.Unpickler):
    def __init__(self, file: BinaryIO):
        super().__init__(file)
        self.storage_dtypes: dict[str, np.dtype] = {}

    def find_class(self, module: str, name: str):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in STORAGE_DTYPES:
            return np.dtype(STORAGE_DTYPES[name])
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a weights file")

    def persistent_load(self, pid):
        kind, dtype, key, _location, _size, _view = pid
        if kind != "storage":
            raise pickle.UnpicklingError(f"unexpected persistent id {kind!r}")
        self.storage_dtypes[key] = dtype
        return key


def load_state_dict(path: str) -> dict[str, np.ndarray]:
    with open(path, "rb") as file:
        if pickle.load(file) != LEGACY_MAGIC or pickle.load(file) != LEGACY_PROTOCOL:
            raise ValueError(f"{path} is not a legacy PyTorch file")
        pickle.load(file)  # system info: sizes of C types, endianness (little on every machine we run)
        unpickler = _StateDictUnpickler(file)
        state = unpickler.load()
        storages = {}
        for key in pickle.load(file):
            dtype = unpickler.storage_dtypes[key]
            (count,) = struct.unpack("<q", file.read(8))
            storages[key] = np.frombuffer(file.read(count * dtype.itemsize), dtype=dtype)
    tensors = {}
    for name, ref in state.items():
        storage = storages[ref.storage_key]
        strides = tuple(step * storage.itemsize for step in ref.stride)
        tensors[name] = np.lib.stride_tricks.as_strided(storage[ref.offset :], shape=ref.shape, strides=strides).copy()
    return tensors
