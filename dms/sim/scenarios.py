"""Behaviour scenarios: seeded timelines that animate a DriverPose per frame, with their ground-truth events.

Pure numpy (+ dms.contracts, dms.sim.pose). A scenario is built in three steps:

1. **schedule** activities (blink, droop, microsleep, sleep, yawn, talking, glance, texting, phone call, hands off,
   drinking) on a frame grid. Each activity claims *resources* (lids, mouth, gaze, a hand, ...) for its frames so
   incompatible behaviours never overlap (no blink during a microsleep, no talking during a yawn, one hand cannot
   text and drink at once). Presets name the activities that may occur, their guaranteed occurrences and a
   drowsiness level; rates and durations come from :class:`BehaviourParams` (``behaviour:`` in the config).
2. **synthesise** per-frame channels (eyelid aperture per eye, mouth, head yaw/pitch/roll, eye-in-head yaw/pitch,
   hand states, phone) from the schedule plus smooth seeded noise.
3. **label**: every activity becomes a :class:`dms.contracts.Event` with frame-aligned bounds
   (``start_s = i0 / fps``, ``end_s = i1 / fps``, end exclusive) and each DriverPose's ``events`` is derived from
   that list (a frame ``i`` carries an event iff ``start_s <= i / fps < end_s``), so the two always agree.

Conventions (the one place where gaze directions live):

* gaze and head angles here are in the *driver frame*: yaw > 0 = toward the driver's left, pitch > 0 = up,
  (0, 0) = looking straight ahead at the road. A left-hand-drive car is assumed (left mirror on the driver's
  left, infotainment and passenger on the right). :data:`ZONE_DIRECTIONS_DEG` is the zone -> direction table;
  :func:`zone_of_direction` classifies any direction with it, so the per-frame ``gaze_zone`` follows the
  geometry (transitions through the road zone included).
* eye movements: *owl* glances turn the head most of the way (60-90 %), *lizard* glances move the eyes only
  (head 0-20 %); the eyes' range in the head is limited (:data:`EYE_RANGE_DEG`), the head takes the rest.
* ``pose.gaze_target_m`` stays None: the eyes are given relative to the head (``eye_yaw_deg``/``eye_pitch_deg``).

Derived events: ``hands_off`` is derived from the hand channels (any run of frames with a hand off the wheel,
whatever the cause: texting, phone call, drinking, covered yawn, explicit hands-off); ``distraction`` is the union
of glances to non-driving zones (:data:`DISTRACTION_ZONES`) and texting episodes.
"""
from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

import numpy as np

from dms.contracts import Event, GazeZone, HandState
from dms.sim.pose import WHEEL_CLOCK_LEFT_RANGE, WHEEL_CLOCK_RIGHT_RANGE, DriverPose

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------- gaze geometry
#: Direction (yaw_deg, pitch_deg) of each gaze zone's centre in the driver frame (yaw > 0 = driver's left).
ZONE_DIRECTIONS_DEG: dict[GazeZone, tuple[float, float]] = {
    GazeZone.ROAD: (0.0, 0.0),
    GazeZone.LEFT_MIRROR: (48.0, -8.0),
    GazeZone.RIGHT_MIRROR: (-58.0, -10.0),
    GazeZone.REARVIEW_MIRROR: (-28.0, 12.0),
    GazeZone.CLUSTER: (0.0, -22.0),
    GazeZone.INFOTAINMENT: (-30.0, -28.0),
    GazeZone.LAP_PHONE: (-8.0, -50.0),
    GazeZone.PASSENGER: (-78.0, -5.0),
    GazeZone.OTHER: (70.0, 5.0),          # driver's side window / shoulder check
}
#: Angular radius (deg) beyond which a direction is not in any named zone (-> OTHER).
ZONE_RADIUS_DEG = 22.0
#: Zones whose glances are not driving-related (Euro NCAP style distraction).
DISTRACTION_ZONES = frozenset({GazeZone.INFOTAINMENT, GazeZone.LAP_PHONE, GazeZone.PASSENGER, GazeZone.OTHER})
#: Eye-in-head range (yaw, pitch) in degrees; beyond it the head must turn.
EYE_RANGE_DEG = (35.0, 28.0)

#: Blink/closure threshold used for the ``eyes closed`` notion in invariants and docs.
EYE_CLOSED_OPENNESS = 0.2
#: A frame inside a yawn event counts as a yawn frame (``pose.yawn``) once the mouth is at least this open.
YAWN_FLAG_OPENNESS = 0.3


def zone_of_direction(yaw_deg: float, pitch_deg: float) -> GazeZone:
    """Nearest zone centre to a driver-frame direction; OTHER if no centre is within :data:`ZONE_RADIUS_DEG`."""
    best, best_d = GazeZone.OTHER, float("inf")
    for zone, (zy, zp) in ZONE_DIRECTIONS_DEG.items():
        d = math.hypot(yaw_deg - zy, pitch_deg - zp)
        if d < best_d:
            best, best_d = zone, d
    return best if best_d <= ZONE_RADIUS_DEG else GazeZone.OTHER


