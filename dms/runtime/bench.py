"""`dms bench runtime`: end-to-end throughput and latency of the Monitor on a 640x480 stream of faces.

Frames: ``tools/demo/demo_clip.mp4`` when present, else YawDD clips from ../shared/realdata-dev (read only for
benchmarking), else a synthetic fallback (the result says which). Frames are decoded into memory first so decode
cost is not measured. Models: the model set directory when it has any model, else stand-in CNNs of realistic
cost built by ``dms.runtime.testing`` (reported). ``streams_30fps`` is measured, not extrapolated: ``n_workers``
monitors run concurrently in threads (one per core) and the aggregate fps / 30 is reported.
"""
from __future__ import annotations

import logging
import resource
import tempfile
import threading
import time
from pathlib import Path
from typing import Optional

import numpy as np

from dms.contracts import Frame, RunningMode

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
DEMO_CLIP = REPO / "tools" / "demo" / "demo_clip.mp4"
REALDATA = REPO.parent / "shared" / "realdata-dev" / "cabin_video_yawdd"


def load_frames(n: int = 300, size: tuple[int, int] = (640, 480)) -> tuple[list[np.ndarray], str]:
    import cv2
    cands = [DEMO_CLIP] + sorted(REALDATA.glob("*.avi")) if REALDATA.is_dir() else [DEMO_CLIP]
    for p in cands:
        if not p.is_file():
            continue
        cap = cv2.VideoCapture(str(p))
        frames = []
        while len(frames) < n:
            ok, f = cap.read()
            if not ok:
                break
            if (f.shape[1], f.shape[0]) != size:
                f = cv2.resize(f, size, interpolation=cv2.INTER_AREA)
            frames.append(f)
        cap.release()
        if len(frames) >= 30:
            return frames, str(p)
    # synthetic fallback: a drawn face (the MediaPipe detector may not accept it -> NO_FACE path measured)
    rng = np.random.default_rng(0)
    frames = []
    for i in range(min(n, 60)):
        img = np.full((size[1], size[0], 3), 90, np.uint8)
        cx, cy = size[0] // 2 + int(10 * np.sin(i / 10)), size[1] // 2
        cv2.ellipse(img, (cx, cy), (90, 120), 0, 0, 360, (150, 170, 200), -1)
        for dx in (-35, 35):
            cv2.ellipse(img, (cx + dx, cy - 25), (18, 8), 0, 0, 360, (255, 255, 255), -1)
            cv2.circle(img, (cx + dx, cy - 25), 6, (40, 30, 20), -1)
        cv2.ellipse(img, (cx, cy + 55), (30, 8), 0, 0, 360, (60, 60, 150), -1)
        img = np.clip(img + rng.normal(0, 4, img.shape), 0, 255).astype(np.uint8)
        frames.append(img)
    return frames, "synthetic"


def _rss_mb() -> tuple[float, float]:
    cur = 0.0
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                cur = int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return cur, peak


def _monitor(models_dir, frontend: str, profile: str):
    from dms.runtime.monitor import Monitor, MonitorOptions
    return Monitor(MonitorOptions(models_dir=models_dir, frontend=frontend, profile=profile,
                                  running_mode=RunningMode.VIDEO))


def _run_stream(mon, frames: list[np.ndarray], duration_s: float, lats: list[dict], t0_ns: int = 0) -> int:
    n, i = 0, 0
    t_end = time.perf_counter() + duration_s
    dt = 33_333_333
    while time.perf_counter() < t_end:
        f = frames[i % len(frames)]
        t0 = time.perf_counter()
        res = mon.push(Frame(image=f, t_ns=t0_ns + n * dt, frame_id=n))
        lat = dict(res.latency_ms)
        lat["e2e"] = (time.perf_counter() - t0) * 1e3
        lats.append(lat)
        n += 1
        i += 1
    return n


def bench_runtime(duration_s: float = 10.0, models_dir: Optional[str] = "models", frontend: str = "mediapipe",
                  profile: str = "euro_ncap_2026", n_workers: int = 2, concurrent_s: Optional[float] = None) -> dict:
    from dms.runtime.models import load_model_set
    # 90 frames (~80 MB of 640x480 BGR) cycled: enough variety (blinks, a yawn, a glance) without the frame
    # buffer dominating the memory figure
    frames, frames_from = load_frames(n=90)
    frames_mb = sum(f.nbytes for f in frames) / 2 ** 20
    tmp = None
    md = Path(models_dir) if models_dir else None
    have = bool(md and md.is_dir() and any((md / t / "model.onnx").is_file()
                                           for t in ("eye_state", "yawn", "gaze", "hands")))
    if have:
        models_from = str(md)
    else:
        from dms.runtime.testing import write_model_set
        tmp = tempfile.TemporaryDirectory(prefix="dms-bench-models-")
        write_model_set(tmp.name, kind="conv", normalize="per_image", rng=np.random.default_rng(0))
        md, models_from = Path(tmp.name), "stand-in CNNs (dms.runtime.testing, no shipped models)"
    loaded = sorted(load_model_set(md))
    # single stream
    lats: list[dict] = []
    with _monitor(md, frontend, profile) as mon:
        _run_stream(mon, frames, min(1.0, duration_s / 5), [])          # warm-up (graphs, caches)
    with _monitor(md, frontend, profile) as mon:
        t0 = time.perf_counter()
        n = _run_stream(mon, frames, duration_s, lats)
        wall = time.perf_counter() - t0
    fps = n / wall
    _, single_peak = _rss_mb()          # process peak so far: one stream (+ warm-up) incl. the frame buffer
    stages = sorted({k for lat in lats for k in lat})
    per_stage = {}
    for k in stages:
        v = np.array([lat[k] for lat in lats if k in lat])
        per_stage[k] = {"p50_ms": round(float(np.percentile(v, 50)), 3), "p99_ms": round(float(np.percentile(v, 99)), 3),
                        "n": int(v.size)}
    # concurrent streams (one monitor per worker thread)
    conc_s = concurrent_s if concurrent_s is not None else max(2.0, duration_s / 2)
    counts = [0] * n_workers
    mons = [_monitor(md, frontend, profile) for _ in range(n_workers)]

    def work(k: int) -> None:
        counts[k] = _run_stream(mons[k], frames[k * 7:] + frames[:k * 7], conc_s, [])
    threads = [threading.Thread(target=work, args=(k,)) for k in range(n_workers)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    agg_fps = sum(counts) / (time.perf_counter() - t0)
    for m in mons:
        m.close()
    rss, conc_peak = _rss_mb()
    if tmp is not None:
        tmp.cleanup()
    e2e = per_stage["e2e"]
    return {
        "fps": round(fps, 1), "p50_ms": e2e["p50_ms"], "p99_ms": e2e["p99_ms"],
        "rss_mb": round(single_peak, 1),              # single stream, incl. the preloaded frames below
        "frames_buffer_mb": round(frames_mb, 1),
        "rss_concurrent_peak_mb": round(conc_peak, 1),  # after the concurrent phase (1 + n_workers monitors)
        "rss_now_mb": round(rss, 1), "streams_30fps": int(agg_fps // 30), "concurrent_fps": round(agg_fps, 1),
        "concurrent_workers": n_workers, "per_stage": per_stage, "frames_from": frames_from,
        "models_from": models_from, "models": loaded, "frontend": frontend, "frames": n, "duration_s": duration_s,
        "targets": {"fps": 150, "p99_ms": 15, "streams_30fps": 4, "rss_mb": 300},
    }
