"""Regulation profiles: every fusion threshold in one frozen settings object per profile.

Each field carries a comment with its source, tagged:
  [NCAP]  Euro NCAP 2026 Safe Driving – Driver Engagement assessment protocol (driver state monitoring)
  [ADDW]  Commission Delegated Regulation (EU) 2023/2590 (advanced driver distraction warning)
  [DDAW]  Commission Delegated Regulation (EU) 2021/1341 (driver drowsiness and attention warning)
  [LIT]   published research (named in the comment)
  [ENG]   engineering choice of this SDK (not a regulation value); tune with data, document changes

``Profile`` holds the shared signal-processing defaults; the three profile instances below set the
regulation-specific values explicitly. Derive a variant with ``profile.replace(field=value, ...)``.

Speed unknown (no vehicle signals, or stale/invalid ones): ``unknown_speed_policy`` decides. The default,
``assume_moving``, treats the vehicle as above every speed gate so that a bench demo without a vehicle bus
alerts; an ECU integration that always has speed should keep it, one that may lose speed and must not
false-alarm when parked can choose ``suppress``.
"""
from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import Optional

from dms.contracts.enums import AlertType, GazeZone


class UnknownSpeedPolicy(str, enum.Enum):
    ASSUME_MOVING = "assume_moving"   # every speed gate open
    SUPPRESS = "suppress"             # every speed gate closed (no speed-gated alert)


class SpeedGate(str, enum.Enum):
    """Which speed gate an alert type obeys."""
    NONE = "none"
    DISTRACTION = "distraction"
    SLEEP = "sleep"
    DROWSINESS = "drowsiness"


@dataclass(frozen=True)
class ZoneRect:
    """A gaze zone as a yaw/pitch box, degrees, relative to the driver's calibrated straight-ahead road
    direction, in the contracts convention (yaw > 0 = toward the image's right = the driver's left for a
    driver-facing camera; pitch > 0 = up)."""
    zone: GazeZone
    yaw_min_deg: float
    yaw_max_deg: float
    pitch_min_deg: float
    pitch_max_deg: float

    def contains(self, yaw_deg: float, pitch_deg: float) -> bool:
        return (self.yaw_min_deg <= yaw_deg <= self.yaw_max_deg
                and self.pitch_min_deg <= pitch_deg <= self.pitch_max_deg)


@dataclass(frozen=True)
class DistractionBand:
    """Long-distraction timing valid from ``min_speed_kph`` up to the next band: fusion raises the alert once
    eyes are continuously off road for ``trigger_s``; the regulation requires a warning by ``deadline_s``."""
    min_speed_kph: float
    trigger_s: float
    deadline_s: float


# [ENG] Default zone map for a left-hand-drive car with the camera on the steering column. Boxes are relative
# to the calibrated road direction; first match wins; a direction inside no box is GazeZone.OTHER.
DEFAULT_ZONE_MAP: tuple[ZoneRect, ...] = (
    ZoneRect(GazeZone.ROAD, -15.0, 15.0, -8.0, 10.0),
    ZoneRect(GazeZone.CLUSTER, -12.0, 12.0, -30.0, -8.0),
    ZoneRect(GazeZone.LEFT_MIRROR, 30.0, 65.0, -15.0, 10.0),
    ZoneRect(GazeZone.REARVIEW_MIRROR, -40.0, -15.0, 5.0, 25.0),
    ZoneRect(GazeZone.INFOTAINMENT, -45.0, -12.0, -35.0, -8.0),
    ZoneRect(GazeZone.RIGHT_MIRROR, -75.0, -50.0, -15.0, 5.0),
    ZoneRect(GazeZone.PASSENGER, -90.0, -15.0, -8.0, 5.0),
    ZoneRect(GazeZone.LAP_PHONE, -60.0, 60.0, -90.0, -30.0),
)

# [ENG] Zones that count as "attention on the driving task" (eyes on road). Mirror checks are driving-related
# glances, not distraction (ADDW Annex I describes distraction as looking at areas not relevant for driving).
DEFAULT_ATTENTIVE_ZONES = frozenset({GazeZone.ROAD, GazeZone.LEFT_MIRROR, GazeZone.RIGHT_MIRROR,
                                     GazeZone.REARVIEW_MIRROR})


