"""EfficientNet-Lite0 without torch: read a legacy `torch.save` state dict and run the network in numpy.

Reading. The weights ship as a pre-1.6 (non-zip) `torch.save` file: four pickles back to back (magic number,
protocol version, system info, the state dict itself), then a pickled list of storage keys, then each storage's
raw data as an 8-byte little-endian element count followed by the elements. Tensors inside the state dict point
at storages through pickle's `persistent_load`; their data only arrives after the pickle, so the unpickler
returns small placeholders that are turned into numpy arrays once every storage has been read. The unpickler
resolves only the handful of globals that format needs, each mapped to a function here: a file that asks for
anything else is refused rather than executed.

Network. The layout is the TensorFlow one (lukemelas/EfficientNet-PyTorch naming): TF "SAME" padding
(asymmetric for stride 2), ReLU6, no squeeze-excitation, stem and head not scaled. BatchNorm (eps 1e-3) is
folded into the preceding convolution at load time. Activations are channels-last (H, W, C) float32, so a 1×1
convolution is one matmul, a depthwise convolution one einsum over a (copy-free) sliding-window view, and the
3×3 stride-2 stem an im2col matmul.
"""

from __future__ import annotations

import collections
import io
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001
BN_EPS = 1e-3

_DTYPES = {  # storage type name → numpy dtype (little-endian, as this format is written on x86/ARM)
    "FloatStorage": np.dtype("<f4"), "DoubleStorage": np.dtype("<f8"), "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"), "IntStorage": np.dtype("<i4"), "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"), "ByteStorage": np.dtype("u1"), "BoolStorage": np.dtype("?"),
}


# ---------------------------------------------------------------------------------------------- loading
@dataclass(frozen=True)
class _StorageType:
    name: str

    @property
    def dtype(self) -> np.dtype:
        return _DTYPES[self.name]


class _Storage:
    def __init__(self, dtype: np.dtype, numel: int):
        self.dtype, self.numel, self.data = dtype, numel, None


@dataclass
class _TensorRef:
    storage: _Storage
    view_offset: int
    offset: int
    size: tuple
    stride: tuple

    def materialise(self) -> np.ndarray:
        data = self.storage.data
        if data is None:
            raise ValueError("a tensor refers to a storage that the file never wrote")
        start = self.view_offset + self.offset
        if self.size and any(n == 0 for n in self.size):
            return np.zeros(self.size, dtype=data.dtype)
        last = start + sum((n - 1) * s for n, s in zip(self.size, self.stride))
        if start < 0 or last >= len(data) or min(self.stride, default=0) < 0:
            raise ValueError("a tensor reaches outside its storage")
        item = data.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(data[start:], shape=self.size,
                                               strides=[s * item for s in self.stride], writeable=False)
        return np.array(view)  # own, contiguous copy


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None):
    view_offset = 0
    if isinstance(storage, tuple):  # a view into a larger storage
        storage, view_offset = storage
    return _TensorRef(storage, view_offset, int(storage_offset), tuple(size), tuple(stride))


