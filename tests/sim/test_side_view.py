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


def _head_width_and_centre(mount: str, n: int = 30) -> tuple[float, np.ndarray]:
    """Median projected face width (fraction of the image width) and mean face centre (fractions) of a mount."""
    r = SamplingRanges(mounts=[mount], resolutions=[(128, 96)])
    rng = np.random.default_rng(11)
    widths, centres = [], []
    for _ in range(n):
        s = sample_scene(rng, r)
        uv, _ = project_landmarks(s, DriverPose(), distort=True)
        widths.append((np.nanmax(uv[:, 0]) - np.nanmin(uv[:, 0])) / 128)
        centres.append(np.nanmean(uv, axis=0) / np.array([128, 96]))
    return float(np.median(widths)), np.mean(centres, axis=0)


def test_wide_passenger_window_mount_shows_the_driver_smaller_at_the_same_place():
    assert "passenger_window_wide" not in FACE_MOUNTS
    w_tele, c_tele = _head_width_and_centre("passenger_window")
    w_wide, c_wide = _head_width_and_centre("passenger_window_wide")
    # State Farm's scale: the wide lens shows the head at 0.55-0.85x of the long lens' size ...
    assert 0.55 * w_tele < w_wide < 0.85 * w_tele, (w_tele, w_wide)
    # ... still in the upper-left part of the frame (head upper-left, wheel right), where the long lens has it
    assert c_wide[0] < 0.5 and c_wide[1] < 0.45, c_wide
    assert np.abs(c_wide - c_tele).max() < 0.1, (c_wide, c_tele)
    r = SamplingRanges(mounts=["passenger_window_wide"], resolutions=[(128, 96)])
    s = sample_scene(np.random.default_rng(3), r)
    lo, hi = MOUNTS["passenger_window_wide"].hfov_deg
    assert lo <= s.camera.hfov_deg <= hi and s.camera.position_m[1] < -0.6
    wuv = s.camera_model().project(np.asarray([s.cabin.wheel_center_m]))[0][0]
    assert 64 < wuv[0] < 128 * 1.12, wuv


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
        up_at_visor = st is HandState.FACE and h[0] > head[0] + 0.25   # hair / make-up at the sun-visor mirror
        if st not in (HandState.OTHER, HandState.GEAR_LEVER) and not up_at_visor:   # (these may be cut)
            assert 0 <= uv[0] < 96 and 0 <= uv[1] < 72, (st, uv)
        if st in (HandState.PHONE_EAR, HandState.DRINKING, HandState.FACE) and not up_at_visor:
            assert np.linalg.norm(h - head) < 0.2, st                    # at the head
        if st is HandState.LAP:
            assert h[2] < head[2] - 0.15, st                             # below the face, in front of the body
        if st is HandState.TEXTING:
            assert h[2] < head[2] - 0.03 and h[0] > head[0] + 0.1, st   # in front of the chest / over the lap
        up = r.view.arm_parts["right"][0].matrix_world
        shoulder, elbow = np.asarray(up.translation), np.asarray(up.translation) + np.asarray(up.col[2][:3])
        if st in (HandState.PHONE_EAR, HandState.DRINKING):             # elbow forward: forearm seen from the side
            assert elbow[0] > shoulder[0] + 0.05 and elbow[2] < shoulder[2], (st, shoulder, elbow)
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


def _side_points(s):
    """Image positions (fractions of the frame) of the head, wheel centre, hips and right shoulder of a scene."""
    cam = s.camera_model()
    uv, _ = project_landmarks(s, DriverPose(), distort=False)
    head = np.nanmean(uv, axis=0)
    b = s.body
    rest = s.head_rest_position_m()
    pts = np.array([s.cabin.wheel_center_m, [-0.06 + b.seat_fore_aft_m, 0.0, 0.05 + 0.5 * b.seat_height_m],
                    [rest[0] - 0.07, -b.shoulder_width_m / 2, rest[2] - 0.165]])
    w, hips, shoulder = cam.project(pts, distort=False)[0]
    size = np.array([s.camera.width, s.camera.height], float)
    return head / size, w / size, hips / size, shoulder / size


def test_passenger_window_frames_the_whole_driver_like_state_farm():
    """Head in the upper-left third with room above, hips at the bottom, wheel at the right; the camera sits about
    shoulder height and looks across the cabin (not down from the roof)."""
    r = SamplingRanges(mounts=["passenger_window"], resolutions=[(128, 96)])
    rng = np.random.default_rng(11)
    heads, wheels, hips = [], [], []
    for _ in range(60):
        s = sample_scene(rng, r)
        head, wheel, hip, shoulder = _side_points(s)
        heads.append(head), wheels.append(wheel), hips.append(hip)
        cam = s.camera_model()
        axis = cam.R[:, 2]                                             # optical axis in the cabin frame
        assert np.degrees(np.arcsin(-axis[2])) < 25.0                  # looks across, at most a little down
        assert 0.3 < cam.position_m[2] - s.body.seat_height_m < 0.75   # about the passenger's shoulder height
        assert cam.position_m[1] < -1.0                                # across the cabin (long lens, whole body)
        assert hip[1] > shoulder[1] > head[1]                          # upright: head, shoulder, hips
    heads, wheels, hips = map(np.asarray, (heads, wheels, hips))
    assert 0.25 < np.median(heads[:, 0]) < 0.45 and 0.1 < np.median(heads[:, 1]) < 0.3
    assert np.percentile(heads[:, 1], 5) > 0.08                        # margin above the head
    assert np.median(wheels[:, 0]) > 0.72 and np.median(hips[:, 1]) > 0.75


