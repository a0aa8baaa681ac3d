"""Property tests: invariants of the engine over random perception streams (random behaviours, faults,
missing models, frame drops)."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dms.contracts import AlertType, FaultCode, HeadPose, Perception, VehicleSignals
from dms.fusion import EURO_NCAP_2026, FusionEngine

from tests.fusion.fusion_sim import BASE, EYES_CLOSED, HANDS_OFF, LOOK_INFOTAINMENT, LOOK_LAP, NO_FACE, PHONE, \
    SUNGLASSES_OPAQUE, YAWN

NS = 1_000_000_000
BEHAVIOURS = {
    "road": {}, "closed": EYES_CLOSED, "lap": LOOK_LAP, "radio": LOOK_INFOTAINMENT, "no_face": NO_FACE,
    "sunglasses": SUNGLASSES_OPAQUE, "phone": PHONE, "hands_off": HANDS_OFF, "yawn": YAWN,
    "invalid": dict(valid=False, fault=FaultCode.CAMERA_FAULT),
    "low_conf": dict(eye_confidence=0.1, **EYES_CLOSED),
    "no_eye_model": dict(eye_openness_left=None, eye_openness_right=None, eye_closed_prob_left=None,
                         eye_closed_prob_right=None),
}
UNAVAILABLE = ("no_face", "sunglasses", "invalid", "low_conf", "no_eye_model")

segment = st.tuples(st.sampled_from(sorted(BEHAVIOURS)), st.floats(0.05, 8.0),
                    st.sampled_from([None, 0.0, 30.0, 60.0, 120.0]))
stream = st.tuples(st.lists(segment, min_size=1, max_size=12),
                   st.lists(st.integers(1, 20), min_size=1, max_size=8))   # frame-interval pattern (x 10 ms)


def _frames(segments, intervals_10ms):
    t_ns, k = 0, 0
    for name, dur_s, speed in segments:
        end = t_ns + int(dur_s * NS)
        while t_ns < end:
            yield t_ns, name, speed
            t_ns += intervals_10ms[k % len(intervals_10ms)] * 10_000_000
            k += 1


def _replay_check(events_by_step, states):
    active = {}
    for evs, s in zip(events_by_step, states):
        for e in evs:
            if e.active:
                if e.type in active:
                    assert e.level > active[e.type], f"escalation must raise the level: {e}"
                active[e.type] = e.level
            else:
                assert e.type in active, f"clear without raise: {e}"
                del active[e.type]
        assert set(s.active_alerts) == set(active)
        assert int(s.alert_level) == max((int(v) for v in active.values()), default=0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream)
def test_engine_invariants_on_random_streams(data):
    segments, intervals = data
    eng = FusionEngine(EURO_NCAP_2026)
    states, events = [], []
    for t_ns, name, speed in _frames(segments, intervals):
        f = dict(BASE)
        f.update(BEHAVIOURS[name])
        out = eng.step(Perception(t_ns=t_ns, **f),
                       VehicleSignals(t_ns=t_ns, speed_kph=speed) if speed is not None else None)
        s = out.state
        if not s.valid:
            assert s.fault is not FaultCode.OK
            assert not s.eyes_closed and s.eye_openness is None and s.closure_duration_s == 0.0
        else:
            assert s.fault is FaultCode.OK
        assert s.perclos is None or 0.0 <= s.perclos <= 1.0
        assert s.drowsiness_kss is None or 1.0 <= s.drowsiness_kss <= 9.0
        assert s.eyes_off_road_s >= 0 and s.vats_cumulative_s >= 0 and s.hands_off_s >= 0
        s.to_json()                                   # publishable every step (no NaN, serialisable)
        states.append(s)
        events.append(out.events)
    _replay_check(events, states)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(UNAVAILABLE), st.floats(0.1, 10.0)), min_size=1, max_size=8),
       st.lists(st.integers(1, 70), min_size=1, max_size=6))
def test_unavailable_never_counts_as_closure(segments, intervals):
    """However the eyes are lost (and whatever the eye model says meanwhile), no closure-based signal moves."""
    eng = FusionEngine(EURO_NCAP_2026)
    raised = set()
    for t_ns, name, _ in _frames([(n, d, 90.0) for n, d in segments], intervals):
        f = dict(BASE)
        f.update(BEHAVIOURS[name])
        out = eng.step(Perception(t_ns=t_ns, **f), VehicleSignals(t_ns=t_ns, speed_kph=90.0))
        assert not out.state.valid
        assert out.state.perclos is None and out.state.closure_duration_s == 0.0
        raised |= {e.type for e in out.events if e.active}
    assert not raised & {AlertType.MICROSLEEP, AlertType.SLEEP, AlertType.UNRESPONSIVE, AlertType.DROWSINESS}
    assert eng.perclos.closed_s == 0.0 and eng.closure.microsleeps_in_window == 0


def test_head_pose_none_with_face_found_is_handled():
    eng = FusionEngine()
    f = dict(BASE, head_pose=None, gaze_yaw_deg=None, gaze_pitch_deg=None)
    out = eng.step(Perception(t_ns=0, **f))
    assert out.state.valid and out.state.head_yaw_deg is None
    out = eng.step(Perception(t_ns=NS // 30, **dict(f, head_pose=HeadPose(5.0, 1.0, 0.0))))
    assert out.state.head_yaw_deg == 5.0
