"""Eyelids follow vertical gaze; eye-in-head gaze labels (the convention of eye-crop gaze models)."""
import dataclasses

import numpy as np
import pytest

from dms.sim.labels import LID_FOLLOW_RANGE, crop_label, lid_follow, posed_head
from dms.sim.pose import DriverPose
from dms.sim.spec import sample_scene


@pytest.fixture(scope="module")
def spec():
    return sample_scene(np.random.default_rng(3))


def test_lid_follow_narrows_down_widens_up_and_keeps_closed_closed():
    assert lid_follow(1.0, 0.0) == pytest.approx(1.0)
    assert lid_follow(1.0, -20.0) < 0.8                      # looking down: the upper lid drops
    assert lid_follow(0.8, 15.0) > 0.9                       # looking up: the lid lifts
    assert lid_follow(0.0, 25.0) == 0.0 and lid_follow(0.0, -25.0) == 0.0
    assert lid_follow(1.0, -80.0) == pytest.approx(LID_FOLLOW_RANGE[0])
    assert lid_follow(1.2, 40.0) <= 1.3


def test_posed_head_applies_lid_follow_per_eye(spec):
    down = posed_head(spec, DriverPose(eye_openness_left=0.9, eye_openness_right=0.9, eye_pitch_deg=-20.0))
    level = posed_head(spec, DriverPose(eye_openness_left=0.9, eye_openness_right=0.9, eye_pitch_deg=0.0))
    assert level.eye_openness["left"] == pytest.approx(0.9, abs=1e-6)
    assert down.eye_openness["left"] == pytest.approx(lid_follow(0.9, -20.0), abs=1e-3)
    # the upper-lid landmark of the downward-looking eye sits lower (head y is up): 386 upper, 374 lower (left eye)
    gap = lambda ph: ph.vertices_head[386, 1] - ph.vertices_head[374, 1]
    assert gap(down) < 0.85 * gap(level)


@pytest.mark.parametrize("head", [(0, 0, 0), (25, -10, 8), (-30, 15, -5)])
def test_gaze_in_head_is_the_eye_rotation_whatever_the_head_pose(spec, head):
    pose = DriverPose(eye_yaw_deg=12.0, eye_pitch_deg=-7.0, head_yaw_deg=head[0], head_pitch_deg=head[1],
                      head_roll_deg=head[2])
    ph = posed_head(spec, pose)
    for side in ("left", "right"):
        yaw, pitch = ph.gaze_in_head_deg(side)
        assert yaw == pytest.approx(12.0, abs=1e-6) and pitch == pytest.approx(-7.0, abs=1e-6)
    lab = crop_label(spec, pose, "eye_left", "nir", "x.png")
    assert lab.attrs["gaze_in_head_deg"] == pytest.approx([12.0, -7.0], abs=1e-3)
    assert lab.eye_openness == pytest.approx(min(1.0, ph.eye_openness["left"]), abs=1e-3)
