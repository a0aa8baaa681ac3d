"""Model sessions built from manifests ("no manifest, no model").

``models/<task>/model.onnx`` (+ optional ``model.int8.onnx``) with ``manifest.json`` (dms.contracts.ModelManifest).
Before the first frame every model is validated: the manifest parses, the file's sha256 matches, the manifest's
inputs/outputs match the ONNX session's names, ranks, static dimensions and dtypes, the preprocessing and crop are
described, and the task's contract outputs exist. Any mismatch is a :class:`dms.errors.ModelError` naming the
problem. A missing task directory is not an error (that signal is unavailable); a task directory with a missing or
tampered file is.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from dms.contracts import ModelManifest
from dms.contracts.base import SchemaError
from dms.contracts.manifest import TASKS
from dms.errors import ModelError

log = logging.getLogger(__name__)

# The model I/O contract shared with dms.train/dms.export: task -> (crop names allowed, required outputs + widths).
CONTRACT = {
    "eye_state": {"crops": ("eye_left", "eye_right"), "outputs": {"openness": 1, "closed_prob": 1}},
    "yawn": {"crops": ("mouth",), "outputs": {"mouth_openness": 1, "yawn_prob": 1}},
    "gaze": {"crops": ("eye_left", "eye_right"), "outputs": {"gaze_deg": 2}},
    "hands": {"crops": ("frame",), "outputs": {"on_wheel_prob": 2, "phone_prob": 1}},
}
INPUT_NAME = "image"
MANIFEST_META_KEY = "dms.manifest"

_ORT_TYPES = {"tensor(float)": "float32", "tensor(float16)": "float16", "tensor(double)": "float64",
              "tensor(uint8)": "uint8", "tensor(int8)": "int8", "tensor(int64)": "int64", "tensor(int32)": "int32"}


def _static(dim) -> Optional[int]:
    return int(dim) if isinstance(dim, (int, np.integer)) and int(dim) > 0 else None


def verify_sha256(path: Path, manifest: ModelManifest) -> None:
    """The file's bytes hash to ``manifest.sha256`` (the dms.export convention: the sidecar carries the file's
    sha256; the copy embedded in the file carries it blank, as a file cannot contain its own hash)."""
    if not manifest.sha256:
        raise ModelError(f"{path}: manifest has no sha256; refusing an unverifiable model")
    digest = ModelManifest.file_sha256(path)
    if digest != manifest.sha256:
        raise ModelError(f"{path}: sha256 mismatch (file {digest[:12]}..., manifest {manifest.sha256[:12]}...): "
                         "the model file was modified or does not belong to this manifest")


def load_manifest(task_dir: Path) -> ModelManifest:
    mf = task_dir / "manifest.json"
    if not mf.is_file():
        raise ModelError(f"{task_dir}: no manifest.json (no manifest, no model)")
    try:
        return ModelManifest.from_dict(json.loads(mf.read_text()))
    except (json.JSONDecodeError, SchemaError, ValueError, TypeError) as e:
        raise ModelError(f"{mf}: invalid manifest: {e}") from e


def check_contract(manifest: ModelManifest, where: str) -> None:
    """The manifest describes what the runtime needs for its task (crop, preprocessing, outputs)."""
    c = CONTRACT[manifest.task]
    if not manifest.preprocessing or "size" not in manifest.preprocessing:
        raise ModelError(f"{where}: manifest.preprocessing must describe at least 'size'")
    crop_name = (manifest.crop or {}).get("name")
    if crop_name not in c["crops"]:
        raise ModelError(f"{where}: manifest.crop.name {crop_name!r} is not valid for task {manifest.task} "
                         f"(expected one of {c['crops']})")
    mirror = manifest.preprocessing.get("mirror_side")
    if mirror not in (None, "left", "right"):
        raise ModelError(f"{where}: preprocessing.mirror_side must be 'left', 'right' or null, got {mirror!r}")
    ins = [t.name for t in manifest.inputs]
    if ins != [INPUT_NAME]:
        raise ModelError(f"{where}: manifest inputs must be exactly ['{INPUT_NAME}'], got {ins}")
    outs = {t.name: t for t in manifest.outputs}
    for name, width in c["outputs"].items():
        if name not in outs:
            raise ModelError(f"{where}: task {manifest.task} needs output {name!r}; manifest has {sorted(outs)}")
        shape = tuple(outs[name].shape)
        if len(shape) != 2 or (_static(shape[1]) not in (None, width)):
            raise ModelError(f"{where}: output {name!r} must be [N,{width}], manifest says {list(shape)}")


def check_session(session, manifest: ModelManifest, where: str) -> None:
    """Manifest tensors == session tensors (names, rank, static dims, dtype)."""
    def compare(kind: str, specs, nodes) -> None:
        by_name = {n.name: n for n in nodes}
        if set(by_name) != {s.name for s in specs}:
            raise ModelError(f"{where}: {kind} names differ: graph {sorted(by_name)}, manifest "
                             f"{sorted(s.name for s in specs)}")
        for s in specs:
            n = by_name[s.name]
            dtype = _ORT_TYPES.get(n.type, n.type)
            if dtype != s.dtype:
                raise ModelError(f"{where}: {kind} {s.name!r} dtype: graph {dtype}, manifest {s.dtype}")
            if len(n.shape) != len(s.shape):
                raise ModelError(f"{where}: {kind} {s.name!r} rank: graph {list(n.shape)}, manifest {list(s.shape)}")
            for i, (g, m) in enumerate(zip(n.shape, s.shape)):
                gs, ms = _static(g), _static(m)
                if gs is not None and ms is not None and gs != ms:
                    raise ModelError(f"{where}: {kind} {s.name!r} dim {i}: graph {list(n.shape)}, manifest "
                                     f"{list(s.shape)}")
                if i == 0 and gs is not None and gs != 1:
                    pass  # a fixed batch > 1 is unusual but valid; the runtime pads to it (see TaskModel.run)
    compare("input", manifest.inputs, session.get_inputs())
    compare("output", manifest.outputs, session.get_outputs())
    in_shape = session.get_inputs()[0].shape
    if len(in_shape) != 4:
        raise ModelError(f"{where}: input 'image' must be NCHW, graph has {list(in_shape)}")
    ch = int(manifest.preprocessing.get("channels", 1))
    if _static(in_shape[1]) not in (None, ch):
        raise ModelError(f"{where}: graph input has {in_shape[1]} channels, preprocessing.channels is {ch}")
    w, h = manifest.preprocessing["size"]
    if (_static(in_shape[2]) not in (None, int(h))) or (_static(in_shape[3]) not in (None, int(w))):
        raise ModelError(f"{where}: graph input {list(in_shape)} does not match preprocessing.size {[w, h]}")


@dataclass
class TaskModel:
    """One validated model: its manifest, onnxruntime session and what the runtime needs to feed it."""
    task: str
    path: Path
    manifest: ModelManifest
    session: object
    output_names: list[str]
    fixed_batch: Optional[int] = None

    @property
    def preprocessing(self) -> dict:
        return self.manifest.preprocessing

    @property
    def mirror_side(self) -> Optional[str]:
        return self.manifest.preprocessing.get("mirror_side")

    def run(self, x: np.ndarray) -> dict[str, np.ndarray]:
        n = x.shape[0]
        if self.fixed_batch and self.fixed_batch != n:   # graphs exported with a static batch: run per item
            outs = [self.session.run(self.output_names, {INPUT_NAME: x[i:i + 1]}) for i in range(n)]
            return {k: np.concatenate([o[j] for o in outs]) for j, k in enumerate(self.output_names)}
        res = self.session.run(self.output_names, {INPUT_NAME: x})
        return dict(zip(self.output_names, res))


def make_session(path: Path, providers: Sequence[str] = ("CPUExecutionProvider",), intra_op_threads: int = 1,
                 inter_op_threads: int = 1):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = int(intra_op_threads)
    so.inter_op_num_threads = int(inter_op_threads)
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    avail = set(ort.get_available_providers())
    use = [p for p in providers if p in avail]
    if not use:
        raise ModelError(f"none of the requested onnxruntime providers {list(providers)} is available "
                         f"(available: {sorted(avail)})")
    try:
        return ort.InferenceSession(str(path), sess_options=so, providers=use)
    except Exception as e:  # noqa: BLE001 — onnxruntime raises its own exception types
        raise ModelError(f"{path}: onnxruntime cannot load the model: {e}") from e


def load_task_model(task_dir: str | Path, providers: Sequence[str] = ("CPUExecutionProvider",),
                    intra_op_threads: int = 1, inter_op_threads: int = 1, prefer_int8: bool = False) -> TaskModel:
    """Load and validate one model directory; raises ModelError naming the problem."""
    task_dir = Path(task_dir)
    manifest = load_manifest(task_dir)
    path = task_dir / "model.onnx"
    if prefer_int8 and (task_dir / "model.int8.onnx").is_file():
        int8_mf = task_dir / "manifest.int8.json"
        if int8_mf.is_file():
            try:
                manifest = ModelManifest.from_dict(json.loads(int8_mf.read_text()))
                path = task_dir / "model.int8.onnx"
            except (json.JSONDecodeError, SchemaError, ValueError, TypeError) as e:
                raise ModelError(f"{int8_mf}: invalid manifest: {e}") from e
        else:
            log.warning("%s: model.int8.onnx has no manifest.int8.json; using the FP32 model", task_dir)
    where = str(path)
    if not path.is_file():
        raise ModelError(f"{path}: model file missing (manifest {manifest.ref} present)")
    if manifest.task != task_dir.name and task_dir.name in TASKS:
        raise ModelError(f"{where}: manifest task {manifest.task!r} in folder {task_dir.name!r}")
    check_contract(manifest, where)
    verify_sha256(path, manifest)
    session = make_session(path, providers, intra_op_threads, inter_op_threads)
    check_session(session, manifest, where)
    meta = session.get_modelmeta().custom_metadata_map or {}
    if MANIFEST_META_KEY in meta:
        try:
            emb = json.loads(meta[MANIFEST_META_KEY])
        except json.JSONDecodeError as e:
            raise ModelError(f"{where}: embedded manifest is not JSON: {e}") from e
        mine = manifest.to_dict()
        for key in ("task", "inputs", "outputs", "preprocessing", "crop"):
            if key in emb and emb[key] != mine.get(key):
                raise ModelError(f"{where}: embedded manifest field {key!r} differs from manifest.json")
    fixed = _static(session.get_inputs()[0].shape[0])
    return TaskModel(task=manifest.task, path=path, manifest=manifest, session=session,
                     output_names=[o.name for o in session.get_outputs()], fixed_batch=fixed)


def load_model_set(models_dir: str | Path | None, tasks: Sequence[str] = TASKS, **session_kwargs) -> dict[str, TaskModel]:
    """Load every task present under ``models_dir``. Missing tasks are logged once and skipped; present but
    broken ones raise ModelError (before the first frame)."""
    out: dict[str, TaskModel] = {}
    if models_dir is None:
        return out
    root = Path(models_dir)
    if not root.exists():
        log.warning("model directory %s does not exist: no model signals available", root)
        return out
    for task in tasks:
        if task not in TASKS:
            raise ModelError(f"unknown task {task!r}; known: {TASKS}")
        d = root / task
        if not d.is_dir() or not any(d.iterdir()):
            log.info("no %s model in %s: that signal is unavailable", task, root)
            continue
        out[task] = load_task_model(d, **session_kwargs)
        log.info("loaded %s model %s (%s)", task, out[task].manifest.ref, out[task].path.name)
    return out
