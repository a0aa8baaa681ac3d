"""Profiles (settings, citations, validation), the public API surface, calibration in the engine, and the
alert scoring helper."""
from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path

import pytest

import dms.fusion as fusion
from dms.contracts import Alert, AlertLevel, AlertType, DriverState, Event, HeadPose, Perception
from dms.contracts.labels import EVENT_TYPES
from dms.fusion import (EU_ADDW, EU_DDAW, EURO_NCAP_2026, EVENT_ALERTS, PROFILES, CalibrationResult,
                        FusionEngine, FusionOutput, Profile, get_profile, required_time_s, score_alerts)

from tests.fusion.fusion_sim import EYES_CLOSED, LOOK_INFOTAINMENT, LOOK_LAP, Scenario, assert_at, run

FUSION_DIR = Path(fusion.__file__).parent


def test_get_profile_by_name_and_unknown_lists_valid():
    assert set(PROFILES) == {"euro_ncap_2026", "eu_addw", "eu_ddaw"}
    assert get_profile("eu_addw") is EU_ADDW and get_profile(EU_DDAW) is EU_DDAW
    with pytest.raises(ValueError) as ei:
        get_profile("euro_ncap_2023")
    for name in PROFILES:
        assert name in str(ei.value)
    with pytest.raises(ValueError):
        FusionEngine(profile="nope")


def test_profile_is_frozen_and_validated():
    with pytest.raises(dataclasses.FrozenInstanceError):
        EURO_NCAP_2026.sleep_s = 5.0                                   # type: ignore[misc]
    with pytest.raises(ValueError, match="microsleep_min_s < sleep_s"):
        EURO_NCAP_2026.replace(sleep_s=0.5)
    with pytest.raises(ValueError, match="trigger_s <= deadline_s"):
        EURO_NCAP_2026.replace(distraction_bands=(fusion.DistractionBand(20.0, 4.0, 3.0),))
    variant = EURO_NCAP_2026.replace(name="fleet_strict", sleep_s=2.5)
    assert variant.sleep_s == 2.5 and EURO_NCAP_2026.sleep_s == 3.0


def test_regulation_values():
    p = EURO_NCAP_2026
    assert (p.distraction_band(80).trigger_s, p.vats_cumulative_s, p.vats_window_s, p.vats_reset_on_road_s) == \
        (3.0, 10.0, 30.0, 2.0)
    assert (p.microsleep_min_s, p.sleep_s, p.unresponsive_s) == (1.0, 3.0, 6.0)
    assert (p.distraction_gate_kph, p.sleep_gate_kph, p.drowsiness_gate_kph) == (20.0, 20.0, 50.0)
    assert p.kss_warning_level == 8                                    # KSS-equivalent > 7
    assert EU_ADDW.distraction_band(60).deadline_s == 3.5 and EU_ADDW.distraction_band(30).deadline_s == 6.0
    assert EU_ADDW.distraction_band(None).deadline_s == 3.5            # unknown speed: strictest band
    assert EU_DDAW.kss_warning_level == 8
    assert set(EU_ADDW.enabled_alerts) >= {AlertType.DISTRACTION_LONG}
    assert AlertType.SLEEP not in EU_ADDW.enabled_alerts and AlertType.DROWSINESS in EU_DDAW.enabled_alerts


def test_every_profile_field_cites_a_source():
    """Each settings field in Profile is followed by a comment tagged with its source."""
    src = inspect.getsource(fusion.profiles.Profile)
    tags = ("[NCAP]", "[ADDW]", "[DDAW]", "[LIT]", "[ENG]")
    lines = src.splitlines()
    for f in dataclasses.fields(Profile):
        if f.name in ("name", "source", "enabled_alerts"):
            continue
        idx = next(i for i, ln in enumerate(lines) if re.match(rf"\s+{f.name}:", ln))
        block = " ".join(lines[max(0, idx - 1): idx + 3])       # same line, or a shared comment nearby
        assert any(t in block for t in tags), f"Profile.{f.name} has no source tag"


def test_profile_summary_is_json_ready():
    import json
    s = EURO_NCAP_2026.summary()
    json.dumps(s)
    assert s["sleep_s"] == 3.0 and s["zone_map"][0][0] == "road"


def test_public_api_and_output_contract():
    for name in ("FusionEngine", "FusionOutput", "get_profile", "PROFILES", "BlinkDetector", "PerclosWindow",
                 "ClosureEpisodes", "GlanceTracker", "YawnCounter", "HandsOffTimer", "Calibration",
                 "DrowsinessEstimator", "AlertPolicy"):
        assert hasattr(fusion, name), name
    eng = FusionEngine("eu_ddaw")
    out = eng.step(Perception(t_ns=1, face_found=True, head_pose=HeadPose(0, 0, 0), eye_closed_prob_left=0.1,
                              eye_closed_prob_right=0.1))
    assert isinstance(out, FusionOutput) and isinstance(out.state, DriverState) and out.events == []
    assert out.state.profile == "eu_ddaw" and out.state.valid
    assert DriverState.from_dict(out.state.to_dict()) == out.state     # serialisable every step


def test_fusion_source_has_no_clock_or_io():
    banned = [r"\bimport time\b", r"\btime\.(time|monotonic|perf_counter)", r"\bdatetime\b", r"\bopen\(",
              r"\bimport (torch|onnxruntime|cv2|bpy|mediapipe|serial)\b", r"\bprint\("]
    for f in FUSION_DIR.glob("*.py"):
        text = f.read_text()
        for pat in banned:
            assert not re.search(pat, text), f"{f.name} matches {pat}"


