"""``dms train distill=[teacher.pt, ...]``: knowledge distillation from teachers (e.g. an ensemble of seeds)."""
import numpy as np
import pytest
import torch

from dms.config import load_config
from dms.errors import ConfigError
from dms.train.config import TrainConfig
from dms.train.tasks import GAZE_SCALE_DEG, distill_loss, teacher_targets
from dms.train.trainer import Trainer, load_model_file, model_from_file, predict, train


@pytest.mark.parametrize("task,k", [("eye_state", 2), ("yawn", 2), ("hands", 3), ("gaze", 2)])
def test_distill_loss_is_minimal_at_the_teachers_mean(task, k):
    g = torch.Generator().manual_seed(0)
    raws = [torch.randn(8, k, generator=g) * 2 for _ in range(3)]
    soft = teacher_targets(task, raws)
    best = torch.logit(soft) if task != "gaze" else soft / GAZE_SCALE_DEG          # raw heads giving the mean
    best.requires_grad_(True)
    loss = distill_loss(task, best, soft)
    loss.backward()
    assert float(best.grad.abs().max()) < 1e-5                         # a stationary point ...
    for _ in range(5):                                                 # ... and a minimum
        other = best.detach() + torch.randn(best.shape, generator=g) * 0.5
        assert float(distill_loss(task, other, soft)) > float(loss.detach())


@pytest.fixture(scope="module")
def eyes(tmp_path_factory):
    from dms.train.toydata import write_toy_dataset
    root = tmp_path_factory.mktemp("distill")
    write_toy_dataset(root / "eyes", n_per_kind=120, rng=np.random.default_rng(3), kinds=("eye",), n_shards=2)
    return root


def _cfg(eyes, name, **kw):
    return TrainConfig(**(dict(task="eye_state", data=str(eyes / "eyes"), out=str(eyes / name), arch="cnn_s",
                               epochs=5, batch_size=16, lr=3e-3, augment={"profile": "none", "hflip": False},
                               val_fraction=0.25) | kw))


def test_student_learns_its_teachers_decision_not_the_labels(eyes):
    """The teacher calls eyes 'closed' below openness 0.8 (closed_threshold). A student trained on the default
    labels (closed below 0.2) with distill_weight=1 learns the teacher's boundary; without the teacher it learns
    the labels' - so the soft targets, not the labels, drove it."""
    train(_cfg(eyes, "teacher", closed_threshold=0.8, seed=1))
    teacher = str(eyes / "teacher" / "model.pt")
    train(_cfg(eyes, "student", distill=[teacher], distill_weight=1.0, seed=2))
    train(_cfg(eyes, "plain", seed=2))
    probe = Trainer(_cfg(eyes, "probe"))
    probe._load(np.random.default_rng(0))
    ds = probe.synth_train
    from dms.train.data import batch_inputs
    x = batch_inputs(ds, probe.td, probe.input_size)
    mid = (ds.targets[:, 0] > 0.5) & (ds.targets[:, 0] < 0.7)           # open by the labels, closed for the teacher
    assert mid.sum() >= 10

    def closed_prob(name):
        m = model_from_file(load_model_file(eyes / name / "model.pt"))
        return predict(m, probe.td, x)["closed_prob"][:, 0]
    t, s, p = closed_prob("teacher"), closed_prob("student"), closed_prob("plain")
    print("closed prob where open by label, closed for the teacher: teacher %.3f student %.3f plain %.3f (n=%d)"
          % (t[mid].mean(), s[mid].mean(), p[mid].mean(), mid.sum()))
    assert t[mid].mean() > 0.6 and p[mid].mean() < 0.4               # the two boundaries really differ there
    assert s[mid].mean() > 0.5
    assert abs(s[mid].mean() - t[mid].mean()) < abs(s[mid].mean() - p[mid].mean())
    info = load_model_file(eyes / "student" / "model.pt")
    d = info["training"]["distill"]
    assert [x["file"] for x in d] == [teacher] and d[0]["arch"] == "cnn_s" and d[0]["seed"] == 1


def test_teacher_mismatch_is_refused_before_training(eyes, tmp_path, toy_root):
    yawn_teacher = tmp_path / "yawn"
    train(TrainConfig(task="yawn", data=str(toy_root / "ds"), out=str(yawn_teacher), arch="test_tiny", epochs=1,
                      batch_size=16, augment={"profile": "none"}))
    eye_teacher = tmp_path / "eye"
    train(_cfg(eyes, "x", out=str(eye_teacher), arch="test_tiny", epochs=1))
    out = tmp_path / "student"
    with pytest.raises(ConfigError, match="task"):
        train(_cfg(eyes, "x", out=str(out), distill=[str(yawn_teacher / "model.pt")]))
    with pytest.raises(ConfigError, match="input_size"):
        train(_cfg(eyes, "x", out=str(out), input_size=[48, 48], distill=[str(eye_teacher / "model.pt")]))
    with pytest.raises(ConfigError, match="not found"):
        train(_cfg(eyes, "x", out=str(out), distill=[str(tmp_path / "missing.pt")]))
    assert not (out / "model.pt").exists()
    for bad in ("distill=[]", "distill=[a.pt, a.pt]", "distill_weight=1.5"):
        with pytest.raises(ConfigError):
            load_config(TrainConfig, overrides=[bad])
