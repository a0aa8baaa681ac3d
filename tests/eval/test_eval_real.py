import json
import subprocess
import sys
import types

import numpy as np
import pytest

from dms.data.realdata import read_class_folder, read_gaze_csv, read_image
from dms.errors import DataError
from dms.eval.metrics import angular_errors_deg, classification_metrics, gaze_metrics


def test_classification_metrics_values():
    m = classification_metrics(np.array([0, 0, 0, 1]), np.array([0, 1, 0, 1]), ("open", "closed"))
    assert m["n"] == 4 and m["accuracy"] == pytest.approx(0.75)
    assert m["recall"] == {"open": pytest.approx(2 / 3), "closed": 1.0}
    assert m["balanced_accuracy"] == pytest.approx((2 / 3 + 1) / 2)
    assert m["counts"] == {"open": 3, "closed": 1}
    assert m["confusion"]["matrix"] == [[2, 1], [0, 1]]


def test_angular_error_convention():
    pred = np.array([[10.0, 0.0], [0.0, 0.0], [0.0, 10.0]])
    true = np.array([[0.0, 0.0], [0.0, 0.0], [0.0, -10.0]])
    np.testing.assert_allclose(angular_errors_deg(pred, true), [10.0, 0.0, 20.0], atol=1e-6)
    g = gaze_metrics(pred, true)
    assert g["mean_angular_error_deg"] == pytest.approx(10.0) and g["median_angular_error_deg"] == pytest.approx(10.0)


def test_readers_layouts_and_errors(toy_root, tmp_path):
    items = read_class_folder(toy_root / "real_eye_state", "eye_state")
    assert len(items) == 24 and {i.label for i in items} == {"open", "closed"}
    (tmp_path / "open").mkdir()
    with pytest.raises(DataError, match=r"missing sub-folder\(s\) \['closed'\]"):
        read_class_folder(tmp_path, "eye_state")
    (tmp_path / "closed").mkdir()
    (tmp_path / "closed" / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="no images"):
        read_class_folder(tmp_path, "eye_state")
    with pytest.raises(DataError, match="not found"):
        read_class_folder(tmp_path / "nope", "hands")
    g = read_gaze_csv(toy_root / "real_gaze" / "gaze.csv")
    assert len(g) == 24 and g[0].path.is_file() and g[0].yaw_deg is not None
    (tmp_path / "bad.csv").write_text("file,yaw,pitch\na.png,1,2\n")
    with pytest.raises(DataError, match="need \\['path', 'yaw_deg', 'pitch_deg'\\]"):
        read_gaze_csv(tmp_path / "bad.csv")
    (tmp_path / "junk.png").write_bytes(b"\x89PNG garbage")
    assert read_image(tmp_path / "junk.png") is None and read_image(tmp_path / "missing.png") is None


@pytest.fixture(scope="module")
def models(toy_root, tmp_path_factory):
    from dms.export.onnx_export import export
    from dms.train.config import TrainConfig
    from dms.train.trainer import train
    base = tmp_path_factory.mktemp("models")
    out = {}
    for task in ("eye_state", "yawn", "gaze", "hands"):
        train(TrainConfig(task=task, data=str(toy_root / "ds"), out=str(base / "run" / task), epochs=4, batch_size=16,
                          lr=3e-3, arch="cnn_s" if task == "eye_state" else "test_tiny",
                          augment={"profile": "none"}, balance_classes=False))   # toy classes are balanced
        export(base / "run" / task / "model.pt", base / task)
        out[task] = base / task
    return out


def _eval(*args):
    r = subprocess.run([sys.executable, "-m", "dms", "eval", *map(str, args)], capture_output=True, text=True,
                       timeout=120)
    return r


