"""Scenario helper for fusion tests (openpilot style): canned Perception timelines stepped through a
FusionEngine at a fixed or jittery/dropping frame rate, with the resulting states and alert transitions."""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Callable, Optional, Union

import numpy as np

from dms.contracts import Alert, AlertLevel, AlertType, DriverState, HeadPose, Perception, VehicleSignals
from dms.fusion import FusionEngine, Profile, get_profile

NS = 1_000_000_000

# An attentive driver, all models loaded, looking at the road.
BASE = dict(face_found=True, face_confidence=0.99, head_pose=HeadPose(0.0, 0.0, 0.0),
            eye_openness_left=1.0, eye_openness_right=1.0, eye_closed_prob_left=0.02,
            eye_closed_prob_right=0.02, eye_confidence=0.95, mouth_openness=0.1, yawn_prob=0.02,
            gaze_yaw_deg=0.0, gaze_pitch_deg=0.0, hands_on_wheel_prob_left=0.95,
            hands_on_wheel_prob_right=0.95, phone_prob=0.02, sunglasses_prob=0.01)

EYES_CLOSED = dict(eye_openness_left=0.05, eye_openness_right=0.05, eye_closed_prob_left=0.95,
                   eye_closed_prob_right=0.95)


def look(gaze_yaw_deg: float, gaze_pitch_deg: float) -> dict:
    """Gaze in a direction (relative to the road; the default calibration is zero), head following 60 %."""
    return dict(gaze_yaw_deg=gaze_yaw_deg, gaze_pitch_deg=gaze_pitch_deg,
                head_pose=HeadPose(0.6 * gaze_yaw_deg, 0.6 * gaze_pitch_deg, 0.0))


LOOK_LAP = look(-10.0, -50.0)              # phone in the lap
LOOK_INFOTAINMENT = look(-28.0, -20.0)     # centre stack
LOOK_LEFT_MIRROR = look(45.0, -3.0)        # mirror check (driving-related)
NO_FACE = dict(face_found=False, head_pose=None, eye_openness_left=None, eye_openness_right=None,
               eye_closed_prob_left=None, eye_closed_prob_right=None, gaze_yaw_deg=None, gaze_pitch_deg=None,
               mouth_openness=None, yawn_prob=None)
SUNGLASSES_OPAQUE = dict(sunglasses_prob=0.97, eye_confidence=0.25, eye_closed_prob_left=0.9,
                         eye_closed_prob_right=0.9, eye_openness_left=0.1, eye_openness_right=0.1)
HANDS_OFF = dict(hands_on_wheel_prob_left=0.05, hands_on_wheel_prob_right=0.05)
PHONE = dict(phone_prob=0.92)
YAWN = dict(yawn_prob=0.93, mouth_openness=0.9)


@dataclass
class Segment:
    start_s: float
    end_s: float
    overrides: dict


@dataclass
class Scenario:
    duration_s: float
    segments: list = field(default_factory=list)
    speed_kph: Union[None, float, Callable[[float], Optional[float]]] = 80.0
    wheel_touch: Optional[bool] = None

    def add(self, start_s: float, end_s: float, **overrides) -> "Scenario":
        self.segments.append(Segment(start_s, end_s, overrides))
        return self

    def add_dict(self, start_s: float, end_s: float, overrides: dict) -> "Scenario":
        self.segments.append(Segment(start_s, end_s, dict(overrides)))
        return self

    def fields_at(self, t_s: float) -> dict:
        d = dict(BASE)
        for seg in self.segments:
            if seg.start_s <= t_s < seg.end_s:
                d.update(seg.overrides)
        return d

    def speed_at(self, t_s: float) -> Optional[float]:
        return self.speed_kph(t_s) if callable(self.speed_kph) else self.speed_kph


