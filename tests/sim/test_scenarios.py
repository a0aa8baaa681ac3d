"""Behaviour timelines: determinism, per-behaviour invariants, events <-> per-frame events agreement."""
from __future__ import annotations

import numpy as np
import pytest

from dms.contracts import Event, GazeZone, HandState
from dms.sim.scenarios import (EYE_CLOSED_OPENNESS, PRESETS, YAWN_FLAG_OPENNESS, ZONE_DIRECTIONS_DEG,
                               BehaviourParams, ScenarioBuilder, events_at, generate_scenario, resolve_preset,
                               zone_of_direction)


def _gen(preset, seed, duration_s=40.0, fps=15.0, params=None):
    return generate_scenario(preset, duration_s, fps, np.random.default_rng(seed), params)


def _frames_of(ev: Event, fps: float) -> range:
    return range(int(round(ev.start_s * fps)), int(round(ev.end_s * fps)))


def test_same_seed_same_timeline_and_different_seed_differs():
    a, b, c = _gen("mixed", 7), _gen("mixed", 7), _gen("mixed", 8)
    assert a.poses == b.poses and a.events == b.events
    assert [e.to_dict() for e in a.events] == [e.to_dict() for e in b.events]
    assert a.poses != c.poses


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("fps", [10.0, 15.0, 30.0])
def test_events_agree_with_per_frame_events(preset, fps):
    sc = _gen(preset, 3, duration_s=30.0, fps=fps)
    assert sc.n_frames == 30 * fps
    for i, pose in enumerate(sc.poses):
        assert pose.events == events_at(sc.events, i / fps)
    # every event covers at least one frame, bounds are frame-aligned and inside the sequence
    for e in sc.events:
        assert 0 <= e.start_s < e.end_s <= sc.duration_s + 1e-9
        assert abs(e.start_s * fps - round(e.start_s * fps)) < 1e-6
        assert any(e.type in sc.poses[i].events for i in _frames_of(e, fps))
    # round trip of the event records
    assert [Event.from_dict(e.to_dict()) for e in sc.events] == sc.events


@pytest.mark.parametrize("fps", [10.0, 15.0, 30.0])
def test_blinks_are_within_duration_range_and_close_the_eye(fps):
    p = BehaviourParams()
    n_blinks = 0
    for seed in range(6):
        sc = _gen("attentive", seed, duration_s=60.0, fps=fps)
        for e in sc.events:
            if e.type != "blink":
                continue
            n_blinks += 1
            assert p.blink_duration_s[0] - 1e-9 <= e.duration_s <= p.blink_duration_s[1] + 1e-9
            frames = list(_frames_of(e, fps))
            lo = min(min(sc.poses[i].eye_openness_left, sc.poses[i].eye_openness_right) for i in frames)
            if len(frames) >= 3:   # sampled at >= 3 frames, the blink visibly closes the eye
                assert lo < 0.5
    # ~15 blinks/min when alert: 6 minutes -> dozens of blinks
    assert 40 <= n_blinks <= 140


def test_blink_profile_closes_faster_than_it_opens():
    fps = 30.0
    sc = _gen("attentive", 11, duration_s=120.0, fps=fps)
    closing, opening = [], []
    for e in sc.events:
        if e.type != "blink" or e.duration_s < 0.25:
            continue
        o = np.array([sc.poses[i].eye_openness_left for i in _frames_of(e, fps)])
        k = int(np.argmin(o))
        closing.append(k)
        opening.append(len(o) - 1 - k)
    assert len(closing) >= 5
    assert np.mean(closing) < np.mean(opening)


def test_blink_rate_grows_with_drowsiness():
    def rate(preset):
        n = sum(sum(e.type == "blink" for e in _gen(preset, s, 60.0).events) for s in range(5))
        return n / 5.0
    assert rate("sleep") != rate("attentive")
    p = BehaviourParams(blink_rate_alert_per_min=10.0, blink_rate_drowsy_per_min=40.0)
    alert = np.mean([sum(e.type == "blink" for e in _gen("attentive", s, 60.0, params=p).events) for s in range(5)])
    drowsy_b = ScenarioBuilder(60.0, 15.0, np.random.default_rng(0), p, drowsiness=1.0)
    drowsy_b.fill_blinks()
    drowsy = sum(a.kind == "blink" for a in drowsy_b.acts)
    assert drowsy > alert * 1.8


