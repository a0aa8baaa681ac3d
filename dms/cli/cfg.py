"""`dms cfg`: show defaults (typed comment per key) or check a config for a command."""
from __future__ import annotations

import argparse

from dms.cli.common import add_config_args

DESCRIPTION = """Show or check the configuration of a command.

  dms cfg show simulate              defaults as YAML, a typed comment per key
  dms cfg check train -c my.yaml lr=0.01   validate and print the resolved config (exit 2 on error)
"""

# command -> "module:ClassName" of its config model (imported lazily).
CONFIGS = {
    "simulate": "dms.sim.config:SimulateConfig",
    "train": "dms.train.config:TrainConfig",
    "run": "dms.runtime.config:RunConfig",
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["show", "check"])
    p.add_argument("for_command", metavar="COMMAND", choices=sorted(CONFIGS))
    add_config_args(p)


def config_model(command: str):
    import importlib
    mod, _, cls = CONFIGS[command].partition(":")
    return getattr(importlib.import_module(mod), cls)


def main(args, overrides) -> int:
    from dms.cli.common import resolve
    from dms.config import dump_yaml
    model = config_model(args.for_command)
    if args.action == "show" and not args.config and not overrides:
        print(dump_yaml(model()), end="")
        return 0
    cfg = resolve(model, args, overrides)
    print(dump_yaml(cfg), end="")
    return 0
