from typing import Literal

import pytest
from pydantic import Field

from dms.config import ConfigModel, dump_yaml, load_config, parse_override, save_resolved, valid_keys
from dms.errors import ConfigError


class Optim(ConfigModel):
    lr: float = Field(1e-3, gt=0, description="learning rate")
    epochs: int = Field(10, ge=1, description="passes over the data")


class Demo(ConfigModel):
    name: str = Field("x", description="run name")
    backend: Literal["local", "ray"] = Field("local", description="where shards run")
    optim: Optim = Field(default_factory=Optim, description="optimiser")
    sizes: list[int] = Field(default_factory=lambda: [32, 32], description="input size")


def test_defaults_files_and_overrides_compose(tmp_path):
    f = tmp_path / "a.yaml"
    f.write_text("name: from_file\noptim:\n  lr: 0.5\n")
    cfg = load_config(Demo, files=[f], overrides=["optim.epochs=3", "sizes=[64, 48]"])
    assert cfg.name == "from_file" and cfg.optim.lr == 0.5 and cfg.optim.epochs == 3 and cfg.sizes == [64, 48]


def test_unknown_key_names_the_nearest_valid_key():
    with pytest.raises(ConfigError, match=r"unknown config key 'optim.epoch'; did you mean 'optim.epochs'"):
        load_config(Demo, overrides=["optim.epoch=3"])
    with pytest.raises(ConfigError, match=r"did you mean 'backend'"):
        load_config(Demo, overrides=["bakend=ray"])


def test_bad_values_are_config_errors_naming_the_key(tmp_path):
    with pytest.raises(ConfigError, match="optim.lr"):
        load_config(Demo, overrides=["optim.lr=-1"])
    with pytest.raises(ConfigError, match="backend"):
        load_config(Demo, overrides=["backend=gpu"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(Demo, files=[bad])
    with pytest.raises(ConfigError, match="not found"):
        load_config(Demo, files=[tmp_path / "missing.yaml"])


def test_override_values_are_yaml_not_eval():
    assert parse_override("a.b=3") == ("a.b", 3)
    assert parse_override("--x-y=true") == ("x_y", True)
    assert parse_override("s=__import__('os')") == ("s", "__import__('os')")
    with pytest.raises(ConfigError):
        parse_override("novalue")


def test_dump_has_typed_comments_and_round_trips(tmp_path):
    text = dump_yaml(Demo)
    assert "# float: learning rate" in text and "optim:" in text
    p = save_resolved(load_config(Demo, overrides=["name=r1"]), tmp_path)
    again = load_config(Demo, files=[p])
    assert again.name == "r1" and again == load_config(Demo, overrides=["name=r1"])
    assert "optim.lr" in valid_keys(Demo)
