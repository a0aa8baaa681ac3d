"""Build-time converter: MediaPipe ``.tflite`` face models -> ONNX, without TensorFlow.

Reads the TFLite flatbuffer with the pure-Python ``tflite`` bindings (PyPI ``tflite``, flatbuffers only) and emits
an ONNX graph with ``onnx.helper``. Covers every operator used by MediaPipe's ``face_detection_short_range``,
``face_landmark`` and ``face_landmark_with_attention`` models:

* builtins: CONV_2D, DEPTHWISE_CONV_2D, ADD, MUL, SUB, PRELU (as Relu + slope * Min(x, 0)), RELU, RELU6, LOGISTIC, TANH, MAX_POOL_2D,
  AVERAGE_POOL_2D, PAD, RESHAPE, CONCATENATION, STRIDED_SLICE, DEQUANTIZE (fp16 weights);
* MediaPipe custom ops (v2): ``Landmarks2TransformMatrix``, ``TransformTensorBilinear``, ``TransformLandmarks``
  (the attention sub-networks of ``face_landmark_with_attention``), rebuilt from elementwise ONNX ops and
  ``GridSample`` following the semantics of ``mediapipe/util/tflite/operations/*.cc``.

Layout: TFLite is NHWC; every 4-D activation is carried in NCHW inside the ONNX graph (weights are transposed at
conversion time, axis-bearing ops are remapped) and transposed back only where an op needs NHWC memory order
(RESHAPE, STRIDED_SLICE) and at graph outputs. Graph inputs/outputs keep the TFLite names, shapes (NHWC) and
dtypes, so an ONNX model is a drop-in replacement for its ``.tflite``.

fp16 weights (``DEQUANTIZE`` of a FLOAT16 constant) are stored as fp16 initializers followed by a ``Cast`` to
float32 (onnxruntime folds it at session creation), which keeps the ONNX files the size of the ``.tflite`` files
while computing in float32 exactly as TFLite does.

Build-time only: imports ``tflite``, ``flatbuffers`` and ``onnx``; the runtime front end never imports this module.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from dms.errors import ModelError

log = logging.getLogger(__name__)

DEFAULT_OPSET = 17  # GridSample needs >= 16; 17 keeps the models loadable by onnxruntime >= 1.12

try:  # build-time dependencies
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    import tflite
    from flatbuffers import flexbuffers
except ImportError as _e:  # pragma: no cover - exercised only on machines without the build deps
    raise ImportError(f"tflite_to_onnx needs the build-time packages 'tflite', 'flatbuffers' and 'onnx': {_e}") from _e

_OPNAMES = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
_TTYPE_NP = {
    tflite.TensorType.FLOAT32: np.float32,
    tflite.TensorType.FLOAT16: np.float16,
    tflite.TensorType.INT32: np.int32,
    tflite.TensorType.INT64: np.int64,
    tflite.TensorType.UINT8: np.uint8,
    tflite.TensorType.INT8: np.int8,
}
_NP_ONNX = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float16): TensorProto.FLOAT16,
            np.dtype(np.int32): TensorProto.INT32, np.dtype(np.int64): TensorProto.INT64,
            np.dtype(np.uint8): TensorProto.UINT8, np.dtype(np.int8): TensorProto.INT8}
_OPTIONS_CLASS = {
    "CONV_2D": "Conv2DOptions", "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions", "ADD": "AddOptions",
    "MUL": "MulOptions", "SUB": "SubOptions", "MAX_POOL_2D": "Pool2DOptions", "AVERAGE_POOL_2D": "Pool2DOptions",
    "RESHAPE": "ReshapeOptions", "CONCATENATION": "ConcatenationOptions", "STRIDED_SLICE": "StridedSliceOptions",
}
NHWC_TO_NCHW = (0, 3, 1, 2)
NCHW_TO_NHWC = (0, 2, 3, 1)


# ----------------------------------------------------------------------------------------------------------------
# TFLite flatbuffer reading
# ----------------------------------------------------------------------------------------------------------------
@dataclass
class TflTensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    data: Optional[np.ndarray]  # constant buffer, or None for activations


@dataclass
class TflOp:
    index: int
    kind: str  # builtin name, or "CUSTOM:<code>"
    version: int
    inputs: list[int]
    outputs: list[int]
    options: Any = None  # builtin options table object, or dict (flexbuffer custom options)


@dataclass
class TflGraph:
    tensors: list[TflTensor]
    ops: list[TflOp]
    inputs: list[int]
    outputs: list[int]
    description: str = ""
    op_histogram: dict[str, int] = field(default_factory=dict)


def read_tflite(data: bytes) -> TflGraph:
    """Parse a single-subgraph .tflite flatbuffer into plain Python records."""
    try:
        model = tflite.Model.GetRootAsModel(data, 0)
        if model.SubgraphsLength() != 1:
            raise ModelError(f"expected 1 subgraph, found {model.SubgraphsLength()}")
        g = model.Subgraphs(0)
    except ModelError:
        raise
    except Exception as e:  # flatbuffers raises plain struct/index errors on garbage
        raise ModelError(f"not a readable .tflite flatbuffer: {e}") from e
    tensors = []
    for i in range(g.TensorsLength()):
        t = g.Tensors(i)
        if t.Type() not in _TTYPE_NP:
            raise ModelError(f"tensor {t.Name()!r}: unsupported tflite type {t.Type()}")
        dtype = np.dtype(_TTYPE_NP[t.Type()])
        shape = tuple(int(s) for s in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        buf = model.Buffers(t.Buffer())
        arr = None
        if buf is not None and buf.DataLength() > 0:
            arr = np.frombuffer(buf.DataAsNumpy().tobytes(), dtype=dtype).reshape(shape).copy()
        elif buf is not None and buf.Offset() > 1:  # large-model external buffers (not used by the face models)
            raise ModelError(f"tensor {t.Name()!r}: external buffers are not supported")
        tensors.append(TflTensor(i, t.Name().decode(), shape, dtype, arr))
    ops = []
    hist: dict[str, int] = {}
    for i in range(g.OperatorsLength()):
        op = g.Operators(i)
        oc = model.OperatorCodes(op.OpcodeIndex())
        code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
        kind = _OPNAMES.get(code, f"BUILTIN_{code}")
        options: Any = None
        if kind == "CUSTOM":
            kind = "CUSTOM:" + oc.CustomCode().decode()
            raw = op.CustomOptionsAsNumpy()
            options = flexbuffers.Loads(raw.tobytes()) if hasattr(raw, "tobytes") and raw.size else {}
        elif kind in _OPTIONS_CLASS:
            table = op.BuiltinOptions()
            if table is not None:
                options = getattr(tflite, _OPTIONS_CLASS[kind])()
                options.Init(table.Bytes, table.Pos)
        ins = [int(op.Inputs(j)) for j in range(op.InputsLength())]
        outs = [int(op.Outputs(j)) for j in range(op.OutputsLength())]
        ops.append(TflOp(i, kind, int(oc.Version()), ins, outs, options))
        hist[kind] = hist.get(kind, 0) + 1
    desc = model.Description().decode() if model.Description() else ""
    return TflGraph(tensors, ops, [int(g.Inputs(j)) for j in range(g.InputsLength())],
                    [int(g.Outputs(j)) for j in range(g.OutputsLength())], desc, hist)


# ----------------------------------------------------------------------------------------------------------------
# ONNX graph building
# ----------------------------------------------------------------------------------------------------------------
@dataclass
class _Val:
    name: str
    layout: str  # "nchw" (4-D activation carried transposed) or "plain" (TFLite order)
    shape: tuple[int, ...]  # TFLite (NHWC) shape


def _same_pads(in_size: int, k: int, stride: int, dilation: int) -> tuple[int, int]:
    out = -(-in_size // stride)
    eff_k = (k - 1) * dilation + 1
    total = max((out - 1) * stride + eff_k - in_size, 0)
    return total // 2, total - total // 2


class _Builder:
    def __init__(self, graph: TflGraph, keep_fp16: bool):
        self.g = graph
        self.keep_fp16 = keep_fp16
        self.nodes: list = []
        self.inits: list = []
        self.vals: dict[int, _Val] = {}
        self.consts: dict[int, np.ndarray] = {}  # tflite constant tensors (fp16 dequantized lazily)
        self._names: set[str] = set()
        self._n = 0

    # -- naming / constants ----------------------------------------------------------------------------------
    def uniq(self, base: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_./:-]", "_", base) or "t"
        name, k = base, 1
        while name in self._names:
            k += 1
            name = f"{base}__{k}"
        self._names.add(name)
        return name

    def const(self, arr: np.ndarray, base: str = "const") -> str:
        """Add an initializer; fp16 arrays are stored fp16 and cast to float32 in-graph."""
        arr = np.asarray(arr)
        if not arr.flags.c_contiguous:
            arr = arr.copy()  # (np.ascontiguousarray would turn 0-d scalars into 1-d arrays)
        if arr.dtype == np.float64:
            arr = arr.astype(np.float32)
        name = self.uniq(base)
        if arr.dtype == np.float16:
            if not self.keep_fp16:
                self.inits.append(numpy_helper.from_array(arr.astype(np.float32), name))
                return name
            self.inits.append(numpy_helper.from_array(arr, name + "_fp16"))
            self.node("Cast", [name + "_fp16"], [name], to=TensorProto.FLOAT)
            return name
        self.inits.append(numpy_helper.from_array(arr, name))
        return name

    def node(self, op: str, inputs: list[str], outputs: list[str], **attrs) -> None:
        self._n += 1
        self.nodes.append(helper.make_node(op, inputs, outputs, name=f"{op}_{self._n}", **attrs))

    def tmp(self, op: str, inputs: list[str], base: str = "tmp", **attrs) -> str:
        out = self.uniq(base)
        self.node(op, inputs, [out], **attrs)
        return out

    def is_const(self, idx: int) -> bool:
        return idx in self.consts

    def const_value(self, idx: int) -> np.ndarray:
        return self.consts[idx]

    # -- layouts ---------------------------------------------------------------------------------------------
    def as_plain(self, v: _Val) -> str:
        if v.layout == "plain":
            return v.name
        return self.tmp("Transpose", [v.name], v.name + "_nhwc", perm=list(NCHW_TO_NHWC))

    def as_nchw(self, v: _Val) -> str:
        if v.layout == "nchw":
            return v.name
        if len(v.shape) != 4:
            raise ModelError(f"cannot carry rank-{len(v.shape)} tensor {v.name} in NCHW")
        return self.tmp("Transpose", [v.name], v.name + "_nchw", perm=list(NHWC_TO_NCHW))

    def val(self, idx: int) -> _Val:
        if idx in self.vals:
            return self.vals[idx]
        if idx in self.consts:  # constant used as a data input: materialise once, plain layout
            t = self.g.tensors[idx]
            v = _Val(self.const(self.consts[idx], t.name), "plain", t.shape)
            self.vals[idx] = v
            return v
        raise ModelError(f"tensor {self.g.tensors[idx].name!r} used before it is produced")

    def out_name(self, idx: int) -> str:
        return self.uniq(self.g.tensors[idx].name)

    def activation(self, name: str, fused: int, base: str) -> str:
        A = tflite.ActivationFunctionType
        if fused == A.NONE:
            return name
        if fused == A.RELU:
            return self.tmp("Relu", [name], base + "_relu")
        if fused == A.RELU6:
            return self.tmp("Clip", [name, self.const(np.float32(0.0), "zero"), self.const(np.float32(6.0), "six")],
                            base + "_relu6")
        if fused == A.RELU_N1_TO_1:
            return self.tmp("Clip", [name, self.const(np.float32(-1.0), "m1"), self.const(np.float32(1.0), "p1")],
                            base + "_relun1")
        if fused == A.TANH:
            return self.tmp("Tanh", [name], base + "_tanh")
        raise ModelError(f"unsupported fused activation {fused}")

    def finish(self, op: TflOp, name: str, layout: str, out_pos: int = 0) -> None:
        idx = op.outputs[out_pos]
        self.vals[idx] = _Val(name, layout, self.g.tensors[idx].shape)


# ----------------------------------------------------------------------------------------------------------------
# operator converters
# ----------------------------------------------------------------------------------------------------------------
def _conv(b: _Builder, op: TflOp, depthwise: bool) -> None:
    o = op.options
    x = b.val(op.inputs[0])
    in_shape = x.shape
    if not b.is_const(op.inputs[1]):
        raise ModelError(f"op {op.index}: non-constant conv weights are not supported")
    w = b.const_value(op.inputs[1])  # conv: [O, KH, KW, I]; depthwise: [1, KH, KW, C*M]
    kh, kw = int(w.shape[1]), int(w.shape[2])
    sh, sw = o.StrideH(), o.StrideW()
    dh, dw = max(o.DilationHFactor(), 1), max(o.DilationWFactor(), 1)
    if depthwise:
        w_onnx = np.transpose(w, (3, 0, 1, 2))  # [C*M, 1, KH, KW]
        group = int(in_shape[3])
    else:
        w_onnx = np.transpose(w, (0, 3, 1, 2))  # [O, I, KH, KW]
        group = 1
    if o.Padding() == tflite.Padding.SAME:
        pt, pb = _same_pads(in_shape[1], kh, sh, dh)
        pl, pr = _same_pads(in_shape[2], kw, sw, dw)
    else:
        pt = pb = pl = pr = 0
    inputs = [b.as_nchw(x), b.const(w_onnx, b.g.tensors[op.inputs[1]].name)]
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        inputs.append(b.const(b.const_value(op.inputs[2]), b.g.tensors[op.inputs[2]].name))
    out = b.out_name(op.outputs[0])
    b.node("Conv", inputs, [out], kernel_shape=[kh, kw], strides=[sh, sw], dilations=[dh, dw],
           pads=[pt, pl, pb, pr], group=group)
    b.finish(op, b.activation(out, o.FusedActivationFunction(), out), "nchw")


def _pool(b: _Builder, op: TflOp, onnx_op: str) -> None:
    o = op.options
    x = b.val(op.inputs[0])
    kh, kw, sh, sw = o.FilterHeight(), o.FilterWidth(), o.StrideH(), o.StrideW()
    if o.Padding() == tflite.Padding.SAME:
        pt, pb = _same_pads(x.shape[1], kh, sh, 1)
        pl, pr = _same_pads(x.shape[2], kw, sw, 1)
    else:
        pt = pb = pl = pr = 0
    out = b.out_name(op.outputs[0])
    attrs = dict(kernel_shape=[kh, kw], strides=[sh, sw], pads=[pt, pl, pb, pr])
    if onnx_op == "AveragePool":
        attrs["count_include_pad"] = 0  # TFLite SAME average pooling averages valid pixels only
    b.node(onnx_op, [b.as_nchw(x)], [out], **attrs)
    b.finish(op, b.activation(out, o.FusedActivationFunction(), out), "nchw")


def _const_for_nchw(arr: np.ndarray) -> np.ndarray:
    """A constant broadcast against an NHWC 4-D tensor, rearranged to broadcast against its NCHW form."""
    a = arr.reshape((1,) * (4 - arr.ndim) + arr.shape) if arr.ndim < 4 else arr
    return np.transpose(a, NHWC_TO_NCHW)


def _elementwise(b: _Builder, op: TflOp, onnx_op: str, fused: Optional[int]) -> None:
    ins = op.inputs
    vals_nchw = [i for i in ins if not b.is_const(i) and b.val(i).layout == "nchw"]
    all_4d = all(len(b.g.tensors[i].shape) <= 4 for i in ins)
    use_nchw = bool(vals_nchw) and all_4d and all(
        b.is_const(i) or len(b.g.tensors[i].shape) == 4 for i in ins)
    names = []
    for i in ins:
        if b.is_const(i):
            arr = b.const_value(i)
            names.append(b.const(_const_for_nchw(arr) if use_nchw else arr, b.g.tensors[i].name))
        else:
            v = b.val(i)
            names.append(b.as_nchw(v) if use_nchw else b.as_plain(v))
    out = b.out_name(op.outputs[0])
    b.node(onnx_op, names, [out])
    if fused is not None:
        out = b.activation(out, fused, out)
    b.finish(op, out, "nchw" if use_nchw else "plain")


def _prelu(b: _Builder, op: TflOp) -> None:
    """PRELU as Relu(x) + alpha * Min(x, 0): bit-identical to ONNX PRelu, and ~1.5x faster end to end in
    onnxruntime's CPU provider, whose PRelu takes a slow generic-broadcast path for per-channel slopes."""
    x = b.val(op.inputs[0])
    alpha = b.const_value(op.inputs[1])
    out = b.out_name(op.outputs[0])
    if len(x.shape) == 4:
        xn, slope, layout = b.as_nchw(x), _const_for_nchw(alpha), "nchw"
    else:
        xn, slope, layout = b.as_plain(x), alpha, "plain"
    pos = b.tmp("Relu", [xn], out + "_pos")
    neg = b.tmp("Min", [xn, b.const(np.zeros((), np.float32), "zero")], out + "_neg")
    neg = b.tmp("Mul", [neg, b.const(slope, b.g.tensors[op.inputs[1]].name)], out + "_negs")
    b.node("Add", [pos, neg], [out])
    b.finish(op, out, layout)


