import importlib.util
import json
from pathlib import Path

import pytest

SPEC = importlib.util.spec_from_file_location("train_models", Path(__file__).resolve().parents[2] / "tools" /
                                              "train_models.py")
train_models = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(train_models)


def test_recipe_refuses_non_blender_datasets(toy_root, tmp_path):
    with pytest.raises(SystemExit, match="not a Blender render"):
        train_models.check_rendered(toy_root / "ds")
    (tmp_path / "dataset.json").write_text(json.dumps({"schema": "dms.dataset/1", "config": {"renderer": "mock"}}))
    with pytest.raises(SystemExit, match="renderer='mock'"):
        train_models.check_rendered(tmp_path)
    (tmp_path / "dataset.json").write_text(json.dumps({"schema": "dms.dataset/1", "config": {"renderer": "blender"},
                                                       "created_by": "dms simulate"}))
    assert train_models.check_rendered(tmp_path)["config"]["renderer"] == "blender"


def test_recipe_covers_every_task():
    from dms.train.taskdefs import TASK_DEFS
    assert set(train_models.RECIPE) == set(TASK_DEFS) == set(train_models.REAL_DEV) == set(train_models.TARGETS)


def test_recipe_yawn_render_sets_are_valid_mouth_crop_configs():
    from dms.config import load_config
    from dms.sim.config import SimulateConfig
    sets = train_models.TASK_SIMULATE["yawn"]
    counts = train_models._per_set(train_models.MOUTH_CROPS, len(sets), "x")
    cfgs = [load_config(SimulateConfig, overrides=[kv.replace("@MOUTH_COUNT@", n) for kv in over])
            for over, n in zip(sets, counts)]
    assert len({c.seed for c in cfgs}) == len(cfgs)      # several sets: same settings, different scenes
    for cfg in cfgs:
        assert cfg.crops.mouth.count > 0 and cfg.crops.eye.count == 0 and cfg.crops.frame.count == 0
        assert cfg.renderer == "blender" and cfg.crops.mouth.size == 80
        assert cfg.crops.mouth.count % cfg.crops.per_shard == 0  # shards of a smaller set are a prefix of a larger
        assert cfg.model_dump(exclude={"seed", "crops"}) == cfgs[0].model_dump(exclude={"seed", "crops"})


def test_recipe_eye_sets_differ_only_in_scenes():
    from dms.config import load_config
    from dms.sim.config import SimulateConfig
    cfgs = [load_config(SimulateConfig, overrides=over) for over in train_models.EYE_SETS]
    assert len(cfgs) >= max(train_models.EYE_TASK_SETS.values()) and len({c.seed for c in cfgs}) == len(cfgs)
    for cfg in cfgs:
        assert cfg.crops.eye.count > 0 and cfg.crops.mouth.count == cfg.crops.frame.count == 0
        assert cfg.model_dump(exclude={"seed", "name"}) == cfgs[0].model_dump(exclude={"seed", "name"})
    assert [c.seed for c in cfgs] == [61, 62, 63, 64]


_EXCL = {"seed": True, "name": True, "crops": {"frame": {"mounts"}}}


def test_recipe_hands_render_sets_are_side_view_frame_configs():
    from dms.config import load_config
    from dms.sim.config import SimulateConfig
    sets = train_models.TASK_SIMULATE["hands"]
    counts = train_models._per_set("1200", len(sets), "x")
    cfgs = [load_config(SimulateConfig, overrides=[kv.replace("@HANDS_COUNT@", n) for kv in over])
            for over, n in zip(sets, counts)]
    assert len({c.seed for c in cfgs}) == len(cfgs)                     # several sets: different scenes
    # two scales of the same side view: the long lens (v3b) and the wide lens (State Farm's scale)
    assert [c.crops.frame.mounts for c in cfgs] == [["passenger_window"], ["passenger_window_wide"]]
    for cfg in cfgs:
        assert cfg.crops.frame.count == 1200
        assert cfg.crops.eye.count == cfg.crops.mouth.count == 0 and cfg.modalities == ["rgb"]
        assert (cfg.model_dump(exclude=_EXCL)
                == cfgs[0].model_dump(exclude=_EXCL))
    assert train_models.TASK_VERSION["hands"] == "0.6.0"