def timestamps(duration_s: float, fps: float = 30.0, stream: str = "fixed",
               rng: Optional[np.random.Generator] = None) -> list[int]:
    """Capture times in ns. ``fixed``: exact 1/fps; ``jitter``: +-30 % period jitter, 10 % random drops and
    bursts of 2-5 dropped frames (gaps stay below the default max_gap_s)."""
    n = int(duration_s * fps)
    period_ns = NS / fps
    if stream == "fixed":
        return [int(round(k * period_ns)) for k in range(n)]
    if stream != "jitter":
        raise ValueError(stream)
    rng = rng if rng is not None else np.random.default_rng(0)
    out, k = [], 0
    while k < n:
        if k > 0 and rng.random() < 0.01:
            k += int(rng.integers(2, 6))          # burst drop
            continue
        if k > 0 and rng.random() < 0.10:
            k += 1
            continue
        t = int(round(k * period_ns + rng.uniform(-0.3, 0.3) * period_ns))
        if out and t <= out[-1]:
            t = out[-1] + 1
        out.append(max(t, 0))
        k += 1
    return out


@dataclass
class Trace:
    t_s: np.ndarray
    states: list
    events: list                  # (t_s, Alert)
    profile: Profile

    @property
    def max_dt_s(self) -> float:
        return float(np.max(np.diff(self.t_s))) if len(self.t_s) > 1 else 0.0

    @property
    def tol_s(self) -> float:
        """Timing tolerance: onset seen up to one frame late, threshold crossed up to one frame late."""
        return 2 * self.max_dt_s + 1e-6

    def raises(self, alert: AlertType) -> list[float]:
        out, active = [], False
        for t, e in self.events:
            if e.type is alert:
                if e.active and not active:
                    out.append(t)
                active = e.active
        return out

    def first_raise(self, alert: AlertType) -> Optional[float]:
        r = self.raises(alert)
        return r[0] if r else None

    def clears(self, alert: AlertType) -> list[float]:
        return [t for t, e in self.events if e.type is alert and not e.active]

    def levels(self, alert: AlertType) -> list[tuple[float, AlertLevel]]:
        return [(t, e.level) for t, e in self.events if e.type is alert and e.active]

    def raised_types(self) -> set:
        return {e.type for _, e in self.events if e.active}

    def state_at(self, t_s: float) -> DriverState:
        i = bisect.bisect_right(self.t_s.tolist(), t_s) - 1
        return self.states[max(i, 0)]

    def alerts(self) -> list[Alert]:
        return [e for _, e in self.events]


def run(scenario: Scenario, profile: Union[str, Profile] = "euro_ncap_2026", fps: float = 30.0,
        stream: str = "fixed", rng: Optional[np.random.Generator] = None,
        engine: Optional[FusionEngine] = None) -> Trace:
    eng = engine if engine is not None else FusionEngine(profile=profile)
    ts_ns = timestamps(scenario.duration_s, fps, stream, rng)
    states, events, t_s = [], [], []
    for i, t_ns in enumerate(ts_ns):
        t = t_ns / NS
        pc = Perception(t_ns=t_ns, frame_id=i, **scenario.fields_at(t))
        speed = scenario.speed_at(t)
        vehicle = (VehicleSignals(t_ns=t_ns, speed_kph=speed, wheel_touch=scenario.wheel_touch)
                   if speed is not None or scenario.wheel_touch is not None else None)
        out = eng.step(pc, vehicle)
        states.append(out.state)
        events.extend((t, e) for e in out.events)
        t_s.append(t)
    return Trace(np.asarray(t_s), states, events, get_profile(eng.profile))


def assert_at(actual: Optional[float], expected: float, trace: Trace, what: str = "") -> None:
    """The alert happened no earlier than ``expected`` and within the frame-timing tolerance after it."""
    assert actual is not None, f"{what}: expected at {expected:.3f} s, never happened"
    assert expected - 1e-6 <= actual <= expected + trace.tol_s, \
        f"{what}: at {actual:.3f} s, expected {expected:.3f} s (+{trace.tol_s:.3f} s)"
