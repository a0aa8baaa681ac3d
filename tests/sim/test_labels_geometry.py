"""Labels from the scene description by projection: landmarks, lids, crops, gaze, determinism; scene sampling."""
import dataclasses
import json

import numpy as np
import pytest

from dms.contracts import FrameLabel, GazeZone
from dms.data.crops import crop_bbox, crop_transform, get_crop, transform_points
from dms.errors import ConfigError
from dms.sim.labels import crop_label, frame_label, posed_head, project_landmarks
from dms.sim.pose import DriverPose
from dms.sim.spec import SamplingRanges, SceneSpec, sample_scene


def _spec(seed=3, **ranges):
    return sample_scene(np.random.default_rng(seed), SamplingRanges(**ranges) if ranges else None)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
def test_landmarks_in_image_and_face_visible(seed):
    spec = _spec(seed)
    lab = frame_label(spec, DriverPose(), 0, 0.0)
    lm = np.asarray(lab.landmarks_px)
    assert lm.shape == (468, 2)
    w, h = spec.camera.width, spec.camera.height
    assert (lm[:, 0] > 0).all() and (lm[:, 0] < w).all() and (lm[:, 1] > 0).all() and (lm[:, 1] < h).all()
    assert sum(lab.landmarks_visible) > (150 if spec.accessories.mask else 300)
    x0, y0, x1, y1 = lab.face_box_xyxy_px
    assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
    # the driver's left eye (landmark 263) appears on the image's right of the right eye (33)
    assert lm[263, 0] > lm[33, 0] and lm[10, 1] < lm[1, 1] < lm[152, 1]


def test_closed_eye_lid_landmarks_meet_open_eye_apart():
    spec = _spec(1)
    lm_c = np.asarray(frame_label(spec, DriverPose(eye_openness_left=0.0, eye_openness_right=0.0), 0, 0).landmarks_px)
    lm_o = np.asarray(frame_label(spec, DriverPose(), 0, 0).landmarks_px)
    eye_w = np.linalg.norm(lm_o[33] - lm_o[133])
    for up, lo in ((159, 145), (386, 374)):
        assert np.linalg.norm(lm_c[up] - lm_c[lo]) < 0.06 * eye_w
        assert np.linalg.norm(lm_o[up] - lm_o[lo]) > 0.2 * eye_w
    lab = frame_label(spec, DriverPose(eye_openness_left=0.0, eye_openness_right=0.05), 0, 0)
    assert lab.eyes_closed and not frame_label(spec, DriverPose(eye_openness_left=0.0), 0, 0).eyes_closed


@pytest.mark.parametrize("crop", ["eye_left", "eye_right", "mouth", "face"])
def test_crop_boxes_contain_their_part(crop):
    spec = _spec(2)
    pose = DriverPose(head_yaw_deg=15, head_roll_deg=8, mouth_openness=0.5)
    uv, _ = project_landmarks(spec, pose, distort=False)
    cd = get_crop(crop)
    M = crop_transform(uv, cd)
    ids = {"eye_left": (362, 263, 386, 374), "eye_right": (33, 133, 159, 145), "mouth": (61, 291, 13, 14),
           "face": (1, 33, 263, 61, 291)}[crop]
    pts = transform_points(M, uv[list(ids)])
    assert (pts > 0).all() and (pts[:, 0] < cd.out_size[0]).all() and (pts[:, 1] < cd.out_size[1]).all()
    x0, y0, x1, y1 = crop_bbox(M, cd.out_size)
    assert ((uv[list(ids)] >= [x0, y0]) & (uv[list(ids)] <= [x1, y1])).all()
    lab = crop_label(spec, pose, crop, "nir", f"{crop}/0.png")
    assert lab.crop == crop and lab.modality == "nir" and lab.scene_id == spec.scene_id
    assert len(lab.landmarks_crop_px) == len(lab.attrs["landmark_ids"])