def _unary(b: _Builder, op: TflOp, onnx_op: str) -> None:
    x = b.val(op.inputs[0])
    out = b.out_name(op.outputs[0])
    if onnx_op == "Relu6":
        b.node("Clip", [x.name, b.const(np.float32(0), "zero"), b.const(np.float32(6), "six")], [out])
    else:
        b.node(onnx_op, [x.name], [out])
    b.finish(op, out, x.layout)


def _pad(b: _Builder, op: TflOp) -> None:
    x = b.val(op.inputs[0])
    pads = b.const_value(op.inputs[1]).astype(np.int64)  # [rank, 2] in TFLite order
    if len(op.inputs) > 2 and op.inputs[2] >= 0 and np.any(b.const_value(op.inputs[2]) != 0):
        raise ModelError(f"op {op.index}: PADV2 with non-zero constant is not supported")
    if x.layout == "nchw":
        pads = pads[list(NHWC_TO_NCHW)]
    onnx_pads = np.concatenate([pads[:, 0], pads[:, 1]]).astype(np.int64)
    out = b.out_name(op.outputs[0])
    b.node("Pad", [x.name, b.const(onnx_pads, "pads")], [out], mode="constant")
    b.finish(op, out, x.layout)


def _reshape(b: _Builder, op: TflOp) -> None:
    x = b.val(op.inputs[0])
    out_shape = b.g.tensors[op.outputs[0]].shape
    if not out_shape or any(s < 0 for s in out_shape):
        if len(op.inputs) > 1 and b.is_const(op.inputs[1]):
            out_shape = tuple(int(s) for s in b.const_value(op.inputs[1]))
        elif op.options is not None and op.options.NewShapeLength():
            out_shape = tuple(int(s) for s in op.options.NewShapeAsNumpy())
    out = b.out_name(op.outputs[0])
    b.node("Reshape", [b.as_plain(x), b.const(np.array(out_shape, np.int64), "shape")], [out])
    b.finish(op, out, "plain")


