"""Driver state and alerts: the output of fusion, published every step (with ``valid``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from dms.contracts.base import Record
from dms.contracts.enums import AlertLevel, AlertType, FaultCode, GazeZone, HandState


@dataclass(frozen=True)
class Alert(Record):
    """An alert transition (raised, escalated or cleared) — the event log entry."""
    SCHEMA_ID = "dms.alert"
    t_ns: int
    type: AlertType
    level: AlertLevel
    active: bool                      # True when raised/escalated, False when cleared
    reason: str = ""                  # human-readable: which signal and threshold fired
    profile: str = ""


@dataclass(frozen=True)
class DriverState(Record):
    """Fused driver state at ``t_ns``. When ``valid`` is False, ``fault`` says why (monitoring unavailable) and
    the eye/gaze fields are not trustworthy; unavailable time never counts as eye closure."""
    SCHEMA_ID = "dms.driver_state"
    t_ns: int
    valid: bool
    fault: FaultCode = FaultCode.OK
    eyes_closed: bool = False
    eye_openness: Optional[float] = None          # calibrated, 0..1
    closure_duration_s: float = 0.0               # current continuous closure
    perclos: Optional[float] = None               # P80 over the rolling window, 0..1
    blink_rate_per_min: Optional[float] = None
    mean_blink_duration_s: Optional[float] = None
    yawns_in_window: int = 0
    drowsiness_kss: Optional[float] = None        # KSS-like 1..9
    drowsiness_inputs: dict = field(default_factory=dict)
    gaze_zone: GazeZone = GazeZone.UNKNOWN
    eyes_off_road_s: float = 0.0                  # current continuous glance away
    vats_cumulative_s: float = 0.0                # time-shared eyes-off-road within the VATS window
    head_yaw_deg: Optional[float] = None
    head_pitch_deg: Optional[float] = None
    hand_left: HandState = HandState.UNKNOWN
    hand_right: HandState = HandState.UNKNOWN
    hands_off_s: float = 0.0
    phone_use: bool = False
    speed_kph: Optional[float] = None
    alert_level: AlertLevel = AlertLevel.NONE
    active_alerts: tuple[AlertType, ...] = ()
    calibrated: bool = False
    profile: str = ""

    @property
    def alert_flags(self) -> int:
        bits = 0
        for a in self.active_alerts:
            bits |= 1 << a.bit
        return bits
