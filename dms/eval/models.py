"""Run an exported model (ONNX + manifest) on a real labelled folder and compute the ``dms eval`` report."""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from dms.data.preprocess import preprocess
from dms.data.realdata import RealItem, read_image, read_real
from dms.errors import DmsError, ModelError
from dms.eval.metrics import task_metrics
from dms.export.validate import load_and_validate
from dms.train.taskdefs import get_task

log = logging.getLogger(__name__)

CLI_TASKS = {"eye-state": "eye_state", "yawn": "yawn", "gaze": "gaze", "hands": "hands"}


def repo_models_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "models"


def default_model(task: str) -> Path:
    """The shipped model of ``task`` (``models/<task>/model.onnx``)."""
    p = repo_models_dir() / task / "model.onnx"
    if not p.is_file():
        raise ModelError(f"no shipped {task} model at {p}; pass --model DIR|FILE.onnx")
    return p


def run_session(session, manifest, images: list[np.ndarray], batch: int = 256) -> dict[str, np.ndarray]:
    """Preprocess (dms.data.preprocess, per the manifest) and run; returns output name -> [N, w]."""
    names = [o.name for o in manifest.outputs]
    outs: list[list[np.ndarray]] = [[] for _ in names]
    for i in range(0, len(images), batch):
        x = preprocess(images[i:i + batch], manifest.preprocessing, "BGR8")
        ys = session.run(names, {"image": x})
        for j, y in enumerate(ys):
            outs[j].append(np.asarray(y))
    return {n: (np.concatenate(o) if o else np.zeros((0,) + tuple(int(d) for d in spec.shape[1:]), np.float32))
            for n, o, spec in zip(names, outs, manifest.outputs)}


def _mouth_from_frame_factory() -> Callable[[np.ndarray], Optional[np.ndarray]]:
    """Frame -> mouth crop via the runtime's face front end and dms.data.crops (None when no face)."""
    from dms.data.crops import cut
    from dms.runtime.face import create_face_frontend
    fe = create_face_frontend("mediapipe")

    def f(img: np.ndarray) -> Optional[np.ndarray]:
        bgr = img if img.ndim == 3 else np.repeat(img[:, :, None], 3, axis=2)
        if bgr.dtype != np.uint8:
            from dms.data.preprocess import to_gray_u8
            bgr = np.repeat(to_gray_u8(img)[:, :, None], 3, axis=2)
        faces = fe.process(bgr)
        if not faces:
            return None
        crop, _ = cut(bgr, faces[0].landmarks_px, "mouth")
        return crop
    return f


#: crop re-framings of ``dms eval --framing``: (name, dx, dy as a fraction of the crop size, zoom)
FRAMINGS = (("dx-10%", -0.10, 0.0, 1.0), ("dx+10%", 0.10, 0.0, 1.0), ("dy-10%", 0.0, -0.10, 1.0),
            ("dy+10%", 0.0, 0.10, 1.0), ("zoom0.85", 0.0, 0.0, 0.85), ("zoom1.2", 0.0, 0.0, 1.2))


