"""The embeddable Monitor API (MediaPipe-tasks style) — the object `dms run` uses.

    from dms.runtime import Monitor, MonitorOptions
    with Monitor(MonitorOptions(models_dir="models", running_mode=RunningMode.VIDEO)) as mon:
        for frame in source:
            result = mon.push(frame)            # MonitorResult(perception, state, events)

Running modes (dms.contracts.RunningMode):
  * IMAGE — independent stills: no tracking, no fusion (``state`` is None, ``events`` empty); any timestamps.
  * VIDEO — every frame processed in order; ``push`` returns the result (and calls the callback if given);
    timestamps must strictly increase.
  * LIVE  — ``push`` returns immediately; a worker processes the newest pending frame and delivers results to
    ``result_callback``; a frame replaced before it was processed is dropped and counted (``stats()``).
    Timestamps must strictly increase.

``pipelined=True`` (VIDEO and LIVE; results through ``result_callback`` only, ``push`` returns None): the face front
end works on frame t+1 in its own threads while the models run on frame t, so two cores are busy on one stream.
Results are the same as without pipelining and arrive in frame order, one frame later (VIDEO: the last one on
``flush()`` or ``close()``; LIVE: at once when no newer frame is waiting).

Models are loaded and validated at construction (ModelError before the first frame). Camera faults are pushed
with :meth:`Monitor.push_fault` so that a state (``valid=False``) is still published every step.
"""
from __future__ import annotations

import gc
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from dms.contracts import Alert, DriverState, FaultCode, Frame, Perception, RunningMode, VehicleSignals
from dms.contracts.manifest import TASKS
from dms.errors import DmsError, ModelError, UsageError
from dms.runtime.config import OrtConfig, PerceptionConfig, RunConfig
from dms.runtime.face.base import FaceFrontEnd, create_face_frontend
from dms.runtime.models import TaskModel, load_model_set
from dms.runtime.perception import PerceptionDetail, PerceptionJob, Perceiver

log = logging.getLogger(__name__)


class TimestampError(UsageError, ValueError):
    """Frames pushed in VIDEO/LIVE mode must have strictly increasing ``t_ns``."""


@dataclass
class MonitorResult:
    """One processed frame: per-frame perception, the fused driver state and alert transitions at this step."""
    perception: Perception
    state: Optional[DriverState]
    events: list[Alert] = field(default_factory=list)
    detail: PerceptionDetail = field(default_factory=PerceptionDetail, repr=False)
    latency_ms: dict = field(default_factory=dict)     # perception stages + "fusion" + "total"

    @property
    def t_ns(self) -> int:
        return self.perception.t_ns

    @property
    def frame_id(self) -> int:
        return self.perception.frame_id


@dataclass
class MonitorOptions:
    models_dir: Optional[str | Path] = "models"
    frontend: Optional[str] = "mediapipe"            # None: no face front end (frame-level models only)
    profile: str = "euro_ncap_2026"
    running_mode: RunningMode = RunningMode.VIDEO
    result_callback: Optional[Callable[[MonitorResult], None]] = None
    tasks: tuple[str, ...] = TASKS
    perception: PerceptionConfig = field(default_factory=PerceptionConfig)
    ort: OrtConfig = field(default_factory=OrtConfig)
    # Called with the frame's t_ns; returns vehicle signals stamped in the frame's clock (None = speed unknown),
    # e.g. ``EcuLink.vehicle_at``. The frame clock of a video file is not the link's clock: staleness is the
    # provider's business.
    vehicle_provider: Optional[Callable[[int], Optional[VehicleSignals]]] = None
    frontend_kwargs: dict = field(default_factory=dict)
    pipelined: bool = False                          # overlap the face front end of frame t+1 with frame t's models
    opencv_threads: Optional[int] = 1                # cv2.setNumThreads (process-wide); None = leave as is
    # After loading: gc.collect() + gc.freeze() (process-wide). The ~100k objects of the loaded runtime (imports,
    # front end, sessions) leave the cyclic collector's reach, so its occasional full collections no longer stall
    # a frame by 20-50 ms. Objects freed later are still freed; only cyclic garbage already alive at the freeze
    # is kept. For an application that owns the process (``dms run`` turns it on); off by default.
    gc_freeze: bool = False
    # Injection points (tests, embedding): an existing front end / models dict / fusion factory(profile).
    frontend_instance: Optional[FaceFrontEnd] = None
    models: Optional[dict[str, TaskModel]] = None
    fusion_factory: Optional[Callable[[str], Any]] = None

    @classmethod
    def from_run_config(cls, cfg: RunConfig, **kw) -> "MonitorOptions":
        live = bool(cfg.live)
        kw.setdefault("pipelined", bool(cfg.pipelined))
        kw.setdefault("gc_freeze", bool(cfg.gc_freeze))
        return cls(models_dir=cfg.models, frontend=cfg.frontend, profile=cfg.profile,
                   running_mode=RunningMode.LIVE if live else RunningMode.VIDEO, tasks=tuple(cfg.tasks),
                   perception=cfg.perception, ort=cfg.ort, **kw)


