import json
import subprocess
import sys

import pytest
import torch

from dms.errors import ConfigError, DataError
from dms.train.config import TrainConfig
from dms.train.trainer import CKPT_FORMAT, load_model_file, train


def _cfg(toy_root, tmp_path, **kw):
    base = dict(task="eye_state", data=str(toy_root / "ds"), out=str(tmp_path / "run"), arch="test_tiny", epochs=2,
                batch_size=16, lr=0.01, augment={"profile": "light"}, real_holdout=0.5)
    base.update(kw)
    return TrainConfig(**base)


def test_eye_state_learns_on_toy_crops(toy_root, tmp_path):
    r = train(_cfg(toy_root, tmp_path, arch="cnn_s", epochs=6, lr=3e-3, augment={"profile": "none"},
                   real=str(toy_root / "real_eye_state")))
    assert r["synthetic_val"]["balanced_accuracy"] >= 0.85
    assert r["real_holdout"]["n"] == 12       # half of the 24 real images held out, stratified
    out = tmp_path / "run"
    for f in ("model.pt", "checkpoint.pt", "config.resolved.yaml", "metrics.json", "curves.png", "confusion.png"):
        assert (out / f).is_file(), f
    info = load_model_file(out / "model.pt")
    assert info["task"] == "eye_state" and info["preprocessing"]["size"] == [32, 32]
    assert info["training"]["data"]["name"] == "toy"


def test_seeded_training_is_reproducible(toy_root, tmp_path):
    a = train(_cfg(toy_root, tmp_path / "a", seed=3))
    b = train(_cfg(toy_root, tmp_path / "b", seed=3))
    sa = load_model_file(tmp_path / "a" / "run" / "model.pt")["state_dict"]
    sb = load_model_file(tmp_path / "b" / "run" / "model.pt")["state_dict"]
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert a["synthetic_val"] == b["synthetic_val"]


def test_resume_continues_from_checkpoint(toy_root, tmp_path, caplog):
    cfg = _cfg(toy_root, tmp_path, epochs=3)
    train(cfg)
    ck_path = tmp_path / "run" / "checkpoint.pt"
    ck = torch.load(ck_path, weights_only=False)
    assert ck["format"] == CKPT_FORMAT and tuple(ck["position"]) == (0, 3)
    # pretend the run was interrupted after epoch 1
    ck["position"] = (0, 1)
    ck["history"] = ck["history"][:1]
    torch.save(ck, ck_path)
    caplog.set_level("INFO")
    train(cfg)
    assert "resuming from" in caplog.text
    hist = json.loads((tmp_path / "run" / "history.json").read_text())
    assert [h["epoch"] for h in hist] == [1, 2, 3]


def test_ema_weights_are_saved_and_survive_resume(toy_root, tmp_path):
    cfg = _cfg(toy_root, tmp_path / "ema", ema_decay=0.9, epochs=3)
    train(cfg)
    run = tmp_path / "ema" / "run"
    ck = torch.load(run / "checkpoint.pt", weights_only=False)
    ema = {k[len("module."):]: v for k, v in ck["ema"].items() if k.startswith("module.")}
    saved = load_model_file(run / "model.pt")["state_dict"]
    # the saved model is the moving average, not the last optimizer step's weights
    assert ck["ema"]["n_averaged"].item() > 1
    assert all(torch.equal(saved[k], ema[k]) for k in saved)
    assert any(not torch.equal(saved[k], ck["model"][k]) for k in saved if saved[k].is_floating_point())
    # the same config without EMA ends at different weights
    train(_cfg(toy_root, tmp_path / "raw", epochs=3))
    raw = load_model_file(tmp_path / "raw" / "run" / "model.pt")["state_dict"]
    assert any(not torch.equal(saved[k], raw[k]) for k in saved if saved[k].is_floating_point())
    # resuming after the finished phase restores the EMA model exactly (not the raw weights of the checkpoint)
    train(cfg)
    again = load_model_file(run / "model.pt")["state_dict"]
    assert all(torch.equal(saved[k], again[k]) for k in saved)
    with pytest.raises(ValueError, match="ema_decay"):
        _cfg(toy_root, tmp_path, ema_decay=1.0)


