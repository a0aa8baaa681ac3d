"""The committed ONNX face models (tools/convert_face_models.py) and the tflite -> ONNX converter behind them."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
FACE_DIR = ROOT / "models" / "face"
FIXTURE = Path(__file__).parent / "data" / "face_onnx_reference.npz"
PARITY_TOL = 1e-3  # outputs are landmark/box coordinates in 128/192-px units and logits

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def manifest():
    return json.loads((FACE_DIR / "manifest.json").read_text())


def _mediapipe_dir():
    """The installed mediapipe package (source of the .tflite files); converter tests also need `tflite`."""
    pytest.importorskip("tflite")
    mp = pytest.importorskip("mediapipe")
    return Path(mp.__file__).parent


def test_manifest_describes_committed_files(manifest):
    assert manifest["schema"] == "dms.face_models/1"
    assert manifest["licence"]["spdx"] == "Apache-2.0" and "MediaPipe" in manifest["licence"]["origin"]
    assert {"face_detection_short_range", "face_landmark_with_attention"} <= set(manifest["models"])
    total = 0
    for name, entry in manifest["models"].items():
        data = (FACE_DIR / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], name
        assert len(data) == entry["bytes"]
        assert len(entry["source_sha256"]) == 64 and entry["source_file"].endswith(".tflite")
        assert entry["parity_max_abs_vs_tflite"] <= PARITY_TOL
        total += len(data)
    assert total <= 3.0e6, f"face models are {total / 1e6:.2f} MB; keep them commit-sized"


@pytest.mark.parametrize("name,in_shape,out_shapes", [
    ("face_detection_short_range", [1, 128, 128, 3], {"regressors": [1, 896, 16], "classificators": [1, 896, 1]}),
    ("face_landmark_with_attention", [1, 192, 192, 3],
     {"output_mesh_identity": [1, 1, 1, 1404], "output_lips": [1, 1, 1, 160], "output_left_eye": [1, 1, 1, 142],
      "output_right_eye": [1, 1, 1, 142], "output_left_iris": [1, 1, 1, 10], "output_right_iris": [1, 1, 1, 10],
      "conv_faceflag": [1, 1, 1, 1]}),
])
def test_checker_opset_and_shapes(manifest, name, in_shape, out_shapes):
    path = FACE_DIR / manifest["models"][name]["file"]
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [manifest["opset"]]
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (inp,) = sess.get_inputs()
    assert inp.shape == in_shape and inp.type == "tensor(float)"
    got = {o.name: o.shape for o in sess.get_outputs()}
    assert got == out_shapes
    assert list(got) == manifest["models"][name]["outputs"]
    res = sess.run(None, {inp.name: np.zeros(in_shape, np.float32)})
    for arr, shape in zip(res, out_shapes.values()):
        assert list(arr.shape) == shape and np.isfinite(arr).all()


@pytest.mark.parametrize("name", ["face_detection_short_range", "face_landmark_with_attention"])
def test_parity_with_stored_tflite_reference(manifest, name):
    """ONNX outputs on a fixed input equal the TFLite interpreter's outputs stored at conversion time."""
    ref = np.load(FIXTURE)
    entry = manifest["models"][name]
    lo, hi = entry["inputs"][next(iter(entry["inputs"]))]["value_range"]
    img = ref[f"{name}/input"]
    sess = ort.InferenceSession(str(FACE_DIR / entry["file"]), providers=["CPUExecutionProvider"])
    x = (lo + img.astype(np.float32) / 255.0 * (hi - lo))[None]
    outs = sess.run(None, {sess.get_inputs()[0].name: x})
    for o, got in zip(sess.get_outputs(), outs):
        want = ref[f"{name}/{o.name}"]
        assert got.shape == want.shape
        err = float(np.abs(got - want).max())
        assert err <= PARITY_TOL, f"{name}/{o.name}: max abs error {err:.2e}"
        assert float(np.abs(want).max()) > 1e-3  # the reference is not trivially zero


