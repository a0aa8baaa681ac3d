"""EcuLink behaviour, deterministic: a fake clock, an in-memory serial pair and the ECU simulator, polled in
lock step (no threads, no sleeps). Plus loop:// through real pyserial."""
from __future__ import annotations

import io
import json
import logging
import time

import numpy as np
import pytest

from dms.bridge import codec
from dms.bridge.ecu_sim import EcuSimulator, FaultEvent, SpeedProfile
from dms.bridge.link import (FAULT_ECU_SILENT, FAULT_LOOPBACK, FAULT_NOT_CONNECTED, FAULT_VERSION_MISMATCH,
                             EcuLink)
from dms.contracts import AlertLevel, AlertType, DriverState, FaultCode, GazeZone, HandState

from .conftest import MemoryPair


class Rig:
    """DMS link + simulated ECU on a memory pair, stepped together on one fake clock."""

    def __init__(self, clock, profile="constant:80", ecu_versions=(1, 1), link_kw=None, **sim_kw):
        self.clock = clock
        self.pair = MemoryPair()
        self.log = io.StringIO()
        self.sim = EcuSimulator(self.pair.ecu, SpeedProfile.parse(profile), rng=np.random.default_rng(0),
                                log_file=self.log, versions=ecu_versions, clock=clock, **sim_kw)
        self.link = EcuLink("mem://", clock=clock, serial_factory=self._factory, start=False, **(link_kw or {}))

    def _factory(self, url):
        if self.pair.broken:
            raise OSError(2, "No such device (simulated)")
        return self.pair.dms

    def run(self, seconds, dt=0.01, state_fn=None):
        for _ in range(int(round(seconds / dt))):
            self.clock.advance(dt)
            if state_fn is not None:
                self.link.send_state(state_fn(self.clock.t))
            self.link.poll()
            self.sim.poll(0.0)

    def events(self, kind=None):
        recs = [json.loads(line) for line in self.log.getvalue().splitlines()]
        return [r for r in recs if kind is None or r["event"] == kind]


def _state(t_s, **kw):
    return DriverState(t_ns=int(round(t_s * 1e9)), valid=True, **kw)


def test_negotiates_and_receives_vehicle_signals(clock):
    rig = Rig(clock, profile="ramp:0:100:10")
    assert rig.link.fault == FAULT_NOT_CONNECTED or rig.link.latest_vehicle() is None
    rig.run(0.5)
    st = rig.link.status()
    assert st["negotiated_version"] == 1 and st["ecu_alive"] and st["fault"] is None and st["connected"]
    assert rig.link.fault_code is FaultCode.OK
    assert rig.sim.negotiated == 1 and rig.sim.dms_alive
    assert st["ecu"]["sw"] == "1.0" and st["ecu"]["versions"] == [1, 1]
    v = rig.link.latest_vehicle()
    assert v is not None and v.valid and v.speed_kph == pytest.approx(100 * rig.sim.now_s() / 10, abs=0.6)
    assert v.t_ns == pytest.approx(clock.t * 1e9, abs=0.06e9)       # stamped with the DMS receive time
    assert st["crc_errors"] == 0 and st["resyncs"] == 0 and st["seq_gaps"] == 0
    assert st["vehicle_rx"] >= 5 and st["heartbeats_rx"] >= 2