# --------------------------------------------------------------------------------------------- parameters
Range = tuple[float, float]


@dataclass(frozen=True)
class BehaviourParams:
    """Rates (events per minute at full strength) and duration ranges (seconds) of every behaviour.

    Mirrors ``behaviour:`` of the simulate config (dms.sim.config.BehaviourConfig builds it)."""
    blink_rate_alert_per_min: float = 15.0
    blink_rate_drowsy_per_min: float = 24.0
    blink_duration_s: Range = (0.10, 0.40)
    blink_close_fraction: Range = (0.2, 0.35)       # closing phase share of a blink (opening is slower)
    droop_rate_per_min: float = 3.0                  # scaled by drowsiness
    droop_duration_s: Range = (3.0, 10.0)
    droop_openness: Range = (0.35, 0.7)              # eyelid aperture at the bottom of a droop
    microsleep_rate_per_min: float = 1.5
    microsleep_duration_s: Range = (1.0, 2.0)
    sleep_rate_per_min: float = 0.5
    sleep_duration_s: Range = (3.0, 8.0)
    yawn_rate_per_min: float = 1.0                   # scaled by (0.3 + drowsiness)
    yawn_duration_s: Range = (4.0, 7.0)
    yawn_covered_prob: float = 0.3
    talking_rate_per_min: float = 1.5
    talking_duration_s: Range = (2.0, 8.0)
    talking_syllable_hz: Range = (3.0, 6.0)
    talking_openness: Range = (0.08, 0.35)
    glance_rate_per_min: float = 6.0
    glance_duration_s: Range = (0.5, 2.0)
    long_glance_duration_s: Range = (3.0, 5.0)
    owl_prob: float = 0.5
    texting_rate_per_min: float = 1.0
    texting_duration_s: Range = (6.0, 15.0)
    phone_call_rate_per_min: float = 0.5
    phone_call_duration_s: Range = (8.0, 25.0)
    hands_off_rate_per_min: float = 1.0
    hands_off_duration_s: Range = (2.0, 8.0)
    drinking_rate_per_min: float = 0.5
    drinking_duration_s: Range = (2.0, 5.0)

    def validate(self) -> None:
        """Raise ValueError on impossible values (negative rates/durations, min > max, probabilities outside 0..1)."""
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, tuple):
                lo, hi = v
                if not (0 <= lo <= hi) or not math.isfinite(hi):
                    raise ValueError(f"{f.name}: need 0 <= min <= max, got {list(v)}")
                if f.name.endswith("_duration_s") and lo <= 0:
                    raise ValueError(f"{f.name}: durations must be > 0, got {list(v)}")
            elif f.name.endswith("_prob"):
                if not 0.0 <= v <= 1.0:
                    raise ValueError(f"{f.name}: probability must be in [0, 1], got {v}")
            elif not (math.isfinite(v) and v >= 0):
                raise ValueError(f"{f.name}: must be >= 0, got {v}")
        for name in ("droop_openness", "talking_openness", "blink_close_fraction"):
            lo, hi = getattr(self, name)
            if hi > 1.0:
                raise ValueError(f"{name}: values must be within [0, 1], got {[lo, hi]}")
        if self.sleep_duration_s[0] < 3.0:
            raise ValueError(f"sleep_duration_s must start at >= 3 s, got {list(self.sleep_duration_s)}")
        if self.microsleep_duration_s[1] > 3.0:
            raise ValueError(f"microsleep_duration_s must end at <= 3 s (longer closures are sleep), "
                             f"got {list(self.microsleep_duration_s)}")
        if self.blink_duration_s[1] > 1.0:
            raise ValueError(f"blink_duration_s must end at <= 1 s, got {list(self.blink_duration_s)}")


ACTIVITIES = ("sleep", "microsleep", "yawn", "texting", "phone_call", "drinking", "hands_off", "long_glance",
              "glance", "talking", "droop")


@dataclass(frozen=True)
class Preset:
    """A named behaviour mix: which activities may occur, which occur at least once, drowsiness 0..1 and the
    weights of glance targets."""
    name: str
    drowsiness: float
    activities: tuple[str, ...]
    guaranteed: tuple[str, ...] = ()
    glance_zones: tuple[tuple[GazeZone, float], ...] = ()
    rate_scale: float = 1.0


_DRIVING_GLANCES = ((GazeZone.LEFT_MIRROR, 3.0), (GazeZone.RIGHT_MIRROR, 2.0), (GazeZone.REARVIEW_MIRROR, 3.0),
                    (GazeZone.CLUSTER, 3.0))
_DISTRACTING_GLANCES = ((GazeZone.INFOTAINMENT, 3.0), (GazeZone.LAP_PHONE, 2.0), (GazeZone.PASSENGER, 2.0),
                        (GazeZone.OTHER, 1.0), (GazeZone.CLUSTER, 1.0), (GazeZone.LEFT_MIRROR, 0.5),
                        (GazeZone.REARVIEW_MIRROR, 0.5))
