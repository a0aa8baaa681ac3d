"""Load an exported model and prove its manifest matches it — the runtime's gate before the first frame.

No torch, no onnx package: onnxruntime + stdlib + dms.contracts only.

Artefact layout: ``DIR/model.onnx`` + sidecar ``DIR/manifest.json``; ``DIR/model.int8.onnx`` + sidecar
``DIR/manifest.int8.json``. The manifest is also embedded in the ONNX ``metadata_props["dms.manifest"]`` with its
``sha256`` blank; the sidecar's ``sha256`` is of the ONNX file bytes. Checks (each failure is a ModelError naming
the problem): file present and parseable by onnxruntime; embedded manifest present and valid; sidecar (when
present) equal to the embedded one except ``sha256``, and ``sha256`` equal to the file's; input/output names,
shapes and dtypes of the graph equal to the manifest's; outputs equal to the task's contract.
"""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Optional, Sequence

from dms.contracts.base import SchemaError
from dms.contracts.manifest import ModelManifest
from dms.errors import ModelError

log = logging.getLogger(__name__)

METADATA_KEY = "dms.manifest"

# the model I/O contract: task -> {output name: width}
TASK_OUTPUTS: dict[str, dict[str, int]] = {
    "eye_state": {"openness": 1, "closed_prob": 1},
    "yawn": {"mouth_openness": 1, "yawn_prob": 1},
    "gaze": {"gaze_deg": 2},
    "hands": {"on_wheel_prob": 2, "phone_prob": 1},
}
INPUT_NAME = "image"

_ORT_DTYPES = {"tensor(float)": "float32", "tensor(float16)": "float16", "tensor(double)": "float64",
               "tensor(uint8)": "uint8", "tensor(int8)": "int8", "tensor(int64)": "int64", "tensor(int32)": "int32"}


def resolve_model_path(path: str | Path) -> Path:
    """A model folder -> its ``model.onnx``; a file is returned as is."""
    p = Path(path)
    if p.is_dir():
        p = p / "model.onnx"
    return p


def sidecar_path(onnx_path: str | Path) -> Path:
    """``model.onnx`` -> ``manifest.json``; ``model.int8.onnx`` -> ``manifest.int8.json``; ``x.onnx`` ->
    ``x.manifest.json``."""
    p = Path(onnx_path)
    stem = p.name[: -len(".onnx")] if p.name.endswith(".onnx") else p.stem
    if stem == "model":
        return p.with_name("manifest.json")
    if stem.startswith("model."):
        return p.with_name(f"manifest.{stem[len('model.'):]}.json")
    return p.with_name(f"{stem}.manifest.json")


def _is_dynamic(dim) -> bool:
    return dim is None or isinstance(dim, str) or (isinstance(dim, int) and dim < 0)


def _check_tensors(kind: str, graph: Sequence, specs: Sequence, problems: list[str]) -> None:
    g = {t.name: t for t in graph}
    m = {s.name: s for s in specs}
    if set(g) != set(m):
        problems.append(f"{kind} names differ: graph {sorted(g)} vs manifest {sorted(m)}")
    for name in sorted(set(g) & set(m)):
        gt, ms = g[name], m[name]
        dt = _ORT_DTYPES.get(gt.type, gt.type)
        if dt != ms.dtype:
            problems.append(f"{kind} {name!r}: dtype {dt} in the graph, {ms.dtype} in the manifest")
        gs, mshape = list(gt.shape), list(ms.shape)
        if len(gs) != len(mshape):
            problems.append(f"{kind} {name!r}: rank {len(gs)} in the graph, {len(mshape)} in the manifest "
                            f"({gs} vs {mshape})")
            continue
        for i, (a, b) in enumerate(zip(gs, mshape)):
            if _is_dynamic(b) != _is_dynamic(a) or (not _is_dynamic(a) and int(a) != int(b)):
                problems.append(f"{kind} {name!r}: dim {i} is {a} in the graph, {b} in the manifest")


