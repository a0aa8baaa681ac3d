"""Unit tests of the small fusion building blocks, driven with hand-made timestamps."""
from __future__ import annotations

import numpy as np
import pytest

from dms.contracts import AlertLevel, AlertType, GazeZone, HandState
from dms.fusion import (EURO_NCAP_2026, AlertPolicy, AlertRule, BlinkDetector, Calibration, CalibrationResult,
                        ClosureEpisode, ClosureEpisodes, Condition, DrowsinessEstimator, GazeZoneMapper,
                        GlanceTracker, HandsOffTimer, PerclosWindow, PhoneTracker, SpeedGate, SpeedGates,
                        UnknownSpeedPolicy, YawnCounter, kss_level)
from dms.fusion.timing import ContinuousTimer, Hysteresis, IntervalSet, SampleHold, interp_points

NS = 1_000_000_000


def ticks(t0_s, t1_s, fps=30.0):
    """Sample times in ns over [t0, t1)."""
    return [int(round(t * NS)) for t in np.arange(t0_s, t1_s - 1e-9, 1.0 / fps)]


# ---- timing primitives -----------------------------------------------------------------------------------
def test_sample_hold_attributes_interval_to_previous_state_and_breaks_on_gap():
    h = SampleHold(max_gap_s=0.5)
    assert h.update(0, "a") is None
    assert h.update(100, "b") == (0, 100, "a")
    assert h.update(NS, "c") is None and h.gap          # 0.9999999 s gap
    with pytest.raises(ValueError):
        h.update(NS, "d")


def test_interval_set_merges_trims_and_sums():
    s = IntervalSet()
    s.add(0, 10)
    s.add(10, 20)          # touching: merged
    s.add(30, 40)
    s.add(35, 38)          # inside: no change
    assert s.intervals() == [(0, 20), (30, 40)]
    assert s.total_ns() == 30 and s.total_ns(since_ns=15) == 15
    s.trim(20)
    assert s.intervals() == [(30, 40)]


def test_hysteresis_rising_and_falling():
    h = Hysteresis(0.6, 0.4)
    assert [h.update(v) for v in (0.5, 0.65, 0.5, 0.41, 0.39, 0.5)] == [False, True, True, True, False, False]
    assert h.update(None) is None
    low = Hysteresis(0.2, 0.3)              # active when low (eye openness)
    assert [low.update(v) for v in (0.5, 0.2, 0.25, 0.31, 0.25)] == [False, True, True, False, False]
    with pytest.raises(ValueError):
        Hysteresis(0.5, 0.5)


