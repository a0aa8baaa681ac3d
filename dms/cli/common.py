"""Helpers shared by subcommands (stdlib only at import time)."""
from __future__ import annotations

import argparse


def add_config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", action="append", default=[], metavar="FILE.yaml",
                   help="config file(s), applied in order; then key=value overrides")


def resolve(model, args, overrides):
    """Resolve a command config from -c files and overrides (raises ConfigError with a suggestion)."""
    from dms.config import load_config
    return load_config(model, files=getattr(args, "config", []) or [], overrides=overrides)


def print_json_last_line(obj) -> None:
    """Print one JSON object as the last line of stdout (the machine-readable contract of --json)."""
    import json
    import sys
    sys.stdout.flush()
    print(json.dumps(obj, sort_keys=True, default=str), flush=True)
