"""``dms bench simulate``: labelled images per second of the simulator on this machine.

Measures, per modality, (a) 256x256 face crops, (b) 64x64 eye crops (a left and a right eye per render call),
(c) 640x480 full frames — each rendered *and* labelled (the label projection is part of the cost). One scene is
built first (Blender scene construction is reported separately as ``setup_s``); each timed item uses a fresh
pose (eyes, mouth, gaze, head change), as in a dataset run. Wall-clock timing is the point of a benchmark.

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


def bench_simulate(n_frames: int = 10, modalities: Sequence[str] = ("rgb", "nir"), samples: Optional[int] = None,
                   renderer: str = "blender", seed: int = 0) -> dict:
    """Render ``n_frames`` items of each case per modality; returns rates (items/s) and details.

    Keys: ``face_crops_per_s``, ``eye_crops_per_s``, ``full_frames_per_s`` (all modalities pooled: items over
    total time), ``per_modality`` {modality: {case: items/s}}, ``setup_s``, ``settings``.
    """
    if n_frames < 1:
        raise ValueError(f"n_frames must be >= 1, got {n_frames}")
    for m in modalities:
        if m not in ("rgb", "nir"):
            raise ValueError(f"unknown modality {m!r}")
    from dms.sim.config import SimulateConfig
    from dms.sim.jobs import sample_crop_pose
    from dms.sim.labels import crop_label, frame_label
    from dms.sim.render import MockRenderer, Renderer, RenderSettings
    from dms.sim.spec import sample_scene

    settings = RenderSettings() if samples is None else RenderSettings(samples=int(samples))
    r = MockRenderer(settings) if renderer == "mock" else Renderer(settings)
    cfg = SimulateConfig(renderer="mock" if renderer == "mock" else "blender")
    rng = np.random.default_rng(seed)
    ranges = cfg.scene.model_copy(update={"resolutions": [(640, 480)], "mounts": ["steering_column"],
                                          "p_sunglasses": 0.0, "p_mask": 0.0})
    spec = sample_scene(rng, ranges)
    poses = [sample_crop_pose("face", rng, cfg) for _ in range(n_frames)]
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

    def frames(pose, m):
        imgs = r.render_frame(spec, pose, modalities=(m,))
        frame_label(spec, pose, 0, 0.0)
        return len(imgs)

    cases = {"face_crops": crops(("face",), 256), "eye_crops": crops(("eye_left", "eye_right"), 64),
             "full_frames": frames}
    per_mod: dict[str, dict] = {m: {} for m in mods}
    pooled: dict[str, list[float]] = {c: [0.0, 0.0] for c in cases}
    for case, fn in cases.items():
        for m in mods:
            fn(poses[0], m)                                   # warm this path (crop border / modality)
            n_items, t = 0, time.perf_counter()
            for pose in poses:
                n_items += fn(pose, m)
            dt = time.perf_counter() - t
            per_mod[m][f"{case}_per_s"] = round(n_items / dt, 3)
            per_mod[m][f"{case}_s_each"] = round(dt / max(n_items, 1), 4)
            pooled[case][0] += n_items
            pooled[case][1] += dt
            log.info("bench simulate: %s %s: %d in %.2f s (%.2f/s)", case, m, n_items, dt, n_items / dt)
    out = {f"{c}_per_s": round(n / dt, 3) if dt > 0 else 0.0 for c, (n, dt) in pooled.items()}
    out.update({
        "per_modality": per_mod,
        "setup_s": round(setup_s, 3),
        "settings": {"n_frames": n_frames, "modalities": list(mods), "renderer": renderer,
                     "samples": getattr(settings, "samples", None), "device": getattr(settings, "device", None),
                     "cpu_count": os.cpu_count(), "machine": platform.machine()},
        "targets": {"face_crops_per_s": 5.0, "eye_crops_per_s": 20.0},
    })
    out["meets_targets"] = bool(out["face_crops_per_s"] >= 5.0 and out["eye_crops_per_s"] >= 20.0)
    return out