def test_recipe_task_data_paths_and_train_data_arg(monkeypatch):
    from argparse import Namespace
    from dms.config import load_config
    from dms.train.config import TrainConfig
    monkeypatch.setitem(train_models.TASK_SIMULATE, "yawn", [["seed=11"], ["seed=12"]])
    args = Namespace(data="runs/d/", task_data=[])
    assert train_models.task_data(args, "yawn") == [Path("runs/d-yawn"), Path("runs/d-yawn-2")]
    n_hands = len(train_models.TASK_SIMULATE["hands"])
    assert train_models.task_data(args, "hands") == [Path("runs/d-hands")] + [Path(f"runs/d-hands-{i}")
                                                                              for i in range(2, n_hands + 1)]
    assert train_models.task_data(args, "eye_state") == [Path("runs/d/")] + [Path(f"runs/d-{i}")
                                                                            for i in (2, 3, 4)]   # four eye sets
    assert train_models.task_data(args, "gaze") == [Path("runs/d-gaze")]                  # its own twin set
    args.task_data = ["yawn=a/m3,b/m4"]
    paths = train_models.task_data(args, "yawn")
    assert paths == [Path("a/m3"), Path("b/m4")]
    cfg = load_config(TrainConfig, overrides=[train_models.data_arg(paths)])
    assert cfg.data_roots() == ["a/m3", "b/m4"]
    assert load_config(TrainConfig, overrides=[train_models.data_arg(paths[:1])]).data == "a/m3"
    args.task_data = ["yawn=a/m3"]
    with pytest.raises(SystemExit, match="2 render set path"):
        train_models.task_data(args, "yawn")
    assert train_models._per_set("300", 2, "--mouth-crops") == ["300", "300"]
    with pytest.raises(SystemExit, match="--mouth-crops"):
        train_models._per_set("300,250,200", 2, "--mouth-crops")


@pytest.mark.parametrize("task", ["eye_state", "yawn", "gaze", "hands"])
def test_recipe_versions_are_the_shipped_versions(task):
    """The recipe names the version of what models/ ships (train and export stamp it), so re-running it cannot
    silently ship a model under an old version."""
    import json
    man = json.loads((train_models.REPO / "models" / task / "manifest.json").read_text())
    assert man["version"] == train_models.TASK_VERSION[task]
    tta = "test_time_augmentation" in man["output_semantics"]
    from dms.train.taskdefs import get_task
    assert tta == get_task(task).tta_flip            # shipped graphs are exported with the task's default tta


def test_recipe_gaze_set_is_eye_set_one_with_anatomical_eye_corners():
    """gaze (since 0.4.0) trains on a twin of eye set 1: the same seed (scenes, poses), only the eye-corner depth
    drawn."""
    from dms.config import load_config
    from dms.sim.config import SimulateConfig
    (over,) = train_models.TASK_SIMULATE["gaze"]
    gaze = load_config(SimulateConfig, overrides=over)
    eye1 = load_config(SimulateConfig, overrides=train_models.EYE_SETS[0])
    assert gaze.seed == eye1.seed and gaze.scene.canthus_depth[0] > 0.5 and eye1.scene.canthus_depth == (0.0, 0.0)
    assert gaze.model_dump(exclude={"name", "scene"}) == eye1.model_dump(exclude={"name", "scene"})
    assert gaze.scene.model_dump(exclude={"canthus_depth"}) == eye1.scene.model_dump(exclude={"canthus_depth"})
    assert "gaze" not in train_models.EYE_TASK_SETS


@pytest.fixture
def recipe_calls(monkeypatch) -> list[list[str]]:
    """The command lines the recipe runs, recorded instead of run (each answers '{"ok": 1}'); no model is copied."""
    import subprocess
    calls: list[list[str]] = []

    def fake_run(cmd, **kw):
        calls.append([str(c) for c in cmd])
        return subprocess.CompletedProcess(cmd, 0, stdout='{"ok": 1}\n', stderr="")
    monkeypatch.setattr(train_models, "run", fake_run)
    monkeypatch.setattr(train_models.shutil, "copyfile", lambda a, b: None)
    return calls