def test_parity_is_not_vacuous(manifest):
    """A perturbed input changes the landmark outputs far beyond the tolerance, so the parity check can fail."""
    ref = np.load(FIXTURE)
    name = "face_landmark_with_attention"
    sess = ort.InferenceSession(str(FACE_DIR / manifest["models"][name]["file"]), providers=["CPUExecutionProvider"])
    img = ref[f"{name}/input"].astype(np.float32) / 255.0
    shifted = np.roll(img, 6, axis=1)[None]
    mesh = sess.run(["output_mesh_identity"], {"input_1": shifted})[0]
    assert np.abs(mesh - ref[f"{name}/output_mesh_identity"]).max() > 100 * PARITY_TOL


def test_conversion_is_reproducible_and_committed_files_are_current(manifest):
    mp_dir = _mediapipe_dir()
    from dms.runtime.face.tflite_to_onnx import convert_tflite
    for name, entry in manifest["models"].items():
        data = (mp_dir / entry["source_file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["source_sha256"], f"mediapipe's {name} changed"
        model = convert_tflite(data, graph_name=name, doc=onnx.load(str(FACE_DIR / entry["file"])).doc_string)
        assert hashlib.sha256(model.SerializeToString()).hexdigest() == entry["sha256"], (
            f"{name}: converter output differs from the committed file; rerun tools/convert_face_models.py")


def test_reader_sees_the_ops_the_converter_supports():
    mp_dir = _mediapipe_dir()
    from dms.runtime.face.tflite_to_onnx import read_tflite, supported_ops
    g = read_tflite((mp_dir / "modules/face_landmark/face_landmark_with_attention.tflite").read_bytes())
    assert g.op_histogram["CUSTOM:TransformTensorBilinear"] == 3
    assert g.op_histogram["CUSTOM:Landmarks2TransformMatrix"] == 3
    assert set(g.op_histogram) <= set(supported_ops())
    custom = [op for op in g.ops if op.kind == "CUSTOM:Landmarks2TransformMatrix"]
    assert {(op.options["left_rotation_idx"], op.options["right_rotation_idx"]) for op in custom} == {
        (61, 291), (33, 133), (362, 263)}
    (inp,) = g.inputs
    assert g.tensors[inp].shape == (1, 192, 192, 3)


def test_converter_rejects_garbage_and_unsupported_ops(monkeypatch):
    mp_dir = _mediapipe_dir()
    from dms.errors import ModelError
    from dms.runtime.face import tflite_to_onnx as t2o
    with pytest.raises(ModelError):
        t2o.convert_tflite(b"\x00" * 64)
    data = (mp_dir / "modules/face_detection/face_detection_short_range.tflite").read_bytes()
    monkeypatch.delitem(t2o._CONVERTERS, "MAX_POOL_2D")
    with pytest.raises(ModelError, match="MAX_POOL_2D"):
        t2o.convert_tflite(data)


@pytest.mark.parametrize("name,size,value_range", [
    ("face_detection_short_range", 128, (-1.0, 1.0)),
    ("face_landmark_with_attention", 192, (0.0, 1.0)),
])
def test_live_parity_against_mediapipe_tflite_interpreter(manifest, name, size, value_range):
    """Random inputs through mediapipe's bundled TFLite interpreter vs the committed ONNX file."""
    mp_dir = _mediapipe_dir()
    from dms.runtime.face.tflite_to_onnx import TfliteReference
    entry = manifest["models"][name]
    sess = ort.InferenceSession(str(FACE_DIR / entry["file"]), providers=["CPUExecutionProvider"])
    ref = TfliteReference(str(mp_dir / entry["source_file"]), len(sess.get_outputs()), size, value_range)
    rng = np.random.default_rng(7)
    for _ in range(2):
        img = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        want = ref.run(img)
        lo, hi = value_range
        got = sess.run(None, {sess.get_inputs()[0].name: (lo + img.astype(np.float32) / 255 * (hi - lo))[None]})
        for g_, w_ in zip(got, want):
            assert float(np.abs(g_.reshape(-1) - w_).max()) <= PARITY_TOL
