"""`dms bench`: benchmark the runtime (default) or the simulator."""
from __future__ import annotations

import argparse

DESCRIPTION = """Benchmark on this machine.

  dms bench [runtime] [--json] [--duration 10]   end-to-end fps, p50/p99 per stage, RSS, concurrent 30 fps streams
  dms bench simulate [--json] [--workers N] [--samples S] [--modalities rgb,nir]
                                                 simulator render rates (dms.sim.bench): 256px face crops,
                                                 64px eye crops, 640x480 frames; the same items for any --workers

With --json the last stdout line is one JSON object (runtime: fps, p50_ms, p99_ms, rss_mb, streams_30fps, ...).

--repeat N runs the whole measurement N times in this process and reports each headline figure as the median of
the runs, with every run's figures (`runs`) and their range (`spread`): on a shared or throttled machine one run
can be 20-40 % off the next, and a single figure then says little about a change.
"""

#: the headline figures of each target (medians over --repeat runs; the rest of the result is the last run's)
HEADLINE = {"runtime": ("fps", "fps_sequential", "p50_ms", "p99_ms", "rss_mb", "streams_30fps"),
            "simulate": ("face_crops_per_s", "eye_crops_per_s", "full_frames_per_s")}
#: figures taken from the first run, not the median: the runtime's RSS is a process peak, which later runs in the
#: same process inherit (run 1's concurrent monitors set it), so only the first run measures one stream
FIRST_RUN = ("rss_mb", "rss_process_peak_mb")


def summarize_runs(results: list[dict], keys, first=FIRST_RUN) -> dict:
    """One result from repeated runs: the last run's full result with each of ``keys`` replaced by the median over
    the runs that reported it (int keys stay int: the lower median) - or, for keys in ``first``, by the first
    run's value - plus ``repeats``, ``runs`` (the per-run ``keys``) and ``spread`` ({key: [min, max]})."""
    import statistics
    if not results:
        raise ValueError("no runs to summarize")
    out = dict(results[-1])
    runs = [{k: r.get(k) for k in keys} for r in results]
    spread = {}
    for k in keys:
        vals = [r[k] for r in runs if isinstance(r[k], (int, float)) and not isinstance(r[k], bool)]
        if not vals:
            continue
        if k in first:
            out[k] = vals[0]
        elif all(isinstance(v, int) for v in vals):
            out[k] = statistics.median_low(vals)
        else:
            out[k] = round(float(statistics.median(vals)), 3)
        spread[k] = [min(vals), max(vals)]
    for k in first:
        if k not in keys and k in results[0]:
            out[k] = results[0][k]
    out.update(repeats=len(results), runs=runs, spread=spread)
    return out


def _summary(results: list[dict], target: str) -> dict:
    return results[0] if len(results) == 1 else summarize_runs(results, HEADLINE[target])


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", nargs="?", default="runtime", choices=["runtime", "simulate"])
    p.add_argument("--json", action="store_true", help="print the result as JSON on the last stdout line")
    p.add_argument("--duration", type=float, default=10.0, help="runtime: seconds of single-stream measurement")
    p.add_argument("--models", default="models", help="runtime: model set directory")
    p.add_argument("--frontend", default="mediapipe", choices=["mediapipe", "onnx"])
    p.add_argument("--workers", type=int, default=None,
                   help="runtime: concurrent streams measured (default: cores); simulate: render processes "
                        "(default: as dms simulate workers=0, one Blender per 4 cores)")
    p.add_argument("--n-frames", type=int, default=10, help="simulate: items per case (dealt to the workers)")
    p.add_argument("--samples", type=int, default=None,
                   help="simulate: Cycles samples per pixel of every case (default: dms simulate's "
                        "render.samples for frames, render.crop_samples for crops)")
    p.add_argument("--modalities", default="rgb,nir", help="simulate: comma-separated modalities (rgb,nir)")
    p.add_argument("--repeat", type=int, default=1,
                   help="run the measurement N times; headline figures are the medians, with each run's figures "
                        "and their range")


def main(args, overrides) -> int:
    import os
    from dms.cli.common import print_json_last_line
    from dms.errors import UsageError
    if overrides:
        raise UsageError(f"dms bench takes no config overrides, got {overrides}")
    if args.repeat < 1:
        raise UsageError(f"--repeat must be >= 1, got {args.repeat}")
    results = []
    if args.target == "simulate":
        from dms.sim.bench import bench_simulate
        mods = tuple(m.strip() for m in args.modalities.split(",") if m.strip())
        for _ in range(args.repeat):
            try:
                results.append(bench_simulate(n_frames=args.n_frames, modalities=mods, samples=args.samples,
                                              workers=args.workers))
            except ValueError as e:
                raise UsageError(f"dms bench simulate: {e}") from None
        res = _summary(results, "simulate")
        for k, v in res.items():
            if not isinstance(v, (dict, list)):
                print(f"{k:>22}: {v}")
    else:
        from dms.runtime.bench import bench_runtime
        for _ in range(args.repeat):
            results.append(bench_runtime(duration_s=args.duration, models_dir=args.models, frontend=args.frontend,
                                         n_workers=args.workers or os.cpu_count() or 2))
        res = _summary(results, "runtime")
        print(f"frames: {res['frames_from']}   models: {res['models_from']} {res['models']}   "
              f"front end: {res['frontend']}")
        print(f"single stream: {res['fps']} fps pipelined ({res['fps_sequential']} fps frame by frame; under full "
              f"load a frame's result takes p50 {res['pipelined_e2e']['p50_ms']} / p99 "
              f"{res['pipelined_e2e']['p99_ms']} ms pipelined)")
        print(f"30 fps camera (LIVE, pipelined): end-to-end latency p50 {res['p50_ms']} ms  p99 {res['p99_ms']} ms")
        print("per stage, frame by frame:")
        for k, v in res["per_stage"].items():
            print(f"  {k:>10}: p50 {v['p50_ms']:7.3f} ms   p99 {v['p99_ms']:7.3f} ms")
        print(f"{res['concurrent_workers']} concurrent streams: {res['concurrent_fps']} fps total -> "
              f"{res['streams_30fps']} streams at 30 fps")
        print(f"RSS of the runtime {res['rss_mb']} MB (process peak {res['rss_process_peak_mb']} MB, of which "
              f"{res['frames_buffer_mb']} MB are the bench's preloaded frames); process peak "
              f"{res['rss_concurrent_peak_mb']} MB with {res['concurrent_workers'] + 1} monitors")
    if len(results) > 1:
        print(f"medians of {len(results)} runs (RSS: the first run's; per-stage figures: the last run's); range "
              "per figure: "
              + ", ".join(f"{k} {lo}-{hi}" for k, (lo, hi) in res["spread"].items()))
    if args.json:
        print_json_last_line(res)
    return 0
