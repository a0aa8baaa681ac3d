"""`dms export`: checkpoint -> ONNX (+ INT8) with an embedded + sidecar manifest, parity-checked."""
from __future__ import annotations

import argparse

DESCRIPTION = """Export a trained model to ONNX (opset 17) with its manifest; optionally INT8.

  dms export runs/eye/model.pt out=models/eye_state
  dms export runs/eye/model.pt --int8 calib=renders/ out=models/eye_state

tta=flip makes the graph average the model over the crop and its mirror image (eye_state, gaze: the default;
yawn: on request; tta=none: one pass). The ONNX output is checked against the torch model on the same inputs
(parity). ensemble=[B.pt,C.pt] adds members of the same task and input (e.g. other training seeds): the graph
averages their outputs. INT8 uses onnxruntime static quantisation calibrated on renders and reports its accuracy
delta on other renders. Files are written to a temporary folder and moved into OUT only when every check passed.
The last line of stdout is a JSON summary.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("ckpt", metavar="CKPT", help="model.pt (or checkpoint.pt) written by dms train")
    p.add_argument("--int8", action="store_true", help="also write model.int8.onnx (needs calib=DIR)")
    p.add_argument("--force", action="store_true", help="replace an existing export in OUT")


def _as_list(v) -> list[str] | None:
    """ensemble=[b.pt, c.pt] (or one path): the extra members."""
    if v is None:
        return None
    items = v if isinstance(v, (list, tuple)) else [v]
    return [str(x) for x in items if str(x).strip()] or None


def main(args, overrides) -> int:
    from dms.cli.common import print_json_last_line
    from dms.config.core import parse_override
    from dms.errors import UsageError
    opts = {"out": None, "calib": None, "n_calib": 400, "n_eval": 1000, "seed": 0, "name": None, "version": None,
            "tta": None, "ensemble": None}
    for ov in overrides:
        k, v = parse_override(ov)
        if k not in opts:
            raise UsageError(f"unknown option {k!r} for dms export; known: {sorted(opts)}")
        opts[k] = v
    if not opts["out"]:
        raise UsageError("dms export needs out=DIR")
    from pathlib import Path
    out = Path(str(opts["out"]))
    if (out / "model.onnx").exists() and not args.force:
        from dms.errors import DataError
        raise DataError(f"{out}/model.onnx exists; pass --force to replace it")
    from dms.export.onnx_export import export
    summary = export(args.ckpt, out, int8=args.int8, calib=None if opts["calib"] is None else str(opts["calib"]),
                     n_calib=int(opts["n_calib"]), n_eval=int(opts["n_eval"]), seed=int(opts["seed"]),
                     force=True, name=opts["name"], version=None if opts["version"] is None else str(opts["version"]),
                     tta=None if opts["tta"] is None else str(opts["tta"]), ensemble=_as_list(opts["ensemble"]))
    print_json_last_line(summary)
    return 0