def default_fusion_factory(profile: str, road_direction_deg: tuple[float, float] = (0.0, 0.0)):
    try:
        from dms.fusion import FusionEngine
    except ImportError as e:
        raise DmsError(f"fusion is not available (dms.fusion.FusionEngine): {e}") from e
    return FusionEngine(profile=profile, road_direction_deg=road_direction_deg)


def _zone_mapper(profile: str):
    """The fusion profile's gaze-zone map for the per-frame zone (the default map for a profile fusion does not
    know, e.g. one handled by a custom fusion_factory)."""
    from dms.fusion import GazeZoneMapper, get_profile
    try:
        p = get_profile(profile)
    except ValueError:
        return GazeZoneMapper()
    return GazeZoneMapper(p.zone_map, p.attentive_zones)


class Monitor:
    """Create from a model set and settings, push frames, receive states/events, close."""

    def __init__(self, options: Optional[MonitorOptions] = None, **kw):
        self.options = opts = options or MonitorOptions(**kw)
        self.mode = RunningMode(opts.running_mode)
        if self.mode is RunningMode.LIVE and opts.result_callback is None:
            raise UsageError("LIVE mode needs a result_callback (results are delivered asynchronously)")
        if opts.pipelined and self.mode is RunningMode.IMAGE:
            raise UsageError("pipelined processing needs VIDEO or LIVE mode (IMAGE-mode stills are independent)")
        if opts.pipelined and opts.result_callback is None:
            raise UsageError("pipelined mode needs a result_callback (each result arrives one frame later)")
        if opts.models is not None:
            self.models = dict(opts.models)
        else:
            self.models = load_model_set(opts.models_dir, tasks=opts.tasks, providers=opts.ort.providers,
                                         intra_op_threads=opts.ort.intra_op_threads,
                                         inter_op_threads=opts.ort.inter_op_threads, prefer_int8=opts.ort.prefer_int8)
        if opts.frontend_instance is not None:
            self.frontend: Optional[FaceFrontEnd] = opts.frontend_instance
        elif opts.frontend:
            self.frontend = create_face_frontend(opts.frontend, **opts.frontend_kwargs)
        else:
            self.frontend = None
        if self.frontend is None and not self.models:
            raise ModelError(f"nothing to run: no face front end and no models under {opts.models_dir}")
        missing = [t for t in opts.tasks if t not in self.models]
        if missing:
            log.info("signals unavailable (no model): %s", ", ".join(missing))
        if opts.opencv_threads is not None:
            import cv2
            cv2.setNumThreads(int(opts.opencv_threads))   # process-wide; tiny crops lose to pool hand-offs
        self.perceiver = Perceiver(self.frontend, self.models, opts.perception, zones=_zone_mapper(opts.profile))
        # LIVE: the hands model runs after a frame's result is published (see _live_loop), not inside its latency
        self.perceiver.defer_hands = self.mode is RunningMode.LIVE and opts.perception.defer_hands_live
        if opts.gc_freeze:
            gc.collect()
            gc.freeze()
        road = (opts.perception.gaze.road_yaw_deg, opts.perception.gaze.road_pitch_deg)
        self.fusion = (opts.fusion_factory(opts.profile) if opts.fusion_factory is not None
                       else default_fusion_factory(opts.profile, road))
        self._last_t_ns: Optional[int] = None
        self._closed = False
        self._lock = threading.Lock()
        self._fusion_warned = False
        self.n_pushed = 0
        self.n_processed = 0
        self.n_dropped = 0
        self.n_faults = 0
        self._pending: Optional[tuple] = None
        self._cv = threading.Condition()
        self._worker: Optional[threading.Thread] = None
        self._busy = False
        self._job: Optional[PerceptionJob] = None      # pipelined: the frame whose face the front end works on
        if self.mode is RunningMode.LIVE:
            self._worker = threading.Thread(target=self._live_loop, name="dms-monitor-live", daemon=True)
            self._worker.start()

    # ------------------------------------------------------------------ public API
    def push(self, frame: Frame) -> Optional[MonitorResult]:
        """Process (VIDEO/IMAGE) or enqueue (LIVE) one frame. Raises TimestampError on non-increasing t_ns."""
        self._check_open()
        if not isinstance(frame, Frame):
            raise UsageError(f"push() takes a dms.contracts.Frame, got {type(frame).__name__}")
        self._check_time(int(frame.t_ns))
        self.n_pushed += 1
        if self.mode is RunningMode.LIVE:
            self._enqueue(("frame", frame))
            return None
        if self.options.pipelined:
            self._pipeline_step(frame)
            return None
        return self._process(("frame", frame))

    def push_fault(self, t_ns: int, fault: FaultCode = FaultCode.CAMERA_FAULT, frame_id: int = 0,
                   reason: str = "") -> Optional[MonitorResult]:
        """Publish an invalid step (e.g. camera unplugged) so the state keeps flowing with ``valid=False``."""
        self._check_open()
        self._check_time(int(t_ns))
        self.n_faults += 1
        item = ("fault", Perception(t_ns=int(t_ns), frame_id=int(frame_id), valid=False, fault=FaultCode(fault)),
                reason)
        if self.mode is RunningMode.LIVE:
            self._enqueue(item)
            return None
        self._drain()                        # pipelined: the frame in flight comes first
        return self._process(item)

    def stats(self) -> dict:
        return {"pushed": self.n_pushed, "processed": self.n_processed, "dropped": self.n_dropped,
                "faults": self.n_faults, "mode": self.mode.value, "models": sorted(self.models),
                "frontend": getattr(self.frontend, "name", None)}

    def flush(self, timeout_s: float = 5.0) -> None:
        """Deliver everything pushed so far: LIVE waits until the pending frame (if any) has been processed;
        pipelined VIDEO completes the frame in flight."""
        if self._worker is None:
            self._drain()
            return
        deadline = time.monotonic() + timeout_s
        with self._cv:
            while ((self._pending is not None or self._busy or self._job is not None)
                   and time.monotonic() < deadline):
                self._cv.wait(timeout=0.05)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._worker is not None:
            with self._cv:
                self._cv.notify_all()
            self._worker.join(timeout=5.0)
        else:
            self._drain()                    # pipelined VIDEO: the last frame is not lost
        if self.frontend is not None and self.options.frontend_instance is None:
            self.frontend.close()

    def __enter__(self) -> "Monitor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ internals
    def _check_open(self) -> None:
        if self._closed:
            raise UsageError("Monitor is closed")

    def _check_time(self, t_ns: int) -> None:
        if self.mode is RunningMode.IMAGE:
            return
        with self._lock:
            if self._last_t_ns is not None and t_ns <= self._last_t_ns:
                raise TimestampError(
                    f"timestamps must strictly increase in {self.mode.value.upper()} mode: got t_ns={t_ns} after "
                    f"t_ns={self._last_t_ns}; use IMAGE mode for unrelated stills or create a new Monitor")
            self._last_t_ns = t_ns

    def _enqueue(self, item) -> None:
        with self._cv:
            if self._pending is not None:
                self.n_dropped += 1
            self._pending = item
            self._cv.notify_all()

    def _live_loop(self) -> None:
        while True:
            with self._cv:
                while self._pending is None and self._job is None and not self._closed:
                    self._cv.wait(timeout=0.1)
                if self._closed and self._pending is None and self._job is None:
                    return
                item, self._pending = self._pending, None
                self._busy = True
            try:
                if item is None:                 # pipelined, no newer frame waiting: finish the one in flight now
                    self._drain()
                elif item[0] == "frame" and self.options.pipelined:
                    self._pipeline_step(item[1])
                else:
                    self._drain()
                    self._process(item)
            except Exception:  # noqa: BLE001 — the live worker must survive a bad callback
                log.exception("live processing failed")
            try:
                with self._cv:
                    idle = self._job is None and self._pending is None   # the result is out, no frame waits
                if idle:
                    self.perceiver.run_deferred()
            except Exception:  # noqa: BLE001
                log.exception("deferred perception work failed")
            finally:
                with self._cv:
                    self._busy = False
                    self._cv.notify_all()
            if self._closed:
                with self._cv:
                    if self._pending is not None:
                        self.n_dropped += 1
                        self._pending = None
                try:
                    self._drain()
                except Exception:  # noqa: BLE001
                    log.exception("live processing failed")
                with self._cv:
                    self._cv.notify_all()
                return

    def _pipeline_step(self, frame: Frame) -> None:
        """Collect the face of the frame in flight, start the front end on ``frame``, then complete the frame in
        flight (its models, fusion, callback) while the front end works."""
        prev, p = self._job, self.perceiver
        if prev is not None:
            p.collect(prev)
        self._job = p.begin(frame, track=True)
        if prev is not None:
            self._finish(*p.complete(prev), t0=prev.t0)

    def _drain(self) -> None:
        job, self._job = self._job, None
        if job is not None:
            self._finish(*self.perceiver.complete(job), t0=job.t0)

    def _process(self, item) -> MonitorResult:
        t0 = time.perf_counter()
        if item[0] == "frame":
            frame: Frame = item[1]
            perception, detail = self.perceiver.perceive(frame, track=self.mode is not RunningMode.IMAGE)
        else:
            perception, detail = item[1], PerceptionDetail()
            self.perceiver.reset()           # tracking is stale after a camera fault
        return self._finish(perception, detail, t0)

    def _finish(self, perception: Perception, detail: PerceptionDetail, t0: float) -> MonitorResult:
        """Fusion, result and callback for one perceived step (``t0``: when its processing started)."""
        lat = dict(perception.latency_ms or {})
        state, events = None, []
        if self.mode is not RunningMode.IMAGE:
            ts = time.perf_counter()
            vehicle = None
            if self.options.vehicle_provider is not None:
                try:
                    vehicle = self.options.vehicle_provider(perception.t_ns)
                except Exception as e:  # noqa: BLE001 — a broken vehicle feed means "speed unknown"
                    log.warning("vehicle provider failed: %s", e)
            try:
                out = self.fusion.step(perception, vehicle)
                state, events = out.state, list(out.events)
            except Exception as e:  # noqa: BLE001 — publish an invalid state rather than stop
                if not self._fusion_warned:
                    log.exception("fusion failed: %s (publishing invalid states)", e)
                    self._fusion_warned = True
                state = DriverState(t_ns=perception.t_ns, valid=False, fault=FaultCode.MODEL_ERROR,
                                    profile=self.options.profile)
            lat["fusion"] = (time.perf_counter() - ts) * 1e3
        lat["total"] = (time.perf_counter() - t0) * 1e3
        result = MonitorResult(perception=perception, state=state, events=events, detail=detail, latency_ms=lat)
        self.n_processed += 1
        cb = self.options.result_callback
        if cb is not None:
            try:
                cb(result)
            except Exception:  # noqa: BLE001 — an application callback bug must not stop monitoring
                log.exception("result callback failed")
        return result