def test_ema_decay_warms_up_so_short_phases_move():
    from dms.train.trainer import _ema
    m = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    torch.nn.init.zeros_(m[0].weight)
    ema = _ema(m, 0.999)
    ema.update_parameters(m)                          # first update copies
    with torch.no_grad():
        m[0].weight.fill_(1.0)
    for _ in range(20):
        ema.update_parameters(m)
    w = ema.module[0].weight.detach()
    # a plain 0.999 EMA would sit at 1 - 0.999**20 = 0.02 after 20 steps; the warm-up follows the new weights
    assert 0.6 < float(w.mean()) < 1.0
    for _ in range(3000):
        ema.update_parameters(m)
    assert float(ema.module[0].weight.detach().mean()) == pytest.approx(1.0, abs=1e-3)
    assert _ema(m, 0.0) is None


@pytest.mark.parametrize("mode", ["hybrid", "finetune", "adabn"])
def test_domain_adaptation_modes(toy_root, tmp_path, mode):
    r = train(_cfg(toy_root, tmp_path, mode=mode, real=str(toy_root / "real_eye_state"), finetune_epochs=2))
    assert r["n"]["real_adapt"] == 12 and r["real_holdout"]["n"] == 12
    hist = json.loads((tmp_path / "run" / "history.json").read_text())
    phases = {h["phase"] for h in hist}
    want = {"hybrid": {"hybrid"}, "finetune": {"synthetic", "finetune"}, "adabn": {"synthetic", "adabn"}}
    assert want[mode] == phases


def test_adabn_from_init_changes_only_bn_statistics(toy_root, tmp_path):
    train(_cfg(toy_root, tmp_path / "base"))
    base = tmp_path / "base" / "run" / "model.pt"
    train(_cfg(toy_root, tmp_path / "ada", mode="adabn", init=str(base), data=None,
               real=str(toy_root / "real_eye_state")))
    a = load_model_file(base)["state_dict"]
    b = load_model_file(tmp_path / "ada" / "run" / "model.pt")["state_dict"]
    changed = {k for k in a if not torch.equal(a[k], b[k])}
    assert changed and all(k.endswith(("running_mean", "running_var", "num_batches_tracked")) for k in changed)


def test_config_errors(toy_root, tmp_path):
    with pytest.raises(ConfigError, match="needs real="):
        train(_cfg(toy_root, tmp_path, mode="finetune"))
    with pytest.raises(DataError, match="not a dms dataset"):
        train(_cfg(toy_root, tmp_path, data=str(tmp_path)))
    with pytest.raises(DataError, match="wrong layout"):
        train(_cfg(toy_root, tmp_path, mode="hybrid", real=str(toy_root / "real_yawn")))


def test_cli_train_json_and_bad_key(toy_root, tmp_path):
    out = tmp_path / "cli"
    r = subprocess.run([sys.executable, "-m", "dms", "train", "yawn", f"data={toy_root / 'ds'}", f"out={out}",
                        "arch=test_tiny", "epochs=1", "batch_size=16"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["task"] == "yawn" and summary["synthetic_val"]["n"] > 0
    r = subprocess.run([sys.executable, "-m", "dms", "train", "yawn", f"data={toy_root / 'ds'}", "epohcs=1"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "epohcs" in r.stderr and "epochs" in r.stderr


def test_blank_renders_and_sunglasses_are_skipped(tmp_path):
    import numpy as np

    from dms.contracts import CropLabel
    from dms.data.dataset import ShardWriter, write_dataset_manifest
    from dms.train.data import load_synthetic
    from dms.train.taskdefs import get_task
    from dms.train.toydata import draw_eye
    rng = np.random.default_rng(0)
    with ShardWriter(tmp_path, "crops-000000") as w:
        for i in range(6):
            img = draw_eye(0.9, 0, 0, rng) if i < 4 else np.full((64, 64), 0, np.uint8)
            w.write_image(f"eye/{i}.png", img)
            w.add_crop(CropLabel(file=f"eye/{i}.png", kind="eye", crop="eye_left", modality="nir", side="left",
                                 eye_openness=0.9, eye_closed=False,
                                 accessories=("sunglasses",) if i == 0 else ()))
    write_dataset_manifest(tmp_path, {"name": "t"})
    s = load_synthetic(tmp_path, get_task("eye_state"), drop_accessories=["sunglasses"], min_std=3.0)
    assert len(s) == 3 and s.n_blank == 2
    assert len(load_synthetic(tmp_path, get_task("eye_state"))) == 6