def _concat(b: _Builder, op: TflOp) -> None:
    axis = op.options.Axis()
    vals = [b.val(i) for i in op.inputs]
    rank = len(vals[0].shape)
    axis = axis % rank
    use_nchw = rank == 4 and all(v.layout == "nchw" for v in vals)
    names = [v.name if use_nchw else b.as_plain(v) for v in vals]
    onnx_axis = NCHW_TO_NHWC.index(axis) if use_nchw else axis
    out = b.out_name(op.outputs[0])
    b.node("Concat", names, [out], axis=onnx_axis)
    b.finish(op, b.activation(out, op.options.FusedActivationFunction(), out), "nchw" if use_nchw else "plain")


def _strided_slice(b: _Builder, op: TflOp) -> None:
    o = op.options
    if o.EllipsisMask() or o.NewAxisMask() or o.ShrinkAxisMask():
        raise ModelError(f"op {op.index}: STRIDED_SLICE with ellipsis/new-axis/shrink masks is not supported")
    x = b.val(op.inputs[0])
    begin = b.const_value(op.inputs[1]).astype(np.int64).copy()
    end = b.const_value(op.inputs[2]).astype(np.int64).copy()
    strides = b.const_value(op.inputs[3]).astype(np.int64)
    big = np.iinfo(np.int64).max
    for d in range(len(begin)):
        if o.BeginMask() & (1 << d):
            begin[d] = 0 if strides[d] > 0 else big
        if o.EndMask() & (1 << d):
            end[d] = big if strides[d] > 0 else -big
    axes = np.arange(len(begin), dtype=np.int64)
    out = b.out_name(op.outputs[0])
    b.node("Slice", [b.as_plain(x), b.const(begin, "begin"), b.const(end, "end"), b.const(axes, "axes"),
                     b.const(strides, "steps")], [out])
    b.finish(op, out, "plain")


