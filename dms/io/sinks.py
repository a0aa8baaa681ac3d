"""Result sinks. A sink gets ``write(result, frame)`` per processed step (``frame`` None for fault steps) and
``close()`` at the end. ``result`` is a dms.runtime MonitorResult (duck-typed: ``perception``, ``state``,
``events``, ``detail``, ``latency_ms``).

:class:`SinkGroup` isolates sinks from each other and from the loop: a sink that raises is logged, skipped for a
back-off of steps that doubles per failure, and disabled after ``max_failures`` consecutive failures — the loop
never stops because of a sink.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Optional

import numpy as np

log = logging.getLogger(__name__)


class Sink:
    name = "sink"

    def write(self, result: Any, frame: Any = None) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class SinkGroup:
    def __init__(self, sinks: list[Sink], max_failures: int = 5):
        self.sinks = list(sinks)
        self.max_failures = max_failures
        self._fail = {id(s): 0 for s in self.sinks}
        self._skip_until = {id(s): 0 for s in self.sinks}
        self.disabled: list[str] = []
        self._step = 0

    def write(self, result: Any, frame: Any = None) -> None:
        self._step += 1
        for s in self.sinks:
            k = id(s)
            if s.name in self.disabled or self._step < self._skip_until[k]:
                continue
            try:
                s.write(result, frame)
                self._fail[k] = 0
            except Exception as e:  # noqa: BLE001 — one failing sink never stops the loop
                self._fail[k] += 1
                n = self._fail[k]
                if n >= self.max_failures:
                    self.disabled.append(s.name)
                    log.error("sink %s failed %d times in a row (%s): disabled", s.name, n, e)
                else:
                    self._skip_until[k] = self._step + 2 ** (n - 1)
                    log.warning("sink %s failed (%s); retrying in %d step(s)", s.name, e, 2 ** (n - 1))

    def close(self) -> None:
        for s in self.sinks:
            try:
                s.close()
            except Exception as e:  # noqa: BLE001
                log.error("sink %s failed to close: %s", s.name, e)


class JsonlSink(Sink):
    """``states.jsonl`` (one dms.driver_state per step, optionally preceded by its dms.perception) and
    ``events.jsonl`` (alert transitions); each line is flushed as written."""
    name = "jsonl"

    def __init__(self, out_dir: str | Path, perception: bool = False):
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.states_path, self.events_path = out / "states.jsonl", out / "events.jsonl"
        self._states = open(self.states_path, "w", buffering=1)
        self._events = open(self.events_path, "w", buffering=1)
        self.perception = perception
        self.n_states = self.n_events = 0

    def write(self, result: Any, frame: Any = None) -> None:
        if self.perception:
            self._states.write(result.perception.to_json() + "\n")
        if result.state is not None:
            self._states.write(result.state.to_json() + "\n")
            self.n_states += 1
        self._states.flush()
        for ev in result.events:
            self._events.write(ev.to_json() + "\n")
            self._events.flush()
            self.n_events += 1

    def close(self) -> None:
        self._states.close()
        self._events.close()


class TimelineSink(Sink):
    """Collects a few numbers per step and writes ``timeline.png`` (matplotlib Agg) at close: eye openness,
    PERCLOS, gaze zone, alerts and monitoring availability over time."""
    name = "timeline"

    def __init__(self, path: str | Path, title: str = ""):
        self.path = Path(path)
        self.title = title
        self.rows: list[tuple] = []
        self.alerts: list[tuple[float, str, bool]] = []
        self._t0: Optional[int] = None

    def write(self, result: Any, frame: Any = None) -> None:
        st, pc = result.state, result.perception
        if self._t0 is None:
            self._t0 = pc.t_ns
        t = (pc.t_ns - self._t0) / 1e9
        op = st.eye_openness if st is not None and st.eye_openness is not None else pc.eye_openness
        perclos = st.perclos if st is not None else None
        zone = (st.gaze_zone if st is not None else pc.gaze_zone).value
        valid = st.valid if st is not None else pc.valid
        self.rows.append((t, np.nan if op is None else float(op), np.nan if perclos is None else float(perclos),
                          zone, bool(valid)))
        for ev in result.events:
            self.alerts.append(((ev.t_ns - self._t0) / 1e9, ev.type.value, bool(ev.active)))

    def close(self) -> None:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from dms.contracts import AlertType, GazeZone
        fig, axes = plt.subplots(4, 1, figsize=(11, 8), sharex=True)
        if self.rows:
            t = np.array([r[0] for r in self.rows])
            axes[0].plot(t, [r[1] for r in self.rows], lw=0.8, color="tab:blue")
            inval = np.array([not r[4] for r in self.rows])
            if inval.any():
                axes[0].fill_between(t, 0, 1.1, where=inval, color="0.85", step="mid", label="unavailable")
                axes[0].legend(loc="upper right", fontsize=7)
            axes[1].plot(t, [r[2] for r in self.rows], lw=1.0, color="tab:red")
            zones = [z.value for z in GazeZone]
            axes[2].plot(t, [zones.index(r[3]) for r in self.rows], ".", ms=2, color="tab:green")
            axes[2].set_yticks(range(len(zones)), zones, fontsize=6)
        types = [a.value for a in AlertType]
        open_: dict[str, float] = {}
        end = self.rows[-1][0] if self.rows else 0.0
        spans = []
        for ts, typ, active in self.alerts:
            if active and typ not in open_:
                open_[typ] = ts
            elif not active and typ in open_:
                spans.append((typ, open_.pop(typ), ts))
        spans += [(typ, t0, end) for typ, t0 in open_.items()]
        for typ, a, b in spans:
            axes[3].broken_barh([(a, max(b - a, 0.05))], (types.index(typ) - 0.4, 0.8), color="tab:orange")
        axes[3].set_yticks(range(len(types)), types, fontsize=6)
        axes[0].set_ylabel("eye openness")
        axes[0].set_ylim(-0.05, 1.15)
        axes[1].set_ylabel("PERCLOS")
        axes[2].set_ylabel("gaze zone")
        axes[3].set_ylabel("alerts")
        axes[3].set_xlabel("time [s]")
        fig.suptitle(self.title or "dms session timeline")
        fig.tight_layout()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(self.path, dpi=90)
        plt.close(fig)


class VideoSink(Sink):
    """Headless: the overlay drawn on each frame, written to an mp4 (mp4v). Fault steps repeat the last
    frame with a banner so the video stays in time."""
    name = "video"

    def __init__(self, path: str | Path, fps: float = 30.0):
        self.path = Path(path)
        self.fps = fps
        self._writer = None
        self._size: Optional[tuple[int, int]] = None
        self._last: Optional[np.ndarray] = None
        self.n_frames = 0

    def write(self, result: Any, frame: Any = None) -> None:
        import cv2
        from dms.io.overlay import draw_overlay, to_bgr
        if frame is None:
            if self._last is None:
                return
            img = self._last.copy()
        else:
            img = to_bgr(frame.image)
        img = draw_overlay(img, result)
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            h, w = img.shape[:2]
            self._size = (w, h)
            self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (w, h))
            if not self._writer.isOpened():
                raise OSError(f"cannot open video writer {self.path}")
        if (img.shape[1], img.shape[0]) != self._size:
            img = cv2.resize(img, self._size)
        self._writer.write(img)
        self._last = to_bgr(frame.image) if frame is not None else self._last
        self.n_frames += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()


class WindowSink(Sink):
    """The overlay in an OpenCV window (needs a GUI build of OpenCV and a display). ``q``/Esc sets ``quit``."""
    name = "window"

    def __init__(self, title: str = "dms"):
        import cv2
        self.title = title
        self.quit = False
        try:
            cv2.namedWindow(title, cv2.WINDOW_NORMAL)
        except cv2.error as e:
            raise OSError(f"no OpenCV GUI available ({str(e).strip().splitlines()[-1]})") from e

    def write(self, result: Any, frame: Any = None) -> None:
        import cv2
        from dms.io.overlay import draw_overlay, to_bgr
        if frame is None:
            return
        cv2.imshow(self.title, draw_overlay(to_bgr(frame.image), result))
        if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
            self.quit = True

    def close(self) -> None:
        import cv2
        try:
            cv2.destroyWindow(self.title)
        except cv2.error:
            pass


class EcuSink(Sink):
    """Sends each driver state over the ECU link (dms.bridge.link.EcuLink, which rate-limits itself)."""
    name = "ecu"

    def __init__(self, link: Any):
        self.link = link

    def write(self, result: Any, frame: Any = None) -> None:
        if result.state is not None:
            self.link.send_state(result.state)

    def close(self) -> None:
        self.link.close()


def write_summary(path: str | Path, summary: dict) -> None:
    Path(path).write_text(json.dumps(summary, indent=1, sort_keys=True, default=str))
