"""The `dms run` loop: source -> Monitor -> sinks, with a summary at the end.

File sources are processed frame by frame (VIDEO mode, deterministic). Live sources (cameras) use LIVE mode:
the source thread pushes every captured frame and the Monitor's worker keeps only the newest (drops counted).
Camera faults from :class:`dms.io.sources.ReconnectingSource` are pushed as invalid steps.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Optional

from dms.config import save_resolved
from dms.contracts import Frame, RunningMode
from dms.io.sinks import EcuSink, JsonlSink, SinkGroup, TimelineSink, VideoSink, WindowSink, write_summary
from dms.io.sources import SourceFault, open_source
from dms.runtime.config import RunConfig
from dms.runtime.monitor import Monitor, MonitorOptions, MonitorResult

log = logging.getLogger(__name__)


def _display_available() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run(cfg: RunConfig, monitor_options: Optional[MonitorOptions] = None, stop: Optional[threading.Event] = None
        ) -> dict:
    """Run the loop until the source ends (or ``stop`` is set / max_frames reached). Returns the summary."""
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    sc = cfg.source_cfg
    source = open_source(cfg.source, fps=sc.fps, pixel_format=sc.pixel_format, width=sc.width, height=sc.height,
                         modality=sc.modality, loop=sc.loop, backoff_s=sc.reconnect_backoff_s,
                         max_reconnects=sc.max_reconnects)
    live = source.live if cfg.live is None else bool(cfg.live)
    link = None
    if cfg.ecu:
        from dms.bridge.link import EcuLink   # lazy: pyserial only when an ECU is used
        link = EcuLink(cfg.ecu)            # starts its own I/O thread

    sinks = []
    if cfg.sinks.jsonl:
        sinks.append(JsonlSink(out, perception=cfg.sinks.jsonl_perception))
    window = None
    if not cfg.headless:
        if _display_available():
            try:
                window = WindowSink()
                sinks.append(window)
            except OSError as e:
                log.warning("%s: running headless instead", e)
        else:
            log.warning("no display: running headless (annotated video in %s)", out)
    if window is None and cfg.sinks.video:
        sinks.append(VideoSink(out / "annotated.mp4", fps=source.fps or cfg.sinks.video_fps))
    if cfg.sinks.timeline:
        sinks.append(TimelineSink(out / "timeline.png", title=f"dms run {cfg.source}"))
    if link is not None:
        sinks.append(EcuSink(link))
    group = SinkGroup(sinks, max_failures=cfg.sinks.max_failures)
    save_resolved(cfg, out)

    results_lock = threading.Lock()
    frames_by_id: dict[int, Frame] = {}
    counts = {"frames": 0, "valid": 0, "alerts": 0, "faults": 0}
    alert_types: dict[str, int] = {}
    lat_totals: list[float] = []

    def on_result(res: MonitorResult) -> None:
        with results_lock:
            frame = frames_by_id.pop(res.frame_id, None) if res.perception.fault.name != "CAMERA_FAULT" else None
            if live:   # forget frames that were dropped before processing
                for k in [k for k in frames_by_id if k < res.frame_id]:
                    del frames_by_id[k]
        counts["frames"] += 1
        if res.state is not None and res.state.valid:
            counts["valid"] += 1
        for ev in res.events:
            if ev.active:
                counts["alerts"] += 1
                alert_types[ev.type.value] = alert_types.get(ev.type.value, 0) + 1
        if "total" in res.latency_ms:
            lat_totals.append(res.latency_ms["total"])
        group.write(res, frame)

    opts = monitor_options or MonitorOptions.from_run_config(cfg)
    opts.running_mode = RunningMode.LIVE if live else RunningMode.VIDEO
    opts.result_callback = on_result
    if link is not None and opts.vehicle_provider is None:
        opts.vehicle_provider = link.vehicle_at
    t_start = time.perf_counter()
    n_in = 0
    first_t = last_t = None
    monitor = Monitor(opts)
    try:
        for item in source:
            if stop is not None and stop.is_set():
                break
            if window is not None and window.quit:
                break
            if isinstance(item, SourceFault):
                counts["faults"] += 1
                monitor.push_fault(item.t_ns, item.fault, reason=item.reason)
                continue
            with results_lock:
                frames_by_id[item.frame_id] = item
            first_t = item.t_ns if first_t is None else first_t
            last_t = item.t_ns
            monitor.push(item)
            n_in += 1
            if sc.max_frames and n_in >= sc.max_frames:
                break
        monitor.flush()
    finally:
        stats = monitor.stats()
        monitor.close()
        source.close()
        group.close()
    wall_s = time.perf_counter() - t_start
    lat_sorted = sorted(lat_totals)

    def pct(q: float) -> Optional[float]:
        return round(lat_sorted[min(len(lat_sorted) - 1, int(q * len(lat_sorted)))], 3) if lat_sorted else None

    summary = {
        "source": cfg.source, "mode": opts.running_mode.value, "frames_in": n_in, "frames_processed": counts["frames"],
        "frames_dropped": stats["dropped"], "frames_valid": counts["valid"], "camera_faults": counts["faults"],
        "fps": round(counts["frames"] / wall_s, 2) if wall_s > 0 else None,
        "media_s": round((last_t - first_t) / 1e9, 3) if first_t is not None and last_t is not None else 0.0,
        "latency_p50_ms": pct(0.5), "latency_p99_ms": pct(0.99), "alerts": counts["alerts"],
        "alerts_by_type": alert_types, "models": stats["models"], "frontend": stats["frontend"],
        "profile": cfg.profile, "disabled_sinks": group.disabled, "out": str(out),
    }
    if link is not None:
        try:
            summary["ecu"] = link.status()
        except Exception as e:  # noqa: BLE001
            summary["ecu"] = {"error": str(e)}
    write_summary(out / "summary.json", summary)
    return summary