def _dequantize(b: _Builder, op: TflOp) -> None:
    src = op.inputs[0]
    if b.is_const(src):  # fp16 weights: keep them constant, the consumer decides the layout
        b.consts[op.outputs[0]] = b.const_value(src)
        return
    x = b.val(src)
    out = b.out_name(op.outputs[0])
    b.node("Cast", [x.name], [out], to=TensorProto.FLOAT)
    b.finish(op, out, x.layout)


# -- MediaPipe custom ops ----------------------------------------------------------------------------------------
def _landmarks_to_transform_matrix(b: _Builder, op: TflOp) -> None:
    """Landmarks2TransformMatrix v2: landmarks [1,N,3] -> 4x4 crop matrix (crop pixel -> source pixel)."""
    if op.version != 2:
        raise ModelError(f"op {op.index}: Landmarks2TransformMatrix v{op.version} is not supported (only v2)")
    p = op.options
    lm = b.as_plain(b.val(op.inputs[0]))
    f32 = np.float32

    def pick(idx: list[int], base: str) -> str:  # -> [1, K, 2]
        g = b.tmp("Gather", [lm, b.const(np.array(idx, np.int64), base + "_idx")], base, axis=1)
        return b.tmp("Slice", [g, b.const(np.array([0], np.int64), "s0"), b.const(np.array([2], np.int64), "s2"),
                               b.const(np.array([2], np.int64), "ax2")], base + "_xy")

    ends = pick([int(p["left_rotation_idx"]), int(p["right_rotation_idx"])], "rot_pts")  # [1,2,2]
    left = b.tmp("Gather", [ends, b.const(np.array(0, np.int64), "i0")], "left", axis=1)  # [1,2]
    right = b.tmp("Gather", [ends, b.const(np.array(1, np.int64), "i1")], "right", axis=1)
    d = b.tmp("Sub", [right, left], "d")
    dx = b.tmp("Gather", [d, b.const(np.array(0, np.int64), "i0")], "dx", axis=1)  # [1]
    dy = b.tmp("Gather", [d, b.const(np.array(1, np.int64), "i1")], "dy", axis=1)
    n = b.tmp("Sqrt", [b.tmp("Add", [b.tmp("Mul", [dx, dx]), b.tmp("Mul", [dy, dy])])], "norm")
    n = b.tmp("Max", [n, b.const(np.array([1e-12], f32), "eps")], "norm_safe")
    cphi = b.tmp("Div", [dx, n], "cos_phi")
    sphi = b.tmp("Div", [dy, n], "sin_phi")
    # rotation r = target - atan2(dy, dx): cos r = cos t cos phi + sin t sin phi, sin r = sin t cos phi - cos t sin phi
    t = float(p.get("target_rotation_radians", 0.0))
    ct, st = b.const(np.array([np.cos(t)], f32), "cos_t"), b.const(np.array([np.sin(t)], f32), "sin_t")
    c = b.tmp("Add", [b.tmp("Mul", [ct, cphi]), b.tmp("Mul", [st, sphi])], "cos_r")
    s = b.tmp("Sub", [b.tmp("Mul", [st, cphi]), b.tmp("Mul", [ct, sphi])], "sin_r")
    sub = [int(i) for i in p["subset_idxs"]]
    pts = pick(sub, "subset")  # [1,K,2]
    px = b.tmp("Gather", [pts, b.const(np.array(0, np.int64), "i0")], "px", axis=2)  # [1,K]
    py = b.tmp("Gather", [pts, b.const(np.array(1, np.int64), "i1")], "py", axis=2)
    rx = b.tmp("Sub", [b.tmp("Mul", [px, c]), b.tmp("Mul", [py, s])], "rx")
    ry = b.tmp("Add", [b.tmp("Mul", [px, s]), b.tmp("Mul", [py, c])], "ry")
    xmax = b.tmp("ReduceMax", [rx], "xmax", axes=[1], keepdims=0)  # [1]
    xmin = b.tmp("ReduceMin", [rx], "xmin", axes=[1], keepdims=0)
    ymax = b.tmp("ReduceMax", [ry], "ymax", axes=[1], keepdims=0)
    ymin = b.tmp("ReduceMin", [ry], "ymin", axes=[1], keepdims=0)
    half = b.const(np.array([0.5], f32), "half")
    w = b.tmp("Sub", [xmax, xmin], "crop_w")
    h = b.tmp("Sub", [ymax, ymin], "crop_h")
    mx = b.tmp("Mul", [b.tmp("Add", [xmin, xmax]), half], "mid_x")
    my = b.tmp("Mul", [b.tmp("Add", [ymin, ymax]), half], "mid_y")
    # centre back in the source frame: rotate by -r
    cx = b.tmp("Add", [b.tmp("Mul", [c, mx]), b.tmp("Mul", [s, my])], "crop_x")
    cy = b.tmp("Sub", [b.tmp("Mul", [c, my]), b.tmp("Mul", [s, mx])], "crop_y")
    ow, oh = float(p["output_width"]), float(p["output_height"])
    scx = b.tmp("Mul", [w, b.const(np.array([float(p["scale_x"]) / ow], f32), "kx")], "scale_x")
    scy = b.tmp("Mul", [h, b.const(np.array([float(p["scale_y"]) / oh], f32), "ky")], "scale_y")
    # A = R(-r) * diag(scx, scy), R(-r) = [[c, s], [-s, c]]; T = A @ (-ow/2, -oh/2) + (cx, cy)
    a00 = b.tmp("Mul", [c, scx], "a00")
    a01 = b.tmp("Mul", [s, scy], "a01")
    a10 = b.tmp("Neg", [b.tmp("Mul", [s, scx])], "a10")
    a11 = b.tmp("Mul", [c, scy], "a11")
    nhw, nhh = b.const(np.array([-ow / 2.0], f32), "nhw"), b.const(np.array([-oh / 2.0], f32), "nhh")
    tx = b.tmp("Add", [b.tmp("Add", [b.tmp("Mul", [a00, nhw]), b.tmp("Mul", [a01, nhh])]), cx], "tx")
    ty = b.tmp("Add", [b.tmp("Add", [b.tmp("Mul", [a10, nhw]), b.tmp("Mul", [a11, nhh])]), cy], "ty")
    zero, one = b.const(np.array([0.0], f32), "zero1"), b.const(np.array([1.0], f32), "one1")
    flat = b.tmp("Concat", [a00, a01, zero, tx, a10, a11, zero, ty, zero, zero, one, zero, zero, zero, zero, one],
                 "mat16", axis=0)
    out = b.out_name(op.outputs[0])
    b.node("Reshape", [flat, b.const(np.array([1, 4, 4], np.int64), "shape_144")], [out])
    b.finish(op, out, "plain")