@dataclass(frozen=True)
class Profile:
    """All thresholds of one regulation profile. Times in seconds, speeds in km/h, probabilities 0..1."""
    name: str
    source: str                                   # citation of the regulation the profile implements
    enabled_alerts: frozenset                     # AlertType values this profile raises

    # ---- input interpretation -------------------------------------------------------------------------
    max_gap_s: float = 0.5                        # [ENG] a frame gap longer than this is "unavailable":
    #                                               continuous timers restart, the gap counts nowhere
    eye_closed_prob_on: float = 0.6               # [ENG] closed-eye classifier hysteresis (closed above on,
    eye_closed_prob_off: float = 0.4              #        open again below off)
    closed_openness_on: float = 0.2               # [LIT] P80 (Wierwille 1994): eye >= 80 % closed when the
    closed_openness_off: float = 0.3              #        calibrated openness <= 0.2 (used without classifier)
    eye_confidence_min: float = 0.5               # [ENG] below: eye signals unavailable (LOW_CONFIDENCE)
    sunglasses_prob_on: float = 0.5               # [ENG] sunglasses detected ...
    sunglasses_eye_confidence_min: float = 0.8    # [ENG] ... then eyes are trusted only above this confidence
    #                                               (else SUNGLASSES_OPAQUE; NIR usually sees through)
    head_only_gaze_gain: float = 1.0              # [ENG] gaze ~ gain * head pose when eyes are unusable

    # ---- blinks and PERCLOS ---------------------------------------------------------------------------
    blink_min_s: float = 0.05                     # [LIT] blinks last ~0.1-0.4 s (Stern 1994; Schleicher 2008)
    blink_max_s: float = 0.5                      # [LIT] longer closures are "long closures", not blinks
    blink_window_s: float = 60.0                  # [ENG] blink rate / mean duration window
    blink_min_count: int = 5                      # [ENG] blinks needed before mean duration is reported
    perclos_window_s: float = 60.0                # [LIT] rolling 60 s PERCLOS (Dinges & Grace 1998, FHWA)
    perclos_min_closure_s: float = 0.3            # [LIT] closures shorter than ~0.3 s (normal blinks) excluded
    perclos_min_valid_s: float = 30.0             # [ENG] valid eye time in the window before PERCLOS is given

    # ---- eye-closure episodes -------------------------------------------------------------------------
    microsleep_min_s: float = 1.0                 # [NCAP] microsleep: eyes closed 1-2 s (< sleep_s)
    sleep_s: float = 3.0                          # [NCAP] sleep: eyes closed >= 3 s
    unresponsive_s: float = 6.0                   # [NCAP] unresponsive driver: no reaction >= 6 s
    unresponsive_includes_eyes_off_road: bool = False  # [ENG] also count a continuous glance away >= 6 s
    drowsy_event_window_s: float = 300.0          # [ENG] window for counting microsleeps (drowsiness input)

    # ---- distraction ----------------------------------------------------------------------------------
    distraction_bands: tuple = (DistractionBand(20.0, 3.0, 3.0),)   # [NCAP] long distraction >= 3 s
    distraction_escalate_s: float = 3.0           # [ENG] CAUTION -> WARNING when it lasts this much longer
    distraction_clear_s: float = 0.5              # [ENG] eyes back on road this long to clear (hysteresis)
    glance_unknown_hold_s: float = 0.5            # [ENG] blink / brief loss inside a glance keeps its state
    vats_window_s: float = 30.0                   # [NCAP] VATS: cumulative eyes-off-road within 30 s ...
    vats_cumulative_s: float = 10.0               # [NCAP] ... reaching 10 s
    vats_reset_on_road_s: float = 2.0             # [NCAP] ... reset by >= 2 s continuously on road
    zone_map: tuple = DEFAULT_ZONE_MAP            # [ENG] see DEFAULT_ZONE_MAP
    attentive_zones: frozenset = DEFAULT_ATTENTIVE_ZONES   # [ENG] see DEFAULT_ATTENTIVE_ZONES

    # ---- phone, yawns, hands --------------------------------------------------------------------------
    phone_prob_on: float = 0.7                    # [ENG] phone-in-use classifier hysteresis
    phone_prob_off: float = 0.4
    phone_min_s: float = 1.0                      # [ENG] phone_use state after this long above on
    phone_alert_s: float = 3.0                    # [ENG] alert when phone use lasts this long (aligned with
    #                                               NCAP long distraction; NCAP 2026 lists phone use)
    phone_escalate_s: float = 5.0                 # [ENG] CAUTION -> WARNING
    yawn_prob_on: float = 0.6                     # [ENG] yawn classifier hysteresis
    yawn_prob_off: float = 0.4
    yawn_mouth_on: float = 0.6                    # [ENG] mouth-openness fallback when no yawn classifier
    yawn_mouth_off: float = 0.4
    yawn_min_s: float = 1.5                       # [LIT] yawns last ~4-7 s; >= 1.5 s wide-open mouth = yawn
    yawn_window_s: float = 300.0                  # [ENG] yawns counted over 5 min
    yawn_alert_count: int = 3                     # [ENG] advisory at 3 yawns in the window (not regulated)
    hands_on_prob: float = 0.5                    # [ENG] hand on wheel when its probability >= this
    hands_off_alert_s: float = 15.0               # [ENG] modelled on UN R79 ACSF B1 hands-off warning timing
    hands_off_escalate_s: float = 15.0            #        (optical at 15 s, escalated at 30 s)

    # ---- drowsiness (KSS-like 1..9) -------------------------------------------------------------------
    # Piecewise-linear maps from one indicator to a KSS estimate, (indicator value, KSS) points.
    kss_perclos_points: tuple = ((0.0, 1.0), (0.04, 3.0), (0.08, 5.0), (0.12, 6.5), (0.15, 7.5),
                                 (0.25, 8.5), (0.40, 9.0))   # [LIT] PERCLOS >= 0.15 ~ drowsy (Wierwille 1994;
    #                                                          Dinges 1998); anchors [ENG], validate vs KSS data
    kss_blink_points: tuple = ((0.15, 1.0), (0.20, 3.0), (0.25, 5.0), (0.30, 6.5), (0.40, 8.0),
                               (0.50, 9.0))       # [LIT] mean blink duration grows with KSS (Ingre 2006);
    #                                               camera blinks of alert drivers ~0.1-0.2 s; anchors [ENG]
    kss_microsleep_points: tuple = ((0.0, 1.0), (1.0, 8.0), (3.0, 9.0))  # [ENG] any microsleep => KSS >= 8
    kss_yawn_points: tuple = ((0.0, 1.0), (1.0, 4.0), (3.0, 6.5), (5.0, 7.0))  # [ENG] yawns alone stay <= 7
    kss_corroboration_min: float = 6.0            # [ENG] +bonus when >= 2 indicators are at least this high
    kss_corroboration_bonus: float = 0.5
    kss_min_observed_s: float = 60.0              # [ENG] valid eye time before a KSS estimate is published
    #                                               (a microsleep publishes one at once)
    kss_advisory_level: Optional[int] = 7         # [DDAW] a warning MAY be given at KSS 7 (INFO advisory)
    kss_warning_level: int = 8                    # [NCAP] KSS-equivalent > 7 / [DDAW] SHALL warn at KSS >= 8
    kss_critical_level: int = 9                   # [ENG] escalate to WARNING at KSS 9 (fighting sleep)
    kss_clear_level: int = 6                      # [ENG] clear when the rounded KSS <= 6 ...
    drowsiness_clear_s: float = 10.0              # [ENG] ... for this long (hysteresis)

    # ---- alert timing and hysteresis ------------------------------------------------------------------
    microsleep_hold_s: float = 3.0                # [ENG] microsleep warning stays this long after reopening
    sleep_clear_s: float = 2.0                    # [ENG] eyes open this long to clear sleep / unresponsive
    hands_clear_s: float = 0.5                    # [ENG] hands back on wheel this long to clear
    phone_clear_s: float = 1.0                    # [ENG] phone put away this long to clear
    unavailable_alert_s: float = 5.0              # [ENG] inform the driver when monitoring is unavailable
    unavailable_clear_s: float = 1.0              #        this long (NCAP requires a DSM status indication)

    # ---- calibration ----------------------------------------------------------------------------------
    calibration_s: float = 120.0                  # [ENG] learn during the first 2 min of valid driving
    calibration_min_samples: int = 300            # [ENG] samples needed (taken every sample period)
    calibration_sample_period_s: float = 0.1
    calibration_open_percentile: float = 90.0     # [ENG] open-eye baseline = this percentile of open samples

    # ---- speed gating ---------------------------------------------------------------------------------
    distraction_gate_kph: float = 20.0            # [NCAP] distraction assessed from 20 km/h
    sleep_gate_kph: float = 20.0                  # [NCAP] sleep / microsleep / unresponsive from 20 km/h
    drowsiness_gate_kph: float = 50.0             # [NCAP] drowsiness from 50 km/h
    speed_gate_hysteresis_kph: float = 2.0        # [ENG] a gate, once open, closes below gate - this
    unknown_speed_policy: UnknownSpeedPolicy = UnknownSpeedPolicy.ASSUME_MOVING  # [ENG] see module doc
    vehicle_stale_s: float = 2.0                  # [ENG] vehicle signals older than this = speed unknown

    def __post_init__(self) -> None:
        problems = []
        if not self.name:
            problems.append("name is empty")
        bad = [a for a in self.enabled_alerts if not isinstance(a, AlertType)]
        if bad:
            problems.append(f"enabled_alerts must be AlertType values, got {bad}")
        if not self.distraction_bands:
            problems.append("distraction_bands is empty")
        speeds = [b.min_speed_kph for b in self.distraction_bands]
        if speeds != sorted(speeds):
            problems.append("distraction_bands must be sorted by min_speed_kph")
        for b in self.distraction_bands:
            if not (0 < b.trigger_s <= b.deadline_s):
                problems.append(f"distraction band {b}: need 0 < trigger_s <= deadline_s")
        if not (self.microsleep_min_s < self.sleep_s <= self.unresponsive_s):
            problems.append("need microsleep_min_s < sleep_s <= unresponsive_s")
        if not (self.eye_closed_prob_off < self.eye_closed_prob_on):
            problems.append("need eye_closed_prob_off < eye_closed_prob_on")
        if not (self.closed_openness_on < self.closed_openness_off):
            problems.append("need closed_openness_on < closed_openness_off")
        if not (self.phone_prob_off < self.phone_prob_on and self.yawn_prob_off < self.yawn_prob_on
                and self.yawn_mouth_off < self.yawn_mouth_on):
            problems.append("probability hysteresis needs off < on")
        if not (self.kss_clear_level < self.kss_warning_level <= self.kss_critical_level):
            problems.append("need kss_clear_level < kss_warning_level <= kss_critical_level")
        if self.vats_cumulative_s > self.vats_window_s:
            problems.append("vats_cumulative_s cannot exceed vats_window_s")
        if self.max_gap_s <= 0:
            problems.append("max_gap_s must be > 0")
        for name in ("kss_perclos_points", "kss_blink_points", "kss_microsleep_points", "kss_yawn_points"):
            xs = [p[0] for p in getattr(self, name)]
            if len(xs) < 2 or xs != sorted(xs):
                problems.append(f"{name} needs >= 2 points sorted by x")
        if problems:
            raise ValueError(f"profile {self.name!r}: " + "; ".join(problems))

    # ------------------------------------------------------------------------------------------------
    def replace(self, **changes) -> "Profile":
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)

    def enabled(self, alert: AlertType) -> bool:
        return alert in self.enabled_alerts

    def distraction_band(self, speed_kph: Optional[float]) -> DistractionBand:
        """The band for a speed; unknown speed -> the strictest (highest-speed) band."""
        if speed_kph is None:
            return self.distraction_bands[-1]
        chosen = self.distraction_bands[0]
        for b in self.distraction_bands:
            if speed_kph >= b.min_speed_kph:
                chosen = b
        return chosen

    def gate_kph(self, gate: SpeedGate) -> float:
        return {SpeedGate.NONE: 0.0, SpeedGate.DISTRACTION: self.distraction_gate_kph,
                SpeedGate.SLEEP: self.sleep_gate_kph, SpeedGate.DROWSINESS: self.drowsiness_gate_kph}[gate]

    def summary(self) -> dict:
        """JSON-friendly dict of every setting (for manifests, logs and `dms eval alerts` reports)."""
        out = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, frozenset):
                v = sorted(getattr(x, "value", x) for x in v)
            elif isinstance(v, enum.Enum):
                v = v.value
            elif f.name == "zone_map":
                v = [[z.zone.value, z.yaw_min_deg, z.yaw_max_deg, z.pitch_min_deg, z.pitch_max_deg] for z in v]
            elif f.name == "distraction_bands":
                v = [dataclasses.asdict(b) for b in v]
            out[f.name] = v
        return out