def test_end_to_end_eval_json(models, toy_root):
    r = _eval("eye-state", toy_root / "real_eye_state", "--model", models["eye_state"], "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout.strip().splitlines()[-1])
    assert rep["task"] == "eye-state" and rep["model"] == "dms_eye_state@0.1.0" and rep["n"] == 24
    assert set(rep["counts"]) == {"open", "closed"} and set(rep["recall"]) == {"open", "closed"}
    assert rep["balanced_accuracy"] >= 0.8            # drawn eyes: the model trained on drawn crops transfers
    r = _eval("gaze", toy_root / "real_gaze" / "gaze.csv", "--model", models["gaze"], "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout.strip().splitlines()[-1])
    assert rep["n"] == 24 and rep["mean_angular_error_deg"] > 0 and "median_angular_error_deg" in rep
    for task, folder in (("yawn", "real_yawn"), ("hands", "real_hands")):
        r = _eval(task, toy_root / folder, "--model", models[task.replace("-", "_")], "--json")
        assert r.returncode == 0, r.stderr
        rep = json.loads(r.stdout.strip().splitlines()[-1])
        assert rep["n"] == 24 and 0 <= rep["balanced_accuracy"] <= 1 and rep["accuracy"] is not None


def test_framing_report_measures_recut_crops(models, toy_root):
    """--framing: the metric on crops shifted 10 % each way and zoomed, and the worst change; re-framing moves
    the content (a gaze model reading the iris position against the crop frame changes its error)."""
    from dms.eval.models import FRAMINGS, reframe
    img = np.zeros((40, 40), np.uint8)
    img[18:22, 18:22] = 255
    ys, xs = np.nonzero(reframe(img, 0.1, 0.0, 1.0) > 128)
    assert xs.mean() == pytest.approx(19.5 + 4, abs=0.6) and ys.mean() == pytest.approx(19.5, abs=0.6)
    ys, xs = np.nonzero(reframe(img, 0.0, 0.0, 2.0) > 128)
    assert 6 <= len(xs) / 16 * 4 <= 20            # a 2x zoom quadruples the square's area
    r = _eval("gaze", toy_root / "real_gaze" / "gaze.csv", "--model", models["gaze"], "--json", "--framing")
    assert r.returncode == 0, r.stderr
    f = json.loads(r.stdout.strip().splitlines()[-1])["framing"]
    assert f["metric"] == "mean_angular_error_deg" and all(f[n] is not None for n, *_ in FRAMINGS)
    assert f["worst_change"] == pytest.approx(max(abs(f[n] - f["as_cut"]) for n, *_ in FRAMINGS))
    assert f["worst_change"] > 0


def test_unreadable_images_are_counted_not_fatal(models, toy_root, tmp_path):
    import shutil
    d = tmp_path / "eyes"
    shutil.copytree(toy_root / "real_eye_state", d)
    (d / "open" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    (d / "closed" / "empty.jpg").write_bytes(b"")
    r = _eval("eye-state", d, "--model", models["eye_state"], "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout.strip().splitlines()[-1])
    assert rep["n_unreadable"] == 2 and rep["n"] == 24 and rep["n_listed"] == 26
    assert any("broken.png" in p for p in rep["unreadable"])
    r = _eval("eye-state", d, "--model", models["eye_state"])       # human-readable output
    assert r.returncode == 0 and "2 unreadable" in r.stdout


def test_eval_bad_input_exit_codes(models, toy_root, tmp_path):
    r = _eval("hands", toy_root / "real_eye_state", "--model", models["hands"], "--json")
    assert r.returncode == 1 and "wrong layout for hands" in r.stderr and r.stdout.strip() == ""
    r = _eval("eye-state", toy_root / "real_eye_state", "--model", models["yawn"])
    assert r.returncode == 1 and "is a yawn model, expected eye_state" in r.stderr
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage")
    r = _eval("eye-state", toy_root / "real_eye_state", "--model", bad)
    assert r.returncode == 1 and "corrupt or unsupported ONNX" in r.stderr


def test_yawn_frame_input_uses_face_frontend_and_shared_crop(models, toy_root, tmp_path, monkeypatch):
    import dms.runtime.face as face
    from dms.eval.models import evaluate
    from dms.runtime.face.base import FaceObservation

    calls = []

    class FakeFrontEnd:
        def process(self, image, t_ns=None):
            calls.append(image.shape)
            if image.shape[0] < 50:          # "no face" on small images
                return []
            lm = np.zeros((468, 2), np.float32)
            lm[:, 0], lm[:, 1] = image.shape[1] / 2, image.shape[0] / 2
            lm[61] = (image.shape[1] * 0.3, image.shape[0] / 2)
            lm[291] = (image.shape[1] * 0.7, image.shape[0] / 2)
            return [FaceObservation(lm, (0, 0, image.shape[1], image.shape[0]), 0.9)]

    monkeypatch.setattr(face, "create_face_frontend", lambda name="mediapipe", **kw: FakeFrontEnd())
    rep = evaluate("yawn", toy_root / "real_yawn", model=models["yawn"], input_mode="frame")
    assert len(calls) == 24 and rep["n"] + rep["n_no_face"] == 24 and rep["n_no_face"] > 0
    assert rep["input"] == "frame"


def test_eval_alerts_dispatches_to_runtime(monkeypatch, tmp_path):
    from dms.cli import eval as cli_eval
    seen = {}
    mod = types.ModuleType("dms.runtime.evaluate_alerts")
    mod.main = lambda args: seen.update(dir=args.dir, models=args.models, profile=args.profile) or 0
    monkeypatch.setitem(sys.modules, "dms.runtime.evaluate_alerts", mod)
    from dms.cli.main import build_parser
    args, extra = build_parser().parse_known_args(["eval", "alerts", str(tmp_path), "--model", "models",
                                                   "--profile", "eu_ddaw", "--json"])
    assert cli_eval.main(args, extra) == 0
    assert seen == {"dir": str(tmp_path), "models": "models", "profile": "eu_ddaw"}


def test_eval_path_does_not_import_torch():
    code = ("import sys, dms.eval.models, dms.cli.eval, dms.data.realdata; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
