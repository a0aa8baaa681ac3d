import hashlib
import json
import subprocess
import sys

import numpy as np
import onnx
import pytest

from dms.contracts.manifest import ModelManifest
from dms.errors import DataError, ModelError
from dms.export.onnx_export import embed_and_write, export, update_metrics
from dms.export.validate import METADATA_KEY, load_and_validate, sidecar_path
from dms.train.config import TrainConfig
from dms.train.trainer import train


@pytest.fixture(scope="module")
def trained(toy_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    runs = {}
    for task in ("eye_state", "gaze", "hands"):
        train(TrainConfig(task=task, data=str(toy_root / "ds"), out=str(out / task), epochs=1, batch_size=16,
                          arch="test_tiny_grid" if task == "hands" else "test_tiny"))
        runs[task] = out / task / "model.pt"
    return runs


@pytest.fixture
def exported(trained, toy_root, tmp_path):
    out = tmp_path / "eye_state"
    summary = export(trained["eye_state"], out, int8=True, calib=str(toy_root / "ds"), n_calib=32, n_eval=32)
    return out, summary


def test_export_fp32_int8_with_parity_and_manifest(exported):
    out, summary = exported
    assert sorted(p.name for p in out.iterdir()) == ["manifest.int8.json", "manifest.json", "model.int8.onnx",
                                                     "model.onnx"]
    assert summary["parity_max_abs_diff"] < 1e-4
    assert summary["int8"]["metric"] == "balanced_accuracy" and summary["int8"]["n_eval_renders"] > 0
    proto = onnx.load(str(out / "model.onnx"))
    assert proto.opset_import[0].version >= 17
    assert [i.name for i in proto.graph.input] == ["image"]
    assert [o.name for o in proto.graph.output] == ["openness", "closed_prob"]
    embedded = json.loads({p.key: p.value for p in proto.metadata_props}[METADATA_KEY])
    side = json.loads((out / "manifest.json").read_text())
    assert embedded["sha256"] == "" and side["sha256"] == hashlib.sha256((out / "model.onnx").read_bytes()).hexdigest()
    assert {k: v for k, v in embedded.items() if k != "sha256"} == {k: v for k, v in side.items() if k != "sha256"}
    sess, man = load_and_validate(out)
    assert man.task == "eye_state" and man.precision == "fp32" and man.crop["name"] == "eye_left"
    assert man.preprocessing["size"] == [32, 32] and man.preprocessing["mirror_side"] is None
    assert man.metrics["export"]["parity_max_abs_diff"] < 1e-4
    x = np.random.default_rng(0).standard_normal((5, 1, 32, 32)).astype(np.float32)
    o, c = sess.run(["openness", "closed_prob"], {"image": x})
    assert o.shape == (5, 1) and c.shape == (5, 1) and (0 <= c).all() and (c <= 1).all()
    qs, qm = load_and_validate(out / "model.int8.onnx")
    assert qm.precision == "int8"
    q_o = qs.run(["closed_prob"], {"image": x})[0]
    assert np.abs(q_o - c).max() < 0.2


@pytest.mark.parametrize("task,outs", [("gaze", {"gaze_deg": (3, 2)}),
                                       ("hands", {"on_wheel_prob": (3, 2), "phone_prob": (3, 1)})])
def test_export_other_tasks(trained, tmp_path, task, outs):
    export(trained[task], tmp_path / task)
    sess, man = load_and_validate(tmp_path / task, expected_task=task)
    w, h = man.preprocessing["size"]
    res = sess.run(list(outs), {"image": np.zeros((3, 1, h, w), np.float32)})
    assert {n: r.shape for n, r in zip(outs, res)} == outs


def test_tampered_weights_are_rejected(exported):
    out, _ = exported
    p = out / "model.onnx"
    proto = onnx.load(str(p))
    init = proto.graph.initializer[0]
    arr = onnx.numpy_helper.to_array(init).copy()
    arr.flat[0] += 1.0
    init.CopyFrom(onnx.numpy_helper.from_array(arr, init.name))
    p.write_bytes(proto.SerializeToString())
    with pytest.raises(ModelError, match="sha256 .* does not match .*tampered"):
        load_and_validate(out)


def test_corrupt_onnx_is_rejected(exported, tmp_path):
    out, _ = exported
    data = (out / "model.onnx").read_bytes()
    (out / "model.onnx").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="corrupt or unsupported ONNX"):
        load_and_validate(out)
    (tmp_path / "empty.onnx").write_bytes(b"")
    with pytest.raises(ModelError, match="empty"):
        load_and_validate(tmp_path / "empty.onnx")
    with pytest.raises(ModelError, match="not found"):
        load_and_validate(tmp_path / "missing")


