"""Checkpoint -> ONNX + manifest (+ INT8), with the parity check. Writes atomically: everything is produced in a
temporary folder and moved into ``out`` only when every check passed, so a failed export overwrites nothing."""
from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Optional

import numpy as np

from dms.contracts.manifest import ModelManifest
from dms.errors import DataError, ModelError
from dms.export.validate import METADATA_KEY, load_and_validate, sidecar_path
from dms.train.taskdefs import TaskDef, get_task

log = logging.getLogger(__name__)

OPSET = 17
PARITY_ATOL = {"eye_state": 1e-4, "yawn": 1e-4, "hands": 1e-4, "gaze": 2e-3}   # gaze is in degrees


#: ``dms export tta=``: "flip" = the graph averages the crop and its mirror image (dms.train.models.FlipTTA),
#: "none" = one pass; default: the task's ``TaskDef.tta_flip``
TTA_MODES = ("flip", "none")
TTA_SEMANTICS = {"flip": "flip: every output is the mean of the model on the input and on its horizontal mirror "
                         "image, computed inside this graph",
                 "none": "none: one pass"}


def resolve_tta(td: TaskDef, tta: Optional[str]) -> str:
    if tta is None:
        return "flip" if td.tta_flip else "none"
    if tta not in TTA_MODES:
        raise DataError(f"tta must be one of {TTA_MODES}, got {tta!r}")
    if tta == "flip" and not td.tta_flip_allowed:
        raise DataError(f"tta=flip is not defined for {td.name}: a mirrored {td.crop} is not the same scene "
                        "(a side view mirrored puts the driver in the passenger seat)")
    return tta


def check_ensemble_members(members: list[dict], paths: list[str]) -> None:
    """Ensemble members must agree on everything the graph's input and outputs mean: task, input size,
    preprocessing, crop and (gaze) frame. A mismatch is a DataError naming the member and the field."""
    from dms.train.trainer import input_difference
    if len(set(paths)) != len(paths):
        raise DataError(f"ensemble lists a model twice: {paths}")
    for p, m in zip(paths[1:], members[1:]):
        diff = input_difference(members[0], m)
        if diff is not None:
            key, a, b = diff
            raise DataError(f"ensemble member {p}: {key} {b!r} differs from the first model's {a!r} ({paths[0]})")


def build_manifest(info: dict, precision: str = "fp32", metrics: Optional[dict] = None,
                   tta: str = "none") -> ModelManifest:
    td = get_task(info["task"])
    w, h = info["input_size"]
    return ModelManifest(
        name=info["name"], version=info["version"], task=td.name,
        inputs=(td.input_spec((w, h)),), outputs=td.output_specs(), pixel_format="GRAY8",
        preprocessing=info["preprocessing"], crop=info["crop"], labels=td.labels,
        output_semantics={n: d for n, _, d in td.outputs} | (
            {"gaze_frame": info.get("gaze_frame", "camera")} if td.name == "gaze" else {}) | (   # pre-0.3: camera
            {"test_time_augmentation": TTA_SEMANTICS[tta] + (" (the mirror image's yaw negated)"
                                                             if td.flip_output_negates else "")}
            if tta != "none" else {}) | (
            {"ensemble": f"every output is the mean of {len(info['ensemble'])} models' outputs (training.ensemble "
                         "lists them; the first one's weights ship as model.pt)"} if info.get("ensemble") else {}),
        sha256="", precision=precision,
        training={k: v for k, v in info["training"].items()} | {"arch": info["arch"]} | (
            {"ensemble": info["ensemble"]} if info.get("ensemble") else {}),
        metrics=metrics if metrics is not None else dict(info.get("metrics") or {}))


