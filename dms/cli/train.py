"""`dms train`: train an eye-state, yawn, gaze or hands model on renders (optionally + real images)."""
from __future__ import annotations

import argparse

from dms.cli.common import add_config_args

DESCRIPTION = """Train a model on `dms simulate` renders, optionally adapted with real labelled images.

  dms train eye_state data=renders/ out=runs/eye
  dms train eye_state data=renders/ real=my_eyes/ mode=finetune out=runs/eye_ft
        real=DIR uses the `dms eval` layout of the task (eye_state: open/ closed/; yawn: yawn/ no_yawn/;
        hands: on/ off/; gaze: a CSV path,yaw_deg,pitch_deg). mode: synthetic | hybrid | finetune | adabn.
  dms train gaze data=renders/ epochs=20 arch=cnn_m out=runs/gaze

Resumes from OUT/checkpoint.pt when the config matches (resume=false to start over). The last line of stdout is
a JSON summary. `dms cfg show train` lists every key.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("task", choices=["eye_state", "yawn", "gaze", "hands"], help="model task")
    add_config_args(p)


def main(args, overrides) -> int:
    from dms.cli.common import print_json_last_line, resolve
    from dms.train.config import TrainConfig
    overrides = [f"task={args.task}", *overrides]
    cfg = resolve(TrainConfig, args, overrides)
    from dms.train.trainer import train
    summary = train(cfg)
    keep = {"model": summary["model"], "task": cfg.task, "mode": cfg.mode, "n": summary["n"],
            "synthetic_val": _short(summary.get("synthetic_val")), "real_holdout": _short(summary.get("real_holdout")),
            "train_seconds": summary.get("train_seconds")}
    print_json_last_line(keep)
    return 0


def _short(m):
    if not m:
        return m
    return {k: v for k, v in m.items() if k != "confusion"}
