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


def test_recipe_yawn_render_set_is_a_valid_mouth_crop_config():
    from dms.config import load_config
    from dms.sim.config import SimulateConfig
    over = [kv.replace("@MOUTH_COUNT@", "300") for kv in train_models.TASK_SIMULATE["yawn"]]
    cfg = load_config(SimulateConfig, overrides=over)
    assert cfg.crops.mouth.count == 300 and cfg.crops.eye.count == 0 and cfg.crops.frame.count == 0
    assert cfg.renderer == "blender" and cfg.crops.mouth.size == 80
    assert cfg.crops.mouth.count % cfg.crops.per_shard == 0      # shards of a smaller set are a prefix of a larger
    assert train_models.TASK_VERSION["yawn"] == "0.3.0"