def _transform_tensor_bilinear(b: _Builder, op: TflOp) -> None:
    """TransformTensorBilinear v2: sample a [1,H,W,C] feature map on an affine grid (half-pixel corrected),
    zero outside [0, W-1] x [0, H-1]. Implemented with GridSample(align_corners=1) and an explicit in-bounds mask."""
    if op.version != 2:
        raise ModelError(f"op {op.index}: TransformTensorBilinear v{op.version} is not supported (only v2)")
    x = b.val(op.inputs[0])
    mat = b.as_plain(b.val(op.inputs[1]))
    _, in_h, in_w, _ = x.shape
    oh, ow = int(op.options["output_height"]), int(op.options["output_width"])
    f32 = np.float32
    yy, xx = np.meshgrid(np.arange(oh, dtype=f32), np.arange(ow, dtype=f32), indexing="ij")
    coords = np.stack([xx.ravel() + 0.5, yy.ravel() + 0.5, np.zeros(oh * ow, f32), np.ones(oh * ow, f32)], 1)
    m2 = b.tmp("Slice", [mat, b.const(np.array([0], np.int64), "s0"), b.const(np.array([2], np.int64), "s2"),
                         b.const(np.array([1], np.int64), "ax1")], "m_rows01")  # [1,2,4]
    m2t = b.tmp("Transpose", [m2], "m_rows01_t", perm=[0, 2, 1])  # [1,4,2]
    tc = b.tmp("MatMul", [b.const(coords[None], "grid_coords"), m2t], "tc")  # [1,oh*ow,2]
    tc = b.tmp("Sub", [tc, b.const(np.array([0.5], f32), "half")], "tc_px")
    lo = b.const(np.array([0.0, 0.0], f32), "lo")
    hi = b.const(np.array([in_w - 1.0, in_h - 1.0], f32), "hi")
    inb = b.tmp("And", [b.tmp("GreaterOrEqual", [tc, lo]), b.tmp("LessOrEqual", [tc, hi])], "inb")  # [1,P,2]
    inb_f = b.tmp("Cast", [inb], "inb_f", to=TensorProto.FLOAT)
    mask = b.tmp("ReduceProd", [inb_f], "mask", axes=[2], keepdims=0)  # [1,P]
    mask = b.tmp("Reshape", [mask, b.const(np.array([1, 1, oh, ow], np.int64), "mask_shape")], "mask4")
    scale = np.array([2.0 / max(in_w - 1, 1), 2.0 / max(in_h - 1, 1)], f32)
    g = b.tmp("Sub", [b.tmp("Mul", [tc, b.const(scale, "gscale")]), b.const(np.array([1.0], f32), "one")], "grid")
    g = b.tmp("Reshape", [g, b.const(np.array([1, oh, ow, 2], np.int64), "grid_shape")], "grid4")
    sampled = b.tmp("GridSample", [b.as_nchw(x), g], "sampled", mode="bilinear", padding_mode="zeros",
                    align_corners=1)
    out = b.out_name(op.outputs[0])
    b.node("Mul", [sampled, mask], [out])
    b.finish(op, out, "nchw")


