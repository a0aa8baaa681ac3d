#!/usr/bin/env python
"""Build-time: convert MediaPipe's bundled face models (.tflite, mediapipe 0.10.21 wheel) to ONNX for the
``onnx`` face front end, check numerical parity against the TFLite interpreter bundled in mediapipe, and write
``models/face/*.onnx`` + ``models/face/manifest.json`` (sha256s, opset, source sha256s, licence, parity).

Also writes the small parity fixture the tests use (``tests/runtime/data/face_onnx_reference.npz``): a fixed
synthetic input per model and the TFLite outputs for it, so CI can check the committed ONNX files without mediapipe.

Usage:
    .venv/bin/python tools/convert_face_models.py [--out models/face] [--with-plain-landmark] [--check-only]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

log = logging.getLogger("convert_face_models")

# name -> (path inside the mediapipe package, input size, input value range, role)
MODELS = {
    "face_detection_short_range": ("modules/face_detection/face_detection_short_range.tflite", 128, (-1.0, 1.0),
                                   "detector"),
    "face_landmark_with_attention": ("modules/face_landmark/face_landmark_with_attention.tflite", 192, (0.0, 1.0),
                                     "landmarks_478"),
    "face_landmark": ("modules/face_landmark/face_landmark.tflite", 192, (0.0, 1.0), "landmarks_468"),
}
DEFAULT_SET = ("face_detection_short_range", "face_landmark_with_attention")
LICENCE = {
    "spdx": "Apache-2.0",
    "origin": "MediaPipe (Google LLC), face_detection_short_range / face_landmark model files from the "
              "mediapipe==0.10.21 wheel; converted to ONNX by dms.runtime.face.tflite_to_onnx",
    "model_cards": ["https://storage.googleapis.com/mediapipe-assets/MediaPipe%20BlazeFace%20Model%20Card%20"
                    "(Short%20Range).pdf",
                    "https://storage.googleapis.com/mediapipe-assets/Model%20Card%20MediaPipe%20Face%20Mesh%20"
                    "with%20Attention.pdf"],
}
PARITY_TOL = 1e-3  # max abs error allowed vs TFLite (outputs are in 128/192-pixel units or logits)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fixture_image(size: int, seed: int) -> np.ndarray:
    """Deterministic, smooth-but-structured RGB test input (compresses well, exercises every channel)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    img = np.stack([128 + 100 * np.sin(6.3 * xx + 1.0), 128 + 100 * np.cos(4.1 * yy - 0.5),
                    128 + 90 * np.sin(3.0 * (xx + yy))], -1)
    for _ in range(6):  # a few blobs
        cx, cy, r = rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8), rng.uniform(0.05, 0.2)
        blob = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
        img += blob[..., None] * rng.uniform(-120, 120, 3)
    return np.clip(img, 0, 255).astype(np.uint8)


def to_input(img: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    lo, hi = value_range
    return (lo + img.astype(np.float32) / 255.0 * (hi - lo))[None]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "models" / "face"), help="output directory (models/face)")
    ap.add_argument("--fixture", default=str(ROOT / "tests" / "runtime" / "data" / "face_onnx_reference.npz"),
                    help="parity fixture for the tests ('' to skip)")
    ap.add_argument("--with-plain-landmark", action="store_true",
                    help="also convert face_landmark.tflite (468 points, +1.2 MB)")
    ap.add_argument("--random-trials", type=int, default=3, help="random inputs per model for the parity check")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(message)s")

    import mediapipe
    import onnx
    import onnxruntime as ort

    from dms.runtime.face.tflite_to_onnx import DEFAULT_OPSET, TfliteReference, convert_tflite, read_tflite

    mp_dir = Path(mediapipe.__file__).parent
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = list(DEFAULT_SET) + (["face_landmark"] if args.with_plain_landmark else [])
    manifest = {"schema": "dms.face_models/1", "opset": DEFAULT_OPSET, "source_package": "mediapipe==%s"
                % mediapipe.__version__, "licence": LICENCE, "models": {}}
    fixture: dict[str, np.ndarray] = {}
    rng = np.random.default_rng(20240601)
    ok = True
    for name in names:
        rel, size, vrange, role = MODELS[name]
        src = mp_dir / rel
        data = src.read_bytes()
        g = read_tflite(data)
        model = convert_tflite(data, graph_name=name, doc=f"{name} converted from mediapipe {rel} "
                               f"(sha256 {sha256_bytes(data)}); Apache-2.0, MediaPipe")
        onnx_bytes = model.SerializeToString()
        path = out_dir / f"{name}.onnx"
        path.write_bytes(onnx_bytes)
        sess = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
        in_name = sess.get_inputs()[0].name
        ref = TfliteReference(str(src), len(sess.get_outputs()), size, vrange)
        inputs = {"fixture": fixture_image(size, seed=len(fixture))}
        for k in range(args.random_trials):
            inputs[f"random{k}"] = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        parity = {}
        for label, img in inputs.items():
            want = ref.run(img)
            got = sess.run(None, {in_name: to_input(img, vrange)})
            err = max(float(np.abs(g_.reshape(-1) - w_).max()) for g_, w_ in zip(got, want))
            parity[label] = err
            if label == "fixture":
                fixture[f"{name}/input"] = img
                for o, w_ in zip(sess.get_outputs(), want):
                    fixture[f"{name}/{o.name}"] = w_.reshape(o.shape).astype(np.float32)
        worst = max(parity.values())
        ok &= worst <= PARITY_TOL
        log.info("%s: %d bytes (tflite %d), max |onnx - tflite| = %.2e over %d inputs", name, len(onnx_bytes),
                 len(data), worst, len(parity))
        manifest["models"][name] = {
            "file": path.name, "role": role, "sha256": sha256_bytes(onnx_bytes), "bytes": len(onnx_bytes),
            "source_file": rel, "source_sha256": sha256_bytes(data), "source_ops": g.op_histogram,
            "inputs": {in_name: {"shape": list(sess.get_inputs()[0].shape), "dtype": "float32", "layout": "NHWC",
                                 "channels": "RGB", "value_range": list(vrange)}},
            "outputs": [o.name for o in sess.get_outputs()],
            "output_shapes": {o.name: list(o.shape) for o in sess.get_outputs()},
            "parity_max_abs_vs_tflite": worst,
            "onnx_checker": onnx.checker.check_model(model, full_check=True) is None,
        }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    total = sum(m["bytes"] for m in manifest["models"].values())
    log.info("wrote %s (%d models, %.2f MB)", out_dir / "manifest.json", len(names), total / 1e6)
    if args.fixture:
        fx = Path(args.fixture)
        fx.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(fx, **fixture)
        log.info("wrote parity fixture %s (%d bytes)", fx, fx.stat().st_size)
    print(json.dumps({"ok": bool(ok), "models": {k: {"bytes": v["bytes"], "parity": v["parity_max_abs_vs_tflite"]}
                                                 for k, v in manifest["models"].items()}}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