def test_sidecar_differing_from_embedded_is_rejected(exported):
    out, _ = exported
    side = json.loads((out / "manifest.json").read_text())
    side["preprocessing"]["size"] = [48, 48]
    (out / "manifest.json").write_text(json.dumps(side))
    with pytest.raises(ModelError, match=r"does not match the manifest embedded .*preprocessing"):
        load_and_validate(out)


def test_manifest_not_matching_graph_is_rejected(exported, tmp_path):
    out, _ = exported
    proto = onnx.load(str(out / "model.onnx"))
    _, man = load_and_validate(out)
    bad = ModelManifest.from_dict(man.to_dict() | {"task": "yawn"})      # outputs do not match the yawn contract
    embed_and_write(proto, bad, tmp_path / "model.onnx")
    with pytest.raises(ModelError, match="does not match the model graph"):
        load_and_validate(tmp_path / "model.onnx")
    d = man.to_dict()
    d["inputs"][0]["shape"] = ["N", 1, 64, 64]
    d["preprocessing"]["size"] = [64, 64]
    embed_and_write(onnx.load(str(out / "model.onnx")), ModelManifest.from_dict(d), tmp_path / "model.onnx")
    with pytest.raises(ModelError, match="dim 2 is 32 in the graph, 64 in the manifest"):
        load_and_validate(tmp_path / "model.onnx")
    with pytest.raises(ModelError, match="is a eye_state model, expected gaze"):
        load_and_validate(out, expected_task="gaze")


def test_failed_export_overwrites_nothing(exported, trained, tmp_path):
    out, _ = exported
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(DataError, match="needs calib"):
        export(trained["gaze"], out, int8=True)
    with pytest.raises(DataError, match="not a dms dataset"):
        export(trained["gaze"], out, int8=True, calib=str(tmp_path))
    bad_ckpt = tmp_path / "garbage.pt"
    bad_ckpt.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="not a readable torch model"):
        export(bad_ckpt, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".tmp-export")]


def test_update_metrics_reembeds_and_revalidates(exported):
    out, _ = exported
    man = update_metrics(out, {"real_dev": {"balanced_accuracy": 0.5}})
    _, again = load_and_validate(out)
    assert again.metrics["real_dev"] == {"balanced_accuracy": 0.5} and again.sha256 == man.sha256
    assert "export" in again.metrics


