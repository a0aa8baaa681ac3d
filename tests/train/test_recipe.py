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
