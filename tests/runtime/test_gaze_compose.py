"""Eye-in-head gaze (the eye-crop models' output) composed with the head pose gives the camera-frame gaze; the
composition agrees with the simulator's own geometry (labels by projection)."""
import numpy as np
import pytest

from dms.contracts import HeadPose
from dms.contracts.gaze import gaze_angles, gaze_vector
from dms.runtime.headpose import compose_gaze


def test_gaze_vector_round_trip_and_convention():
    assert gaze_vector(0, 0) == pytest.approx([0, 0, -1])           # into the camera
    assert gaze_vector(30, 0)[0] > 0 and gaze_vector(0, 20)[1] < 0    # image right; up = -y (OpenCV)
    for y, p in [(0, 0), (25, -10), (-40, 30), (5, 5)]:
        assert gaze_angles(gaze_vector(y, p)) == pytest.approx((y, p), abs=1e-9)


@pytest.mark.parametrize("head,eye,want", [
    ((0, 0, 0), (12, -4), (12, -4)),         # frontal head: eye-in-head is camera-frame
    ((20, 0, 0), (-20, 0), (0, 0)),          # head turned right, eyes back: into the camera
    ((20, 0, 0), (0, 0), (20, 0)),           # eyes straight ahead of a turned head
    ((0, 10, 0), (0, 5), (0, 15)),           # pitch adds up
])
def test_compose_gaze(head, eye, want):
    got = compose_gaze(HeadPose(yaw_deg=head[0], pitch_deg=head[1], roll_deg=head[2]), *eye)
    assert got == pytest.approx(want, abs=1e-6)


def test_compose_matches_the_simulator_geometry():
    """For simulated drivers (any head pose and camera mount), composing the label's eye-in-head gaze with the
    label's head pose reproduces the label's camera-frame gaze."""
    from dms.sim.labels import crop_label
    from dms.sim.pose import DriverPose
    from dms.sim.spec import sample_scene
    from dms.train.taskdefs import gaze_in_head_deg
    rng = np.random.default_rng(5)
    for i in range(8):
        spec = sample_scene(rng)
        pose = DriverPose(eye_yaw_deg=float(rng.uniform(-25, 25)), eye_pitch_deg=float(rng.uniform(-20, 15)),
                          head_yaw_deg=float(rng.uniform(-30, 30)), head_pitch_deg=float(rng.uniform(-15, 15)),
                          head_roll_deg=float(rng.uniform(-10, 10)))
        lab = crop_label(spec, pose, "eye_left", "nir", "x.png")
        head = HeadPose(yaw_deg=lab.head_yaw_deg, pitch_deg=lab.head_pitch_deg, roll_deg=lab.head_roll_deg)
        got = compose_gaze(head, *gaze_in_head_deg(lab))
        assert got == pytest.approx((lab.gaze_yaw_deg, lab.gaze_pitch_deg), abs=0.05)


def test_perceiver_maps_each_gaze_frame_to_the_camera_frame(models_dir, frontend):
    """A gaze model whose manifest says gaze_frame=head: the published gaze is head pose o eye-in-head (per eye,
    then averaged); gaze_frame=view: each eye's output rotated from its crop's view frame; a camera-frame model
    (older manifests) is published as is."""
    import dataclasses

    from dms.runtime.monitor import Monitor, MonitorOptions
    from dms.runtime.perception import Perceiver
    from tests.runtime.conftest import face_frame

    with Monitor(MonitorOptions(models_dir=models_dir, frontend_instance=frontend)) as m:
        plain = m.push(face_frame(0)).perception
        raw = dict(m.perceiver._slow_cache["gaze"])
        assert m.perceiver._gaze_frame == "camera"
        assert plain.gaze_yaw_deg == pytest.approx((raw["left"][0] + raw["right"][0]) / 2)
        g = m.models["gaze"]
        g.manifest = dataclasses.replace(g.manifest, output_semantics={**g.manifest.output_semantics,
                                                                       "gaze_frame": "head"})
        m.perceiver = Perceiver(m.frontend, m.models, m.perceiver.cfg, zones=m.perceiver.zones)
        assert m.perceiver._gaze_frame == "head"
        p = m.push(face_frame(33_333_333)).perception
        head = p.head_pose
        assert head is not None
        raw_mean = ((raw["left"][0] + raw["right"][0]) / 2, (raw["left"][1] + raw["right"][1]) / 2)
        if abs(head.yaw_deg) + abs(head.pitch_deg) > 1.0:     # the probe face is not exactly frontal
            assert abs(p.gaze_yaw_deg - raw_mean[0]) + abs(p.gaze_pitch_deg - raw_mean[1]) > 0.5
        want = [compose_gaze(head, *raw[s]) for s in ("left", "right")]
        assert p.gaze_yaw_deg == pytest.approx((want[0][0] + want[1][0]) / 2, abs=1e-4)
        assert p.gaze_pitch_deg == pytest.approx((want[0][1] + want[1][1]) / 2, abs=1e-4)
        # "view" models: each eye's output is relative to the ray through its crop, mapped back to the camera
        # frame with that crop's geometry and the intrinsics (no head pose involved)
        from dms.contracts.gaze import crop_geometry, view_rotation, view_to_camera
        from dms.data.crops import crop_transform
        from dms.runtime.headpose import camera_matrix
        g.manifest = dataclasses.replace(g.manifest, output_semantics={**g.manifest.output_semantics,
                                                                       "gaze_frame": "view"})
        m.perceiver = Perceiver(m.frontend, m.models, m.perceiver.cfg, zones=m.perceiver.zones)
        f = face_frame(66_666_666)
        p = m.push(f).perception
        raw = dict(m.perceiver._slow_cache["gaze"])
        h, w = f.image.shape[:2]
        K = camera_matrix(w, h)[0]
        want = []
        for s in ("left", "right"):
            cd = m.perceiver._eye_crops["gaze"][s]
            ctr, roll = crop_geometry(crop_transform(frontend.lm, cd), cd.out_size)
            want.append(view_to_camera(*raw[s], view_rotation(ctr, K, roll)))
        assert p.gaze_yaw_deg == pytest.approx((want[0][0] + want[1][0]) / 2, abs=1e-4)
        assert p.gaze_pitch_deg == pytest.approx((want[0][1] + want[1][1]) / 2, abs=1e-4)
        # the eyes sit above the image centre (~5 deg): the view-frame output is rotated, not passed through (an
        # eye above the optical axis looking into the camera looks down in the camera frame)
        assert (raw["left"][1] + raw["right"][1]) / 2 - p.gaze_pitch_deg > 3.0


def test_closed_eyes_have_no_gaze(models_dir, frontend):
    """Both eyes closed: no gaze angles and an UNKNOWN zone (an eye closure is not a glance away)."""
    from dms.contracts import GazeZone
    from dms.runtime.monitor import Monitor, MonitorOptions
    from tests.runtime.conftest import face_frame
    with Monitor(MonitorOptions(models_dir=models_dir, frontend_instance=frontend)) as m:
        opened = m.push(face_frame(0, eye_value=255)).perception
        closed = m.push(face_frame(33_333_333, eye_value=0)).perception
    assert opened.gaze_yaw_deg is not None and opened.gaze_zone is not GazeZone.UNKNOWN
    assert closed.eye_closed_prob_left >= 0.5 and closed.eye_closed_prob_right >= 0.5
    assert closed.gaze_yaw_deg is None and closed.gaze_pitch_deg is None and closed.gaze_zone is GazeZone.UNKNOWN