def test_side_views_bring_the_wheel_closer_without_changing_the_random_stream():
    face = sample_scene(np.random.default_rng(3), SamplingRanges(mounts=["rearview_mirror"]))
    side = sample_scene(np.random.default_rng(3), SamplingRanges(mounts=["passenger_window"]))
    assert side.identity == face.identity and side.body == face.body and side.lighting == face.lighting
    from dms.sim.spec import SIDE_VIEW_WHEEL_CLOSER_M
    assert side.cabin.wheel_center_m[0] == pytest.approx(face.cabin.wheel_center_m[0] - SIDE_VIEW_WHEEL_CLOSER_M)
    assert side.cabin.wheel_center_m[1:] == face.cabin.wheel_center_m[1:]
    assert dataclasses.replace(side.cabin, wheel_center_m=face.cabin.wheel_center_m) == face.cabin


def test_body_sampling_short_sleeves_and_plain_seats():
    rng = np.random.default_rng(8)
    specs = [sample_scene(rng, SamplingRanges(mounts=["passenger_window"])) for _ in range(400)]
    short = np.mean([s.body.sleeve == "short" for s in specs])
    assert 0.48 < short < 0.62                                         # bare forearms in about half the frames
    seats = np.array([s.cabin.seat_rgb for s in specs])
    chroma = seats.max(1) - seats.min(1)
    assert np.all(chroma < 0.15) and seats.mean(1).min() < 0.1 and seats.mean(1).max() > 0.35


@pytest.mark.blender
def test_state_farm_off_hand_variants():
    """Hair / make-up reaches the sun-visor mirror in some poses (above the head, forward), the head otherwise;
    texting holds the phone up in front of the chest in some poses and low over the lap in others."""
    pytest.importorskip("bpy")
    from types import SimpleNamespace
    from dms.sim.blender.scene import BlenderView
    from dms.sim.labels import posed_head
    spec = sample_scene(np.random.default_rng(4), SamplingRanges(mounts=["passenger_window"]))
    view = SimpleNamespace(_pose_variant=BlenderView._pose_variant)
    visor, at_head, raised, low = 0, 0, 0, 0
    for k in range(120):
        for st in (HandState.FACE, HandState.TEXTING):
            pose = dataclasses.replace(DriverPose(), hand_right=st, mouth_openness=k / 1000.0,
                                       phone_in_hand="right" if st is HandState.TEXTING else None)
            ph = posed_head(spec, pose)
            head = ph.to_world(np.zeros(3))
            h = BlenderView._hand_target(view, spec, pose, "right", ph)
            if st is HandState.FACE:
                if h[0] > head[0] + 0.25:
                    visor += 1
                    assert h[2] > head[2] + 0.1                         # up and forward, at the visor
                else:
                    at_head += 1
                    assert np.linalg.norm(h - head) < 0.2
            else:
                assert h[0] > head[0] + 0.1 and h[2] < head[2]          # in front of the body, below the face
                raised += h[2] > head[2] - 0.25
                low += h[2] < head[2] - 0.3
    assert 25 < visor < 70 and at_head > 50
    assert raised > 30 and low > 30


def test_frame_wheel_clock_ranges_configurable_for_frames_only():
    cfg = side_cfg(**{"crops.frame.wheel_clock_right": [4.5, 5.5], "crops.frame.wheel_clock_left": [6.5, 7.0]})
    poses = [sample_crop_pose("frame", np.random.default_rng(k), cfg) for k in range(60)]
    assert all(4.5 <= p.wheel_clock_right <= 5.5 and 6.5 <= p.wheel_clock_left <= 7.0 for p in poses)
    mouth = [sample_crop_pose("mouth", np.random.default_rng(k), cfg) for k in range(60)]
    assert all(1.5 <= p.wheel_clock_right <= 4.0 and 8.0 <= p.wheel_clock_left <= 10.5 for p in mouth)
    # the default keeps the former ranges (and the random stream) of frame crops
    d = [sample_crop_pose("frame", np.random.default_rng(k), side_cfg()) for k in range(60)]
    assert all(1.5 <= p.wheel_clock_right <= 4.0 and 8.0 <= p.wheel_clock_left <= 10.5 for p in d)
    assert [p.hand_right for p in d] == [p.hand_right for p in poses]
    with pytest.raises(ConfigError, match="wheel_clock_right"):
        side_cfg(**{"crops.frame.wheel_clock_right": [5.0, 13.0]})
    with pytest.raises(ConfigError, match="wheel_clock_left"):
        side_cfg(**{"crops.frame.wheel_clock_left": [9.0, 8.0]})


@pytest.mark.blender
def test_scenery_never_surrounds_the_car():
    """Outside buildings stay clear of the cabin and of the side-view camera across it (a box around the driver
    rendered whole frames as one flat wall)."""
    pytest.importorskip("bpy")
    from dms.sim.render import Renderer, RenderSettings
    r = Renderer(RenderSettings(samples=1, sensor=False, auto_exposure=False))
    rng = np.random.default_rng(0)
    ranges = SamplingRanges(mounts=["passenger_window"], resolutions=[(64, 48)])
    for _ in range(40):
        spec = sample_scene(rng, ranges)
        r._prepare(spec, DriverPose())
        for b in r.view.scenery:
            x, y = b.location[0], b.location[1]
            hx, hy = 0.5 * b.dimensions[0], 0.5 * b.dimensions[1]
            assert abs(x) >= hx + 2.5 or abs(y) >= hy + 2.5, (b.name, x, y, hx, hy)
