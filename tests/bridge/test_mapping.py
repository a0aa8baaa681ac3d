"""Wire values <-> dms.contracts records: scaling, saturation, unknowns, enum ids."""
from __future__ import annotations

import dataclasses

import pytest

from dms.bridge import codec
from dms.bridge.mapping import (describe_driver_state, driver_state_to_fields, fields_to_vehicle,
                                vehicle_to_fields)
from dms.contracts import AlertLevel, AlertType, DriverState, FaultCode, GazeZone, HandState, VehicleSignals
from dms.contracts.vehicle import Gear, Indicator


def test_golden_records_map_to_golden_fields(golden):
    n = 0
    for v in golden["vectors"]:
        if v["msg_type"] == "DRIVER_STATE":
            assert driver_state_to_fields(DriverState.from_dict(v["record"])) == v["fields"], v["name"]
            n += 1
        elif v["msg_type"] == "VEHICLE_SIGNALS":
            assert vehicle_to_fields(VehicleSignals.from_dict(v["record"]), t_ms=v["record_t_ms"]) == v["fields"]
            n += 1
    assert n >= 8


def test_driver_state_fields_and_description_round_trip():
    st = DriverState(t_ns=5_123_456_789, valid=True, eyes_closed=True, closure_duration_s=1.2345, perclos=0.1234,
                     drowsiness_kss=7.26, gaze_zone=GazeZone.LEFT_MIRROR, eyes_off_road_s=0.5,
                     hand_left=HandState.PHONE_EAR, hand_right=HandState.ON_WHEEL, hands_off_s=2.0, phone_use=True,
                     alert_level=AlertLevel.WARNING, active_alerts=(AlertType.MICROSLEEP, AlertType.HANDS_OFF),
                     calibrated=False)
    f = driver_state_to_fields(st)
    assert f["t_ms"] == 5123 and f["closure_ms"] in (1234, 1235) and f["hands_off_ms"] == 2000
    assert f["perclos_x1000"] == 123 and f["drowsiness_kss_x10"] == 73
    assert f["alert_flags"] == (1 << AlertType.MICROSLEEP.bit) | (1 << AlertType.HANDS_OFF.bit)
    d = describe_driver_state(codec.spec_of("DRIVER_STATE").unpack(codec.spec_of("DRIVER_STATE").pack(f)))
    assert d["valid"] and d["eyes_closed"] and d["phone_use"] and not d["calibrated"]
    assert d["alert_level"] == "WARNING" and d["active_alerts"] == ["microsleep", "hands_off"]
    assert d["gaze_zone"] == "left_mirror" and d["hand_left"] == "phone_ear" and d["hand_right"] == "on_wheel"
    assert d["perclos"] == pytest.approx(0.123) and d["drowsiness_kss"] == pytest.approx(7.3)
    assert d["hands_off_s"] == pytest.approx(2.0) and d["fault"] == "OK"


def test_unknowns_and_saturation():
    f = driver_state_to_fields(DriverState(t_ns=0, valid=False, fault=FaultCode.CAMERA_FAULT,
                                           perclos=None, drowsiness_kss=float("nan"), eyes_off_road_s=1e6,
                                           closure_duration_s=-3.0))
    assert f["perclos_x1000"] == 0xFFFF and f["drowsiness_kss_x10"] == 0
    assert f["eyes_off_road_ms"] == 0xFFFF and f["closure_ms"] == 0
    assert f["state_flags"] & 1 == 0 and f["fault_code"] == 4
    d = describe_driver_state(f)
    assert d["perclos"] is None and d["drowsiness_kss"] is None and d["fault"] == "CAMERA_FAULT"
    # timestamps wrap at 2^32 ms instead of overflowing the field
    assert driver_state_to_fields(DriverState(t_ns=(2**32 + 5) * 10**6, valid=True))["t_ms"] == 5


def test_every_enum_value_has_a_wire_id():
    for z in GazeZone:
        assert describe_driver_state({**driver_state_to_fields(DriverState(t_ns=0, valid=True, gaze_zone=z))})[
            "gaze_zone"] == z.value
    for h in HandState:
        f = driver_state_to_fields(DriverState(t_ns=0, valid=True, hand_left=h, hand_right=h))
        assert describe_driver_state(f)["hand_left"] == h.value


def test_vehicle_round_trip_and_validity_bits():
    v = VehicleSignals(t_ns=0, speed_kph=123.456, gear=Gear.REVERSE, indicator=Indicator.RIGHT, wheel_touch=False,
                       wheel_torque_nm=-1.234)
    f = vehicle_to_fields(v, t_ms=42)
    back = fields_to_vehicle(f, t_ns=99)
    assert back.t_ns == 99 and back.speed_kph == pytest.approx(123.46) and back.gear is Gear.REVERSE
    assert back.indicator is Indicator.RIGHT and back.wheel_touch is False
    assert back.wheel_torque_nm == pytest.approx(-1.23) and back.valid
    unknown = fields_to_vehicle({**f, "valid_flags": 0}, t_ns=1)
    assert unknown.speed_kph is None and unknown.gear is Gear.UNKNOWN and unknown.wheel_touch is None
    assert unknown.wheel_torque_nm is None and not unknown.valid
    no_sensor = fields_to_vehicle(vehicle_to_fields(VehicleSignals(t_ns=0, speed_kph=50.0)), t_ns=1)
    assert no_sensor.wheel_touch is None and no_sensor.wheel_torque_nm is None and no_sensor.speed_kph == 50.0


def test_unknown_wire_ids_from_a_newer_peer_decode_to_unknown():
    f = vehicle_to_fields(VehicleSignals(t_ns=0, speed_kph=10.0, gear=Gear.DRIVE, indicator=Indicator.LEFT))
    v = fields_to_vehicle({**f, "gear": 200, "indicator": 77}, t_ns=0)
    assert v.gear is Gear.UNKNOWN and v.indicator is Indicator.OFF
    d = describe_driver_state({**driver_state_to_fields(DriverState(t_ns=0, valid=True)), "gaze_zone": 250,
                               "hand_left": 99, "fault_code": 200, "alert_flags": 1 << 31, "alert_level": 9})
    assert d["gaze_zone"] == "unknown" and d["hand_left"] == "unknown" and d["fault"] == "UNKNOWN_200"
    assert d["active_alerts"] == [] and d["unknown_alert_bits"] == 1 << 31 and d["alert_level"] == "NONE"


def test_speed_saturates_instead_of_wrapping():
    f = vehicle_to_fields(VehicleSignals(t_ns=0, speed_kph=900.0, wheel_torque_nm=-1000.0))
    assert f["speed_kph_x100"] == 0xFFFF and f["wheel_torque_nm_x100"] == -0x8000


def test_bad_state_fields_raise_in_mapping():
    st = dataclasses.replace(DriverState(t_ns=0, valid=True), gaze_zone="not_a_zone")
    with pytest.raises(ValueError):
        driver_state_to_fields(st)