def test_states_are_sent_at_the_fixed_rate_with_the_right_fields(clock):
    rig = Rig(clock)

    def state(t):
        alert = t >= 101.0
        return _state(t, eyes_closed=alert, closure_duration_s=max(0.0, t - 100.5), perclos=0.2,
                      drowsiness_kss=7.0, gaze_zone=GazeZone.ROAD, hand_left=HandState.ON_WHEEL,
                      hand_right=HandState.LAP, alert_level=AlertLevel.CRITICAL if alert else AlertLevel.NONE,
                      active_alerts=(AlertType.MICROSLEEP, AlertType.DROWSINESS) if alert else ())

    rig.run(2.0, state_fn=state)                       # 100 Hz producer, 10 Hz link
    states = rig.sim.states
    assert 19 <= len(states) <= 21                     # 10 Hz for 2 s
    gaps = np.diff([s["t_s"] for s in states])
    assert np.all(gaps >= 0.099) and np.all(gaps <= 0.111)
    t_ms = [s["fields"]["t_ms"] for s in states]
    assert t_ms == sorted(t_ms) and len(set(t_ms)) == len(t_ms)
    first_alert = next(s for s in states if s["state"]["alert_level"] == "CRITICAL")
    assert first_alert["fields"]["t_ms"] >= 101_000
    assert first_alert["state"]["active_alerts"] == ["drowsiness", "microsleep"]
    assert first_alert["fields"]["alert_flags"] == (1 << AlertType.MICROSLEEP.bit) | (1 << AlertType.DROWSINESS.bit)
    assert first_alert["state"]["eyes_closed"] and first_alert["state"]["hand_right"] == "lap"
    assert first_alert["state"]["perclos"] == pytest.approx(0.2) and first_alert["state"]["drowsiness_kss"] == 7.0
    before = [s for s in states if s["fields"]["t_ms"] < 101_000]
    assert before and all(s["state"]["alert_level"] == "NONE" and s["fields"]["alert_flags"] == 0 for s in before)
    st = rig.link.status()
    assert st["states_sent"] == len(states) and st["states_superseded"] > 150


def test_no_state_is_resent_when_fusion_stalls(clock):
    rig = Rig(clock)
    rig.run(0.5)
    rig.link.send_state(_state(clock.t))
    rig.run(1.0)
    assert len(rig.sim.states) == 1


def test_silent_ecu_is_detected_then_recovers(clock, caplog):
    rig = Rig(clock)
    rig.run(0.5, state_fn=_state)
    rig.sim.silence(2.0)
    rig.run(0.9, state_fn=_state)
    assert rig.link.fault is None                      # within the 1 s timeout
    with caplog.at_level(logging.WARNING, logger="dms.bridge.link"):
        rig.run(0.2, state_fn=_state)
    assert rig.link.fault == FAULT_ECU_SILENT and rig.link.fault_code is FaultCode.ECU_LINK_LOST
    assert rig.link.latest_vehicle() is None           # stale -> unknown, fusion keeps running
    assert "ECU_LINK_LOST" in caplog.text
    n_states = len(rig.sim.states)
    rig.run(1.2, state_fn=_state)                      # silence ends at +2.0 s
    st = rig.link.status()
    assert st["fault"] is None and st["ecu_alive"] and st["last_fault"] == FAULT_ECU_SILENT
    assert st["ecu_link_lost_events"] == 1
    assert rig.link.latest_vehicle() is not None
    assert len(rig.sim.states) > n_states              # the DMS kept sending throughout


def test_ecu_that_never_sends_heartbeats_is_a_fault(clock):
    rig = Rig(clock, announce=False)
    rig.sim.silence(100.0)
    rig.run(3.0, state_fn=_state)
    st = rig.link.status()
    assert st["fault"] == FAULT_ECU_SILENT and not st["ecu_alive"] and st["heartbeats_rx"] == 0
    assert rig.link.latest_vehicle() is None
    assert rig.sim.states == []                         # never negotiated: no data messages


def test_version_mismatch_is_a_clear_permanent_fault(clock, caplog):
    with caplog.at_level(logging.ERROR, logger="dms.bridge.link"):
        rig = Rig(clock, ecu_versions=(2, 3))
        rig.run(3.0, state_fn=_state)
    st = rig.link.status()
    assert st["fault"] == FAULT_VERSION_MISMATCH and st["negotiated_version"] is None
    assert rig.link.fault_code is FaultCode.ECU_LINK_LOST
    assert "no common protocol version" in caplog.text and "ECU 2..3" in caplog.text
    assert rig.sim.states == [] and rig.sim.negotiated is None
    assert rig.link.latest_vehicle() is None


def test_newer_link_negotiates_highest_common_version(clock):
    rig = Rig(clock, ecu_versions=(1, 1), link_kw={"versions": (1, 4)})
    rig.run(0.5)
    assert rig.link.status()["negotiated_version"] == 1 and rig.link.fault is None