# Which speed gate each alert obeys.
ALERT_GATES: dict[AlertType, SpeedGate] = {
    AlertType.DISTRACTION_LONG: SpeedGate.DISTRACTION,
    AlertType.DISTRACTION_VATS: SpeedGate.DISTRACTION,
    AlertType.PHONE_USE: SpeedGate.DISTRACTION,
    AlertType.HANDS_OFF: SpeedGate.DISTRACTION,
    AlertType.MONITORING_UNAVAILABLE: SpeedGate.DISTRACTION,
    AlertType.MICROSLEEP: SpeedGate.SLEEP,
    AlertType.SLEEP: SpeedGate.SLEEP,
    AlertType.UNRESPONSIVE: SpeedGate.SLEEP,
    AlertType.DROWSINESS: SpeedGate.DROWSINESS,
    AlertType.YAWNING: SpeedGate.DROWSINESS,
}


EURO_NCAP_2026 = Profile(
    name="euro_ncap_2026",
    source="Euro NCAP 2026 Safe Driving - Driver Engagement assessment protocol (driver state monitoring)",
    enabled_alerts=frozenset(AlertType),          # superset: every alert this SDK knows
    distraction_bands=(DistractionBand(20.0, 3.0, 3.0),),   # [NCAP] long distraction >= 3 s from 20 km/h
    vats_window_s=30.0, vats_cumulative_s=10.0, vats_reset_on_road_s=2.0,  # [NCAP] VATS
    microsleep_min_s=1.0, sleep_s=3.0, unresponsive_s=6.0,  # [NCAP]
    kss_warning_level=8,                          # [NCAP] drowsiness: KSS-equivalent > 7
    distraction_gate_kph=20.0, sleep_gate_kph=20.0, drowsiness_gate_kph=50.0,  # [NCAP]
)

