"""``dms train data=[a, b]``: several render sets pooled into one training set."""
import numpy as np
import pytest

from dms.config import load_config
from dms.errors import ConfigError, DataError
from dms.train.config import TrainConfig
from dms.train.data import load_synthetic
from dms.train.taskdefs import get_task
from dms.train.trainer import Trainer, load_model_file, train


@pytest.fixture(scope="module")
def two_roots(tmp_path_factory):
    from dms.train.toydata import write_toy_dataset
    root = tmp_path_factory.mktemp("two_roots")
    write_toy_dataset(root / "a", n_per_kind=24, rng=np.random.default_rng(5), kinds=("mouth",), n_shards=2)
    write_toy_dataset(root / "b", n_per_kind=36, rng=np.random.default_rng(6), kinds=("mouth",), n_shards=3)
    return root / "a", root / "b"


def _cfg(data, tmp_path, **kw):
    return TrainConfig(**(dict(task="yawn", data=data, out=str(tmp_path / "run"), arch="test_tiny", epochs=1,
                               batch_size=16, augment={"profile": "none"}, val_fraction=0.3) | kw))


def _loaded(cfg):
    t = Trainer(cfg)
    t._load(np.random.default_rng(cfg.seed))
    return t


def test_cli_override_accepts_a_list_or_a_single_root():
    assert load_config(TrainConfig, overrides=["data=[runs/a, runs/b]"]).data_roots() == ["runs/a", "runs/b"]
    assert load_config(TrainConfig, overrides=["data=runs/a"]).data_roots() == ["runs/a"]
    assert TrainConfig().data_roots() == []
    for bad in ("data=[]", "data=[runs/a, runs/a]"):
        with pytest.raises(ConfigError, match="data"):
            load_config(TrainConfig, overrides=[bad])


def test_both_roots_samples_are_used(two_roots, tmp_path):
    a, b = two_roots
    td = get_task("yawn")
    n_a, n_b = len(load_synthetic(a, td)), len(load_synthetic(b, td))
    t = _loaded(_cfg([str(a), str(b)], tmp_path))
    paths = t.synth_train.paths + t.synth_val.paths
    assert len(paths) == n_a + n_b
    assert sum(p.startswith(str(a)) for p in paths) == n_a and sum(p.startswith(str(b)) for p in paths) == n_b
    assert len(t.synth_train.targets) == len(t.synth_train) and len(t.synth_val.targets) == len(t.synth_val)
    # the first root splits exactly as when trained alone (dms export calib=FIRST_ROOT measures held-out scenes)
    alone = _loaded(_cfg(str(a), tmp_path / "alone"))
    assert sorted(p for p in t.synth_val.paths if p.startswith(str(a))) == sorted(alone.synth_val.paths)
    # scene ids repeat across render sets (toy-0-1 in both): they stay distinct groups, no scene on both sides
    n_scenes = len(set(load_synthetic(a, td).groups)) + len(set(load_synthetic(b, td).groups))
    assert len(set(t.synth_train.groups + t.synth_val.groups)) == n_scenes
    assert not set(t.synth_train.groups) & set(t.synth_val.groups)


def test_provenance_lists_every_root(two_roots, tmp_path):
    a, b = two_roots
    r = train(_cfg([str(a), str(b)], tmp_path))
    data = load_model_file(r["model"])["training"]["data"]
    assert data["path"] == str(a) and data["paths"] == [str(a), str(b)]
    assert [d["n_shards"] for d in data["roots"]] == [2, 3] and data["n_shards"] == 5
    assert data["roots"][0]["shards_sha256"] != data["roots"][1]["shards_sha256"]
    assert data["name"] == "toy"
    single = load_model_file(train(_cfg(str(a), tmp_path / "single"))["model"])["training"]["data"]
    assert single["path"] == str(a) and single["n_shards"] == 2 and "roots" not in single
    assert single["shards_sha256"] == data["roots"][0]["shards_sha256"]


def test_missing_root_is_a_clear_data_error(two_roots, tmp_path):
    a, _ = two_roots
    with pytest.raises(DataError, match=r"data root not found: .*nowhere"):
        train(_cfg([str(a), str(tmp_path / "nowhere")], tmp_path))
    with pytest.raises(DataError, match="not found"):
        train(_cfg(str(tmp_path / "nowhere"), tmp_path))


def test_yawn_threshold_re_derives_the_label_from_mouth_openness(two_roots, tmp_path):
    a, _ = two_roots
    base = _loaded(_cfg(str(a), tmp_path / "base"))
    t = _loaded(_cfg(str(a), tmp_path / "thr", yawn_threshold=0.2))
    for s0, s1 in ((base.synth_train, t.synth_train), (base.synth_val, t.synth_val)):
        o = s1.targets[:, 0]
        assert np.isfinite(o).all() and np.array_equal(s0.paths, s1.paths)
        assert np.array_equal(s1.targets[:, 1], (o >= 0.2).astype(np.float32))
    both = np.concatenate([base.synth_train.targets, base.synth_val.targets])
    relabelled = np.concatenate([t.synth_train.targets, t.synth_val.targets])
    assert (both[:, 1] != relabelled[:, 1]).any()                    # the threshold really moved some labels
    with pytest.raises(ConfigError):
        load_config(TrainConfig, overrides=["yawn_threshold=1.5"])


def test_closed_threshold_re_derives_the_eye_label_from_openness(tmp_path):
    from dms.train.toydata import write_toy_dataset
    write_toy_dataset(tmp_path / "eyes", n_per_kind=40, rng=np.random.default_rng(7), kinds=("eye",), n_shards=2)
    kw = dict(task="eye_state")
    base = _loaded(_cfg(str(tmp_path / "eyes"), tmp_path / "base", **kw))
    t = _loaded(_cfg(str(tmp_path / "eyes"), tmp_path / "thr", closed_threshold=0.7, **kw))
    for s0, s1 in ((base.synth_train, t.synth_train), (base.synth_val, t.synth_val)):
        o = s1.targets[:, 0]
        assert np.isfinite(o).all() and np.array_equal(s0.paths, s1.paths)
        assert np.array_equal(s1.targets[:, 1], (o < 0.7).astype(np.float32))
        assert np.array_equal(s0.targets[:, 0], o)                   # openness itself untouched
    both = np.concatenate([base.synth_train.targets, base.synth_val.targets])
    relabelled = np.concatenate([t.synth_train.targets, t.synth_val.targets])
    assert (both[:, 1] != relabelled[:, 1]).any()                    # the threshold really moved some labels
    with pytest.raises(ConfigError):
        load_config(TrainConfig, overrides=["closed_threshold=0"])