def test_garbage_flips_and_drops_are_survived(clock):
    rig = Rig(clock, faults=[FaultEvent.parse("0.6:garbage:200"), FaultEvent.parse("0.8:flip:3"),
                             FaultEvent.parse("1.0:drop:4"), FaultEvent.parse("1.2:garbage:1000")])
    rig.run(2.5, state_fn=_state)
    st = rig.link.status()
    assert st["fault"] is None and st["ecu_alive"]
    assert st["crc_errors"] + st["cobs_errors"] + st["length_errors"] + st["oversize"] == st["resyncs"]
    assert st["resyncs"] >= 4 and st["seq_gaps"] >= 4    # damaged frames are lost frames
    assert st["oversize"] >= 1                          # 1000 garbage bytes without a 0x00
    assert st["vehicle_rx"] >= 35 and rig.link.latest_vehicle().speed_kph == 80.0
    assert len(rig.sim.states) >= 20
    kinds = [e["kind"] for e in rig.events("fault")]
    assert kinds == ["garbage", "flip", "drop", "garbage"]


def test_port_loss_reconnects_with_backoff_and_fusion_never_sees_an_exception(clock):
    rig = Rig(clock)
    rig.run(0.5, state_fn=_state)
    assert rig.link.fault is None
    rig.pair.broken = True                             # USB adapter unplugged: reads raise, opens fail
    rig.run(3.0, state_fn=_state)
    st = rig.link.status()
    assert st["fault"] == FAULT_NOT_CONNECTED and not st["connected"]
    assert rig.link.latest_vehicle() is None and rig.link.fault_code is FaultCode.ECU_LINK_LOST
    assert 3 <= st["open_failures"] <= 8                # 0.1, 0.2, 0.4, 0.8, 1.6 s back-off, not a busy loop
    rig.pair.broken = False
    rig.run(2.5, state_fn=_state)
    st = rig.link.status()
    assert st["fault"] is None and st["reconnects"] == 1 and st["negotiated_version"] == 1
    assert rig.link.latest_vehicle() is not None


def test_ecu_reset_renegotiates(clock):
    rig = Rig(clock)
    rig.run(0.5, state_fn=_state)
    n = len(rig.sim.states)
    # the ECU reboots: a fresh simulator (seq restarts at 0, announces HELLO) on the same wire
    rig.sim = EcuSimulator(rig.pair.ecu, SpeedProfile.parse("constant:30"), clock=clock)
    rig.run(1.0, state_fn=_state)
    assert rig.sim.negotiated == 1 and len(rig.sim.states) >= 8
    assert rig.link.latest_vehicle().speed_kph == 30.0 and rig.link.fault is None
    assert n > 0


def test_bad_frames_from_the_ecu_are_rejected_with_error_messages(clock):
    rig = Rig(clock)
    rig.run(0.5)
    vs = codec.MESSAGES_BY_NAME["VEHICLE_SIGNALS"]
    fields = {"t_ms": 1, "speed_kph_x100": 99, "gear": 4, "indicator": 0, "wheel_touch": 0,
              "wheel_torque_nm_x100": 0, "valid_flags": 1}
    E = codec.ENUMS["error_code"]
    rig.pair.ecu.write(b"\x00" + codec.encode_frame(vs.id, 500, vs.pack(fields), version=7))   # wrong version
    rig.run(0.3)
    rig.pair.ecu.write(b"\x00" + codec.encode_frame(0x55, 501, b"\x01\x02"))                  # unknown type
    rig.run(0.3)
    rig.pair.ecu.write(b"\x00" + codec.encode_frame(vs.id, 502, vs.pack(fields)[:-1]))        # bad length
    rig.run(0.3)
    errs = [(e["code"], e["ref_type"], e["ref_seq"]) for e in rig.events("peer_error")]
    assert errs == [(E["unsupported_version"], vs.id, 500), (E["unknown_type"], 0x55, 501),
                    (E["bad_length"], vs.id, 502)]
    # a burst of bad frames is answered once, not frame by frame (no error storms)
    for seq in range(600, 610):
        rig.pair.ecu.write(b"\x00" + codec.encode_frame(0x56, seq, b""))
    rig.run(0.05)
    assert len(rig.events("peer_error")) == 4
    assert rig.link.status()["rx_rejected"] == 13
    assert rig.link.latest_vehicle().speed_kph == 80.0   # the rejected 0.99 km/h never reached fusion