def embed_and_write(model_proto, manifest: ModelManifest, onnx_path: Path) -> ModelManifest:
    """Embed ``manifest`` (sha256 blank) into the model, write it, return the manifest with the file's sha256 and
    write the sidecar. ``model_proto`` is an ``onnx.ModelProto``."""
    blank = ModelManifest.from_dict(manifest.to_dict() | {"sha256": ""})
    del model_proto.metadata_props[:]
    entry = model_proto.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, blank.to_json()
    data = model_proto.SerializeToString()
    onnx_path.write_bytes(data)
    final = ModelManifest.from_dict(blank.to_dict() | {"sha256": hashlib.sha256(data).hexdigest()})
    sidecar_path(onnx_path).write_text(json.dumps(final.to_dict(), indent=1, sort_keys=True))
    return final


def update_metrics(model_dir: str | Path, metrics: dict, onnx_name: str = "model.onnx") -> ModelManifest:
    """Merge ``metrics`` into an exported model's manifest (re-embedding it and refreshing sha256), atomically."""
    import onnx
    p = Path(model_dir) / onnx_name
    _, man = load_and_validate(p)
    proto = onnx.load_from_string(p.read_bytes())
    new = ModelManifest.from_dict(man.to_dict() | {"metrics": {**man.metrics, **metrics}})
    with tempfile.TemporaryDirectory(dir=p.parent, prefix=".tmp-update-") as tmp:
        tp = Path(tmp) / onnx_name
        final = embed_and_write(proto, new, tp)
        load_and_validate(tp)
        os.replace(sidecar_path(tp), sidecar_path(p))
        os.replace(tp, p)
    return final


def _torch_to_onnx(model, td: TaskDef, input_size) -> bytes:
    import torch
    w, h = input_size
    buf = io.BytesIO()
    names = [n for n, _, _ in td.outputs]
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            _export_call(torch, model, h, w, buf, names)
        except Exception as e:  # noqa: BLE001 — exporter errors are many types; report them as a model problem
            raise ModelError(f"ONNX export of {td.name} ({type(model).__name__}) failed: "
                             f"{str(e).splitlines()[0][:300]}") from e
    return buf.getvalue()


def _export_call(torch, model, h, w, buf, names) -> None:
    # the TorchScript exporter: exact, and needs no onnxscript (not installed)
    torch.onnx.export(model, (torch.zeros(1, 1, h, w),), buf, dynamo=False, opset_version=OPSET,
                      input_names=["image"], output_names=names,
                      dynamic_axes={"image": {0: "N"}, **{n: {0: "N"} for n in names}}, do_constant_folding=True)


def _run_ort(path_or_session, x: np.ndarray, td: TaskDef) -> dict[str, np.ndarray]:
    sess = path_or_session
    names = [n for n, _, _ in td.outputs]
    outs = []
    for i in range(0, len(x), 256):
        outs.append(sess.run(names, {"image": x[i:i + 256]}))
    return {n: np.concatenate([o[j] for o in outs]) for j, n in enumerate(names)}


def parity_check(model, session, td: TaskDef, x: np.ndarray) -> float:
    """Max |torch - onnxruntime| over all outputs on ``x``; ModelError when above tolerance."""
    from dms.train.trainer import predict
    a = predict(model, td, x)
    b = _run_ort(session, x, td)
    diff = max(float(np.abs(a[n] - b[n]).max()) for n in a)
    if not np.isfinite(diff) or diff > PARITY_ATOL[td.name]:
        raise ModelError(f"ONNX parity check failed for {td.name}: max |torch - onnxruntime| = {diff:.3g} "
                         f"> {PARITY_ATOL[td.name]}")
    return diff


