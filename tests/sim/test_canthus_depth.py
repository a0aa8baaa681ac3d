"""Identity.canthus_depth: eyeballs brought forward of the eye corners (anatomical canthus depth), opt-in."""
import dataclasses

import numpy as np
import pytest

from dms.sim.config import SimulateConfig
from dms.sim.head import EYE_LEVELS, LID_HUG_CLEARANCE_M, _globe_clearance, head_model, key_weights
from dms.sim.labels import crop_label
from dms.sim.pose import DriverPose
from dms.sim.spec import SamplingRanges, sample_scene


def _corner_depth_mm(g, side="right"):
    """How far the eyeball centre lies behind the midpoint of the eye corners (head-local z, mm)."""
    lat, med = (33, 133) if side == "right" else (263, 362)
    v = g.deform(key_weights(1.0, 1.0, 0.0))
    return 1000 * (0.5 * (v[lat, 2] + v[med, 2]) - g.eye_centers[side][2])


def test_default_draws_are_unchanged_and_the_depth_is_drawn_last():
    a = sample_scene(np.random.default_rng(5), SamplingRanges())
    b = sample_scene(np.random.default_rng(5), SamplingRanges(canthus_depth=(0.7, 1.1)))
    assert a.identity.canthus_depth == 0.0 and 0.7 <= b.identity.canthus_depth <= 1.1
    assert dataclasses.replace(b, identity=dataclasses.replace(b.identity, canthus_depth=0.0)) == a


@pytest.mark.parametrize("side", ["right", "left"])
def test_depth_brings_the_globe_forward_of_the_corners_onto_the_lids(side):
    hm = head_model()
    g0, g1 = hm.geometry({}), hm.geometry({}, canthus_depth=1.0)
    assert 8.5 < _corner_depth_mm(g0, side) < 10.0               # the canonical ring: deep-set globes
    assert 3.0 < _corner_depth_mm(g1, side) < 5.0                # anatomical: ~3-5 mm
    assert _corner_depth_mm(g1, side) < _corner_depth_mm(hm.geometry({}, canthus_depth=0.5), side) < \
        _corner_depth_mm(g0, side)
    ring = list(hm.eye_rings[side])
    ctr = g1.eye_centers[side]
    v = g1.deform(key_weights(1.0, 1.0, 0.0))
    clr = _globe_clearance(v[ring] - ctr)
    assert clr.min() >= LID_HUG_CLEARANCE_M - 1e-6              # lids ride on the globe, never inside it
    assert np.median(clr) < np.median(_globe_clearance(g0.deform(key_weights(1, 1, 0))[ring] - g0.eye_centers[side]))
    near = np.linalg.norm(g1.vertices[:468] - ctr, axis=1) < 0.016
    assert _globe_clearance(g1.vertices[:468][near] - ctr).min() > 0.0   # no face skin inside the eyeball
    # the shape keys still close the lids onto each other, outside the globe
    upper, lower = (159, 145) if side == "right" else (386, 374)
    for o in EYE_LEVELS:
        vo = g1.deform(key_weights(o, o, 0.0))
        assert (np.linalg.norm(vo[[upper, lower]] - ctr, axis=1) > g1.eye_radius_m).all()
    vc = g1.deform(key_weights(0.0, 0.0, 0.0))
    assert np.linalg.norm(vc[upper] - vc[lower]) < 0.0006


def test_a_head_turn_moves_the_iris_across_the_eye_less_with_anatomical_corners():
    """Looking into the camera while the head turns: the iris shifts in the corner-aligned eye crop by the depth of
    the globe centre behind the corners. Real eye patches (Columbia Gaze) shift ~0.34x as much per degree of head
    turn as per degree of gaze; the canonical ring ~0.8x."""
    rng = np.random.default_rng(3)
    ranges = SimulateConfig().scene.model_copy(update={"mounts": ["steering_column"]})
    ratios = {}
    for cd in (0.0, 1.0):
        r = []
        for _ in range(3):
            s0 = sample_scene(rng, ranges)
            spec = dataclasses.replace(s0, identity=dataclasses.replace(s0.identity, canthus_depth=cd))
            cam = tuple(spec.camera.position_m)

            def x(**pose):
                lab = crop_label(spec, DriverPose(**pose), "eye_left", "rgb", "x.png")
                return lab.attrs["pupil_crop_px"][0] / lab.attrs["crop_def"]["out_size"][0]
            per_head = (x(head_yaw_deg=20, gaze_target_m=cam) - x(head_yaw_deg=-20, gaze_target_m=cam)) / 40
            per_gaze = (x(eye_yaw_deg=15) - x(eye_yaw_deg=-15)) / 30
            r.append(abs(per_head / per_gaze))
        ratios[cd] = float(np.mean(r))
    assert ratios[0.0] > 0.65 and 0.25 < ratios[1.0] < 0.45


def test_out_of_range_depth_is_rejected():
    with pytest.raises(ValueError, match="canthus_depth"):
        SamplingRanges(canthus_depth=(0.5, 2.0))