def test_cli_export_refuses_to_overwrite_without_force(exported, trained):
    out, _ = exported
    before = (out / "model.onnx").read_bytes()
    r = subprocess.run([sys.executable, "-m", "dms", "export", str(trained["eye_state"]), f"out={out}"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "--force" in r.stderr
    assert (out / "model.onnx").read_bytes() == before
    r = subprocess.run([sys.executable, "-m", "dms", "export", str(trained["eye_state"]), f"out={out}", "--force"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1])["files"] == ["manifest.json", "model.onnx"]
    assert not (out / "model.int8.onnx").exists()      # stale INT8 of the previous export removed


def test_validate_module_does_not_import_torch():
    code = ("import sys, dms.export.validate as v; assert 'torch' not in sys.modules, 'torch imported'; "
            "assert 'onnx' not in sys.modules, 'onnx imported'")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def test_sidecar_names():
    assert sidecar_path("m/model.onnx").name == "manifest.json"
    assert sidecar_path("m/model.int8.onnx").name == "manifest.int8.json"
    assert sidecar_path("m/other.onnx").name == "other.manifest.json"


@pytest.mark.parametrize("task", ["eye_state", "yawn", "gaze", "hands"])
def test_default_archs_export_within_size_budget(task):
    import onnxruntime as ort
    import torch

    from dms.export.onnx_export import _torch_to_onnx
    from dms.train.models import build_model
    from dms.train.taskdefs import get_task
    td = get_task(task)
    torch.manual_seed(0)
    m = build_model(td.default_arch, task).eval()
    data = _torch_to_onnx(m, td, td.input_size)
    assert len(data) <= 1_000_000, f"FP32 ONNX {len(data)} bytes > 1 MB"
    w, h = td.input_size
    x = np.random.default_rng(0).standard_normal((2, 1, h, w)).astype(np.float32)
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    got = sess.run(None, {"image": x})
    with torch.no_grad():
        want = [t.numpy() for t in m(torch.from_numpy(x))]
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, atol=2e-3 if task == "gaze" else 1e-4)


def test_flip_tta_graph_is_mirror_invariant_and_equals_the_mean_of_two_passes(exported, trained):
    """eye_state exports with tta=flip by default: the graph's answer for a crop and for its mirror image are the
    same, and equal the mean of the plain one-pass model on both (which differ: the tiny model is not symmetric)."""
    import torch

    from dms.train.trainer import load_model_file, model_from_file
    out, summary = exported
    assert summary["tta"] == "flip"
    sess, man = load_and_validate(out)
    assert man.output_semantics["test_time_augmentation"].startswith("flip")
    assert man.metrics["export"]["tta"] == "flip"
    x = np.random.default_rng(3).standard_normal((4, 1, 32, 32)).astype(np.float32)
    xm = x[..., ::-1].copy()
    o, c = sess.run(["openness", "closed_prob"], {"image": x})
    om, cm = sess.run(["openness", "closed_prob"], {"image": xm})
    np.testing.assert_allclose(c, cm, atol=1e-6)
    np.testing.assert_allclose(o, om, atol=1e-6)
    plain = model_from_file(load_model_file(trained["eye_state"]))
    with torch.no_grad():
        c1 = plain(torch.from_numpy(x))[1].numpy()
        c2 = plain(torch.from_numpy(xm))[1].numpy()
    assert np.abs(c1 - c2).max() > 1e-4
    np.testing.assert_allclose(c, (c1 + c2) / 2, atol=1e-5)
    # the INT8 graph keeps the two passes
    qs, _ = load_and_validate(out / "model.int8.onnx")
    assert np.abs(qs.run(["closed_prob"], {"image": x})[0] - qs.run(["closed_prob"], {"image": xm})[0]).max() < 1e-6


def test_flip_tta_gaze_negates_the_mirror_yaw(trained, tmp_path):
    """gaze exports the flip TTA graph by default (gaze 0.5.0); a mirrored eye crop gets the mirrored gaze exactly;
    tta=none is one pass."""
    sess, man = load_and_validate(export(trained["gaze"], tmp_path / "g")["out"], expected_task="gaze")
    assert "yaw negated" in man.output_semantics["test_time_augmentation"]
    w, h = man.preprocessing["size"]
    x = np.random.default_rng(4).standard_normal((4, 1, h, w)).astype(np.float32)
    g = sess.run(["gaze_deg"], {"image": x})[0]
    gm = sess.run(["gaze_deg"], {"image": x[..., ::-1].copy()})[0]
    np.testing.assert_allclose(gm[:, 0], -g[:, 0], atol=1e-3)      # mirrored eye looks the other way
    np.testing.assert_allclose(gm[:, 1], g[:, 1], atol=1e-3)       # at the same height
    plain_s, plain_m = load_and_validate(export(trained["gaze"], tmp_path / "p", tta="none")["out"])
    assert "test_time_augmentation" not in plain_m.output_semantics
    gp = plain_s.run(["gaze_deg"], {"image": x})[0]
    assert np.abs(gp - g).max() > 1e-3                              # tta=none is the one-pass graph
    gpm = plain_s.run(["gaze_deg"], {"image": x[..., ::-1].copy()})[0]
    np.testing.assert_allclose(g, (gp + gpm * np.array([-1.0, 1.0])) / 2, atol=1e-3)


def test_flip_tta_is_refused_where_a_mirror_is_another_scene(trained, tmp_path):
    with pytest.raises(DataError, match="not defined for hands"):
        export(trained["hands"], tmp_path / "h", tta="flip")
    with pytest.raises(DataError, match="tta must be one of"):
        export(trained["eye_state"], tmp_path / "e", tta="mirror")
    assert not (tmp_path / "h").exists() and not (tmp_path / "e").exists()
    _, man = load_and_validate(export(trained["hands"], tmp_path / "h2")["out"])
    assert "test_time_augmentation" not in man.output_semantics


@pytest.fixture(scope="module")
def hands_seed1(toy_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("run_s1") / "hands"
    train(TrainConfig(task="hands", data=str(toy_root / "ds"), out=str(out), epochs=1, batch_size=16, seed=1,
                      arch="test_tiny_grid"))
    return out / "model.pt"


def test_ensemble_graph_averages_its_members(trained, hands_seed1, toy_root, tmp_path):
    """dms export ensemble=[...]: one graph whose outputs are the mean of every member's (here two training seeds
    of the toy hands model), INT8 included, recorded in the manifest."""
    import torch

    from dms.train.trainer import load_model_file, model_from_file
    s = export(trained["hands"], tmp_path / "ens", ensemble=[hands_seed1], int8=True, calib=str(toy_root / "ds"),
               n_calib=32, n_eval=32)
    assert s["ensemble"] == 2 and s["parity_max_abs_diff"] < 1e-4
    sess, man = load_and_validate(tmp_path / "ens")
    assert "mean of 2 models" in man.output_semantics["ensemble"] and man.metrics["export"]["ensemble"] == 2
    assert [m["seed"] for m in man.training["ensemble"]] == [0, 1]
    w, h = man.preprocessing["size"]
    x = np.random.default_rng(5).standard_normal((6, 1, h, w)).astype(np.float32)
    got = sess.run(["on_wheel_prob", "phone_prob"], {"image": x})
    with torch.no_grad():
        per = [[t.numpy() for t in model_from_file(load_model_file(p))(torch.from_numpy(x))]
               for p in (trained["hands"], hands_seed1)]
    for k in range(2):
        assert np.abs(per[0][k] - per[1][k]).max() > 1e-4            # the members really differ
        np.testing.assert_allclose(got[k], (per[0][k] + per[1][k]) / 2, atol=1e-5)
    qs, qm = load_and_validate(tmp_path / "ens" / "model.int8.onnx")
    assert qm.training["ensemble"] == man.training["ensemble"]
    assert np.abs(qs.run(["on_wheel_prob"], {"image": x})[0] - got[0]).max() < 0.2
    # one member alone is not the ensemble
    single, _ = load_and_validate(export(trained["hands"], tmp_path / "one")["out"])
    assert np.abs(single.run(["on_wheel_prob"], {"image": x})[0] - got[0]).max() > 1e-4


def test_ensemble_members_must_match(trained, hands_seed1, tmp_path):
    with pytest.raises(DataError, match="ensemble member .*task 'eye_state' differs"):
        export(trained["hands"], tmp_path / "bad", ensemble=[trained["eye_state"]])
    with pytest.raises(DataError, match="twice"):
        export(trained["hands"], tmp_path / "dup", ensemble=[trained["hands"]])
    assert not (tmp_path / "bad").exists() and not (tmp_path / "dup").exists()
    from dms.cli.export import _as_list
    assert _as_list(["a.pt", "b.pt"]) == ["a.pt", "b.pt"] and _as_list("a.pt") == ["a.pt"] and _as_list(None) is None
