"""`dms run`: the live monitoring loop on a camera, video, image folder or simulator dataset."""
from __future__ import annotations

import argparse

from dms.cli.common import add_config_args

DESCRIPTION = """Run the monitoring loop: face front end -> models -> fusion -> overlay / JSONL / timeline / ECU.

  dms run --source 0                                   webcam, overlay window (needs a display)
  dms run --source /dev/video2 source_cfg.pixel_format=NIR16   NIR camera delivering Y16
  dms run --source tools/demo/demo_clip.mp4 --headless --out out/demo
  dms run --source clip.mp4 --headless --ecu loop:// --frontend onnx --profile eu_addw

Outputs in --out: annotated.mp4 (headless), states.jsonl, events.jsonl, timeline.png, summary.json,
config.resolved.yaml. The last stdout line is the summary as JSON.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", help="camera index, /dev/videoN, video file, image folder or dataset dir")
    p.add_argument("--headless", action="store_true", default=None, help="no window; write annotated.mp4")
    p.add_argument("--out", help="output directory (default out/run)")
    p.add_argument("--ecu", help="ECU link URL (serial device, loop://, socket://host:port)")
    p.add_argument("--frontend", choices=["mediapipe", "onnx"], help="face front end")
    p.add_argument("--profile", help="regulation profile (euro_ncap_2026, eu_addw, eu_ddaw, ...)")
    p.add_argument("--models", help="model set directory (default models/)")
    p.add_argument("--live", action="store_true", default=None, help="newest-frame-wins even for files")
    p.add_argument("--max-frames", type=int, help="stop after N frames")
    add_config_args(p)


def main(args, overrides) -> int:
    from dms.cli.common import print_json_last_line, resolve
    from dms.runtime.config import RunConfig
    ov = list(overrides)
    for key in ("source", "out", "ecu", "frontend", "profile", "models"):
        v = getattr(args, key, None)
        if v is not None:
            ov.append((key, v))
    if args.headless:
        ov.append(("headless", True))
    if args.live:
        ov.append(("live", True))
    if args.max_frames is not None:
        ov.append(("source_cfg.max_frames", int(args.max_frames)))
    cfg = resolve(RunConfig, args, ov)
    from dms.runtime.loop import run
    summary = run(cfg)
    print(f"dms run: {summary['frames_processed']} frames ({summary['frames_valid']} valid, "
          f"{summary['frames_dropped']} dropped) at {summary['fps']} fps, p99 {summary['latency_p99_ms']} ms, "
          f"{summary['alerts']} alerts {summary['alerts_by_type']} -> {summary['out']}")
    print_json_last_line(summary)
    return 0
