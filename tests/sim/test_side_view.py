"""The passenger-window (side view) mount, frame-crop mounts / on-fraction config, and side-view hand poses."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dms.config import load_config
from dms.contracts import HandState
from dms.errors import ConfigError
from dms.sim.camera import FACE_MOUNTS, MOUNTS
from dms.sim.config import SimulateConfig
from dms.sim.jobs import OFF_HAND_STATES, _sample_scene, sample_crop_pose, sample_frame_hands
from dms.sim.labels import project_landmarks
from dms.sim.pose import DriverPose
from dms.sim.spec import SamplingRanges, sample_scene


def side_cfg(**over) -> SimulateConfig:
    base = {"renderer": "mock", "crops.frame.mounts": ["passenger_window"], "crops.frame.on_fraction": 0.5,
            "crops.frame.width": 128, "crops.frame.height": 96, "progress": False, "workers": 1}
    base.update(over)
    return load_config(SimulateConfig, overrides=list(base.items()))


def test_side_mount_is_opt_in_and_face_mounts_unchanged():
    assert "passenger_window" in MOUNTS and "passenger_window" not in FACE_MOUNTS
    assert SamplingRanges().mounts == list(FACE_MOUNTS)
    assert {"steering_column", "cluster", "rearview_mirror", "a_pillar", "center_console"} <= set(FACE_MOUNTS)
    # a face mount still aims at the head with the scene's HFOV range
    s = sample_scene(np.random.default_rng(0), SamplingRanges(mounts=["rearview_mirror"]))
    assert 40.0 <= s.camera.hfov_deg <= 60.0
    assert abs(s.camera.target_m[2] - (0.66 + s.body.seat_height_m + s.body.head_offset_m[2])) < 0.05


def test_passenger_window_camera_sees_the_driver_from_the_side():
    r = SamplingRanges(mounts=["passenger_window"], resolutions=[(128, 96)])
    rng = np.random.default_rng(5)
    for _ in range(40):
        s = sample_scene(rng, r)
        cam = s.camera_model()
        lo, hi = MOUNTS["passenger_window"].hfov_deg
        assert lo <= s.camera.hfov_deg <= hi
        assert cam.position_m[1] < -0.6                        # on the passenger side (driver's right = -y)
        # the head projects inside the image, in its upper part
        uv, vis = project_landmarks(s, DriverPose(), distort=True)
        c = np.nanmean(uv, axis=0)
        assert 0 <= c[0] < 128 and 0 <= c[1] < 96 * 0.6, c
        # the steering wheel is on the image's right half (its centre may sit at the right edge)
        wuv = cam.project(np.asarray([s.cabin.wheel_center_m]))[0][0]
        assert 64 < wuv[0] < 128 * 1.12 and 0 <= wuv[1] < 96 * 0.6, wuv
        # the driver faces the image's right: the nose tip is right of the ears
        assert uv[1, 0] > uv[234, 0] and uv[1, 0] > uv[454, 0]


def test_frame_crops_use_their_own_mounts_other_crops_keep_scene_mounts():
    cfg = side_cfg()
    rng = np.random.default_rng(1)
    assert {_sample_scene(rng, cfg, (128, 96), "frame").camera.mount for _ in range(10)} == {"passenger_window"}
    assert all(_sample_scene(rng, cfg, None, "eye").camera.mount in FACE_MOUNTS for _ in range(30))


@pytest.mark.parametrize("over", [{"crops.frame.mounts": ["roof_rack"]}, {"crops.frame.mounts": []},
                                  {"crops.frame.on_fraction": 1.5}, {"crops.frame.on_fraction": -0.1}])
def test_frame_crop_config_validation(over):
    with pytest.raises(ConfigError) as e:
        side_cfg(**over)
    key = next(iter(over)).split(".")[-1]
    assert key in str(e.value)


def test_frame_crop_config_accepts_side_mounts_and_defaults_to_scene_mounts():
    assert side_cfg().crops.frame.mounts == ["passenger_window"]
    d = load_config(SimulateConfig, overrides=[])
    assert d.crops.frame.mounts is None and d.crops.frame.on_fraction is None


def test_frame_hand_sampling_balanced_and_labels_consistent():
    cfg = side_cfg(**{"crops.frame.on_fraction": 0.4})
    rng = np.random.default_rng(2)
    poses = [sample_crop_pose("frame", rng, cfg) for _ in range(2000)]
    both_on = np.mean([p.hand_left is HandState.ON_WHEEL and p.hand_right is HandState.ON_WHEEL for p in poses])
    assert abs(both_on - 0.4) < 0.04
    seen = set()
    for p in poses:
        for st in (p.hand_left, p.hand_right):
            assert st is HandState.ON_WHEEL or st in OFF_HAND_STATES
            seen.add(st)
        phone_sides = [s for s, st in (("left", p.hand_left), ("right", p.hand_right))
                       if st in (HandState.PHONE_EAR, HandState.TEXTING)]
        assert len(phone_sides) <= 1 and p.phone_in_hand == (phone_sides[0] if phone_sides else None)
        assert not p.hand_over_mouth
    assert seen == {HandState.ON_WHEEL, *OFF_HAND_STATES}
    # the right hand (seen by the passenger-side camera) is the one off the wheel most often
    off_r = np.mean([p.hand_right is not HandState.ON_WHEEL for p in poses])
    off_l = np.mean([p.hand_left is not HandState.ON_WHEEL for p in poses])
    assert off_r > off_l > 0.05


def test_sample_frame_hands_extremes():
    rng = np.random.default_rng(0)
    assert all(sample_frame_hands(rng, 1.0) == (HandState.ON_WHEEL, HandState.ON_WHEEL) for _ in range(50))
    assert not any(sample_frame_hands(rng, 0.0) == (HandState.ON_WHEEL, HandState.ON_WHEEL) for _ in range(200))


@pytest.mark.blender
def test_side_view_hand_poses_put_the_hand_where_the_label_says():
    pytest.importorskip("bpy")
    from dms.sim.labels import posed_head
    from dms.sim.render import Renderer, RenderSettings
    r = Renderer(RenderSettings(samples=2, sensor=False, auto_exposure=False))
    spec = sample_scene(np.random.default_rng(4), SamplingRanges(mounts=["passenger_window"], resolutions=[(96, 72)],
                                                                   p_day=1, p_dusk=0, p_night=0))
    cam = spec.camera_model()
    base = DriverPose()
    r._prepare(spec, base)
    wheel_hand = np.asarray(r.view.arm_parts["right"][2].matrix_world.translation)
    head = posed_head(spec, base).to_world(np.zeros(3))
    for st in OFF_HAND_STATES:
        pose = dataclasses.replace(base, hand_right=st,
                                   phone_in_hand="right" if st in (HandState.PHONE_EAR, HandState.TEXTING) else None)
        r._prepare(spec, pose)
        h = r.view._hand_target(spec, pose, "right", posed_head(spec, pose))
        assert np.linalg.norm(h - wheel_hand) > 0.15, st                 # visibly away from the wheel
        uv = cam.project(h[None])[0][0]
        if st not in (HandState.OTHER, HandState.GEAR_LEVER):            # (reaching behind / the lever may be cut)
            assert 0 <= uv[0] < 96 and 0 <= uv[1] < 72, (st, uv)
        if st in (HandState.PHONE_EAR, HandState.DRINKING, HandState.FACE):
            assert np.linalg.norm(h - head) < 0.2, st                    # at the head
        if st in (HandState.TEXTING, HandState.LAP):
            assert h[2] < head[2] - 0.15, st                             # below the face, in front of the body
        assert r.view.phone.hide_render == (pose.phone_in_hand is None)
        assert r.view.cup.hide_render == (st is not HandState.DRINKING)
    # the off-wheel arm changes the rendered side view
    a = r.render_frame(spec, base, modalities=("rgb",))["rgb"].astype(int)
    b = r.render_frame(spec, dataclasses.replace(base, hand_right=HandState.PHONE_EAR, phone_in_hand="right"),
                       modalities=("rgb",))["rgb"].astype(int)
    assert np.abs(a - b).mean() > 2.0


def test_recipe_hands_render_set_is_a_valid_side_view_config():
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[2] / "tools" / "train_models.py"
    spec = importlib.util.spec_from_file_location("train_models_side", path)
    tm = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tm)
    sets = tm.TASK_SIMULATE["hands"]                            # one or more render sets (override lists)
    over = [kv.replace("@HANDS_COUNT@", "64") for kv in (sets[0] if isinstance(sets[0], list) else sets)]
    cfg = load_config(SimulateConfig, overrides=over)
    assert cfg.crops.frame.mounts == ["passenger_window"] and cfg.crops.frame.on_fraction == 0.5
    assert cfg.crops.frame.count == 64 and cfg.crops.eye.count == 0 and cfg.renderer == "blender"
    assert "augment.hflip=false" in tm.RECIPE["hands"]       # the side view is not mirror-symmetric