# ---- calibration inside the engine -------------------------------------------------------------------------
def test_new_driver_calibration_narrow_eyes_and_offset_camera():
    """No eye classifier (openness only), narrow eyes (open = 0.5), camera mounted 20 deg off-axis."""
    p = EURO_NCAP_2026.replace(calibration_s=30.0, calibration_min_samples=100)
    yaw0 = 20.0
    base = dict(eye_closed_prob_left=None, eye_closed_prob_right=None, eye_openness_left=0.5,
                eye_openness_right=0.5, gaze_yaw_deg=yaw0, gaze_pitch_deg=0.0, head_pose=HeadPose(yaw0, 0, 0))
    narrow_closed = dict(eye_openness_left=0.08, eye_openness_right=0.08)     # 16 % of this driver's open eye
    sc = (Scenario(70.0, speed_kph=90.0).add_dict(0.0, 70.0, base)
          .add_dict(50.0, 55.0, {**base, **narrow_closed}))
    tr = run(sc, profile=p)
    before, after = tr.state_at(10.0), tr.state_at(45.0)
    assert not before.calibrated and after.calibrated
    # before calibration the +20 deg camera offset looks like a glance to the mirror side; after, it is road
    assert after.gaze_zone.value == "road"
    assert after.eye_openness == pytest.approx(1.0)
    assert tr.state_at(52.0).eyes_closed
    assert_at(tr.first_raise(AlertType.SLEEP), 50.0 + p.sleep_s, tr, "sleep for a narrow-eyed driver")
    r = FusionEngine(p).calibration.result
    assert r.open_eye_baseline == 1.0                                           # fresh engine: defaults


def test_calibration_preset_survives_reset():
    preset = CalibrationResult(open_eye_baseline=0.5, gaze_yaw_offset_deg=20.0)
    eng = FusionEngine(calibration=preset)
    eng.reset()
    assert eng.calibration.calibrated and eng.calibration.result is preset


# ---- scoring -------------------------------------------------------------------------------------------
def test_event_alert_mapping_covers_every_event_type():
    assert set(EVENT_ALERTS) == set(EVENT_TYPES)
    assert required_time_s("sleep", EURO_NCAP_2026) == (3.0, 3.0)
    assert required_time_s("glance", EU_ADDW, speed_kph=30.0) == (5.5, 6.0)
    assert required_time_s("sleep", EU_ADDW) is None           # ADDW does not regulate sleep
    assert required_time_s("blink", EURO_NCAP_2026) is None


def _scored_drive():
    sc = (Scenario(60.0, speed_kph=90.0)
          .add_dict(5.0, 11.0, LOOK_LAP)            # texting glance: long distraction required
          .add_dict(15.0, 16.5, LOOK_INFOTAINMENT)  # short glance: no alert required
          .add_dict(25.0, 26.5, EYES_CLOSED)        # microsleep
          .add_dict(35.0, 40.0, EYES_CLOSED))       # sleep
    events = [Event("texting", 5.0, 11.0), Event("glance", 15.0, 16.5), Event("microsleep", 25.0, 26.5),
              Event("sleep", 35.0, 40.0), Event("blink", 50.0, 50.2)]
    return run(sc), events


def test_score_alerts_detection_latency_and_no_false_alerts():
    tr, events = _scored_drive()
    rep = score_alerts(tr.alerts(), events, duration_s=60.0, profile="euro_ncap_2026")
    pt = rep["per_event_type"]
    assert pt["texting"]["n_required"] == 1 and pt["texting"]["detection_rate"] == 1.0
    assert pt["texting"]["latency_s"]["max"] == pytest.approx(3.0, abs=tr.tol_s)
    assert pt["texting"]["on_time_rate"] == 1.0
    assert pt["glance"]["n_required"] == 0 and pt["glance"]["detection_rate"] is None
    assert pt["microsleep"]["detection_rate"] == 1.0
    assert pt["microsleep"]["latency_s"]["mean"] == pytest.approx(EURO_NCAP_2026.microsleep_min_s, abs=tr.tol_s)
    assert pt["sleep"]["detection_rate"] == 1.0 and pt["sleep"]["required_s"] == EURO_NCAP_2026.sleep_s
    assert rep["false_alerts"] == 0, rep["false_alert_list"]
    assert rep["false_alerts_per_hour"] == 0.0


def test_score_alerts_counts_misses_late_and_false_alerts():
    tr, events = _scored_drive()
    alerts = [a for a in tr.alerts() if a.type is not AlertType.SLEEP]           # drop the sleep detection
    late = Alert(t_ns=int(44.6e9), type=AlertType.DISTRACTION_LONG, level=AlertLevel.CAUTION, active=True)
    spurious = Alert(t_ns=int(55.0e9), type=AlertType.HANDS_OFF, level=AlertLevel.CAUTION, active=True)
    extra_glance = Event("glance", 40.5, 46.0)
    rep = score_alerts(alerts + [late, spurious], events + [extra_glance], duration_s=60.0,
                       profile=EURO_NCAP_2026)
    pt = rep["per_event_type"]
    assert pt["sleep"]["detection_rate"] == 0.0
    assert pt["glance"]["n_required"] == 1 and pt["glance"]["n_detected"] == 1 and pt["glance"]["n_on_time"] == 0
    assert rep["false_alerts"] == 1 and rep["false_alert_list"][0]["type"] == "hands_off"
    assert rep["false_alerts_per_hour"] == pytest.approx(60.0)
    # escalations and clears are not raises: counting is unaffected by them
    assert rep["alerts_raised"] == len(fusion.scoring.raises(alerts + [late, spurious]))


def test_score_alerts_rejects_bad_duration():
    with pytest.raises(ValueError):
        score_alerts([], [], 0.0, "euro_ncap_2026")
