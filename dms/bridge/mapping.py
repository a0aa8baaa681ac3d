"""Conversions between wire values (ints, see ``firmware_bridge/protocol.json``) and ``dms.contracts`` records.

Scaling rules: values are rounded to the nearest wire unit and saturated to the field's range (a 70 s glance is
sent as 65535 ms, never wrapped); unknown optional values use the field's documented "unknown" encoding.
Wire ids that a newer peer may send and this side does not know decode to the enum's UNKNOWN/NONE/OFF value.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Optional

from dms.bridge.codec import BITS, ENUMS, PROTOCOL
from dms.contracts import AlertLevel, AlertType, DriverState, FaultCode, GazeZone, HandState, VehicleSignals
from dms.contracts.vehicle import Gear, Indicator

GAZE_TO_ID: dict[GazeZone, int] = {z: ENUMS["gaze_zone"][z.value] for z in GazeZone}
ID_TO_GAZE: dict[int, GazeZone] = {v: k for k, v in GAZE_TO_ID.items()}
HAND_TO_ID: dict[HandState, int] = {h: ENUMS["hand_state"][h.value] for h in HandState}
ID_TO_HAND: dict[int, HandState] = {v: k for k, v in HAND_TO_ID.items()}
ALERT_TYPE_BITS: dict[AlertType, int] = {a: ENUMS["alert_type"][a.value] for a in AlertType}

_STATE = BITS["state_flags"]
_VEH = BITS["vehicle_valid"]
_FIELD_UNKNOWN = {(m["name"], f["name"]): f.get("unknown") for m in PROTOCOL["messages"] for f in m["fields"]}

U16_MAX = 0xFFFF
U32_MASK = 0xFFFFFFFF


def _sat(value: float, lo: int, hi: int) -> int:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return lo
    return int(min(max(round(value), lo), hi))


def ms_u16(seconds: float) -> int:
    """Seconds -> saturating u16 milliseconds."""
    return _sat(seconds * 1000.0, 0, U16_MAX)


def driver_state_to_fields(state: DriverState) -> dict[str, int]:
    """DRIVER_STATE wire values for a fused driver state."""
    flags = 0
    if state.valid:
        flags |= _STATE["valid"]
    if state.eyes_closed:
        flags |= _STATE["eyes_closed"]
    if state.phone_use:
        flags |= _STATE["phone_use"]
    if state.calibrated:
        flags |= _STATE["calibrated"]
    alert_flags = 0
    for a in state.active_alerts:
        alert_flags |= 1 << ALERT_TYPE_BITS[AlertType(a)]
    kss = state.drowsiness_kss
    kss_x10 = (_FIELD_UNKNOWN[("DRIVER_STATE", "drowsiness_kss_x10")] if kss is None or not math.isfinite(kss)
               else _sat(kss * 10.0, 10, 90))
    perclos = state.perclos
    perclos_x1000 = (_FIELD_UNKNOWN[("DRIVER_STATE", "perclos_x1000")] if perclos is None or not math.isfinite(perclos)
                     else _sat(perclos * 1000.0, 0, 1000))
    return {
        "t_ms": (int(state.t_ns) // 1_000_000) & U32_MASK,
        "alert_level": int(AlertLevel(state.alert_level)),
        "alert_flags": alert_flags,
        "drowsiness_kss_x10": kss_x10,
        "gaze_zone": GAZE_TO_ID[GazeZone(state.gaze_zone)],
        "state_flags": flags,
        "fault_code": int(FaultCode(state.fault)),
        "hand_left": HAND_TO_ID[HandState(state.hand_left)],
        "hand_right": HAND_TO_ID[HandState(state.hand_right)],
        "perclos_x1000": perclos_x1000,
        "closure_ms": ms_u16(state.closure_duration_s),
        "eyes_off_road_ms": ms_u16(state.eyes_off_road_s),
        "hands_off_ms": ms_u16(state.hands_off_s),
    }


def _enum_or(enum_cls, value: int, default):
    try:
        return enum_cls(value)
    except ValueError:
        return default


def describe_driver_state(fields: Mapping[str, int]) -> dict[str, Any]:
    """Human/JSON-readable view of DRIVER_STATE wire values (what an ECU would interpret)."""
    flags = fields["state_flags"]
    alerts = [a.value for a, bit in ALERT_TYPE_BITS.items() if fields["alert_flags"] >> bit & 1]
    unknown_bits = fields["alert_flags"] & ~sum(1 << b for b in ALERT_TYPE_BITS.values())
    kss = fields["drowsiness_kss_x10"]
    perclos = fields["perclos_x1000"]
    fault = _enum_or(FaultCode, fields["fault_code"], None)
    return {
        "t_ms": fields["t_ms"],
        "valid": bool(flags & _STATE["valid"]),
        "fault": fault.name if fault is not None else f"UNKNOWN_{fields['fault_code']}",
        "alert_level": _enum_or(AlertLevel, fields["alert_level"], AlertLevel.NONE).name,
        "active_alerts": alerts,
        "unknown_alert_bits": unknown_bits,
        "drowsiness_kss": None if kss == 0 else kss / 10.0,
        "gaze_zone": ID_TO_GAZE.get(fields["gaze_zone"], GazeZone.UNKNOWN).value,
        "eyes_closed": bool(flags & _STATE["eyes_closed"]),
        "phone_use": bool(flags & _STATE["phone_use"]),
        "calibrated": bool(flags & _STATE["calibrated"]),
        "hand_left": ID_TO_HAND.get(fields["hand_left"], HandState.UNKNOWN).value,
        "hand_right": ID_TO_HAND.get(fields["hand_right"], HandState.UNKNOWN).value,
        "perclos": None if perclos == U16_MAX else perclos / 1000.0,
        "closure_s": fields["closure_ms"] / 1000.0,
        "eyes_off_road_s": fields["eyes_off_road_ms"] / 1000.0,
        "hands_off_s": fields["hands_off_ms"] / 1000.0,
    }


def vehicle_to_fields(v: VehicleSignals, t_ms: Optional[int] = None) -> dict[str, int]:
    """VEHICLE_SIGNALS wire values (the ECU side; used by the simulator and tests)."""
    valid = 0
    speed = 0
    if v.speed_kph is not None and math.isfinite(v.speed_kph):
        speed = _sat(v.speed_kph * 100.0, 0, U16_MAX)
        valid |= _VEH["speed"]
    if v.gear is not Gear.UNKNOWN:
        valid |= _VEH["gear"]
    valid |= _VEH["indicator"]
    touch = 0
    if v.wheel_touch is not None:
        touch = 1 if v.wheel_touch else 0
        valid |= _VEH["wheel_touch"]
    torque = 0
    if v.wheel_torque_nm is not None and math.isfinite(v.wheel_torque_nm):
        torque = _sat(v.wheel_torque_nm * 100.0, -0x8000, 0x7FFF)
        valid |= _VEH["wheel_torque"]
    return {"t_ms": (int(v.t_ns) // 1_000_000 if t_ms is None else int(t_ms)) & U32_MASK,
            "speed_kph_x100": speed, "gear": int(v.gear), "indicator": int(v.indicator),
            "wheel_touch": touch, "wheel_torque_nm_x100": torque, "valid_flags": valid}


def fields_to_vehicle(fields: Mapping[str, int], t_ns: int) -> VehicleSignals:
    """VehicleSignals from VEHICLE_SIGNALS wire values, stamped with the DMS receive time ``t_ns``.
    A signal whose valid bit is clear is unknown (None / Gear.UNKNOWN / Indicator.OFF)."""
    vf = fields["valid_flags"]
    speed = fields["speed_kph_x100"] / 100.0 if vf & _VEH["speed"] else None
    gear = _enum_or(Gear, fields["gear"], Gear.UNKNOWN) if vf & _VEH["gear"] else Gear.UNKNOWN
    indicator = _enum_or(Indicator, fields["indicator"], Indicator.OFF) if vf & _VEH["indicator"] else Indicator.OFF
    touch = bool(fields["wheel_touch"]) if vf & _VEH["wheel_touch"] else None
    torque = fields["wheel_torque_nm_x100"] / 100.0 if vf & _VEH["wheel_torque"] else None
    return VehicleSignals(t_ns=int(t_ns), speed_kph=speed, gear=gear, indicator=indicator, wheel_touch=touch,
                          wheel_torque_nm=torque, valid=bool(vf & 0x1F))
