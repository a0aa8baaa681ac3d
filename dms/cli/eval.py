"""`dms eval`: measure a model on real labelled data (or alerts on sequences)."""
from __future__ import annotations

import argparse

DESCRIPTION = """Evaluate a model on real labelled data (exact layouts):

  dms eval eye-state DIR   [--model M] [--json]   DIR/open/*, DIR/closed/*: eye crops, gray or colour, any size
  dms eval yawn DIR        [--input crop|frame]   DIR/yawn/*, DIR/no_yawn/*: mouth crops or full camera frames
  dms eval gaze CSV                               columns path,yaw_deg,pitch_deg (+ others ignored); eye crops
  dms eval hands DIR                              DIR/on/* both hands on the wheel, DIR/off/* at least one off
  dms eval alerts DIR [--model MODELS_DIR] [--profile P]  alert timing on simulated sequences
                                                  (dispatched to dms.runtime.evaluate_alerts)

Without --model the shipped model (models/<task>/) is used. With --json the last line of stdout is one JSON
object: task, model (name@version), n, accuracy, balanced_accuracy, counts, recall (classification) or
mean_angular_error_deg, median_angular_error_deg (gaze), n_unreadable. Unreadable images are counted, never fatal.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("task", choices=["eye-state", "yawn", "gaze", "hands", "alerts"])
    p.add_argument("data", metavar="DIR|CSV", help="labelled folder (or gaze CSV)")
    p.add_argument("--model", default=None, metavar="M", help="model folder or .onnx (default: shipped model)")
    p.add_argument("--input", default="crop", choices=["crop", "frame"], help="yawn: mouth crops or full frames")
    p.add_argument("--json", action="store_true", help="print the report as JSON on the last line of stdout")
    p.add_argument("--max-items", type=int, default=0, help="evaluate only the first N listed images")
    p.add_argument("--framing", action="store_true", help="also measure on re-framed crops (shifted 10 %% and "
                   "zoomed): how much the model depends on how the crops were cut (report key 'framing')")
    a = p.add_argument_group("alerts")
    a.add_argument("--profile", default=None, help="alerts: regulation profile (default euro_ncap_2026)")
    a.add_argument("--frontend", default=None, help="alerts: face front end (mediapipe | onnx)")
    a.add_argument("--modality", default=None, choices=["rgb", "nir"], help="alerts: frames to run on")
    a.add_argument("--max-sequences", type=int, default=0, help="alerts: evaluate only the first N sequences")
    a.add_argument("--perception", default="models", choices=["models", "labels"],
                   help="alerts: 'labels' = oracle mode, ground-truth labels as perception (scores the alert "
                        "policy alone)")


def main(args, overrides) -> int:
    if args.task == "alerts":
        import importlib
        from dms.errors import DmsError
        try:
            mod = importlib.import_module("dms.runtime.evaluate_alerts")
        except ImportError as e:
            raise DmsError(f"dms eval alerts is not available in this build: {e}") from e
        args.dir = args.data                 # the runtime's evaluate_alerts reads args.dir / args.models
        args.models = args.model
        return int(mod.main(args) or 0)
    if overrides:
        from dms.errors import UsageError
        raise UsageError(f"unexpected arguments {overrides}")
    from dms.eval.models import evaluate, format_report
    report = evaluate(args.task, args.data, model=args.model, input_mode=args.input, max_items=args.max_items,
                      framing=args.framing)
    if args.json:
        from dms.cli.common import print_json_last_line
        print_json_last_line(report)
    else:
        print(format_report(report))
    return 0
