"""One gaze-zone mapping: the profile's zone map around the road direction (camera-mount prior, then the
driver's calibration), applied to gaze angles whenever they are present."""
from __future__ import annotations

import dataclasses

import pytest

from dms.contracts import GazeZone, HeadPose, Perception, VehicleSignals
from dms.fusion import Calibration, FusionEngine, GazeZoneMapper, get_profile

from tests.fusion.fusion_sim import BASE, NS

# A column camera below the face: looking at the road is ~15 deg up in the camera frame.
ROAD_CAM = (2.0, 15.0)


def _pc(t_s: float, **kw) -> Perception:
    return Perception(**{**BASE, "t_ns": int(round(t_s * NS)), "frame_id": 0, "valid": True, **kw})


def _zone(engine: FusionEngine, t_s: float, **kw) -> GazeZone:
    return engine.step(_pc(t_s, **kw), VehicleSignals(t_ns=int(round(t_s * NS)), speed_kph=80.0)).state.gaze_zone


def test_uncalibrated_zone_is_relative_to_the_camera_mount_road_direction():
    cam = FusionEngine(road_direction_deg=ROAD_CAM)
    axis = FusionEngine()                                     # default prior: the camera axis
    road = dict(gaze_yaw_deg=ROAD_CAM[0], gaze_pitch_deg=ROAD_CAM[1])
    assert _zone(cam, 0.0, **road) is GazeZone.ROAD
    assert _zone(axis, 0.0, **road) is GazeZone.OTHER         # 15 deg up is above the road box of the axis
    # the map is the profile's: the infotainment box, shifted by the prior
    info = dict(gaze_yaw_deg=ROAD_CAM[0] - 28.0, gaze_pitch_deg=ROAD_CAM[1] - 20.0)
    assert _zone(cam, 0.1, **info) is GazeZone.INFOTAINMENT
    assert not cam.calibration.calibrated


def test_gaze_angles_win_over_a_given_zone_and_a_zone_without_angles_is_kept():
    e = FusionEngine()
    # a per-frame zone computed elsewhere does not override fusion's own (calibrated) mapping of the angles
    assert _zone(e, 0.0, gaze_yaw_deg=0.0, gaze_pitch_deg=0.0, gaze_zone=GazeZone.LAP_PHONE) is GazeZone.ROAD
    # no angles (ground-truth labels, third-party perception): the zone is taken as is
    assert _zone(e, 0.1, gaze_yaw_deg=None, gaze_pitch_deg=None,
                 gaze_zone=GazeZone.INFOTAINMENT) is GazeZone.INFOTAINMENT
    # neither: the head pose is mapped
    assert _zone(e, 0.2, gaze_yaw_deg=None, gaze_pitch_deg=None,
                 head_pose=HeadPose(0.0, -50.0, 0.0)) is GazeZone.LAP_PHONE


def test_calibration_replaces_the_prior_and_shifts_the_same_map():
    p = dataclasses.replace(get_profile("euro_ncap_2026"), calibration_s=1.0, calibration_min_samples=10,
                            calibration_sample_period_s=0.1)
    e = FusionEngine(p, road_direction_deg=(0.0, 0.0))
    look = dict(gaze_yaw_deg=-6.0, gaze_pitch_deg=14.0)       # this driver's road direction
    assert _zone(e, 0.0, **look) is GazeZone.OTHER            # prior (0, 0): 14 deg up is off the road box
    t = 0.0
    while not e.calibration.calibrated:
        t += 1 / 30
        _zone(e, t, **look)
        assert t < 3.0, "calibration did not complete"
    r = e.calibration.result
    assert (r.gaze_yaw_offset_deg, r.gaze_pitch_offset_deg) == pytest.approx((-6.0, 14.0))
    assert _zone(e, t + 0.1, **look) is GazeZone.ROAD
    m = GazeZoneMapper(p.zone_map)
    assert _zone(e, t + 0.2, gaze_yaw_deg=-6.0 + 45.0, gaze_pitch_deg=14.0 - 3.0) is m.zone(45.0, -3.0) \
        is GazeZone.LEFT_MIRROR


def test_calibration_prior_defaults_and_validation():
    c = Calibration(road_direction_deg=(3.0, -4.0))
    r = c.result
    assert (r.head_yaw_offset_deg, r.head_pitch_offset_deg, r.gaze_yaw_offset_deg, r.gaze_pitch_offset_deg) == \
        (3.0, -4.0, 3.0, -4.0)
    assert not c.calibrated
    with pytest.raises(ValueError, match="finite"):
        Calibration(road_direction_deg=(float("nan"), 0.0))