def _transform_landmarks(b: _Builder, op: TflOp) -> None:
    """TransformLandmarks v2: xy' = M[:2,:2] @ xy + M[:2,3]; z (if present) passes through."""
    if op.version != 2:
        raise ModelError(f"op {op.index}: TransformLandmarks v{op.version} is not supported (only v2)")
    lm_v = b.val(op.inputs[0])
    lm = b.as_plain(lm_v)
    dims = lm_v.shape[-1]
    mat = b.as_plain(b.val(op.inputs[1]))
    i64 = lambda v, n: b.const(np.array(v, np.int64), n)  # noqa: E731
    a = b.tmp("Slice", [mat, i64([0, 0], "b00"), i64([2, 2], "e22"), i64([1, 2], "ax12")], "affine_a")  # [1,2,2]
    at = b.tmp("Transpose", [a], "affine_at", perm=[0, 2, 1])
    t = b.tmp("Slice", [mat, i64([0, 3], "b03"), i64([2, 4], "e24"), i64([1, 2], "ax12")], "affine_t")  # [1,2,1]
    t = b.tmp("Transpose", [t], "affine_tt", perm=[0, 2, 1])  # [1,1,2]
    xy = lm if dims == 2 else b.tmp("Slice", [lm, i64([0], "s0"), i64([2], "s2"), i64([2], "ax2")], "lm_xy")
    res = b.tmp("Add", [b.tmp("MatMul", [xy, at], "lm_rot"), t], "lm_xy_t")
    out = b.out_name(op.outputs[0])
    if dims == 2:
        b.node("Identity", [res], [out])
    else:
        z = b.tmp("Slice", [lm, i64([2], "s2"), i64([3], "s3"), i64([2], "ax2")], "lm_z")
        b.node("Concat", [res, z], [out], axis=2)
    b.finish(op, out, "plain")