def test_continuous_timer_restarts_on_unknown_and_gap():
    t = ContinuousTimer(0.5)
    assert t.update(0, True) == 0.0
    assert t.update(NS // 4, True) == pytest.approx(0.25)
    assert t.update(NS // 2, None) == 0.0
    assert t.update(NS * 6 // 10, True) == 0.0
    assert t.update(NS * 2, True) == 0.0                # gap: restarts


def test_interp_points_clamps_and_interpolates():
    pts = ((0.0, 1.0), (1.0, 3.0), (2.0, 3.0))
    assert interp_points(-1, pts) == 1.0 and interp_points(0.5, pts) == 2.0 and interp_points(9, pts) == 3.0


# ---- closure episodes and blinks ---------------------------------------------------------------------------
def test_closure_episodes_durations_and_microsleep_count():
    ce = ClosureEpisodes(max_gap_s=0.5, microsleep_min_s=1.0, event_window_s=300.0)
    ended = []
    for t in ticks(0, 10):
        s = t / NS
        closed = (1.0 <= s < 1.2) or (3.0 <= s < 4.5)
        e = ce.update(t, closed)
        if e:
            ended.append(e)
        if abs(s - 4.0) < 1e-6:
            assert ce.closure_duration_s == pytest.approx(1.0, abs=1e-6)
    assert [round(e.duration_s, 3) for e in ended] == [0.2, 1.5]
    assert not any(e.interrupted for e in ended)
    assert ce.microsleeps_in_window == 1


def test_closure_episode_interrupted_by_unavailable_or_gap():
    ce = ClosureEpisodes(0.5, 1.0)
    ce.update(0, True)
    e = ce.update(NS // 10, None)
    assert e.interrupted and e.duration_s == pytest.approx(0.1)
    ce.update(NS, True)
    e = ce.update(3 * NS, True)                       # 2 s gap
    assert e.interrupted and e.end_ns == NS
    assert ce.closure_duration_s == 0.0 and ce.microsleeps_in_window == 0


def test_blink_detector_counts_only_complete_short_closures():
    b = BlinkDetector(blink_min_s=0.05, blink_max_s=0.5, window_s=60.0, min_count=2, min_valid_s=10.0)
    assert b.add_episode(ClosureEpisode(0, int(0.2 * NS)))
    assert b.add_episode(ClosureEpisode(NS, int(1.3 * NS)))
    assert not b.add_episode(ClosureEpisode(0, int(0.8 * NS)))            # long closure
    assert not b.add_episode(ClosureEpisode(0, int(0.2 * NS), True))      # interrupted
    assert not b.add_episode(ClosureEpisode(0, int(0.02 * NS)))           # noise
    for t in ticks(0, 30):
        b.update(t, True)
    assert b.mean_duration_s == pytest.approx(0.25)
    assert b.rate_per_min == pytest.approx(2 / 0.5, rel=0.01)            # 2 blinks in 30 s of valid time
    for t in ticks(30, 100):
        b.update(t, True)
    assert b.count_in_window == 0 and b.mean_duration_s is None


# ---- PERCLOS -----------------------------------------------------------------------------------------------
def test_perclos_exact_fraction_excluding_short_blinks():
    pw = PerclosWindow(window_s=60.0, min_closure_s=0.3, min_valid_s=30.0)
    for t in ticks(0, 60):
        s = t / NS
        closed = (s % 10.0) < 1.0 or (5.0 <= (s % 10.0) < 5.2)   # 1 s closure + 0.2 s blink every 10 s
        pw.update(t, closed)
    assert pw.value == pytest.approx(0.1, abs=0.002)


def test_perclos_unavailable_never_counts_as_closed():
    pw = PerclosWindow(60.0, 0.3, 30.0)
    for t in ticks(0, 40):
        pw.update(t, False)
    base = pw.value
    assert base == 0.0
    for t in ticks(40, 60):
        pw.update(t, None)
    assert pw.value == 0.0 and pw.closed_s == 0.0
    assert pw.valid_s == pytest.approx(40.0, abs=0.05)


def test_perclos_needs_enough_valid_time_and_forgets_old_closures():
    pw = PerclosWindow(60.0, 0.3, 30.0)
    for t in ticks(0, 20):
        pw.update(t, (t / NS) < 10)
    assert pw.value is None                           # only 20 s valid
    for t in ticks(20, 100):
        pw.update(t, False)
    assert pw.value == 0.0                            # the closure left the window


def test_perclos_ongoing_closure_counts_once_long_enough():
    pw = PerclosWindow(60.0, 0.3, 30.0)
    for t in ticks(0, 40):
        pw.update(t, False)
    for t in ticks(40, 40.2):
        pw.update(t, True)
    assert pw.closed_s == 0.0                         # 0.2 s: could still be a blink
    for t in ticks(40.2, 41.0):
        pw.update(t, True)
    assert pw.closed_s == pytest.approx(0.967, abs=0.04)


# ---- glances -----------------------------------------------------------------------------------------------
def test_gaze_zone_mapper_defaults():
    m = GazeZoneMapper()
    assert m.zone(0, 0) is GazeZone.ROAD
    assert m.zone(-28, -20) is GazeZone.INFOTAINMENT
    assert m.zone(45, -3) is GazeZone.LEFT_MIRROR
    assert m.zone(0, -50) is GazeZone.LAP_PHONE
    assert m.zone(0, 80) is GazeZone.OTHER
    assert m.on_road(GazeZone.LEFT_MIRROR) is True and m.on_road(GazeZone.CLUSTER) is False
    assert m.on_road(GazeZone.UNKNOWN) is None


def test_glance_tracker_long_glance_with_blink_inside():
    g = GlanceTracker(unknown_hold_s=0.5)
    for t in ticks(0, 10):
        s = t / NS
        on = None if 4.0 <= s < 4.2 else not (2.0 <= s < 7.0)     # a blink inside the glance
        st = g.update(t, on)
        if abs(s - 6.0) < 1e-6:
            assert st.off_road_s == pytest.approx(4.0, abs=1e-6)
            assert g.is_long_distraction(3.0)
    assert g.status.off_road_s == 0.0


def test_glance_tracker_unknown_longer_than_hold_ends_glance():
    g = GlanceTracker(unknown_hold_s=0.5)
    for t in ticks(0, 3):
        g.update(t, False)
    for t in ticks(3, 4):
        st = g.update(t, None)
    assert st.on_road is None and st.off_road_s == 0.0


def test_glance_tracker_vats_accumulates_latches_and_resets():
    g = GlanceTracker(vats_window_s=30.0, vats_cumulative_s=10.0, vats_reset_on_road_s=2.0)
    # 2 s away / 1 s road: 10 s away accumulates by the 5th glance (t = 3*4 + 2 = 14 s)
    crossed = None
    for t in ticks(0, 20):
        s = t / NS
        st = g.update(t, (s % 3.0) >= 2.0)
        if st.vats_exceeded and crossed is None:
            crossed = s
    assert crossed == pytest.approx(14.0, abs=0.05)
    assert g.status.off_road_s < 2.0 + 1e-6
    for t in ticks(20, 21.5):
        st = g.update(t, True)
    assert st.vats_exceeded                           # 1.5 s on road: not yet reset
    for t in ticks(21.5, 23):
        st = g.update(t, True)
    assert not st.vats_exceeded and st.vats_s == 0.0 and st.vats_resets == 1


def test_glance_tracker_vats_window_forgets_old_glances():
    g = GlanceTracker(vats_window_s=30.0, vats_cumulative_s=10.0, vats_reset_on_road_s=100.0)  # no reset
    seen = {}
    for t in ticks(0, 40):
        s = t / NS
        st = g.update(t, not (s < 2.0 or 6.0 <= s < 8.0))
        for probe in (10.0, 35.0, 39.0):
            if abs(s - probe) < 1e-6:
                seen[probe] = st.vats_s
    assert seen[10.0] == pytest.approx(4.0, abs=0.05)     # both glances inside the window
    assert seen[35.0] == pytest.approx(2.0, abs=0.05)     # the first one left it
    assert seen[39.0] == 0.0


# ---- yawns, hands, phone -----------------------------------------------------------------------------------
def test_yawn_counter_counts_once_per_long_yawn_and_falls_back_to_mouth():
    y = YawnCounter(min_s=1.5, window_s=300.0)
    for t in ticks(0, 20):
        s = t / NS
        prob = 0.9 if (2 <= s < 7) or (10 <= s < 11) else 0.1     # one yawn, one too-short mouth opening
        y.update(t, prob, None)
    assert y.count_in_window == 1
    y2 = YawnCounter(min_s=1.5)
    for t in ticks(0, 10):
        y2.update(t, None, 0.9 if 2 <= t / NS < 6 else 0.1)
    assert y2.count_in_window == 1 and y2.measured
    y3 = YawnCounter()
    for t in ticks(0, 10):
        y3.update(t, None, None)
    assert y3.count_in_window == 0 and not y3.measured


def test_hands_off_timer_states_and_sensor_override():
    h = HandsOffTimer(on_prob=0.5)
    st = h.update(0, 0.9, 0.1)
    assert (st.left, st.right, st.hands_off) == (HandState.ON_WHEEL, HandState.OTHER, False)
    h.update(NS, 0.1, 0.1)
    st = h.update(NS + NS // 4, 0.1, 0.1)
    assert st.hands_off and st.hands_off_s == pytest.approx(0.25)
    st = h.update(NS + NS // 2, None, None)
    assert st.hands_off is None and st.hands_off_s == 0.0 and st.left is HandState.UNKNOWN
    st = h.update(NS + 3 * NS // 4, 0.1, 0.1, wheel_touch=True)
    assert st.hands_off is False


def test_phone_tracker_hysteresis_and_min_duration():
    p = PhoneTracker(prob_on=0.7, prob_off=0.4, min_s=1.0)
    for t in ticks(0, 0.9):
        p.update(t, 0.9)
    assert not p.phone_use
    for t in ticks(0.9, 2.0):
        p.update(t, 0.5)                              # between off and on: still active
    assert p.phone_use and p.duration_s == pytest.approx(1.967, abs=0.04)
    p.update(int(2.0 * NS), 0.3)
    assert not p.phone_use and p.duration_s == 0.0


# ---- calibration -------------------------------------------------------------------------------------------
def test_calibration_learns_baseline_and_offsets_robustly():
    rng = np.random.default_rng(1)
    cal = Calibration(duration_s=30.0, min_samples=100, sample_period_s=0.1)
    done_at = None
    for i, t in enumerate(ticks(0, 40)):
        s = t / NS
        glance = (s % 10.0) < 1.5                    # 15 % of the time looking elsewhere
        hy = (-40.0 if glance else 20.0) + rng.normal(0, 1.5)
        openness = 0.55 + rng.normal(0, 0.02)
        if cal.update(t, openness, True, hy, -5.0 + rng.normal(0, 1), None, None):
            done_at = s
    assert cal.calibrated and done_at == pytest.approx(30.0, abs=0.2)
    r = cal.result
    assert r.open_eye_baseline == pytest.approx(0.55 + 1.28 * 0.02, abs=0.02)
    assert r.head_yaw_offset_deg == pytest.approx(20.0, abs=1.0)
    assert r.head_pitch_offset_deg == pytest.approx(-5.0, abs=0.5)
    assert (r.gaze_yaw_offset_deg, r.gaze_pitch_offset_deg) == (0.0, 0.0)    # no gaze samples: default
    assert cal.openness(0.55) == pytest.approx(0.55 / r.open_eye_baseline)
    assert cal.openness(2.0) == 1.0


def test_calibration_preset_and_reset():
    preset = CalibrationResult(open_eye_baseline=0.6, head_yaw_offset_deg=10.0)
    cal = Calibration(preset=preset)
    assert cal.calibrated and cal.openness(0.3) == pytest.approx(0.5)
    cal.reset()
    assert cal.calibrated and cal.result is preset
    with pytest.raises(ValueError):
        CalibrationResult(open_eye_baseline=0.0)


def test_calibration_never_accepts_a_closed_eye_baseline():
    cal = Calibration(duration_s=5.0, min_samples=10, sample_period_s=0.1)
    for t in ticks(0, 6):
        cal.update(t, 0.05, True, 0.0, 0.0, None, None)
    assert cal.result.open_eye_baseline == Calibration.MIN_BASELINE


# ---- drowsiness --------------------------------------------------------------------------------------------
def test_drowsiness_estimator_picks_strongest_indicator_and_explains():
    est = DrowsinessEstimator(EURO_NCAP_2026)
    kss, inp = est.estimate(perclos=0.02, mean_blink_duration_s=0.15, microsleeps_in_window=0,
                            yawns_in_window=0, observed_valid_s=120.0)
    assert kss_level(kss) <= 3 and inp["driver"] in ("perclos", "blink_duration", "microsleeps", "yawns")
    kss, inp = est.estimate(perclos=0.20, mean_blink_duration_s=0.15, microsleeps_in_window=0,
                            yawns_in_window=0, observed_valid_s=120.0)
    assert inp["driver"] == "perclos" and kss_level(kss) >= 8
    kss2, inp2 = est.estimate(perclos=0.20, mean_blink_duration_s=0.35, microsleeps_in_window=0,
                              yawns_in_window=0, observed_valid_s=120.0)
    assert inp2["driver"] == "perclos" and inp2["kss_blink_duration"] < inp2["kss_perclos"]
    assert kss2 == pytest.approx(kss + EURO_NCAP_2026.kss_corroboration_bonus)   # two indicators agree
    assert inp2["corroboration_bonus"] > 0
    kss3, inp3 = est.estimate(perclos=0.20, mean_blink_duration_s=0.50, microsleeps_in_window=0,
                              yawns_in_window=0, observed_valid_s=120.0)
    assert inp3["driver"] == "blink_duration" and kss3 == 9.0       # clipped to the scale


def test_drowsiness_estimator_warm_up_and_microsleep_shortcut():
    est = DrowsinessEstimator(EURO_NCAP_2026)
    kss, inp = est.estimate(None, None, 0, 0, observed_valid_s=5.0)
    assert kss is None and inp["driver"] is None
    kss, inp = est.estimate(None, None, 1, None, observed_valid_s=5.0)
    assert kss_level(kss) >= EURO_NCAP_2026.kss_warning_level and inp["driver"] == "microsleeps"
    kss, _ = est.estimate(None, None, 0, 8, observed_valid_s=600.0)
    assert kss < EURO_NCAP_2026.kss_warning_level - 0.5        # yawns alone stay below the warning
    assert kss_level(7.49) == 7 and kss_level(7.5) == 8 and kss_level(None) is None


# ---- alert policy and speed gates --------------------------------------------------------------------------
def _rules():
    return [AlertRule(AlertType.SLEEP, ((0.0, AlertLevel.CRITICAL),), 1.0, supersedes=(AlertType.MICROSLEEP,)),
            AlertRule(AlertType.MICROSLEEP, ((0.0, AlertLevel.WARNING),), 2.0),
            AlertRule(AlertType.DISTRACTION_LONG, ((0.0, AlertLevel.CAUTION), (3.0, AlertLevel.WARNING)), 0.5)]


def test_alert_policy_raise_escalate_hysteresis_clear():
    pol = AlertPolicy(_rules(), "test")
    on, off = {AlertType.DISTRACTION_LONG: Condition(True, reason="away")}, {}
    ev = pol.update(0, on, {})
    assert [(e.type, e.level, e.active) for e in ev] == [(AlertType.DISTRACTION_LONG, AlertLevel.CAUTION, True)]
    assert ev[0].reason.startswith("raised") and ev[0].profile == "test"
    assert pol.update(NS, on, {}) == []
    ev = pol.update(3 * NS, on, {})
    assert [(e.level, e.active) for e in ev] == [(AlertLevel.WARNING, True)] and "escalated" in ev[0].reason
    assert pol.update(int(3.2 * NS), off, {}) == []          # gone 0 s
    assert pol.update(int(3.5 * NS), off, {}) == []          # gone 0.3 s < 0.5 s
    assert pol.update(int(3.6 * NS), on, {}) == []           # back: no re-raise, still WARNING
    assert pol.update(int(4.0 * NS), off, {}) == []
    ev = pol.update(int(4.5 * NS), off, {})
    assert [(e.type, e.active, e.level) for e in ev] == [(AlertType.DISTRACTION_LONG, False, AlertLevel.WARNING)]
    assert pol.level is AlertLevel.NONE


def test_alert_policy_sustain_keeps_alert_without_raise_condition():
    pol = AlertPolicy(_rules())
    pol.update(0, {AlertType.DISTRACTION_LONG: Condition(True)}, {})
    assert pol.update(5 * NS, {AlertType.DISTRACTION_LONG: Condition(False, sustain=True)}, {}) != []  # escalates
    assert pol.is_active(AlertType.DISTRACTION_LONG)
    pol.update(6 * NS, {AlertType.DISTRACTION_LONG: Condition(False, sustain=False)}, {})
    ev = pol.update(int(6.5 * NS), {}, {})
    assert ev and not ev[0].active


def test_alert_policy_speed_gate_blocks_and_clears():
    pol = AlertPolicy(_rules())
    c = {AlertType.DISTRACTION_LONG: Condition(True)}
    assert pol.update(0, c, {AlertType.DISTRACTION_LONG: False}) == []
    assert pol.update(NS, c, {AlertType.DISTRACTION_LONG: True})[0].active
    ev = pol.update(2 * NS, c, {AlertType.DISTRACTION_LONG: False})
    assert not ev[0].active and "speed gate" in ev[0].reason


def test_alert_policy_supersession_and_urgency_order():
    pol = AlertPolicy(_rules())
    pol.update(0, {AlertType.MICROSLEEP: Condition(True), AlertType.DISTRACTION_LONG: Condition(True)}, {})
    assert pol.active_sorted() == (AlertType.MICROSLEEP, AlertType.DISTRACTION_LONG)
    ev = pol.update(NS, {AlertType.SLEEP: Condition(True), AlertType.MICROSLEEP: Condition(True),
                         AlertType.DISTRACTION_LONG: Condition(True)}, {})
    kinds = [(e.type, e.active) for e in ev]
    assert (AlertType.SLEEP, True) in kinds and (AlertType.MICROSLEEP, False) in kinds
    assert not pol.is_active(AlertType.MICROSLEEP)
    pol.update(2 * NS, {AlertType.SLEEP: Condition(True), AlertType.MICROSLEEP: Condition(True)}, {})
    assert not pol.is_active(AlertType.MICROSLEEP)         # stays superseded while sleep is active
    assert pol.active_sorted()[0] is AlertType.SLEEP and pol.level is AlertLevel.CRITICAL


def test_alert_policy_condition_level_escalates():
    pol = AlertPolicy([AlertRule(AlertType.DROWSINESS, ((0.0, AlertLevel.INFO),), 10.0)])
    ev = pol.update(0, {AlertType.DROWSINESS: Condition(True, level=AlertLevel.INFO)}, {})
    assert ev[0].level is AlertLevel.INFO
    ev = pol.update(NS, {AlertType.DROWSINESS: Condition(True, level=AlertLevel.CAUTION)}, {})
    assert ev[0].level is AlertLevel.CAUTION
    assert pol.update(2 * NS, {AlertType.DROWSINESS: Condition(True, level=AlertLevel.INFO)}, {}) == []
    assert pol.active[AlertType.DROWSINESS] is AlertLevel.CAUTION      # never de-escalates while active


def test_alert_rule_validation():
    with pytest.raises(ValueError):
        AlertRule(AlertType.SLEEP, ((1.0, AlertLevel.WARNING),))
    with pytest.raises(ValueError):
        AlertRule(AlertType.SLEEP, ((0.0, AlertLevel.WARNING), (5.0, AlertLevel.CRITICAL), (2.0, AlertLevel.CRITICAL)))


def test_speed_gates_hysteresis_and_unknown_policy():
    p = EURO_NCAP_2026
    g = SpeedGates(p)
    assert g.update(10.0)[SpeedGate.DISTRACTION] is False
    assert g.update(20.0)[SpeedGate.DISTRACTION] is True
    assert g.update(20.0 - p.speed_gate_hysteresis_kph / 2)[SpeedGate.DISTRACTION] is True
    assert g.update(20.0 - p.speed_gate_hysteresis_kph - 0.1)[SpeedGate.DISTRACTION] is False
    st = g.update(45.0)
    assert st[SpeedGate.SLEEP] and not st[SpeedGate.DROWSINESS]
    assert all(g.update(None).values())
    quiet = SpeedGates(p.replace(unknown_speed_policy=UnknownSpeedPolicy.SUPPRESS)).update(None)
    assert not quiet[SpeedGate.DISTRACTION] and quiet[SpeedGate.NONE]