def check_manifest_against_session(session, manifest: ModelManifest) -> None:
    """Raise ModelError listing every mismatch between the graph and the manifest / task contract."""
    problems: list[str] = []
    _check_tensors("input", session.get_inputs(), manifest.inputs, problems)
    _check_tensors("output", session.get_outputs(), manifest.outputs, problems)
    if [i.name for i in manifest.inputs] != [INPUT_NAME]:
        problems.append(f"inputs must be exactly [{INPUT_NAME!r}], manifest has {[i.name for i in manifest.inputs]}")
    else:
        shp = list(manifest.inputs[0].shape)
        size = manifest.preprocessing.get("size")
        if len(shp) != 4 or not _is_dynamic(shp[0]):
            problems.append(f"input 'image' must be NCHW with a dynamic batch, got {shp}")
        elif size and [int(shp[3]), int(shp[2])] != [int(v) for v in size]:
            problems.append(f"preprocessing size {size} (w, h) does not match input shape {shp}")
        elif int(shp[1]) != int(manifest.preprocessing.get("channels", 1)):
            problems.append(f"preprocessing channels {manifest.preprocessing.get('channels', 1)} do not match "
                            f"input shape {shp}")
    want = TASK_OUTPUTS[manifest.task]
    have = {o.name: (o.shape[-1] if o.shape else None) for o in manifest.outputs}
    if set(have) != set(want):
        problems.append(f"task {manifest.task} needs outputs {sorted(want)}, manifest has {sorted(have)}")
    else:
        for n, w in want.items():
            if have[n] != w:
                problems.append(f"output {n!r} must have width {w} for task {manifest.task}, manifest has {have[n]}")
    if problems:
        raise ModelError(f"manifest {manifest.ref} does not match the model graph: " + "; ".join(problems))


def _parse_manifest(text: str, where: str) -> ModelManifest:
    try:
        return ModelManifest.from_dict(json.loads(text))
    except json.JSONDecodeError as e:
        raise ModelError(f"{where}: manifest is not valid JSON: {e}") from e
    except (SchemaError, ValueError, TypeError) as e:
        raise ModelError(f"{where}: invalid manifest: {e}") from e


def read_embedded_manifest(session, where: str) -> ModelManifest:
    meta = session.get_modelmeta().custom_metadata_map
    if METADATA_KEY not in meta:
        raise ModelError(f"{where}: no embedded manifest (ONNX metadata '{METADATA_KEY}'); not a dms export")
    return _parse_manifest(meta[METADATA_KEY], f"{where} (embedded)")


def load_and_validate(path: str | Path, providers: Optional[Sequence[str]] = None,
                      expected_task: Optional[str] = None, require_sidecar: bool = False):
    """Open ``path`` (a model folder or an ``.onnx`` file) with onnxruntime and validate it against its manifest.

    Returns ``(session, manifest)``; the manifest is the sidecar's (with the verified sha256) when present, else
    the embedded one. Raises ModelError naming the problem.
    """
    import onnxruntime as ort

    p = resolve_model_path(path)
    if not p.is_file():
        raise ModelError(f"{p}: model file not found")
    data = p.read_bytes()
    if not data:
        raise ModelError(f"{p}: model file is empty")
    so = ort.SessionOptions()
    so.log_severity_level = 3
    try:
        session = ort.InferenceSession(data, sess_options=so,
                                       providers=list(providers) if providers else ["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001 — onnxruntime raises several types for corrupt files
        raise ModelError(f"{p}: corrupt or unsupported ONNX file: {str(e).splitlines()[0][:300]}") from e
    embedded = read_embedded_manifest(session, str(p))
    sc = sidecar_path(p)
    manifest = embedded
    if sc.is_file():
        side = _parse_manifest(sc.read_text(), str(sc))
        a, b = side.to_dict(), embedded.to_dict()
        a.pop("sha256"), b.pop("sha256")
        if a != b:
            diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            raise ModelError(f"{sc} does not match the manifest embedded in {p.name}: fields {diff} differ")
        digest = hashlib.sha256(data).hexdigest()
        if side.sha256 != digest:
            raise ModelError(f"{p}: sha256 {digest[:12]}… does not match its manifest ({side.sha256[:12] or 'empty'}"
                             f"…): the file was modified after export (tampered or corrupt)")
        manifest = side
    elif require_sidecar:
        raise ModelError(f"{p}: sidecar manifest {sc.name} not found")
    else:
        log.warning("%s: no sidecar %s; integrity (sha256) not verified", p, sc.name)
    if expected_task and manifest.task != expected_task:
        raise ModelError(f"{p}: is a {manifest.task} model, expected {expected_task}")
    check_manifest_against_session(session, manifest)
    return session, manifest