_CONVERTERS = {
    "CONV_2D": lambda b, op: _conv(b, op, depthwise=False),
    "DEPTHWISE_CONV_2D": lambda b, op: _conv(b, op, depthwise=True),
    "ADD": lambda b, op: _elementwise(b, op, "Add", op.options.FusedActivationFunction() if op.options else 0),
    "MUL": lambda b, op: _elementwise(b, op, "Mul", op.options.FusedActivationFunction() if op.options else 0),
    "SUB": lambda b, op: _elementwise(b, op, "Sub", op.options.FusedActivationFunction() if op.options else 0),
    "PRELU": _prelu,
    "RELU": lambda b, op: _unary(b, op, "Relu"),
    "RELU6": lambda b, op: _unary(b, op, "Relu6"),
    "LOGISTIC": lambda b, op: _unary(b, op, "Sigmoid"),
    "TANH": lambda b, op: _unary(b, op, "Tanh"),
    "MAX_POOL_2D": lambda b, op: _pool(b, op, "MaxPool"),
    "AVERAGE_POOL_2D": lambda b, op: _pool(b, op, "AveragePool"),
    "PAD": _pad,
    "PADV2": _pad,
    "RESHAPE": _reshape,
    "CONCATENATION": _concat,
    "STRIDED_SLICE": _strided_slice,
    "DEQUANTIZE": _dequantize,
    "CUSTOM:Landmarks2TransformMatrix": _landmarks_to_transform_matrix,
    "CUSTOM:TransformTensorBilinear": _transform_tensor_bilinear,
    "CUSTOM:TransformLandmarks": _transform_landmarks,
}


def supported_ops() -> list[str]:
    return sorted(_CONVERTERS)


def convert_tflite(data: bytes, *, graph_name: str = "model", opset: int = DEFAULT_OPSET,
                   keep_fp16: bool = True, doc: str = "", check: bool = True) -> "onnx.ModelProto":
    """Convert a .tflite flatbuffer (bytes) to an ONNX ModelProto with the same input/output names and shapes."""
    g = read_tflite(data)
    unsupported = sorted({op.kind for op in g.ops if op.kind not in _CONVERTERS})
    if unsupported:
        raise ModelError(f"unsupported tflite operators: {unsupported}")
    b = _Builder(g, keep_fp16)
    for t in g.tensors:
        if t.data is not None:
            b.consts[t.index] = t.data
    reserved = {g.tensors[idx].name for idx in g.outputs}
    b._names.update(reserved)  # graph outputs keep their tflite names; internal values get suffixed names
    graph_inputs = []
    for idx in g.inputs:
        t = g.tensors[idx]
        name = b.uniq(t.name)
        graph_inputs.append(helper.make_tensor_value_info(name, _NP_ONNX[t.dtype], list(t.shape)))
        b.vals[idx] = _Val(name, "plain", t.shape)
    for op in g.ops:
        _CONVERTERS[op.kind](b, op)
    graph_outputs = []
    for idx in g.outputs:
        t = g.tensors[idx]
        v = b.val(idx)
        src = b.as_plain(v)
        out_name = t.name
        b.node("Identity", [src], [out_name])
        graph_outputs.append(helper.make_tensor_value_info(out_name, _NP_ONNX[t.dtype], list(t.shape)))
    graph = helper.make_graph(b.nodes, graph_name, graph_inputs, graph_outputs, initializer=b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="dms.runtime.face.tflite_to_onnx")
    model.ir_version = 8  # loadable by onnxruntime >= 1.12
    model.doc_string = doc
    if check:
        onnx.checker.check_model(model, full_check=True)
    log.info("converted %s: %d tflite ops -> %d onnx nodes, %d initializers", graph_name, len(g.ops), len(b.nodes),
             len(b.inits))
    return model