def _calibration_sets(calib: str, td: TaskDef, info: dict, n_calib: int, n_eval: int, seed: int):
    """(x_calib, x_eval, y_eval) from renders. When ``calib`` is the model's training dataset, evaluation uses
    only the scenes of its validation split (never trained on) and calibration the training scenes."""
    from dms.train.data import batch_inputs, load_synthetic, split_by_group
    tcfg = (info.get("training") or {}).get("config") or {}
    s = load_synthetic(calib, td, "both", drop_accessories=tcfg.get("drop_accessories", ()),
                       min_std=float(tcfg.get("min_crop_std", 0.0)))
    rng = np.random.default_rng(seed)
    train_path = (info.get("training") or {}).get("data", {}).get("path")
    same = train_path is not None and Path(train_path).resolve() == Path(calib).resolve()
    if same and tcfg.get("val_fraction"):
        cal, ev = split_by_group(s, float(tcfg["val_fraction"]), int(tcfg.get("seed", 0)))
        held_out = True
    else:
        perm = rng.permutation(len(s))
        half = max(1, len(s) // 2)
        cal, ev = s.subset(perm[:half]), s.subset(perm[half:])
        held_out = not same
    if not len(ev):
        ev, held_out = cal, False
    pick = lambda x, n: x.subset(rng.permutation(len(x))[:n]) if len(x) > n else x  # noqa: E731
    cal, ev = pick(cal, n_calib), pick(ev, n_eval)
    return batch_inputs(cal, td, info["input_size"]), batch_inputs(ev, td, info["input_size"]), ev.targets, held_out


class _Reader:
    def __init__(self, x: np.ndarray, batch: int = 32):
        self.x, self.batch, self.i = x, batch, 0

    def get_next(self):
        if self.i >= len(self.x):
            return None
        b = {"image": self.x[self.i:self.i + self.batch]}
        self.i += self.batch
        return b

    def rewind(self):
        self.i = 0


def quantize_int8(fp32_path: Path, out_path: Path, x_calib: np.ndarray) -> None:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(_Reader, CalibrationDataReader):
        pass

    tmp_pre = out_path.with_name(".pre.onnx")
    try:
        from onnxruntime.quantization.shape_inference import quant_pre_process
        quant_pre_process(str(fp32_path), str(tmp_pre), skip_symbolic_shape=True)
        src = tmp_pre
    except Exception as e:  # noqa: BLE001 — pre-processing is an optimisation only
        log.info("quantisation pre-processing skipped: %s", e)
        src = fp32_path
    quantize_static(str(src), str(out_path), Reader(x_calib), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    extra_options={"ActivationSymmetric": False, "WeightSymmetric": True})
    tmp_pre.unlink(missing_ok=True)


def export(ckpt: str | Path, out: str | Path, int8: bool = False, calib: Optional[str] = None,
           n_calib: int = 400, n_eval: int = 1000, seed: int = 0, force: bool = True,
           name: Optional[str] = None, version: Optional[str] = None, tta: Optional[str] = None,
           ensemble: Optional[list] = None) -> dict:
    """Export ``ckpt`` (model.pt / checkpoint.pt) into ``out``. Returns a summary dict. ``tta``: "flip" | "none"
    (None: the task's default, :func:`resolve_tta`). ``ensemble``: more model files of the same task, input and
    crop (e.g. other training seeds): the graph averages every member's outputs (:class:`dms.train.models.Ensemble`);
    ``ckpt`` is the first member and names the model."""
    import onnx
    import onnxruntime as ort
    import torch

    from dms.train.trainer import load_model_file, model_from_file, model_provenance
    from dms.eval.metrics import task_metrics

    torch.set_num_threads(2)
    info = load_model_file(ckpt)
    if name:
        info["name"] = name
    if version:
        info["version"] = version
    td = get_task(info["task"])
    model = model_from_file(info)
    if ensemble:
        from dms.train.models import Ensemble
        members = [info] + [load_model_file(p) for p in ensemble]
        check_ensemble_members(members, [str(ckpt)] + [str(p) for p in ensemble])
        model = Ensemble([model] + [model_from_file(m) for m in members[1:]]).eval()
        info["ensemble"] = [model_provenance(p, m) for p, m in zip([ckpt, *ensemble], members)]
    tta = resolve_tta(td, tta)
    if tta == "flip":
        from dms.train.models import FlipTTA
        model = FlipTTA(model).eval()
    input_size = tuple(info["input_size"])
    if int8 and not calib:
        raise DataError("--int8 needs calib=DIR (a dms simulate dataset with the task's crops)")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise DataError(f"{out} exists and is not a folder")
    if out.is_dir() and (out / "model.onnx").exists() and not force:
        raise DataError(f"{out}/model.onnx exists (use --force to replace)")

    rng = np.random.default_rng(seed)
    w, h = input_size
    x_par = rng.standard_normal((16, 1, h, w)).astype(np.float32)
    x_cal = y_cal = x_ev = y_ev = None
    held_out = False
    if calib:
        x_cal, x_ev, y_ev, held_out = _calibration_sets(calib, td, info, n_calib, n_eval, seed)
        x_par = np.concatenate([x_par, x_cal[:64]])

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".tmp-export-{out.name}-"))
    try:
        proto = onnx.load_from_string(_torch_to_onnx(model, td, input_size))
        onnx.checker.check_model(proto)
        if proto.opset_import[0].version < OPSET:
            raise ModelError(f"exported opset {proto.opset_import[0].version} < {OPSET}")
        man = build_manifest(info, tta=tta)
        fp32_path = tmp / "model.onnx"
        embed_and_write(proto, man, fp32_path)
        sess, man = load_and_validate(fp32_path, require_sidecar=True)
        diff = parity_check(model, sess, td, x_par)
        log.info("parity torch vs onnxruntime: max abs diff %.3g on %d inputs", diff, len(x_par))
        export_info = {"opset": OPSET, "parity_max_abs_diff": diff, "parity_n": int(len(x_par)), "tta": tta,
                       "ensemble": len(info.get("ensemble") or []) or 1}
        summary: dict = {"task": td.name, "model": man.ref, "out": str(out), "fp32_bytes": fp32_path.stat().st_size,
                         "parity_max_abs_diff": diff, "tta": tta, "ensemble": export_info["ensemble"]}
        if int8:
            q_path = tmp / "model.int8.onnx"
            quantize_int8(fp32_path, q_path, x_cal)
            q_sess = ort.InferenceSession(str(q_path), providers=["CPUExecutionProvider"])
            m32 = task_metrics(td, _run_ort(sess, x_ev, td), y_ev)
            m8 = task_metrics(td, _run_ort(q_sess, x_ev, td), y_ev)
            key = "balanced_accuracy" if td.classification else "mean_angular_error_deg"
            delta = {"metric": key, "fp32": m32[key], "int8": m8[key],
                     "delta": (m8[key] - m32[key]) if m8[key] is not None and m32[key] is not None else None,
                     "n_eval_renders": int(len(x_ev)), "eval_renders_held_out": bool(held_out),
                     "n_calibration_renders": int(len(x_cal)),
                     "calibration_data": str(calib)}
            log.info("INT8 %s: fp32 %.4f -> int8 %.4f on %d held-out renders", key, m32[key], m8[key], len(x_ev))
            export_info["int8"] = delta
            q_man = ModelManifest.from_dict(man.to_dict() | {"precision": "int8", "sha256": "",
                                                             "metrics": {**man.metrics, "export": export_info}})
            embed_and_write(onnx.load(str(q_path)), q_man, q_path)
            load_and_validate(q_path, require_sidecar=True)
            summary |= {"int8_bytes": q_path.stat().st_size, "int8": delta}
        man = ModelManifest.from_dict(man.to_dict() | {"sha256": "", "metrics": {**man.metrics,
                                                                                 "export": export_info}})
        embed_and_write(onnx.load_from_string(fp32_path.read_bytes()), man, fp32_path)
        load_and_validate(fp32_path, require_sidecar=True)
        # commit: move the checked files into place (replacing only what this export produces)
        out.mkdir(parents=True, exist_ok=True)
        produced = sorted(p.name for p in tmp.iterdir() if p.is_file() and not p.name.startswith("."))
        if not int8:
            for stale in ("model.int8.onnx", "manifest.int8.json"):
                if (out / stale).exists():
                    log.warning("%s: removing stale %s from a previous export", out, stale)
                    (out / stale).unlink()
        for n in produced:
            os.replace(tmp / n, out / n)
        summary["files"] = produced
        log.info("exported %s to %s (%s)", man.ref, out, ", ".join(produced))
        return summary
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