def test_gaze_vectors_unit_and_pointing_at_target():
    spec = _spec(4)
    cam = spec.camera_model()
    # looking at the camera: each eye's gaze vector points from that eye to the optical centre
    lab = frame_label(spec, DriverPose(gaze_target_m=tuple(cam.position_m)), 0, 0)
    ph0 = posed_head(spec, DriverPose(gaze_target_m=tuple(cam.position_m)))
    for side, g in (("left", lab.gaze_vec_left_cam), ("right", lab.gaze_vec_right_cam)):
        assert np.linalg.norm(g) == pytest.approx(1.0, abs=1e-5)
        e = cam.world_to_cam(ph0.eye_centers_world[side][None])[0]
        assert np.allclose(g, -e / np.linalg.norm(e), atol=1e-5)
    assert abs(lab.gaze_yaw_deg) < 10 and abs(lab.gaze_pitch_deg) < 10
    # target to the driver's left (+y cabin) -> image right -> yaw > 0; a target above -> pitch > 0
    ph = posed_head(spec, DriverPose())
    eye = ph.eye_centers_world["left"]
    left = frame_label(spec, DriverPose(gaze_target_m=tuple(eye + [0.6, 0.5, 0.0])), 0, 0)
    right = frame_label(spec, DriverPose(gaze_target_m=tuple(eye + [0.6, -0.5, 0.0])), 0, 0)
    up = frame_label(spec, DriverPose(gaze_target_m=tuple(eye + [0.6, 0.0, 0.5])), 0, 0)
    assert left.gaze_yaw_deg > right.gaze_yaw_deg + 30 and up.gaze_pitch_deg > lab.gaze_pitch_deg + 20
    # both eyes converge: their vectors differ for a near target
    near = frame_label(spec, DriverPose(gaze_target_m=tuple(eye + [0.25, -0.03, 0.0])), 0, 0)
    assert not np.allclose(near.gaze_vec_left_cam, near.gaze_vec_right_cam, atol=1e-3)
    # lizard movement (eyes only, relative to the head)
    liz = frame_label(spec, DriverPose(eye_yaw_deg=25.0), 0, 0)
    assert liz.gaze_yaw_deg > frame_label(spec, DriverPose(), 0, 0).gaze_yaw_deg + 15


def test_head_pose_labels_follow_driver_pose():
    spec = _spec(5)
    base = frame_label(spec, DriverPose(), 0, 0)
    turned = frame_label(spec, DriverPose(head_yaw_deg=30.0), 0, 0)
    down = frame_label(spec, DriverPose(head_pitch_deg=-20.0), 0, 0)
    assert turned.head_yaw_deg > base.head_yaw_deg + 20
    assert down.head_pitch_deg < base.head_pitch_deg - 12
    # the face turned to the driver's left moves the nose toward the image's right
    assert np.asarray(turned.landmarks_px)[1, 0] > np.asarray(base.landmarks_px)[1, 0]


def test_same_spec_and_seed_give_identical_label_json():
    a = _spec(7)
    b = _spec(7)
    pose = DriverPose(eye_openness_left=0.3, mouth_openness=0.7, yawn=True, head_yaw_deg=-12,
                      gaze_zone=GazeZone.INFOTAINMENT, gaze_target_m=(0.6, -0.4, 0.3), events=("yawn",))
    ja, jb = frame_label(a, pose, 5, 0.5).to_json(), frame_label(b, pose, 5, 0.5).to_json()
    assert ja == jb
    assert FrameLabel.from_dict(json.loads(ja)).to_json() == ja
    assert crop_label(a, pose, "mouth", "rgb", "m.png").to_json() == crop_label(b, pose, "mouth", "rgb", "m.png").to_json()
    assert frame_label(_spec(8), pose, 5, 0.5).to_json() != ja


def test_sampling_is_deterministic_and_round_trips():
    a, b = _spec(11), _spec(11)
    assert a == b and a.to_json() == b.to_json()
    assert _spec(12) != a
    d = json.loads(a.to_json())
    assert SceneSpec.from_dict(d) == a
    with pytest.raises(ValueError):
        SceneSpec.from_dict({**d, "bogus": 1})
    # sampled values cover the documented choices
    specs = [_spec(s) for s in range(40)]
    assert {s.lighting.time_of_day for s in specs} == {"day", "dusk", "night"}
    assert len({s.camera.mount for s in specs}) >= 4
    assert {s.nir.wavelength_nm for s in specs} == {850, 940}