def test_microsleep_and_sleep_lengths_and_closure():
    fps = 15.0
    for seed in range(4):
        for preset, kind, (lo, hi) in (("microsleep", "microsleep", (1.0, 2.0)), ("sleep", "sleep", (3.0, 8.0))):
            sc = _gen(preset, seed, duration_s=40.0, fps=fps)
            evs = [e for e in sc.events if e.type == kind]
            assert evs, f"{preset} seed {seed}: no {kind}"
            for e in evs:
                assert lo - 1e-9 <= e.duration_s <= hi + 1e-9
                op = np.array([max(sc.poses[i].eye_openness_left, sc.poses[i].eye_openness_right)
                               for i in _frames_of(e, fps)])
                # closed for most of the event (ramps excluded)
                assert np.mean(op < EYE_CLOSED_OPENNESS) >= 0.6
                # no blink event overlaps a closure
                assert not any(b.type == "blink" and b.start_s < e.end_s and e.start_s < b.end_s
                               for b in sc.events)
            if kind == "sleep":
                e = evs[0]
                mid = sc.poses[int(round((e.start_s + e.duration_s / 2) * fps))]
                before = sc.poses[max(0, int(round(e.start_s * fps)) - 1)]
                assert mid.head_pitch_deg < before.head_pitch_deg - 5.0     # head nods down


def test_yawns_open_the_mouth_and_flag_only_open_frames():
    fps = 15.0
    seen_covered = False
    for seed in range(8):
        sc = _gen("yawning", seed, duration_s=30.0, fps=fps)
        yawns = [e for e in sc.events if e.type == "yawn"]
        assert yawns
        for e in yawns:
            assert 4.0 - 1e-9 <= e.duration_s <= 7.0 + 1e-9
            m = np.array([sc.poses[i].mouth_openness for i in _frames_of(e, fps)])
            assert m.max() >= 0.6
        for i, pose in enumerate(sc.poses):
            if pose.yawn:
                assert pose.mouth_openness >= YAWN_FLAG_OPENNESS
                assert "yawn" in pose.events
            if pose.talking:
                assert "talking" in pose.events and "yawn" not in pose.events
        for e in sc.events:
            if e.type == "yawn_covered":
                seen_covered = True
                assert any(y.start_s <= e.start_s and e.end_s <= y.end_s for y in yawns)
                for i in _frames_of(e, fps):
                    p = sc.poses[i]
                    assert p.hand_over_mouth and HandState.FACE in (p.hand_left, p.hand_right)
                    assert "hands_off" in p.events
    assert seen_covered


def test_talking_moves_the_mouth_without_yawning():
    fps = 30.0
    sc = _gen("attentive", 2, duration_s=120.0, fps=fps, params=BehaviourParams(talking_rate_per_min=6.0))
    talks = [e for e in sc.events if e.type == "talking"]
    assert talks
    for e in talks:
        m = np.array([sc.poses[i].mouth_openness for i in _frames_of(e, fps)])
        assert m.max() < YAWN_FLAG_OPENNESS + 0.1 and m.std() > 0.01      # oscillates, stays small
        assert not any(sc.poses[i].yawn for i in _frames_of(e, fps))