# ----------------------------------------------------------------------------------------------------------------
# TFLite reference (no TensorFlow): mediapipe's bundled interpreter behind a tiny calculator graph
# ----------------------------------------------------------------------------------------------------------------
class TfliteReference:
    """Run a .tflite model with the TFLite interpreter bundled in mediapipe (``InferenceCalculator``, plain TFLite
    CPU kernels, MediaPipe custom ops registered), fed by ``ImageToTensorCalculator``.

    ``run(image_rgb)`` takes an RGB uint8 image of exactly the model's input size (so the image-to-tensor step is
    the identity: value = lo + pixel / 255 * (hi - lo)) and returns the model outputs as flat float32 arrays in
    graph output order. Used for converter parity checks only; needs mediapipe.
    """

    def __init__(self, model_path: str, n_outputs: int, size: int, value_range: tuple[float, float]):
        import os

        import mediapipe  # noqa: F401  (registers the calculators)
        from google.protobuf import text_format
        from mediapipe.calculators.core import split_vector_calculator_pb2  # noqa: F401
        from mediapipe.calculators.tensor import image_to_tensor_calculator_pb2  # noqa: F401
        from mediapipe.calculators.tensor import inference_calculator_pb2  # noqa: F401
        from mediapipe.framework import calculator_pb2
        from mediapipe.python import packet_creator, packet_getter
        from mediapipe.python._framework_bindings import calculator_graph, image_frame

        self._pc, self._pg, self._if, self._cg = packet_creator, packet_getter, image_frame, calculator_graph
        self.size, self.n_outputs = size, n_outputs
        lo, hi = value_range
        outs = "\n".join(f'output_stream: "out{i}"' for i in range(n_outputs))
        split = "\n".join(f'output_stream: "t{i}"' for i in range(n_outputs))
        ranges = " ".join(f"ranges {{ begin: {i} end: {i + 1} }}" for i in range(n_outputs))
        floats = "\n".join(f'node {{ calculator: "TensorsToFloatsCalculator" input_stream: "TENSORS:t{i}" '
                           f'output_stream: "FLOATS:out{i}" }}' for i in range(n_outputs))
        cfg = f'''
input_stream: "image"
{outs}
node {{ calculator: "ImageToTensorCalculator" input_stream: "IMAGE:image" output_stream: "TENSORS:in"
  options {{ [mediapipe.ImageToTensorCalculatorOptions.ext] {{ output_tensor_width: {size}
    output_tensor_height: {size} output_tensor_float_range {{ min: {lo} max: {hi} }} }} }} }}
node {{ calculator: "TfLiteCustomOpResolverCalculator" output_side_packet: "OP_RESOLVER:op_resolver" }}
node {{ calculator: "InferenceCalculator" input_stream: "TENSORS:in" output_stream: "TENSORS:out"
  input_side_packet: "OP_RESOLVER:op_resolver"
  options {{ [mediapipe.InferenceCalculatorOptions.ext] {{ model_path: "{os.path.abspath(model_path)}"
    delegate {{ tflite {{}} }} }} }} }}
node {{ calculator: "SplitTensorVectorCalculator" input_stream: "out" {split}
  options {{ [mediapipe.SplitVectorCalculatorOptions.ext] {{ {ranges} }} }} }}
{floats}
'''
        self._cfg = text_format.Parse(cfg, calculator_pb2.CalculatorGraphConfig())

    def run(self, image_rgb: np.ndarray) -> list[np.ndarray]:
        if image_rgb.shape != (self.size, self.size, 3) or image_rgb.dtype != np.uint8:
            raise ValueError(f"reference input must be {self.size}x{self.size}x3 uint8")
        graph = self._cg.CalculatorGraph(graph_config=self._cfg)
        res: dict[str, np.ndarray] = {}
        for i in range(self.n_outputs):
            graph.observe_output_stream(
                f"out{i}", lambda name, p: res.__setitem__(name, np.array(self._pg.get_float_list(p), np.float32)))
        graph.start_run()
        frame = self._pc.create_image_frame(image_format=self._if.ImageFormat.SRGB,
                                            data=np.ascontiguousarray(image_rgb))
        graph.add_packet_to_input_stream("image", frame.at(0))
        graph.close()
        return [res[f"out{i}"] for i in range(self.n_outputs)]