def test_send_state_never_raises(clock, caplog):
    rig = Rig(clock)
    bad = DriverState(t_ns=0, valid=True)
    object.__setattr__(bad, "gaze_zone", "nowhere")
    with caplog.at_level(logging.WARNING):
        rig.link.send_state(bad)
        rig.link.send_state(None)  # type: ignore[arg-type]
    assert rig.link.status()["state_errors"] == 2


def test_constructor_validates_arguments():
    with pytest.raises(ValueError):
        EcuLink("loop://", heartbeat_period_s=2.0, heartbeat_timeout_s=1.0, start=False)
    with pytest.raises(ValueError):
        EcuLink("loop://", state_rate_hz=0, start=False)
    with pytest.raises(ValueError):
        EcuLink("loop://", versions=(3, 1), start=False)


def test_loop_url_through_pyserial_detects_loopback():
    t0 = time.monotonic()
    with EcuLink("loop://", heartbeat_period_s=0.05, heartbeat_timeout_s=0.3) as link:
        while time.monotonic() - t0 < 5 and link.status()["rx_frames"] < 3:
            time.sleep(0.02)
        st = link.status()
        assert st["connected"] and st["rx_frames"] >= 3 and st["tx_frames"] >= 3
        assert st["fault"] == FAULT_LOOPBACK and link.fault_code is FaultCode.ECU_LINK_LOST
        assert st["crc_errors"] == 0 and link.latest_vehicle() is None
    assert not link.status()["connected"]


def test_unopenable_port_keeps_retrying_in_the_background():
    with EcuLink("/dev/nonexistent-dms-port", reconnect_min_s=0.02, reconnect_max_s=0.1) as link:
        time.sleep(0.4)
        st = link.status()
    assert st["fault"] == FAULT_NOT_CONNECTED and st["open_failures"] >= 3


def test_vehicle_at_restamps_to_frame_time_and_annotate_records_the_fault(clock):
    rig = Rig(clock)
    rig.run(0.5)
    v = rig.link.vehicle_at(1234)
    assert v is not None and v.t_ns == 1234 and v.speed_kph == 80.0
    ok = DriverState(t_ns=5, valid=True)
    assert rig.link.annotate(ok) is ok
    rig.sim.silence(5.0)
    rig.run(1.5)
    assert rig.link.vehicle_at(99) is None
    marked = rig.link.annotate(ok)
    assert marked.fault is FaultCode.ECU_LINK_LOST and marked.valid
    no_face = DriverState(t_ns=5, valid=False, fault=FaultCode.NO_FACE)
    assert rig.link.annotate(no_face).fault is FaultCode.NO_FACE     # the monitoring fault wins


def test_alert_raised_and_cleared_between_ticks_still_reaches_the_ecu(clock):
    """A 30 ms microsleep flag strictly between two 100 ms link ticks is latched into the next DRIVER_STATE
    frame (without latching, both surrounding frames would carry no alert)."""
    rig = Rig(clock)
    rig.run(1.0, state_fn=lambda t: _state(t))
    t_tick = rig.sim.states[-1]["fields"]["t_ms"] / 1000.0       # phase of the link's ticks
    lo, hi = t_tick + 0.13, t_tick + 0.16                        # after tick +0.1, before tick +0.2

    def state(t):
        blip = lo <= t < hi
        return _state(t, alert_level=AlertLevel.WARNING if blip else AlertLevel.NONE,
                      active_alerts=(AlertType.MICROSLEEP,) if blip else ())

    rig.run(1.0, state_fn=state)
    flagged = [s for s in rig.sim.states if s["fields"]["alert_flags"]]
    assert len(flagged) == 1                                     # latched for exactly one tick, then gone
    assert flagged[0]["fields"]["alert_flags"] == 1 << AlertType.MICROSLEEP.bit
    assert flagged[0]["state"]["alert_level"] == "WARNING"
    assert hi * 1000 <= flagged[0]["fields"]["t_ms"] <= (t_tick + 0.25) * 1000