def reframe(img: np.ndarray, dx: float, dy: float, zoom: float) -> np.ndarray:
    """The crop shifted by (dx, dy) of its size and zoomed about its centre (edges replicated): how a different
    landmarker or dataset would have cut it."""
    import cv2
    h, w = img.shape[:2]
    M = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), 0.0, zoom)
    M[0, 2] += dx * w
    M[1, 2] += dy * h
    return cv2.warpAffine(img, M, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def framing_report(td, session, manifest, images: list[np.ndarray], targets: np.ndarray, as_cut: dict) -> dict:
    """The headline metric under each of :data:`FRAMINGS` and its worst change (``as_cut``: the metrics of the
    crops as given): a model that reads the crop frame instead of the eye/mouth (real crops are cut differently
    from training crops) shows large changes."""
    key = "mean_angular_error_deg" if td.name == "gaze" else "balanced_accuracy"
    base = as_cut[key]
    out = {"metric": key, "as_cut": base}
    for name, dx, dy, z in FRAMINGS:
        out[name] = task_metrics(td, run_session(session, manifest, [reframe(i, dx, dy, z) for i in images]),
                                 targets)[key]
    vals = [out[n] for n, *_ in FRAMINGS if out[n] is not None]
    out["worst_change"] = (max(abs(v - base) for v in vals) if vals and base is not None else None)
    return out


def evaluate(cli_task: str, data: str | Path, model: Optional[str | Path] = None, input_mode: str = "crop",
             max_items: int = 0, framing: bool = False) -> dict:
    """The ``dms eval`` report for ``cli_task`` ("eye-state" | "yawn" | "gaze" | "hands") on ``data``.
    ``framing``: also report the metric on re-framed crops (:func:`framing_report`)."""
    if cli_task not in CLI_TASKS:
        raise DmsError(f"unknown eval task {cli_task!r}; known: {sorted(CLI_TASKS)}")
    task = CLI_TASKS[cli_task]
    td = get_task(task)
    if input_mode not in ("crop", "frame"):
        raise DmsError(f"--input must be crop or frame, got {input_mode!r}")
    if input_mode == "frame" and task != "yawn":
        raise DmsError("--input frame is only supported for yawn")
    items: list[RealItem] = read_real(task, data)        # DataError on a wrong layout / no images
    if max_items:
        items = items[:max_items]
    model_path = Path(model) if model else default_model(task)
    session, manifest = load_and_validate(model_path, expected_task=task)
    if manifest.preprocessing.get("mirror_side"):
        log.warning("model %s mirrors %s-eye crops but the eval layout carries no eye side; crops are used as is",
                    manifest.ref, manifest.preprocessing["mirror_side"])
    t0 = time.monotonic()
    to_crop = _mouth_from_frame_factory() if input_mode == "frame" else None
    images, kept, unreadable, no_face = [], [], [], []
    for it in items:
        img = read_image(it.path)
        if img is None:
            unreadable.append(str(it.path))
            continue
        if to_crop is not None:
            c = to_crop(img)
            if c is None:
                no_face.append(str(it.path))
                continue
            img = c
        images.append(img)
        kept.append(it)
    if unreadable:
        log.warning("%d unreadable image(s) skipped (first: %s)", len(unreadable), unreadable[0])
    outputs = run_session(session, manifest, images)
    targets = (np.stack([td.target_from_real(it.label, it.yaw_deg, it.pitch_deg) for it in kept])
               if kept else np.zeros((0, len(td.targets)), np.float32))
    m = task_metrics(td, outputs, targets)
    report = {"task": cli_task, "model": manifest.ref, "model_path": str(model_path), "precision": manifest.precision,
              "data": str(data), "input": input_mode, "n_listed": len(items), "n_unreadable": len(unreadable),
              "unreadable": unreadable[:20], **m,
              "seconds": round(time.monotonic() - t0, 2)}
    if framing and kept:
        report["framing"] = framing_report(td, session, manifest, images, targets, m)
    if input_mode == "frame":
        report["n_no_face"] = len(no_face)
        report["no_face"] = no_face[:20]
    if task in ("eye_state", "yawn") and len(kept):
        key = "closed_prob" if task == "eye_state" else "yawn_prob"
        report["mean_prob_by_class"] = {c: (float(outputs[key][targets[:, 1] == i, 0].mean())
                                            if np.any(targets[:, 1] == i) else None)
                                        for i, c in enumerate(td.labels)}
    return report


def format_report(r: dict) -> str:
    lines = [f"{r['task']}: model {r['model']} ({r['precision']}) on {r['data']}",
             f"  images: {r['n']} evaluated, {r['n_unreadable']} unreadable"
             + (f", {r.get('n_no_face', 0)} without a face" if r.get("input") == "frame" else "")]
    if "balanced_accuracy" in r:
        ba, acc = r["balanced_accuracy"], r["accuracy"]
        lines.append(f"  accuracy {acc:.4f}  balanced accuracy {ba:.4f}" if ba is not None else "  no labelled images")
        for c, n in r["counts"].items():
            rec = r["recall"][c]
            lines.append(f"    {c:>8}: n={n:4d} recall={'n/a' if rec is None else f'{rec:.4f}'}")
    else:
        if r.get("mean_angular_error_deg") is not None:
            lines.append(f"  angular error: mean {r['mean_angular_error_deg']:.2f} deg, median "
                         f"{r['median_angular_error_deg']:.2f} deg")
    f = r.get("framing")
    if f:
        parts = "  ".join(f"{n} {f[n]:.3f}" for n, *_ in FRAMINGS if f.get(n) is not None)
        lines.append(f"  re-framed crops ({f['metric']}): {parts}; worst change {f['worst_change']:.3f}")
    return "\n".join(lines)