def test_with_resolution_keeps_geometry():
    a = _spec(13)
    b = a.with_resolution(a.camera.width // 2, a.camera.height // 2)
    la = np.asarray(frame_label(dataclasses.replace(a, camera=dataclasses.replace(a.camera, dist=(0,) * 5)),
                                DriverPose(), 0, 0).landmarks_px)
    lb = np.asarray(frame_label(dataclasses.replace(b, camera=dataclasses.replace(b.camera, dist=(0,) * 5)),
                                DriverPose(), 0, 0).landmarks_px)
    assert np.allclose((la + 0.5) / 2 - 0.5, lb, atol=0.02)


@pytest.mark.parametrize("bad", [
    {"hfov_deg": (60.0, 40.0)}, {"hfov_deg": (0.0, 40.0)}, {"p_day": 1.5}, {"mounts": ["roof_rack"]},
    {"mounts": []}, {"age_years": (5.0, 30.0)}, {"resolutions": [(0, 480)]}, {"p_glasses_clear": 0.8,
                                                                               "p_sunglasses": 0.5},
    {"unknown_key": 1},
])
def test_impossible_ranges_rejected(bad):
    with pytest.raises(ConfigError):
        SamplingRanges.create(**bad)
    with pytest.raises(ValueError):
        SamplingRanges(**bad)


def test_restricted_ranges_are_respected():
    r = SamplingRanges(mounts=["rearview_mirror"], p_day=0.0, p_dusk=0.0, p_night=1.0, resolutions=[(320, 240)])
    for s in range(10):
        spec = sample_scene(np.random.default_rng(s), r)
        assert spec.camera.mount == "rearview_mirror" and spec.lighting.time_of_day == "night"
        assert (spec.camera.width, spec.camera.height) == (320, 240)
        assert frame_label(spec, DriverPose(), 0, 0).face_box_xyxy_px is not None


def test_face_mask_hides_lower_face_landmarks():
    spec = _spec(9)
    masked = dataclasses.replace(spec, accessories=dataclasses.replace(spec.accessories, mask=True))
    vis = np.asarray(frame_label(spec, DriverPose(), 0, 0).landmarks_visible)
    vis_m = np.asarray(frame_label(masked, DriverPose(), 0, 0).landmarks_visible)
    assert vis[13] and vis[152] and not vis_m[13] and not vis_m[152]   # lips and chin covered
    assert vis_m[159] == vis[159] and vis_m[386] == vis[386]           # eyes unaffected
    assert "mask" in frame_label(masked, DriverPose(), 0, 0).accessories


def test_smile_in_pose_extra_moves_the_labelled_mouth_corners():
    """The smile shape key (DriverPose.extra["smile"]) drives the labels exactly as the render: corners rise in
    the image (toward the eyes), the mouth stays closed."""
    spec = _spec(2)
    lm0 = np.asarray(frame_label(spec, DriverPose(), 0, 0).landmarks_px)
    lm1 = np.asarray(frame_label(spec, DriverPose(extra={"smile": 1.0}), 0, 0).landmarks_px)
    up = (lm0[168] - lm0[152]) / np.linalg.norm(lm0[168] - lm0[152])      # chin -> between the eyes, image px
    mouth_w = np.linalg.norm(lm0[61] - lm0[291])
    for c in (61, 291):
        assert np.dot(lm1[c] - lm0[c], up) > 0.04 * mouth_w
    assert np.linalg.norm(lm1[13] - lm1[14]) < 0.05 * mouth_w
    assert np.allclose(lm0[10], lm1[10])


@pytest.mark.parametrize("seed", [0, 3, 7])
def test_view_frame_gaze_is_zero_into_the_camera_and_inverts_to_camera_frame(seed):
    """The view-frame label is what an eye crop shows: an eye looking into the camera is (0, 0) in its crop
    whatever the head pose and wherever the eye sits in the image (its camera-frame angles are not), and the
    runtime's inversion from the crop geometry and intrinsics gives back the camera-frame label."""
    from dms.contracts.gaze import crop_geometry, gaze_angles, view_rotation, view_to_camera
    spec = _spec(seed)
    cam = spec.camera_model()
    checked = 0
    for head_yaw, head_pitch, head_roll in ((0.0, 0.0, 0.0), (25.0, -10.0, 12.0), (-20.0, 8.0, -15.0)):
        pose = DriverPose(head_yaw_deg=head_yaw, head_pitch_deg=head_pitch, head_roll_deg=head_roll,
                          gaze_target_m=tuple(cam.position_m))
        for crop in ("eye_left", "eye_right"):
            lab = crop_label(spec, pose, crop, "rgb", "x.png")
            yv, pv = lab.attrs["gaze_view_deg"]
            if max(abs(a) for a in lab.attrs["gaze_in_head_deg"]) > 45:   # beyond the eye's reach (clamped at
                continue                                                    # 50 deg): it cannot look at the camera
            checked += 1
            assert abs(yv) < 1.5 and abs(pv) < 1.5   # into the camera (up to the crop centre - eyeball offset)
            # the runtime's inversion (landmarks -> crop geometry -> view rotation) recovers the camera frame
            lm, _ = project_landmarks(spec, pose, distort=False)
            ctr, roll = crop_geometry(crop_transform(lm, get_crop(crop)), get_crop(crop).out_size)
            assert np.degrees(roll) == pytest.approx(lab.attrs["crop_roll_deg"], abs=1e-3)
            back = view_to_camera(yv, pv, view_rotation(ctr, cam.K, roll))
            cam_deg = gaze_angles(lab.attrs["gaze_vec_cam"])
            assert back == pytest.approx(cam_deg, abs=0.01)
    assert checked >= 4
    # a target beside the camera on the driver's left (+y): the view-frame yaw points to the image's right
    eye = posed_head(spec, DriverPose()).eye_centers_world["left"]
    off = crop_label(spec, DriverPose(gaze_target_m=tuple(np.asarray(cam.position_m) + [0.0, 0.3, 0.0])),
                     "eye_left", "rgb", "x.png")
    assert off.attrs["gaze_view_deg"][0] > 5.0, (eye, off.attrs)
