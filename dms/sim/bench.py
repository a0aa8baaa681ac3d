"""``dms bench simulate``: labelled images per second of the simulator on this machine.

Measures, per modality, (a) 256x256 face crops, (b) 64x64 eye crops (a left and a right eye per render call),
(c) 640x480 full frames, (d) full frames with the part-mask + depth pass (first modality; ``aux_overhead``
= its extra cost) — each rendered *and* labelled (the label projection is part of the cost). One scene is
built first (Blender scene construction is reported separately as ``setup_s``); each timed item uses a fresh
pose (eyes, mouth, gaze, head change), as in a dataset run. Wall-clock timing is the point of a benchmark.

It measures the path ``dms simulate`` takes: the renderer comes from :func:`dms.sim.jobs.make_renderer` (same
render settings, same threads per worker) and ``workers`` processes render at once (default: as
``dms simulate workers=0``, :func:`dms.sim.jobs.auto_workers`), each with its own Blender scene; rates are all
workers' items over the wall time of each case (the workers start every case together).

``dms/cli/bench.py`` (runtime engineer) calls :func:`bench_simulate` for the ``simulate`` target.
"""
from __future__ import annotations

import logging
import os
import platform
import time
from typing import Optional, Sequence

import numpy as np

log = logging.getLogger(__name__)

CASES = ("face_crops", "eye_crops", "full_frames", "full_frames_aux")
#: (d) full frames with the part mask + depth pass (render.part_masks / render.depth): first modality only
AUX_CASE = "full_frames_aux"


def _case_modalities(case: str, mods: tuple[str, ...]) -> tuple[str, ...]:
    return mods[:1] if case == AUX_CASE else mods


def _bench_config(renderer: str, samples: Optional[int], workers: int):
    from dms.sim.config import SimulateConfig
    # --samples S: S for every case (full frames and crops); default: dms simulate's samples / crop_samples
    render = {} if samples is None else {"samples": int(samples), "crop_samples": int(samples)}
    return SimulateConfig(renderer="mock" if renderer == "mock" else "blender", workers=workers, render=render)


def bench_workload(n_frames: int, seed: int, workers: int = 1, worker: int = 0, renderer: str = "blender",
                   samples: Optional[int] = None):
    """The benchmark scene and ``worker``'s share of the poses: one list of ``n_frames`` poses drawn from ``seed``,
    dealt round-robin (worker k renders poses k, k + workers, ...). So every worker count renders the very same
    items and rates compare across ``workers`` (per-worker pose lists made 1-vs-2-worker figures differ by the
    poses drawn: with 5 items per worker the slowest worker's poses set the wall time)."""
    from dms.sim.jobs import sample_crop_pose
    from dms.sim.spec import sample_scene

    cfg = _bench_config(renderer, samples, workers)
    rng = np.random.default_rng(seed)
    ranges = cfg.scene.model_copy(update={"resolutions": [(640, 480)], "mounts": ["steering_column"],
                                          "p_sunglasses": 0.0, "p_mask": 0.0})
    spec = sample_scene(rng, ranges)
    poses = [sample_crop_pose("face", rng, cfg) for _ in range(n_frames)]
    return cfg, spec, poses[worker::workers]


def _bench_worker(n_frames: int, modalities: Sequence[str], samples: Optional[int], renderer: str, seed: int,
                  workers: int, worker: int = 0, barrier=None) -> dict:
    """One worker's share (``n_frames`` items of each case in all, see :func:`bench_workload`):
    {"setup_s": s, "cases": {(case, modality): (n_items, t_start, t_end)}}."""
    from dms.sim.jobs import make_renderer
    from dms.sim.labels import crop_label, frame_label

    cfg, spec, poses = bench_workload(n_frames, seed, workers, worker, renderer, samples)
    r = make_renderer(cfg)                                   # the renderer (and settings) of a dms simulate worker
    mods = tuple(modalities)

    t0 = time.perf_counter()
    r.render_frame(spec, poses[0], modalities=mods)        # scene construction, shader compilation
    setup_s = time.perf_counter() - t0

    def crops(names, size):
        def run(pose, m):
            out = r.render_crops(spec, pose, crop_names=names, modalities=(m,), size=size)
            for name, mod, img in out:
                crop_label(spec, pose, name, mod, "bench.png")
            return len(out)
        return run

    def frames(pose, m, aux=()):
        imgs = r.render_frame(spec, pose, modalities=(m,), aux=aux)
        frame_label(spec, pose, 0, 0.0)
        return 1

    fns = {"face_crops": crops(("face",), 256), "eye_crops": crops(("eye_left", "eye_right"), 64),
           "full_frames": frames, AUX_CASE: lambda pose, m: frames(pose, m, ("parts", "depth"))}
    res = {}
    for case in CASES:
        for m in _case_modalities(case, mods):
            fns[case](poses[0], m)                               # warm this path (crop border / modality)
            if barrier is not None:
                barrier.wait()
            n_items, t = 0, time.perf_counter()
            for pose in poses:
                n_items += fns[case](pose, m)
            res[(case, m)] = (n_items, t, time.perf_counter())
    return {"setup_s": setup_s, "cases": res}


