"""Tiny contract-following ONNX models for tests and for `dms bench` when no shipped models exist.

Built with ``onnx.helper`` (no torch). Each model follows the model I/O contract (input ``image`` float32 NCHW,
dynamic batch; the task's named outputs) and is written with a ``manifest.json`` whose sha256 matches, so it goes
through exactly the validation shipped models go through.

* ``kind="probe"``: outputs are simple, documented functions of the mean input value ``m`` (use
  ``normalize: fixed`` preprocessing so ``m`` follows the crop brightness): openness = sigmoid(8 (m - 0)),
  closed_prob = 1 - openness, gaze_deg = (20 m, -10 m), ... — lets tests assert behaviour through the pipeline.
* ``kind="conv"``: a small random-weight CNN of realistic cost (two strided 3x3 convs + GAP + linear heads), used as
  a stand-in by the benchmark.
* ``nan=True``: every output is NaN (fault-handling tests).

Imports ``onnx`` lazily (available with the train/dev extras).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import numpy as np

from dms.contracts import ModelManifest, TensorSpec
from dms.data.crops import get_crop

OPSET = 17

TASK_CROP = {"eye_state": "eye_left", "yawn": "mouth", "gaze": "eye_left", "hands": "frame"}
TASK_SIZE = {"eye_state": (32, 32), "yawn": (48, 48), "gaze": (48, 48), "hands": (96, 96)}


def _outputs(task: str) -> list[tuple[str, int]]:
    return {"eye_state": [("openness", 1), ("closed_prob", 1)],
            "yawn": [("mouth_openness", 1), ("yawn_prob", 1)],
            "gaze": [("gaze_deg", 2)],
            "hands": [("on_wheel_prob", 2), ("phone_prob", 1)]}[task]


def build_graph(task: str, size: tuple[int, int], kind: str = "probe", nan: bool = False,
                rng: Optional[np.random.Generator] = None):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    w, h = size
    nodes, inits = [], []

    def const(name: str, arr) -> str:
        inits.append(numpy_helper.from_array(np.asarray(arr, dtype=np.float32), name))
        return name

    inp = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, h, w])
    if kind == "conv":
        rng = rng or np.random.default_rng(0)
        c1, c2 = 16, 32
        const("w1", rng.normal(0, 0.3, (c1, 1, 3, 3)))
        const("b1", np.zeros(c1))
        const("w2", rng.normal(0, 0.1, (c2, c1, 3, 3)))
        const("b2", np.zeros(c2))
        nodes += [helper.make_node("Conv", ["image", "w1", "b1"], ["c1"], strides=[2, 2], pads=[1, 1, 1, 1]),
                  helper.make_node("Relu", ["c1"], ["r1"]),
                  helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], strides=[2, 2], pads=[1, 1, 1, 1]),
                  helper.make_node("Relu", ["c2"], ["r2"]),
                  helper.make_node("GlobalAveragePool", ["r2"], ["gap"]),
                  helper.make_node("Flatten", ["gap"], ["feat"], axis=1)]
        n_out = sum(wd for _, wd in _outputs(task))
        const("wh", rng.normal(0, 0.2, (c2, n_out)))
        const("bh", np.zeros(n_out))
        nodes.append(helper.make_node("Gemm", ["feat", "wh", "bh"], ["logits"]))
        base = "logits"
    else:
        nodes.append(helper.make_node("ReduceMean", ["image"], ["m4"], axes=[1, 2, 3], keepdims=1))
        nodes.append(helper.make_node("Flatten", ["m4"], ["m"], axis=1))     # [N,1]
        base = "m"
    if nan:
        const("nan", [float("nan")])
        nodes.append(helper.make_node("Mul", [base, "nan"], ["base_nan"]))
        base = "base_nan"

    outs = []
    col = 0
    for name, width in _outputs(task):
        if kind == "conv":
            inits.append(numpy_helper.from_array(np.array([col], np.int64), f"{name}_starts"))
            inits.append(numpy_helper.from_array(np.array([col + width], np.int64), f"{name}_ends"))
            inits.append(numpy_helper.from_array(np.array([1], np.int64), f"{name}_axes"))
            nodes.append(helper.make_node("Slice", [base, f"{name}_starts", f"{name}_ends", f"{name}_axes"],
                                          [f"{name}_raw"]))
            col += width
            src = f"{name}_raw"
            if name == "gaze_deg":
                nodes.append(helper.make_node("Mul", [src, const(f"{name}_k", [30.0])], [name]))
            else:
                nodes.append(helper.make_node("Sigmoid", [src], [name]))
        else:
            if name in ("openness", "mouth_openness", "yawn_prob", "phone_prob"):
                k = {"openness": 8.0, "mouth_openness": 8.0, "yawn_prob": 8.0, "phone_prob": -8.0}[name]
                nodes.append(helper.make_node("Mul", [base, const(f"{name}_k", [k])], [f"{name}_z"]))
                nodes.append(helper.make_node("Sigmoid", [f"{name}_z"], [name]))
            elif name == "closed_prob":
                nodes.append(helper.make_node("Sub", [const("one", [1.0]), "openness"], [name]))
            elif name == "gaze_deg":
                nodes.append(helper.make_node("Mul", [base, const("gaze_k", [[20.0, -10.0]])], [name]))
            elif name == "on_wheel_prob":
                nodes.append(helper.make_node("Mul", [base, const("wheel_k", [[6.0, 6.0]])], ["wheel_z"]))
                nodes.append(helper.make_node("Sigmoid", ["wheel_z"], [name]))
        outs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", width]))
    graph = helper.make_graph(nodes, f"dms_test_{task}", [inp], outs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="dms.testing")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def write_model(models_dir: str | Path, task: str, kind: str = "probe", nan: bool = False,
                normalize: str = "fixed", mirror_side: Optional[str] = None, size: Optional[tuple[int, int]] = None,
                rng: Optional[np.random.Generator] = None) -> Path:
    """Write ``models_dir/<task>/model.onnx`` + ``manifest.json`` (sha256 of the file). Returns the task dir."""
    import onnx
    size = tuple(size or TASK_SIZE[task])
    d = Path(models_dir) / task
    d.mkdir(parents=True, exist_ok=True)
    model = build_graph(task, size, kind=kind, nan=nan, rng=rng)
    path = d / "model.onnx"
    onnx.save(model, str(path))
    crop_name = TASK_CROP[task]
    if crop_name == "frame":
        crop = {"name": "frame", "out_size": list(size)}
    else:
        crop = get_crop(crop_name).with_size(*size).to_dict()
    pre = {"size": list(size), "channels": 1, "normalize": normalize}
    if normalize == "fixed":
        pre.update(mean=0.5, std=0.25)
    if task in ("eye_state", "gaze"):
        pre["mirror_side"] = mirror_side
    manifest = ModelManifest(
        name=f"test_{task}", version="0.0.1", task=task,
        inputs=(TensorSpec("image", ("N", 1, size[1], size[0])),),
        outputs=tuple(TensorSpec(n, ("N", wd)) for n, wd in _outputs(task)),
        pixel_format="GRAY8", preprocessing=pre, crop=crop, sha256=ModelManifest.file_sha256(path),
        training={"kind": f"dms.runtime.testing:{kind}", "nan": nan})
    (d / "manifest.json").write_text(json.dumps(manifest.to_dict(), indent=1, sort_keys=True))
    return d


def write_model_set(models_dir: str | Path, tasks=("eye_state", "yawn", "gaze", "hands"), **kw) -> Path:
    for t in tasks:
        write_model(models_dir, t, **kw)
    return Path(models_dir)
