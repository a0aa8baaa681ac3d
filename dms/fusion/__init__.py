"""Fusion: temporal driver-state signals and regulation-timed alerts.

Owns: turning per-frame :class:`dms.contracts.Perception` (+ optional :class:`dms.contracts.VehicleSignals`)
into a :class:`dms.contracts.DriverState` published every step and :class:`dms.contracts.Alert` transitions:
blinks, PERCLOS, eye-closure episodes (microsleep / sleep), yawns, gaze zones and glance timing (long
distraction, VATS), head pose, hands off the wheel, phone use, per-driver calibration, a KSS-like drowsiness
level, and the alert policy of each regulation profile (Euro NCAP 2026, EU ADDW 2023/2590, EU DDAW
2021/1341) with speed gating, escalation and hysteresis. Also the alert scoring used by ``dms eval alerts``.

May import: the standard library, numpy and ``dms.contracts`` only — no torch, onnxruntime, cv2, bpy,
mediapipe, serial, no clock and no I/O (this is the part an ECU vendor embeds; a test enforces it). Time
comes only from input ``t_ns``.

    from dms.fusion import FusionEngine, get_profile
    engine = FusionEngine(profile="euro_ncap_2026")
    out = engine.step(perception, vehicle)      # out.state: DriverState, out.events: list[Alert]
"""
from dms.fusion.alerts import AlertPolicy, AlertRule, Condition, SpeedGates, rules_for_profile
from dms.fusion.calibration import Calibration, CalibrationResult
from dms.fusion.drowsiness import DrowsinessEstimator, kss_level
from dms.fusion.engine import FusionEngine, FusionOutput
from dms.fusion.glance import GazeZoneMapper, GlanceStatus, GlanceTracker
from dms.fusion.profiles import (EU_ADDW, EU_DDAW, EURO_NCAP_2026, PROFILES, DistractionBand, Profile,
                                 SpeedGate, UnknownSpeedPolicy, ZoneRect, get_profile)
from dms.fusion.scoring import EVENT_ALERTS, required_time_s, score_alerts
from dms.fusion.signals import (BlinkDetector, ClosureEpisode, ClosureEpisodes, HandsOffTimer, HandsStatus,
                                PerclosWindow, PhoneTracker, YawnCounter)

# Short alias used in the issue text ("Perclos window").
Perclos = PerclosWindow

__all__ = [
    "FusionEngine", "FusionOutput", "get_profile", "PROFILES", "Profile", "EURO_NCAP_2026", "EU_ADDW",
    "EU_DDAW", "DistractionBand", "ZoneRect", "SpeedGate", "UnknownSpeedPolicy",
    "BlinkDetector", "PerclosWindow", "Perclos", "ClosureEpisodes", "ClosureEpisode", "GlanceTracker",
    "GlanceStatus", "GazeZoneMapper", "YawnCounter", "HandsOffTimer", "HandsStatus", "PhoneTracker",
    "Calibration", "CalibrationResult", "DrowsinessEstimator", "kss_level", "AlertPolicy", "AlertRule",
    "Condition", "SpeedGates", "rules_for_profile", "score_alerts", "required_time_s", "EVENT_ALERTS",
]