EU_ADDW = Profile(
    name="eu_addw",
    source="Commission Delegated Regulation (EU) 2023/2590 - advanced driver distraction warning (ADDW)",
    enabled_alerts=frozenset({AlertType.DISTRACTION_LONG, AlertType.MONITORING_UNAVAILABLE}),
    # [ADDW] warn at the latest 3.5 s into a distraction above 50 km/h and 6 s between 20 and 50 km/h;
    # [ENG] trigger 0.5 s before the deadline to absorb pipeline latency.
    distraction_bands=(DistractionBand(20.0, 5.5, 6.0), DistractionBand(50.0, 3.0, 3.5)),
    distraction_gate_kph=20.0,                    # [ADDW] active from 20 km/h
    sleep_gate_kph=20.0, drowsiness_gate_kph=50.0,
)

EU_DDAW = Profile(
    name="eu_ddaw",
    source="Commission Delegated Regulation (EU) 2021/1341 - driver drowsiness and attention warning (DDAW)",
    enabled_alerts=frozenset({AlertType.DROWSINESS, AlertType.MONITORING_UNAVAILABLE}),
    kss_advisory_level=7,                         # [DDAW] may warn at KSS 7
    kss_warning_level=8,                          # [DDAW] shall warn at KSS >= 8
    drowsiness_gate_kph=70.0,                     # [DDAW] required to operate at least from 70 km/h
    distraction_gate_kph=20.0, sleep_gate_kph=20.0,
)

PROFILES: dict[str, Profile] = {p.name: p for p in (EURO_NCAP_2026, EU_ADDW, EU_DDAW)}


def get_profile(name: "str | Profile") -> Profile:
    """Profile by name (a Profile passes through). Unknown names raise ValueError listing the valid ones."""
    if isinstance(name, Profile):
        return name
    try:
        return PROFILES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown fusion profile {name!r}; valid profiles: {sorted(PROFILES)}") from None


__all__ = ["Profile", "ZoneRect", "DistractionBand", "UnknownSpeedPolicy", "SpeedGate", "ALERT_GATES",
           "DEFAULT_ZONE_MAP", "DEFAULT_ATTENTIVE_ZONES", "EURO_NCAP_2026", "EU_ADDW", "EU_DDAW", "PROFILES",
           "get_profile"]