def test_glances_reach_their_zone_with_owl_and_lizard_styles():
    fps = 30.0
    styles = {"owl": [], "lizard": []}
    for seed in range(6):
        sc = _gen("distracted", seed, duration_s=60.0, fps=fps)
        for e in sc.events:
            if e.type != "glance":
                continue
            zone = GazeZone(e.target)
            fr = list(_frames_of(e, fps))
            mid = sc.poses[fr[len(fr) // 2]]
            if e.duration_s >= 1.0:
                assert mid.gaze_zone is zone
            zy, _ = ZONE_DIRECTIONS_DEG[zone]
            if abs(zy) > 20 and e.duration_s >= 1.0:
                styles[e.attrs["style"]].append(abs(mid.head_yaw_deg) / (abs(mid.head_yaw_deg + mid.eye_yaw_deg)))
        # off-road zones only appear inside glance events (transitions included)
        for i, p in enumerate(sc.poses):
            if p.gaze_zone not in (GazeZone.ROAD,):
                assert "glance" in p.events or "sleep" in p.events, (i, p.gaze_zone, p.events)
    assert styles["owl"] and styles["lizard"]
    assert np.mean(styles["owl"]) > 0.5 > np.mean(styles["lizard"])
    # at least one long glance (>= 3 s) away from the road in the distracted preset, marked as distraction
    sc = _gen("distracted", 0, duration_s=30.0, fps=fps)
    longs = [e for e in sc.events if e.type == "glance" and e.attrs.get("long")]
    assert longs and all(e.duration_s >= 3.0 for e in longs)
    assert any(d.type == "distraction" and d.start_s <= longs[0].start_s and longs[0].end_s <= d.end_s
               for d in sc.events)


def test_texting_phone_call_drinking_and_hands_off_states():
    fps = 15.0
    sc = _gen("texting", 1, duration_s=30.0, fps=fps)
    tx = [e for e in sc.events if e.type == "texting"]
    assert tx
    for e in tx:
        fr = list(_frames_of(e, fps))
        assert all(sc.poses[i].phone_in_hand == e.target for i in fr)
        assert all(HandState.TEXTING in (sc.poses[i].hand_left, sc.poses[i].hand_right) for i in fr)
        assert sum(sc.poses[i].gaze_zone is GazeZone.LAP_PHONE for i in fr) > len(fr) * 0.3
    sc = _gen("phone_call", 1, duration_s=30.0, fps=fps)
    calls = [e for e in sc.events if e.type == "phone_call"]
    assert calls
    for e in calls:
        fr = list(_frames_of(e, fps))
        hand = "hand_left" if e.target == "left" else "hand_right"
        assert all(getattr(sc.poses[i], hand) is HandState.PHONE_EAR for i in fr)
        assert any(sc.poses[i].talking for i in fr)
    seen_drink = False
    for seed in range(6):
        sc = _gen("hands_off", seed, duration_s=40.0, fps=fps,
                  params=BehaviourParams(drinking_rate_per_min=3.0))
        assert any(e.type == "hands_off" for e in sc.events)
        for i, p in enumerate(sc.poses):
            off = p.hand_left is not HandState.ON_WHEEL or p.hand_right is not HandState.ON_WHEEL
            assert off == ("hands_off" in p.events)
        for e in sc.events:
            if e.type == "drinking":
                seen_drink = True
                assert all(HandState.DRINKING in (sc.poses[i].hand_left, sc.poses[i].hand_right)
                           for i in _frames_of(e, fps))
    assert seen_drink


def test_drowsy_droop_lowers_the_lids_slowly():
    fps = 15.0
    sc = _gen("drowsy", 4, duration_s=40.0, fps=fps)
    droops = [e for e in sc.events if e.type == "drowsy_droop"]
    assert droops
    e = droops[0]
    o = np.array([sc.poses[i].eye_openness_left for i in _frames_of(e, fps)])
    assert np.percentile(o, 50) < 0.85
    assert np.abs(np.diff(np.median(np.lib.stride_tricks.sliding_window_view(o, 5), axis=1))).max() < 0.2


def test_composed_presets_and_unknown_presets():
    p = resolve_preset("drowsy+texting")
    assert "texting" in p.guaranteed and "droop" in p.guaranteed and p.drowsiness == PRESETS["drowsy"].drowsiness
    sc = _gen("drowsy+texting", 5, duration_s=40.0)
    types = {e.type for e in sc.events}
    assert {"texting", "drowsy_droop"} <= types
    with pytest.raises(ValueError, match="unknown scenario preset 'nope'"):
        resolve_preset("drowsy+nope")


def test_params_validation_rejects_impossible_values():
    with pytest.raises(ValueError, match="yawn_duration_s"):
        BehaviourParams(yawn_duration_s=(-1.0, 2.0)).validate()
    with pytest.raises(ValueError, match="droop_openness"):
        BehaviourParams(droop_openness=(0.5, 1.5)).validate()
    with pytest.raises(ValueError, match="sleep_duration_s"):
        BehaviourParams(sleep_duration_s=(1.0, 2.0)).validate()
    with pytest.raises(ValueError, match="owl_prob"):
        BehaviourParams(owl_prob=1.5).validate()
    with pytest.raises(ValueError, match="fps"):
        ScenarioBuilder(10.0, 5.0, np.random.default_rng(0))


def test_scripted_timeline_places_exact_activities():
    fps = 15.0
    b = ScenarioBuilder(14.0, fps, np.random.default_rng(0))
    assert b.add("microsleep", 2.0, 1.6)
    assert b.add("yawn", 4.0, 5.0)
    assert b.add("long_glance", 9.6, 3.6, zone=GazeZone.INFOTAINMENT, owl=True)
    assert not b.add("sleep", 2.5, 3.0)            # lids busy with the microsleep
    b.fill_blinks()
    sc = b.build()
    kinds = {(e.type, round(e.start_s, 6), round(e.duration_s, 6)) for e in sc.events}
    assert ("microsleep", 2.0, 1.6) in kinds
    assert ("yawn", 4.0, 5.0) in kinds
    g = [e for e in sc.events if e.type == "glance"][0]
    assert g.target == "infotainment" and g.duration_s >= 3.5
    assert any(e.type == "distraction" for e in sc.events)


def test_zone_classifier_is_consistent_with_table():
    for zone, (y, p) in ZONE_DIRECTIONS_DEG.items():
        assert zone_of_direction(y, p) is zone
    assert zone_of_direction(0.0, 80.0) is GazeZone.OTHER


@pytest.mark.parametrize("duration_s", [1.0, 2.0, 60.0])
def test_no_glance_means_the_driver_looks_at_the_road(duration_s):
    """Baseline head/gaze noise stays small and centred, also for sequences shorter than its correlation time."""
    fps = 10.0
    for seed in range(30):
        b = ScenarioBuilder(duration_s, fps, np.random.default_rng(seed))
        b.fill_blinks()
        sc = b.build()
        yaw = np.array([p.head_yaw_deg for p in sc.poses])
        gaze = np.array([p.head_yaw_deg + p.eye_yaw_deg for p in sc.poses])
        assert np.abs(yaw).max() < 12.0, (seed, yaw)
        assert np.abs(gaze).max() < 16.0
        assert np.mean([p.gaze_zone is GazeZone.ROAD for p in sc.poses]) > 0.95