_ALL_GLANCES = _DRIVING_GLANCES + _DISTRACTING_GLANCES[:4]

PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("attentive", 0.0, ("glance", "talking"), (), _DRIVING_GLANCES),
    Preset("drowsy", 0.7, ("droop", "yawn", "glance"), ("droop",), _DRIVING_GLANCES, 0.6),
    Preset("microsleep", 0.85, ("droop", "yawn", "microsleep", "glance"), ("microsleep",), _DRIVING_GLANCES, 0.5),
    Preset("sleep", 1.0, ("droop", "microsleep", "sleep"), ("sleep",), _DRIVING_GLANCES, 0.3),
    Preset("yawning", 0.4, ("yawn", "talking", "glance"), ("yawn",), _DRIVING_GLANCES),
    Preset("distracted", 0.0, ("glance", "long_glance", "talking"), ("long_glance",), _DISTRACTING_GLANCES, 1.5),
    Preset("texting", 0.0, ("texting", "glance"), ("texting",), _DRIVING_GLANCES),
    Preset("phone_call", 0.0, ("phone_call", "glance"), ("phone_call",), _DRIVING_GLANCES),
    Preset("hands_off", 0.0, ("hands_off", "drinking", "glance"), ("hands_off",), _DRIVING_GLANCES),
    Preset("mixed", 0.5, tuple(a for a in ACTIVITIES if a != "sleep"), (), _ALL_GLANCES),
)}


def resolve_preset(name: str) -> Preset:
    """A preset by name; ``"a+b"`` composes presets (union of activities and guarantees, max drowsiness)."""
    parts = [p.strip() for p in name.split("+") if p.strip()]
    if not parts:
        raise ValueError("empty scenario preset name")
    for p in parts:
        if p not in PRESETS:
            raise ValueError(f"unknown scenario preset {p!r}; known: {sorted(PRESETS)} (compose with '+')")
    if len(parts) == 1:
        return PRESETS[parts[0]]
    ps = [PRESETS[p] for p in parts]
    acts = tuple(dict.fromkeys(a for p in ps for a in p.activities))
    guar = tuple(dict.fromkeys(a for p in ps for a in p.guaranteed))
    zones: dict[GazeZone, float] = {}
    for p in ps:
        for z, w in p.glance_zones:
            zones[z] = max(zones.get(z, 0.0), w)
    return Preset("+".join(parts), max(p.drowsiness for p in ps), acts, guar, tuple(zones.items()),
                  max(p.rate_scale for p in ps))


# --------------------------------------------------------------------------------------------- result
@dataclass
class Scenario:
    """A rendered-ready timeline: one DriverPose per frame and the ground-truth events."""
    preset: str
    fps: float
    drowsiness: float
    poses: list[DriverPose]
    events: list[Event]
    meta: dict = field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        return len(self.poses)

    @property
    def duration_s(self) -> float:
        return self.n_frames / self.fps

    def t_s(self, frame_index: int) -> float:
        return frame_index / self.fps

    def summary(self) -> dict:
        """JSON-able description (no per-frame data) for scene.json."""
        counts: dict[str, int] = {}
        for e in self.events:
            counts[e.type] = counts.get(e.type, 0) + 1
        return {"preset": self.preset, "fps": self.fps, "n_frames": self.n_frames, "duration_s": self.duration_s,
                "drowsiness": self.drowsiness, "event_counts": dict(sorted(counts.items())), **self.meta}


def events_at(events: Sequence[Event], t_s: float) -> tuple[str, ...]:
    """Sorted unique event types active at time ``t_s`` (``start_s <= t_s < end_s``)."""
    return tuple(sorted({e.type for e in events if e.start_s <= t_s < e.end_s}))


# --------------------------------------------------------------------------------------------- helpers
def _smooth_noise(rng: np.random.Generator, n: int, fps: float, sigma: float, corr_s: float) -> np.ndarray:
    """Zero-mean Gaussian noise low-passed to a correlation time ``corr_s``, marginal std ``sigma``.

    Scaled by the filter's theoretical gain (not the sample std, which for a sequence shorter than ``corr_s``
    would blow a near-constant segment up into a large offset)."""
    pad = int(3 * corr_s * fps) + 1
    w = rng.standard_normal(n + 2 * pad)
    k = np.exp(-0.5 * (np.arange(-pad, pad + 1) / max(corr_s * fps, 1e-6)) ** 2)
    k /= k.sum()
    y = np.convolve(w, k, mode="same")[pad:pad + n]
    return y * (sigma / float(np.sqrt(np.sum(k * k))))


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _trapezoid(p: np.ndarray, rise: float, fall: float) -> np.ndarray:
    """0 -> 1 over [0, rise], 1 until 1 - fall, back to 0 at 1 (smoothstep ramps); p = phase in [0, 1]."""
    up = _smoothstep(p / max(rise, 1e-6))
    down = _smoothstep((1.0 - p) / max(fall, 1e-6))
    return np.minimum(up, down)


