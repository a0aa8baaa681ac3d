"""The runtime's per-frame gaze zone and fusion's zone come from one table (the fusion profile's zone map)
around one road direction (``perception.gaze`` of the run config) until the driver is calibrated."""
from __future__ import annotations

import pytest

from dms.contracts import GazeZone
from dms.fusion import GazeZoneMapper, get_profile
from dms.runtime.config import PerceptionConfig, RunConfig
from dms.runtime.monitor import Monitor, MonitorOptions
from dms.runtime.perception import zone_of

from tests.runtime.conftest import face_frame

DT = 33_333_333


def _first(models_dir, frontend, road=None):
    cfg = PerceptionConfig() if road is None else PerceptionConfig(gaze={"road_yaw_deg": road[0],
                                                                         "road_pitch_deg": road[1]})
    with Monitor(MonitorOptions(models_dir=models_dir, frontend_instance=frontend, perception=cfg)) as m:
        r = m.push(face_frame(0, eye_value=255))
        return r, cfg, m.fusion.calibration.result


def test_frame_zone_and_fusion_zone_agree_before_calibration(models_dir, frontend):
    r, cfg, cal = _first(models_dir, frontend)
    p = r.perception
    assert p.valid and p.gaze_yaw_deg is not None and not r.state.eyes_closed
    profile_map = GazeZoneMapper(get_profile("euro_ncap_2026").zone_map)
    expect = profile_map.zone(p.gaze_yaw_deg - cfg.gaze.road_yaw_deg, p.gaze_pitch_deg - cfg.gaze.road_pitch_deg)
    assert p.gaze_zone is expect
    assert r.state.gaze_zone is p.gaze_zone
    # fusion's uncalibrated road direction is the configured camera-mount one
    assert (cal.gaze_yaw_offset_deg, cal.gaze_pitch_offset_deg) == (cfg.gaze.road_yaw_deg, cfg.gaze.road_pitch_deg)


def test_road_direction_moves_both_zones(models_dir, frontend):
    r, _, _ = _first(models_dir, frontend)
    g = (r.perception.gaze_yaw_deg, r.perception.gaze_pitch_deg)
    assert r.perception.gaze_zone is not GazeZone.ROAD           # the probe gaze (20, -10) is off the road box
    r2, _, _ = _first(models_dir, frontend, road=g)              # a mount whose road direction is that gaze
    assert r2.perception.gaze_zone is GazeZone.ROAD and r2.state.gaze_zone is GazeZone.ROAD


def test_zone_of_uses_the_profile_map():
    cfg = PerceptionConfig().gaze
    m = GazeZoneMapper()
    for yaw in range(-100, 101, 10):
        for pitch in range(-60, 61, 10):
            assert zone_of(yaw, pitch, cfg) is m.zone(yaw - cfg.road_yaw_deg, pitch - cfg.road_pitch_deg)


def test_the_old_zone_table_is_gone():
    with pytest.raises(ValueError, match="zones"):
        RunConfig(perception={"gaze": {"zones": [{"zone": "road", "yaw_deg": [-1, 1], "pitch_deg": [-1, 1]}]}})