def _worker_main(q, barrier, *args) -> None:
    try:
        q.put(_bench_worker(*args, barrier=barrier))
    except BaseException as e:                               # report instead of leaving the others at the barrier
        barrier.abort()
        q.put(e)


def bench_simulate(n_frames: int = 10, modalities: Sequence[str] = ("rgb", "nir"), samples: Optional[int] = None,
                   renderer: str = "blender", seed: int = 0, workers: Optional[int] = None) -> dict:
    """Render ``n_frames`` items of each case per modality (shared by the workers); returns rates (items/s).

    ``workers``: render processes at once (None: as ``dms simulate workers=0``, see
    :func:`dms.sim.jobs.auto_workers`; the mock renderer: 1).
    Keys: ``face_crops_per_s``, ``eye_crops_per_s``, ``full_frames_per_s`` (all modalities pooled: items over
    total time), ``per_modality`` {modality: {case: items/s}}, ``setup_s``, ``settings``.
    """
    if n_frames < 1:
        raise ValueError(f"n_frames must be >= 1, got {n_frames}")
    for m in modalities:
        if m not in ("rgb", "nir"):
            raise ValueError(f"unknown modality {m!r}")
    if workers is None:
        from dms.sim.jobs import auto_workers
        workers = 1 if renderer == "mock" else auto_workers(renderer)
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    mods = tuple(modalities)
    if n_frames < workers:
        raise ValueError(f"n_frames ({n_frames}) must be >= workers ({workers}): every worker renders a share")
    args = (n_frames, mods, samples, renderer, seed, workers)          # n_frames dealt to the workers
    if workers == 1:
        results = [_bench_worker(*args)]
    else:
        import multiprocessing as mp
        ctx = mp.get_context("spawn")
        q, barrier = ctx.Queue(), ctx.Barrier(workers)
        procs = [ctx.Process(target=_worker_main, args=(q, barrier, *args[:-1], workers, k), daemon=True)
                 for k in range(workers)]
        for p in procs:
            p.start()
        try:
            results = [q.get() for _ in procs]
        finally:
            for p in procs:
                p.join(timeout=30)
        errors = [x for x in results if isinstance(x, BaseException)]
        if errors:
            raise RuntimeError(f"bench worker failed: {errors[0]!r}") from errors[0]

    per_mod: dict[str, dict] = {m: {} for m in mods}
    pooled: dict[str, list[float]] = {c: [0.0, 0.0] for c in CASES}
    for case in CASES:
        for m in _case_modalities(case, mods):
            spans = [res["cases"][(case, m)] for res in results]
            n_items = sum(x[0] for x in spans)
            dt = max(x[2] for x in spans) - min(x[1] for x in spans)
            per_mod[m][f"{case}_per_s"] = round(n_items / dt, 3)
            per_mod[m][f"{case}_s_each"] = round(dt * workers / max(n_items, 1), 4)   # per worker
            pooled[case][0] += n_items
            pooled[case][1] += dt
            log.info("bench simulate: %s %s: %d in %.2f s (%.2f/s)", case, m, n_items, dt, n_items / dt)
    settings = _bench_config(renderer, samples, workers).render
    out = {f"{c}_per_s": round(n / dt, 3) if dt > 0 else 0.0 for c, (n, dt) in pooled.items()}
    out.update({
        "per_modality": per_mod,
        "setup_s": round(max(res["setup_s"] for res in results), 3),
        "settings": {"n_frames": n_frames, "modalities": list(mods), "renderer": renderer, "workers": workers,
                     "samples": settings.samples, "crop_samples": settings.crop_samples,
                     "device": settings.device, "denoise": settings.denoise,
                     "cpu_count": os.cpu_count(), "machine": platform.machine(),
                     "load_avg_1min": round(os.getloadavg()[0], 2)},
        "targets": {"face_crops_per_s": 5.0, "eye_crops_per_s": 20.0},
    })
    m0 = per_mod[mods[0]]
    # the share of a full frame's render time the part/depth pass adds (same modality, same poses)
    out["aux_overhead"] = round(m0[f"{AUX_CASE}_s_each"] / max(m0["full_frames_s_each"], 1e-9) - 1.0, 3)
    out["meets_targets"] = bool(out["face_crops_per_s"] >= 5.0 and out["eye_crops_per_s"] >= 20.0)
    return out