class _LegacyUnpickler(pickle.Unpickler):
    """Resolves only what a legacy state dict needs; everything else is refused."""

    def __init__(self, file, storages: dict):
        super().__init__(file)
        self._storages = storages

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in _DTYPES:
            return _StorageType(name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a weights file")

    def persistent_load(self, saved_id):
        if not (isinstance(saved_id, tuple) and saved_id and saved_id[0] in ("storage", b"storage")):
            raise pickle.UnpicklingError(f"unsupported persistent id {saved_id!r:.60}")
        storage_type, root_key, _location, numel, view = saved_id[1:]
        if not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError("storage of an unknown type")
        storage = self._storages.setdefault(str(root_key), _Storage(storage_type.dtype, int(numel)))
        if view is not None:
            _view_key, offset, _view_size = view
            return storage, int(offset)
        return storage


def load_legacy_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """Tensors of a pre-1.6 `torch.save(state_dict)` file as numpy arrays (torch is not needed)."""
    raw = Path(path).read_bytes()
    if raw[:4] == b"PK\x03\x04":
        raise ValueError(f"{path} is a zip-format (torch >= 1.6) file; only the legacy format is read here")
    f = io.BytesIO(raw)

    def plain_load():  # the framing pickles hold only ints, strings, bools and dicts
        return _LegacyUnpickler(f, {}).load()

    if plain_load() != MAGIC_NUMBER:
        raise ValueError(f"{path} is not a legacy torch.save file")
    if plain_load() != PROTOCOL_VERSION:
        raise ValueError(f"{path}: unsupported torch.save protocol version")
    sys_info = plain_load()
    if isinstance(sys_info, dict) and not sys_info.get("little_endian", True):
        raise ValueError(f"{path}: big-endian weight files are not supported")
    storages: dict[str, _Storage] = {}
    state = _LegacyUnpickler(f, storages).load()
    keys = plain_load()
    pos = f.tell()
    for key in keys:
        if str(key) not in storages:
            raise ValueError(f"{path}: storage {key} is not used by any tensor")
        storage = storages[str(key)]
        count = int.from_bytes(raw[pos:pos + 8], "little")
        pos += 8
        nbytes = count * storage.dtype.itemsize
        if count != storage.numel or pos + nbytes > len(raw):
            raise ValueError(f"{path}: storage {key} is truncated or has the wrong size")
        storage.data = np.frombuffer(raw, dtype=storage.dtype, count=count, offset=pos)
        pos += nbytes
    if not isinstance(state, dict):
        raise ValueError(f"{path} does not hold a state dict")
    return {k: v.materialise() for k, v in state.items() if isinstance(v, _TensorRef)}


# ---------------------------------------------------------------------------------------------- network
# (repeats, kernel, stride, expand ratio, input filters, output filters) — efficientnet-lite0 (width = depth = 1).
LITE0_STAGES = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
                (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)]


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow 'SAME' padding (before, after): output = ceil(size / stride), the extra pixel goes after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _fold(weights: dict, conv: str, bn: str) -> tuple[np.ndarray, np.ndarray]:
    """Conv weight (O, I, kh, kw) and bias (O,) with the following BatchNorm folded in (inference mode)."""
    scale = weights[f"{bn}.weight"] / np.sqrt(weights[f"{bn}.running_var"] + BN_EPS)
    w = weights[f"{conv}.weight"] * scale[:, None, None, None]
    b = weights[f"{bn}.bias"] - weights[f"{bn}.running_mean"] * scale
    return w.astype(np.float32), b.astype(np.float32)


@dataclass
class _Block:
    kernel: int
    stride: int
    skip: bool
    expand: tuple[np.ndarray, np.ndarray] | None  # (I, O) matrix, bias
    depthwise: tuple[np.ndarray, np.ndarray]  # (k, k, C), bias
    project: tuple[np.ndarray, np.ndarray]  # (I, O) matrix, bias


def _pointwise(weights: dict, conv: str, bn: str) -> tuple[np.ndarray, np.ndarray]:
    w, b = _fold(weights, conv, bn)
    return np.ascontiguousarray(w[:, :, 0, 0].T), b


