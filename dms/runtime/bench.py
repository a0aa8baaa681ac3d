"""`dms bench runtime`: end-to-end throughput and latency of the Monitor on a 640x480 stream of faces.

Frames: ``tools/demo/demo_clip.mp4`` when present, else YawDD clips from ../shared/realdata-dev (read only for
benchmarking), else a synthetic fallback (the result says which). Frames are decoded into memory first so decode
cost is not measured. Models: the model set directory when it has any model, else stand-in CNNs of realistic
cost built by ``dms.runtime.testing`` (reported).

Phases: (1) one stream frame by frame (VIDEO, back to back): ``fps_sequential`` and the per-stage latencies;
(2) the same stream pipelined (``MonitorOptions.pipelined``: the face front end of frame t+1 overlaps frame t's
models): ``fps``, the single-stream throughput; (3) a 30 fps camera in LIVE mode, pipelined, as ``dms run`` runs a
camera: ``p50_ms`` / ``p99_ms`` are its end-to-end latencies (push -> result); (4) ``streams_30fps`` is measured, not
extrapolated: ``n_workers`` monitors run concurrently in threads (one per core) and the aggregate fps / 30 is
reported.
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


def _monitor(models_dir, frontend: str, profile: str, pipelined: bool = False, callback=None,
             mode: RunningMode = RunningMode.VIDEO):
    from dms.runtime.monitor import Monitor, MonitorOptions
    return Monitor(MonitorOptions(models_dir=models_dir, frontend=frontend, profile=profile, running_mode=mode,
                                  pipelined=pipelined, result_callback=callback, gc_freeze=True))


class _Latencies:
    """Result callback: per-stage latencies of each result and its end-to-end latency (push -> result)."""

    def __init__(self) -> None:
        self.pushed: dict[int, float] = {}
        self.rows: list[dict] = []

    def __call__(self, res) -> None:
        t = time.perf_counter()
        lat = dict(res.latency_ms)
        t_push = self.pushed.pop(res.frame_id, None)
        if t_push is not None:
            lat["e2e"] = (t - t_push) * 1e3
        self.rows.append(lat)


def _run_stream(frames: list[np.ndarray], duration_s: float, make_monitor, pace_fps: Optional[float] = None,
                t0_ns: int = 0) -> tuple[int, float, "_Latencies"]:
    """Push frames for ``duration_s`` (back to back, or paced at ``pace_fps`` like a camera) into a monitor made by
    ``make_monitor(callback)``; returns (frames pushed, wall seconds until the last result, latencies)."""
    lats = _Latencies()
    n = 0
    dt = 33_333_333
    with make_monitor(lats) as mon:
        t_start = time.perf_counter()
        t_end = t_start + duration_s
        while True:
            now = time.perf_counter()
            if now >= t_end:
                break
            if pace_fps:
                due = t_start + n / pace_fps
                if due > now:
                    time.sleep(due - now)
            lats.pushed[n] = time.perf_counter()
            mon.push(Frame(image=frames[n % len(frames)], t_ns=t0_ns + n * dt, frame_id=n))
            n += 1
        mon.flush()
        wall = time.perf_counter() - t_start
    return n, wall, lats


def _percentiles(rows: list[dict]) -> dict:
    out = {}
    for k in sorted({k for lat in rows for k in lat}):
        v = np.array([lat[k] for lat in rows if k in lat])
        out[k] = {"p50_ms": round(float(np.percentile(v, 50)), 3), "p99_ms": round(float(np.percentile(v, 99)), 3),
                  "n": int(v.size)}
    return out


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

    def factory(pipelined: bool, mode: RunningMode = RunningMode.VIDEO):
        return lambda cb: _monitor(md, frontend, profile, pipelined, cb, mode)
    _run_stream(frames, min(1.0, duration_s / 5), factory(False))          # warm-up (graphs, caches)
    # (1) one stream, frames back to back, each frame finished before the next (VIDEO): per-stage latencies
    n_seq, wall_seq, lat_seq = _run_stream(frames, duration_s / 2, factory(False))
    # (2) the same, pipelined (the face front end of frame t+1 overlaps frame t's models): throughput
    n_pip, wall_pip, lat_pip = _run_stream(frames, duration_s / 2, factory(True))
    # (3) a 30 fps camera in LIVE mode, pipelined (as `dms run` on a camera): the latency a driver sees
    # (a p99 needs a few hundred frames: duration_s of camera time, 300 frames at the default 10 s)
    n_live, _, lat_live = _run_stream(frames, max(2.0, duration_s), factory(True, RunningMode.LIVE), pace_fps=30)
    fps_seq, fps = n_seq / wall_seq, n_pip / wall_pip
    _, single_peak = _rss_mb()          # process peak so far: one stream (+ warm-up) incl. the frame buffer
    per_stage = _percentiles(lat_seq.rows)
    live = _percentiles(lat_live.rows).get("e2e", {"p50_ms": None, "p99_ms": None, "n": 0})
    pip_e2e = _percentiles(lat_pip.rows)["e2e"]
    # concurrent streams (one monitor per worker thread)
    conc_s = concurrent_s if concurrent_s is not None else max(2.0, duration_s / 2)
    counts = [0] * n_workers
    mons = [_monitor(md, frontend, profile, callback=lambda r: None) for _ in range(n_workers)]

    def work(k: int) -> None:
        counts[k] = _run_stream(frames[k * 7:] + frames[:k * 7], conc_s, lambda cb: mons[k])[0]
    threads = [threading.Thread(target=work, args=(k,)) for k in range(n_workers)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    agg_fps = sum(counts) / (time.perf_counter() - t0)
    rss, conc_peak = _rss_mb()
    if tmp is not None:
        tmp.cleanup()
    return {
        # throughput of one stream (pipelined) and the latency of a 30 fps camera stream (LIVE, pipelined)
        "fps": round(fps, 1), "p50_ms": live["p50_ms"], "p99_ms": live["p99_ms"], "live_30fps_frames": live["n"],
        "fps_sequential": round(fps_seq, 1), "sequential_e2e": per_stage["e2e"], "pipelined_e2e": pip_e2e,
        # the runtime's RSS: the process peak of the single-stream phases minus the bench's own preloaded frames
        # (decoded up front so decoding is not measured; a deployment holds a frame or two, not 90)
        "rss_mb": round(single_peak - frames_mb, 1), "rss_process_peak_mb": round(single_peak, 1),
        "frames_buffer_mb": round(frames_mb, 1),
        "rss_concurrent_peak_mb": round(conc_peak, 1),  # process peak after the concurrent phase (1 + n_workers
        "rss_now_mb": round(rss, 1),                    # monitors), incl. the frame buffer
        "streams_30fps": int(agg_fps // 30), "concurrent_fps": round(agg_fps, 1),
        "concurrent_workers": n_workers, "per_stage": per_stage, "frames_from": frames_from,
        "models_from": models_from, "models": loaded, "frontend": frontend, "frames": n_seq + n_pip + n_live,
        "duration_s": duration_s,
        "targets": {"fps": 150, "p99_ms": 15, "streams_30fps": 4, "rss_mb": 300},
    }
