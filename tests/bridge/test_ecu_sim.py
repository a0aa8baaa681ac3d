"""ECU simulator pieces: speed profiles, fault specs, fault injection effects on the wire."""
from __future__ import annotations

import numpy as np
import pytest

from dms.bridge import codec
from dms.bridge.ecu_sim import EcuSimulator, FaultEvent, SpeedProfile
from dms.contracts.vehicle import Gear, Indicator

from .conftest import FakeClock, MemoryPair


def test_builtin_profiles():
    assert SpeedProfile.parse("constant:80").vehicle(123.0).speed_kph == 80.0
    ramp = SpeedProfile.parse("ramp:0:120:30")
    assert [ramp.at(t).speed_kph for t in (-1, 0, 15, 30, 99)] == [0.0, 0.0, 60.0, 120.0, 120.0]
    steps = SpeedProfile.parse("steps:0@0,50@5,100@10")
    assert [steps.at(t).speed_kph for t in (0, 4.99, 5, 9, 10, 50)] == [0, 0, 50, 50, 100, 100]
    v = steps.vehicle(7.0)
    assert v.gear is Gear.DRIVE and v.indicator is Indicator.OFF and v.wheel_touch is None and v.valid


def test_csv_and_yaml_profiles(tmp_path):
    csv_path = tmp_path / "p.csv"
    csv_path.write_text("t_s,speed_kph,gear,indicator,wheel_touch\n0,0,park,off,1\n10,100,drive,left,0\n")
    p = SpeedProfile.parse(str(csv_path))
    mid = p.vehicle(5.0)
    assert mid.speed_kph == 50.0 and mid.gear is Gear.PARK and mid.wheel_touch is True
    end = p.vehicle(12.0)
    assert end.gear is Gear.DRIVE and end.indicator is Indicator.LEFT and end.wheel_touch is False
    y = tmp_path / "p.yaml"
    y.write_text("- {t_s: 0, speed_kph: 30}\n- {t_s: 2, speed_kph: 10, gear: 3}\n")
    assert SpeedProfile.parse(str(y)).at(1.0).speed_kph == 20.0
    assert SpeedProfile.parse(str(y)).at(3.0).gear is Gear.NEUTRAL


@pytest.mark.parametrize("spec", ["warp:9", "ramp:0:10:0", "ramp:1:2", "constant:fast", "missing.csv"])
def test_bad_profiles_are_rejected(spec):
    with pytest.raises(ValueError):
        SpeedProfile.parse(spec)


def test_fault_specs():
    assert FaultEvent.parse("2.5:silence:1.5") == FaultEvent(2.5, "silence", 1.5)
    for bad in ("1:boom:3", "1:garbage", "x:garbage:3"):
        with pytest.raises(ValueError):
            FaultEvent.parse(bad)


def _sim(**kw):
    clock, pair = FakeClock(), MemoryPair()
    sim = EcuSimulator(pair.ecu, SpeedProfile.parse("constant:50"), rng=np.random.default_rng(3), clock=clock, **kw)
    return sim, pair, clock


def test_injected_garbage_has_no_delimiters_and_bit_flips_break_exactly_one_frame_each():
    sim, pair, clock = _sim()
    sim.poll(0.0)
    pair.dms.read(10_000)
    already_sent = sim.counts["tx_frames"]
    sim.inject_garbage(500)
    garbage = pair.dms.read(10_000)
    assert len(garbage) == 500 and 0 not in garbage
    sim.flip_bits(2)
    dec = codec.FrameDecoder()
    for _ in range(20):
        clock.advance(0.1)
        sim.poll(0.0)
    frames = dec.feed(pair.dms.read(100_000))
    assert dec.stats.crc_errors + dec.stats.cobs_errors + dec.stats.length_errors == 2
    assert len(frames) == sim.counts["tx_frames"] - already_sent - 2     # every frame but the 2 damaged ones


def test_silence_stops_all_traffic_for_its_duration():
    sim, pair, clock = _sim()
    sim.poll(0.0)
    sim.silence(1.0)
    pair.dms.read(10_000)
    for _ in range(9):
        clock.advance(0.1)
        sim.poll(0.0)
    assert pair.dms.read(10_000) == b""
    for _ in range(3):
        clock.advance(0.1)
        sim.poll(0.0)
    assert codec.FrameDecoder().feed(pair.dms.read(10_000))


def test_dropped_bytes_damage_a_frame_but_not_its_neighbours():
    sim, pair, clock = _sim()
    sim.poll(0.0)
    pair.dms.read(10_000)
    sim.drop_bytes(3)
    dec = codec.FrameDecoder()
    for _ in range(10):
        clock.advance(0.2)
        sim.poll(0.0)
    frames = dec.feed(pair.dms.read(100_000))
    assert sim.counts["dropped_bytes"] == 3 and dec.stats.resyncs == 1 and len(frames) >= 8