class EfficientNetLite0:
    """Inference-only EfficientNet-Lite0 on numpy; `logits(x)` takes one (224, 224, 3) float32 image."""

    def __init__(self, weights: dict[str, np.ndarray]):
        w, b = _fold(weights, "_conv_stem", "_bn0")  # (32, 3, 3, 3) → (kh·kw·cin, 32) to match the im2col
        self.stem = (np.ascontiguousarray(w.transpose(2, 3, 1, 0).reshape(-1, w.shape[0])), b)
        self.blocks: list[_Block] = []
        for repeats, kernel, stride, expand, cin, cout in LITE0_STAGES:
            for r in range(repeats):
                p = f"_blocks.{len(self.blocks)}"
                inp, s = (cin, stride) if r == 0 else (cout, 1)
                dw, dwb = _fold(weights, f"{p}._depthwise_conv", f"{p}._bn1")  # (C, 1, k, k)
                self.blocks.append(_Block(
                    kernel=kernel, stride=s, skip=(s == 1 and inp == cout),
                    expand=_pointwise(weights, f"{p}._expand_conv", f"{p}._bn0") if expand != 1 else None,
                    depthwise=(np.ascontiguousarray(dw[:, 0].transpose(1, 2, 0)), dwb),
                    project=_pointwise(weights, f"{p}._project_conv", f"{p}._bn2")))
        if f"_blocks.{len(self.blocks)}._depthwise_conv.weight" in weights:
            raise ValueError("the state dict has more blocks than EfficientNet-Lite0")
        self.head = _pointwise(weights, "_conv_head", "_bn1")
        self.fc = (np.ascontiguousarray(weights["_fc.weight"].T.astype(np.float32)),
                   weights["_fc.bias"].astype(np.float32))

    @classmethod
    def from_file(cls, path: str | Path) -> EfficientNetLite0:
        return cls(load_legacy_state_dict(path))

    # -- layers (all channels-last) --
    def _stem(self, x: np.ndarray) -> np.ndarray:
        h, w, _ = x.shape
        (t, bt), (l, r) = same_padding(h, 3, 2), same_padding(w, 3, 2)
        xp = np.pad(x, ((t, bt), (l, r), (0, 0)))
        oh, ow = -(-h // 2), -(-w // 2)
        cols = np.empty((oh, ow, 3, 3, x.shape[2]), np.float32)
        for i in range(3):
            for j in range(3):
                cols[:, :, i, j] = xp[i:i + 2 * oh - 1:2, j:j + 2 * ow - 1:2]
        wm, bias = self.stem
        out = cols.reshape(oh * ow, -1) @ wm
        out += bias
        return np.clip(out, 0.0, 6.0, out=out).reshape(oh, ow, -1)

    @staticmethod
    def _conv1x1(x: np.ndarray, params, relu6: bool) -> np.ndarray:
        wm, bias = params
        h, w, c = x.shape
        out = x.reshape(h * w, c) @ wm
        out += bias
        if relu6:
            np.clip(out, 0.0, 6.0, out=out)
        return out.reshape(h, w, -1)

    @staticmethod
    def _depthwise(x: np.ndarray, params, k: int, s: int) -> np.ndarray:
        wk, bias = params
        h, w, c = x.shape
        (t, bt), (l, r) = same_padding(h, k, s), same_padding(w, k, s)
        xp = np.zeros((h + t + bt, w + l + r, c), np.float32)
        xp[t:t + h, l:l + w] = x
        # (oh, ow, c, k, k) windows, no copy; one einsum pass beats k² multiply-adds over temporaries (≈ 1.5×).
        windows = sliding_window_view(xp, (k, k), axis=(0, 1))[::s, ::s]
        out = np.einsum("hwcij,ijc->hwc", windows, wk)
        out += bias
        return np.clip(out, 0.0, 6.0, out=out)

    def features(self, x: np.ndarray, trace: dict | None = None) -> np.ndarray:
        """Pooled 1280-d features; `trace`, if given, receives the activation after the stem and each block."""
        x = self._stem(np.asarray(x, np.float32))
        if trace is not None:
            trace["stem"] = x
        for n, blk in enumerate(self.blocks):
            y = self._conv1x1(x, blk.expand, relu6=True) if blk.expand is not None else x
            y = self._depthwise(y, blk.depthwise, blk.kernel, blk.stride)
            y = self._conv1x1(y, blk.project, relu6=False)
            if blk.skip:
                y += x
            x = y
            if trace is not None:
                trace[f"block{n}"] = x
        x = self._conv1x1(x, self.head, relu6=True)
        if trace is not None:
            trace["head"] = x
        return x.mean(axis=(0, 1))

    def logits(self, x: np.ndarray, trace: dict | None = None) -> np.ndarray:
        wm, bias = self.fc
        return self.features(x, trace) @ wm + bias