def _phases(n: int) -> np.ndarray:
    """Frame-centre phases (k + 0.5) / n of an n-frame activity."""
    return (np.arange(n) + 0.5) / n


def _u(rng: np.random.Generator, r: Range) -> float:
    return float(rng.uniform(r[0], r[1])) if r[1] > r[0] else float(r[0])


@dataclass
class _Act:
    kind: str
    i0: int
    i1: int
    resources: tuple[str, ...]
    opts: dict = field(default_factory=dict)


class ScenarioBuilder:
    """Schedules activities on a frame grid, then synthesises poses and events.

    Used by :func:`generate_scenario` (random schedule from a preset) and by scripted timelines such as the demo
    clip (``add(...)`` at chosen times, then ``fill_blinks`` and ``build``).
    """

    MARGIN_S = 0.3   # free time kept between two activities on the same resource

    def __init__(self, duration_s: float, fps: float, rng: np.random.Generator,
                 params: BehaviourParams | None = None, drowsiness: float = 0.0, preset_name: str = "scripted"):
        if not (10.0 <= fps <= 60.0):
            raise ValueError(f"fps must be within 10..60, got {fps}")
        if not duration_s > 0:
            raise ValueError(f"duration_s must be > 0, got {duration_s}")
        if not 0.0 <= drowsiness <= 1.0:
            raise ValueError(f"drowsiness must be in [0, 1], got {drowsiness}")
        self.params = params or BehaviourParams()
        self.params.validate()
        self.fps = float(fps)
        self.n = max(1, int(round(duration_s * fps)))
        self.rng = rng
        self.drowsiness = float(drowsiness)
        self.preset_name = preset_name
        self.acts: list[_Act] = []
        self._busy: dict[str, np.ndarray] = {}
        self.left_handed_phone = bool(rng.random() < 0.25)

    # ---- scheduling
    def _frames(self, duration_s: float) -> int:
        return max(1, int(math.floor(duration_s * self.fps + 0.5)))

    def _is_free(self, resources: Iterable[str], i0: int, i1: int) -> bool:
        m = int(round(self.MARGIN_S * self.fps))
        for r in resources:
            b = self._busy.get(r)
            if b is not None and b[max(0, i0 - m):min(self.n, i1 + m)].any():
                return False
        return True

    def _claim(self, act: _Act) -> None:
        for r in act.resources:
            self._busy.setdefault(r, np.zeros(self.n, dtype=bool))[act.i0:act.i1] = True
        self.acts.append(act)

    def _resources(self, kind: str, opts: dict) -> tuple[str, ...]:
        hands = tuple(f"hand_{h}" for h in opts.get("hands", ()))
        return {
            "blink": ("lids",), "droop": ("lid_base",), "microsleep": ("lids", "lid_base"),
            "sleep": ("lids", "lid_base", "gaze", "mouth") + hands, "yawn": ("mouth",) + hands,
            "talking": ("mouth",), "glance": ("gaze",), "long_glance": ("gaze",),
            "texting": ("gaze",) + hands, "phone_call": ("mouth",) + hands, "hands_off": hands,
            "drinking": ("mouth", "gaze") + hands,
        }[kind]

    def _sample_opts(self, kind: str, zones: Sequence[tuple[GazeZone, float]] = ()) -> dict:
        rng, p = self.rng, self.params
        phone_hand = "left" if self.left_handed_phone else "right"
        if kind == "yawn":
            covered = bool(rng.random() < p.yawn_covered_prob)
            return {"covered": covered, "hands": (phone_hand,) if covered else (), "peak": _u(rng, (0.7, 1.0))}
        if kind in ("glance", "long_glance"):
            zs = [z for z, _ in zones] or [GazeZone.LEFT_MIRROR]
            w = np.array([w for _, w in zones] or [1.0], dtype=float)
            if kind == "long_glance":  # long glances are off-road by definition: prefer distracting zones
                keep = [i for i, z in enumerate(zs) if z in DISTRACTION_ZONES]
                if keep:
                    zs, w = [zs[i] for i in keep], w[keep]
            zone = zs[int(rng.choice(len(zs), p=w / w.sum()))]
            return {"zone": zone, "owl": bool(rng.random() < p.owl_prob)}
        if kind in ("texting", "phone_call", "drinking"):
            return {"hands": (phone_hand,)}
        if kind == "hands_off":
            r = rng.random()
            hands = ("left", "right") if r < 0.25 else (("right",) if r < 0.7 else ("left",))
            return {"hands": hands}
        if kind == "sleep":
            return {"hands": ("right",) if rng.random() < 0.3 else (), "nod_deg": _u(rng, (12.0, 30.0)),
                    "roll_deg": _u(rng, (-12.0, 12.0))}
        return {}

    def _duration(self, kind: str) -> float:
        p = self.params
        return _u(self.rng, {
            "droop": p.droop_duration_s, "microsleep": p.microsleep_duration_s, "sleep": p.sleep_duration_s,
            "yawn": p.yawn_duration_s, "talking": p.talking_duration_s, "glance": p.glance_duration_s,
            "long_glance": p.long_glance_duration_s, "texting": p.texting_duration_s,
            "phone_call": p.phone_call_duration_s, "hands_off": p.hands_off_duration_s,
            "drinking": p.drinking_duration_s}[kind])

    def _fit_frames(self, kind: str, duration_s: float) -> int:
        """Frame count of an activity, kept inside its configured range after rounding to frames."""
        n = self._frames(duration_s)
        rng_s = {"microsleep": self.params.microsleep_duration_s, "sleep": self.params.sleep_duration_s,
                 "yawn": self.params.yawn_duration_s}.get(kind)
        if rng_s is not None:
            lo = int(math.ceil(rng_s[0] * self.fps - 1e-9))
            hi = int(math.floor(rng_s[1] * self.fps + 1e-9))
            n = min(max(n, lo), max(lo, hi))
        return n

    def add(self, kind: str, start_s: float, duration_s: float | None = None, **opts) -> bool:
        """Place an activity at ``start_s`` (snapped to a frame). Returns False (and places nothing) when its
        resources are busy or it does not fit in the sequence."""
        if kind not in ACTIVITIES:
            raise ValueError(f"unknown activity {kind!r}; known: {ACTIVITIES}")
        base = self._sample_opts(kind, opts.pop("zones", ()))
        base.update(opts)
        n = self._fit_frames(kind, self._duration(kind) if duration_s is None else duration_s)
        i0 = int(math.floor(start_s * self.fps + 0.5))
        i1 = i0 + n
        if i0 < 0 or i1 > self.n:
            return False
        res = self._resources(kind, base)
        if not self._is_free(res, i0, i1):
            return False
        self._claim(_Act(kind, i0, i1, res, base))
        return True

    def _place_random(self, kind: str, zones, tries: int = 40) -> bool:
        for _ in range(tries):
            opts = self._sample_opts(kind, zones)
            n = self._fit_frames(kind, self._duration(kind))
            if n > self.n:
                n_min = self._fit_frames(kind, 0.0)
                if n_min > self.n:
                    return False
                n = self.n
            i0 = int(self.rng.integers(0, self.n - n + 1))
            res = self._resources(kind, opts)
            if self._is_free(res, i0, i0 + n):
                self._claim(_Act(kind, i0, i0 + n, res, opts))
                return True
        return False

    def _rate(self, kind: str, preset: Preset) -> float:
        p, d = self.params, self.drowsiness
        base = {"droop": p.droop_rate_per_min * d, "microsleep": p.microsleep_rate_per_min * d,
                "sleep": p.sleep_rate_per_min * d, "yawn": p.yawn_rate_per_min * (0.3 + d),
                "talking": p.talking_rate_per_min, "glance": p.glance_rate_per_min * (1.0 - 0.5 * d),
                "long_glance": p.glance_rate_per_min * 0.15, "texting": p.texting_rate_per_min,
                "phone_call": p.phone_call_rate_per_min, "hands_off": p.hands_off_rate_per_min,
                "drinking": p.drinking_rate_per_min}[kind]
        return base * preset.rate_scale

    def fill_preset(self, preset: Preset) -> None:
        """Guaranteed activities first, then Poisson arrivals of every enabled activity (in priority order)."""
        for kind in preset.guaranteed:
            if not self._place_random(kind, preset.glance_zones, tries=200):
                log.warning("scenario %s: could not place guaranteed %s in %.1f s", preset.name, kind,
                            self.n / self.fps)
        minutes = self.n / self.fps / 60.0
        for kind in ACTIVITIES:
            if kind not in preset.activities:
                continue
            k = int(self.rng.poisson(self._rate(kind, preset) * minutes))
            for _ in range(k):
                self._place_random(kind, preset.glance_zones, tries=10)

    def fill_blinks(self) -> None:
        """Blinks as a renewal process (rate and duration grow with drowsiness) in the lids' free time."""
        p, d = self.params, self.drowsiness
        rate = p.blink_rate_alert_per_min + d * (p.blink_rate_drowsy_per_min - p.blink_rate_alert_per_min)
        mean_gap_s = 60.0 / max(rate, 1e-6)
        lo, hi = p.blink_duration_s
        t = float(self.rng.uniform(0.0, mean_gap_s))
        while t < self.n / self.fps:
            # duration: alert blinks cluster low in the range, drowsy ones spread toward the top
            u = float(self.rng.beta(2.0, 5.0 - 3.0 * d))
            dur = lo + u * (hi - lo)
            n = max(1, int(round(dur * self.fps)))
            n = min(max(n, int(math.ceil(lo * self.fps - 1e-9))), max(1, int(math.floor(hi * self.fps + 1e-9))))
            i0 = int(round(t * self.fps))
            if i0 + n <= self.n and self._is_free(("lids",), i0, i0 + n):
                cf = _u(self.rng, p.blink_close_fraction)
                self._claim(_Act("blink", i0, i0 + n, ("lids",),
                                 {"close": cf, "hold": _u(self.rng, (0.05, 0.2)), "depth": _u(self.rng, (0.85, 1.0))}))
            t += 0.35 + float(self.rng.exponential(max(mean_gap_s - 0.35, 0.05)))

    # ---- synthesis
    def build(self) -> Scenario:
        rng, n, fps, d = self.rng, self.n, self.fps, self.drowsiness
        # baseline channels
        base_open = 1.0 - 0.12 * d + _smooth_noise(rng, n, fps, 0.02 + 0.03 * d, 2.0)
        asym = _u(rng, (-0.04, 0.04))
        lid_base = np.ones(n)            # droop / squint multiplier (both eyes)
        closure = np.ones(n)             # blink / microsleep / sleep multiplier
        mouth = np.clip(np.abs(_smooth_noise(rng, n, fps, 0.01, 1.0)), 0.0, 0.03)
        yawn_flag = np.zeros(n, dtype=bool)
        talking = np.zeros(n, dtype=bool)
        head_yaw = _smooth_noise(rng, n, fps, 2.0, 1.5)
        head_pitch = _smooth_noise(rng, n, fps, 1.5 + 2.0 * d, 2.0) - 4.0 * d
        head_roll = _smooth_noise(rng, n, fps, 1.0 + 2.0 * d, 3.0)
        gaze_yaw = head_yaw + _smooth_noise(rng, n, fps, 2.5, 0.6)     # total gaze, driver frame
        gaze_pitch = head_pitch + _smooth_noise(rng, n, fps, 1.5, 0.6)
        head_off_yaw, head_off_pitch = np.zeros(n), np.zeros(n)
        eye_frozen = np.zeros(n, dtype=bool)  # sleep: eyes rest in the head
        hands = {"left": [HandState.ON_WHEEL] * n, "right": [HandState.ON_WHEEL] * n}
        phone: list[Optional[str]] = [None] * n
        hand_over_mouth = np.zeros(n, dtype=bool)
        clock_left = _u(rng, WHEEL_CLOCK_LEFT_RANGE)
        clock_right = _u(rng, WHEEL_CLOCK_RIGHT_RANGE)
        events: list[tuple[str, int, int, str, dict]] = []

        def glance_profile(i0: int, i1: int, zone: GazeZone, owl: bool, dwell_jitter: bool = True) -> None:
            zy, zp = ZONE_DIRECTIONS_DEG[zone]
            if dwell_jitter:
                zy, zp = zy + _u(rng, (-5.0, 5.0)), zp + _u(rng, (-4.0, 4.0))
            m = i1 - i0
            t = np.arange(m) / fps
            dur = m / fps
            eye_ramp = min(_u(rng, (0.1, 0.25)), dur / 3)
            head_ramp = min(_u(rng, (0.3, 0.6)), dur / 2.5)
            s_eye = np.minimum(_smoothstep((t + 0.5 / fps) / eye_ramp), _smoothstep((dur - t) / eye_ramp))
            s_head = np.minimum(_smoothstep((t + 0.5 / fps) / head_ramp), _smoothstep((dur - t) / head_ramp))
            k = _u(rng, (0.6, 0.9)) if owl else _u(rng, (0.0, 0.2))
            sl = slice(i0, i1)
            gaze_yaw[sl] += zy * s_eye
            gaze_pitch[sl] += zp * s_eye
            head_off_yaw[sl] += k * zy * s_head
            head_off_pitch[sl] += k * zp * s_head

        for a in sorted(self.acts, key=lambda a: (a.i0, a.kind)):
            i0, i1, m = a.i0, a.i1, a.i1 - a.i0
            ph = _phases(m)
            sl = slice(i0, i1)
            o = a.opts
            if a.kind == "blink":
                cf, hold = o["close"], o["hold"]
                shape = np.where(ph < cf, _smoothstep(ph / cf),
                                 np.where(ph < cf + hold, 1.0, 1.0 - _smoothstep((ph - cf - hold) / max(1 - cf - hold, 1e-6))))
                closure[sl] = np.minimum(closure[sl], 1.0 - o["depth"] * shape)
                events.append(("blink", i0, i1, "", {}))
            elif a.kind == "droop":
                target = _u(rng, self.params.droop_openness)
                lid_base[sl] *= 1.0 - (1.0 - target) * _trapezoid(ph, 0.45, 0.25)
                events.append(("drowsy_droop", i0, i1, "", {"min_openness": round(target, 4)}))
            elif a.kind in ("microsleep", "sleep"):
                dur = m / fps
                ramp_in = min(0.15 if a.kind == "microsleep" else 0.5, dur / 5) / dur
                ramp_out = min(0.2 if a.kind == "microsleep" else 0.4, dur / 5) / dur
                floor = _u(rng, (0.0, 0.05))
                closure[sl] = np.minimum(closure[sl], 1.0 - (1.0 - floor) * _trapezoid(ph, ramp_in, ramp_out))
                if a.kind == "sleep":
                    nod = _trapezoid(ph, min(0.3, 1.5 / dur), min(0.08, 0.3 / dur))
                    head_off_pitch[sl] -= o["nod_deg"] * nod
                    head_roll[sl] += o["roll_deg"] * nod
                    eye_frozen[sl] = True
                    mouth[sl] = np.maximum(mouth[sl], _u(rng, (0.03, 0.2)) * nod)
                    for h in o.get("hands", ()):
                        lo_i = i0 + int(0.3 * m)
                        hi_i = i0 + int(0.9 * m)
                        hands[h][lo_i:hi_i] = [HandState.LAP] * (hi_i - lo_i)
                events.append((a.kind, i0, i1, "", {}))
            elif a.kind == "yawn":
                prof = _trapezoid(ph, 0.35, 0.35)
                mouth[sl] = np.maximum(mouth[sl], o["peak"] * prof)
                lid_base[sl] *= 1.0 - 0.45 * prof            # eyes squint at the peak
                head_off_pitch[sl] += _u(rng, (3.0, 10.0)) * prof
                yawn_flag[sl] = mouth[sl] >= YAWN_FLAG_OPENNESS
                events.append(("yawn", i0, i1, "", {"covered": bool(o["covered"]), "peak_openness": round(o["peak"], 4)}))
                if o["covered"]:
                    c0, c1 = i0 + int(0.25 * m), i0 + int(0.8 * m)
                    h = o["hands"][0]
                    hands[h][c0:c1] = [HandState.FACE] * (c1 - c0)
                    hand_over_mouth[c0:c1] = True
                    events.append(("yawn_covered", c0, c1, h, {}))
            elif a.kind == "talking":
                t = np.arange(m) / fps
                f = _u(rng, self.params.talking_syllable_hz)
                amp = _u(rng, self.params.talking_openness)
                env = np.clip(0.6 + _smooth_noise(rng, m, fps, 0.35, 0.25), 0.0, 1.0)
                mouth[sl] = np.maximum(mouth[sl], amp * env * np.abs(np.sin(np.pi * f * t + rng.uniform(0, np.pi))))
                talking[sl] = True
                events.append(("talking", i0, i1, "", {"syllable_hz": round(f, 3)}))
            elif a.kind in ("glance", "long_glance"):
                glance_profile(i0, i1, o["zone"], o["owl"])
                events.append(("glance", i0, i1, o["zone"].value,
                               {"style": "owl" if o["owl"] else "lizard", "long": a.kind == "long_glance"}))
            elif a.kind == "texting":
                h = o["hands"][0]
                hands[h][i0:i1] = [HandState.TEXTING] * m
                phone[i0:i1] = [h] * m
                events.append(("texting", i0, i1, h, {}))
                j = i0 + self._frames(_u(rng, (0.2, 0.6)))
                while j < i1:
                    down = self._frames(_u(rng, (1.0, 3.0)))
                    j1 = min(j + down, i1)
                    if j1 - j >= 3:
                        owl = bool(rng.random() < 0.6)
                        glance_profile(j, j1, GazeZone.LAP_PHONE, owl)
                        events.append(("glance", j, j1, GazeZone.LAP_PHONE.value,
                                       {"style": "owl" if owl else "lizard", "long": False}))
                    j = j1 + self._frames(_u(rng, (0.5, 1.5)))
            elif a.kind == "phone_call":
                h = o["hands"][0]
                hands[h][i0:i1] = [HandState.PHONE_EAR] * m
                phone[i0:i1] = [h] * m
                tilt = _u(rng, (4.0, 10.0)) * (1.0 if h == "right" else -1.0)
                head_roll[sl] += tilt * _trapezoid(ph, min(0.2, 1.0 / (m / fps)), min(0.2, 1.0 / (m / fps)))
                events.append(("phone_call", i0, i1, h, {}))
                # the driver talks in bursts during the call (mouth is claimed by the call)
                j = i0 + self._frames(_u(rng, (0.5, 1.5)))
                while j < i1 - 2:
                    j1 = min(j + self._frames(_u(rng, (1.0, 4.0))), i1)
                    mm = j1 - j
                    t = np.arange(mm) / fps
                    amp = _u(rng, self.params.talking_openness)
                    f = _u(rng, self.params.talking_syllable_hz)
                    mouth[j:j1] = np.maximum(mouth[j:j1], amp * np.abs(np.sin(np.pi * f * t)))
                    talking[j:j1] = True
                    events.append(("talking", j, j1, "", {"syllable_hz": round(f, 3)}))
                    j = j1 + self._frames(_u(rng, (0.8, 2.5)))
            elif a.kind == "hands_off":
                for h in o["hands"]:
                    choices = [HandState.LAP, HandState.OTHER, HandState.FACE] + (
                        [HandState.GEAR_LEVER] * 2 if h == "right" else [])
                    st = choices[int(rng.integers(len(choices)))]
                    hands[h][i0:i1] = [st] * m
            elif a.kind == "drinking":
                h = o["hands"][0]
                hands[h][i0:i1] = [HandState.DRINKING] * m
                sip = _trapezoid(ph, 0.3, 0.3)
                head_off_pitch[sl] += _u(rng, (8.0, 18.0)) * sip
                gaze_pitch[sl] += 0.5 * _u(rng, (8.0, 18.0)) * sip
                mouth[sl] = np.maximum(mouth[sl], _u(rng, (0.08, 0.2)) * sip)
                events.append(("drinking", i0, i1, h, {}))

        # compose eyes: total gaze -> head + eye-in-head with limited eye range
        head_yaw_t = head_yaw + head_off_yaw
        head_pitch_t = head_pitch + head_off_pitch
        gaze_yaw = np.where(eye_frozen, head_yaw_t, gaze_yaw)        # asleep: eyes rest in the head
        gaze_pitch = np.where(eye_frozen, head_pitch_t, gaze_pitch)   # else the eyes hold the target (VOR)
        eye_yaw = gaze_yaw - head_yaw_t
        eye_pitch = gaze_pitch - head_pitch_t
        ey = np.clip(eye_yaw, -EYE_RANGE_DEG[0], EYE_RANGE_DEG[0])
        ep = np.clip(eye_pitch, -EYE_RANGE_DEG[1], EYE_RANGE_DEG[1])
        head_yaw_t = head_yaw_t + (eye_yaw - ey)     # the head takes what the eyes cannot
        head_pitch_t = head_pitch_t + (eye_pitch - ep)
        eye_yaw, eye_pitch = ey, ep
        head_yaw_t = np.clip(head_yaw_t, -85.0, 85.0)
        head_pitch_t = np.clip(head_pitch_t, -60.0, 45.0)
        head_roll = np.clip(head_roll, -35.0, 35.0)

        open_l = np.clip((base_open + asym) * lid_base * closure, 0.0, 1.2)
        open_r = np.clip((base_open - asym) * lid_base * closure, 0.0, 1.2)
        mouth = np.clip(mouth, 0.0, 1.0)

        # derived events: hands off the wheel, distraction
        off_l = np.array([s is not HandState.ON_WHEEL for s in hands["left"]])
        off_r = np.array([s is not HandState.ON_WHEEL for s in hands["right"]])
        for j0, j1 in _runs(off_l | off_r):
            which = [h for h, off in (("left", off_l), ("right", off_r)) if off[j0:j1].any()]
            both = bool((off_l[j0:j1] & off_r[j0:j1]).any())
            target = "both" if (both or len(which) == 2) else which[0]
            events.append(("hands_off", j0, j1, target, {"hands": which}))
        distract = np.zeros(n, dtype=bool)
        for (kind, j0, j1, target, attrs) in events:
            if (kind == "glance" and GazeZone(target) in DISTRACTION_ZONES) or kind == "texting":
                distract[j0:j1] = True
        for j0, j1 in _runs(distract):
            events.append(("distraction", j0, j1, "", {}))

        ev = sorted((Event(type=k, start_s=j0 / fps, end_s=j1 / fps, target=tg, attrs=at)
                     for (k, j0, j1, tg, at) in events), key=lambda e: (e.start_s, e.end_s, e.type, e.target))
        poses = []
        for i in range(n):
            t = i / fps
            zone = zone_of_direction(float(gaze_yaw[i]), float(gaze_pitch[i]))
            poses.append(DriverPose(
                eye_openness_left=float(round(open_l[i], 6)), eye_openness_right=float(round(open_r[i], 6)),
                mouth_openness=float(round(mouth[i], 6)), yawn=bool(yawn_flag[i]), talking=bool(talking[i]),
                gaze_zone=zone, gaze_target_m=None,
                eye_yaw_deg=float(round(eye_yaw[i], 4)), eye_pitch_deg=float(round(eye_pitch[i], 4)),
                head_yaw_deg=float(round(head_yaw_t[i], 4)), head_pitch_deg=float(round(head_pitch_t[i], 4)),
                head_roll_deg=float(round(head_roll[i], 4)),
                hand_left=hands["left"][i], hand_right=hands["right"][i],
                wheel_clock_left=float(round(clock_left, 3)), wheel_clock_right=float(round(clock_right, 3)),
                phone_in_hand=phone[i], hand_over_mouth=bool(hand_over_mouth[i]),
                events=events_at(ev, t)))
        return Scenario(self.preset_name, fps, d, poses, ev)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[(start, end_exclusive)] of the True runs of a boolean array."""
    m = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    dm = np.diff(m.astype(np.int8))
    return list(zip(np.flatnonzero(dm == 1).tolist(), np.flatnonzero(dm == -1).tolist()))


def generate_scenario(preset: str | Preset, duration_s: float, fps: float, rng: np.random.Generator,
                      params: BehaviourParams | None = None) -> Scenario:
    """A random timeline of ``preset`` (name, ``"a+b"`` composition or Preset) of ``duration_s`` at ``fps``."""
    p = resolve_preset(preset) if isinstance(preset, str) else preset
    b = ScenarioBuilder(duration_s, fps, rng, params, drowsiness=p.drowsiness, preset_name=p.name)
    b.fill_preset(p)
    b.fill_blinks()
    return b.build()