def test_recipe_ensemble_trains_seeds_and_exports_them_as_one_graph(monkeypatch, tmp_path, recipe_calls):
    """A task in ENSEMBLE trains that many seeds (RUNS/TASK, RUNS/TASK_seedK) and exports them with ensemble=."""
    from argparse import Namespace
    calls = recipe_calls
    monkeypatch.setitem(train_models.ENSEMBLE, "yawn", 3)
    args = Namespace(data="runs/d/", task_data=["yawn=a/m3"], runs=str(tmp_path / "r"), models=str(tmp_path / "m"),
                     seed=5, recipe=[], version=None)
    monkeypatch.setitem(train_models.TASK_SIMULATE, "yawn", [["seed=11"]])
    train_models.step_train(args, "yawn")
    trains = [c for c in calls if "train" in c]
    assert len(trains) == 3
    assert [next(a for a in c if a.startswith("seed=")) for c in trains] == ["seed=5", "seed=6", "seed=7"]
    outs = [next(a for a in c if a.startswith("out=")) for c in trains]
    assert outs == [f"out={tmp_path / 'r' / n}" for n in ("yawn", "yawn_seed6", "yawn_seed7")]
    calls.clear()
    train_models.step_export(args, "yawn")
    (exp,) = calls
    assert exp[exp.index("export") + 1] == str(tmp_path / "r" / "yawn" / "model.pt")
    ens = next(a for a in exp if a.startswith("ensemble="))
    assert ens == f"ensemble=[{tmp_path / 'r' / 'yawn_seed6' / 'model.pt'},{tmp_path / 'r' / 'yawn_seed7' / 'model.pt'}]"
    # a single-model task exports without it
    monkeypatch.setitem(train_models.ENSEMBLE, "yawn", 1)
    calls.clear()
    train_models.step_export(args, "yawn")
    assert not any(a.startswith("ensemble=") for a in calls[0])


def test_recipe_distill_trains_teachers_then_one_student_on_their_outputs(monkeypatch, tmp_path, recipe_calls):
    """A task in DISTILL trains that many teacher seeds (RUNS/TASK_teacherK) first, then the shipped model at
    RUNS/TASK with distill=[the teachers] on the same renders; it exports as one model (no ensemble)."""
    from argparse import Namespace
    calls = recipe_calls
    monkeypatch.setitem(train_models.DISTILL, "yawn", 3)
    monkeypatch.setitem(train_models.TASK_SIMULATE, "yawn", [["seed=11"]])
    args = Namespace(data="runs/d/", task_data=["yawn=a/m3"], runs=str(tmp_path / "r"), models=str(tmp_path / "m"),
                     seed=0, recipe=["epochs=1"], version=None)
    assert train_models.step_train(args, "yawn") == tmp_path / "r" / "yawn" / "model.pt"
    trains = [c for c in calls if "train" in c]
    get = lambda c, k: next((a for a in c if a.startswith(k + "=")), None)
    assert [get(c, "seed") for c in trains] == ["seed=0", "seed=1", "seed=2", "seed=0"]
    teachers = [str(tmp_path / "r" / f"yawn_teacher{k}") for k in range(3)]
    assert [get(c, "out") for c in trains] == [f"out={t}" for t in teachers] + [f"out={tmp_path / 'r' / 'yawn'}"]
    assert all(get(c, "distill") is None for c in trains[:3])                  # teachers learn from labels only
    assert get(trains[3], "distill") == "distill=[" + ",".join(f"{t}/model.pt" for t in teachers) + "]"
    assert get(trains[3], "distill_weight") == f"distill_weight={train_models.DISTILL_WEIGHT}"
    assert all(get(c, "data") == "data=a/m3" and "epochs=1" in c for c in trains)   # same renders, same recipe
    calls.clear()
    train_models.step_export(args, "yawn")
    assert not any(a.startswith("ensemble=") for a in calls[0])
    # the distill overrides are valid dms train keys
    from dms.config import load_config
    from dms.train.config import TrainConfig
    cfg = load_config(TrainConfig, overrides=[get(trains[3], "distill"), get(trains[3], "distill_weight")])
    assert [str(p) for p in cfg.distill] == [f"{t}/model.pt" for t in teachers]
    assert cfg.distill_weight == float(train_models.DISTILL_WEIGHT)
