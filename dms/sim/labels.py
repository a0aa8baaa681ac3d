"""Exact labels from the scene description by projection (never from pixels). Pure numpy, no bpy.

:func:`posed_head` is the single source of the posed driver head (mesh vertices, eyeball centres and rotations,
head transform) used both here and by the Blender view, so landmarks and pixels agree by construction.

Head placement: ``world = R_head @ p_head + t_head`` with ``R_head = N_FORWARD @ ypr(yaw, pitch, roll)`` rotating
about the neck pivot :data:`NECK_PIVOT_HEAD_M` (head-local), see :mod:`dms.sim.camera` for the angle convention.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dms.contracts import CropLabel, FrameLabel
from dms.contracts.gaze import camera_to_view, crop_geometry, view_rotation
from dms.data.crops import RIGHT_EYE_RING, LEFT_EYE_RING, crop_transform, get_crop, transform_points
from dms.sim.camera import (D_FACING, N_FORWARD, CameraModel, gaze_angles_from_vector, matrix_to_ypr,
                            ypr_to_matrix)
from dms.sim.head import HeadGeometry, head_model, key_weights, pose_smile, pose_tongue
from dms.sim.pose import DriverPose
from dms.sim.spec import SceneSpec

NECK_PIVOT_HEAD_M = np.array([0.0, -0.075, -0.055])   # ~ atlanto-occipital joint, head-local
EYE_CLOSED_THRESHOLD = 0.2                              # openness below which an eye counts as closed
MAX_EYE_ROTATION_DEG = 50.0
#: the upper lid follows vertical gaze (as real lids do: looking down narrows the fissure, looking up widens it):
#: rendered aperture = openness * clip(1 + LID_FOLLOW_PER_DEG * eye pitch in the head, LID_FOLLOW_RANGE)
LID_FOLLOW_PER_DEG = 0.013
LID_FOLLOW_RANGE = (0.55, 1.25)
MOUTH_LIP_IDS = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185,
                 78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191)
FACE_KEY_IDS = (33, 133, 362, 263, 1, 61, 291, 152, 10, 234, 454)


@dataclass
class PosedHead:
    geometry: HeadGeometry
    weights: dict[str, float]
    vertices_head: np.ndarray          # V x 3 deformed, head-local
    R_head: np.ndarray                 # 3x3 cabin_from_head
    t_head: np.ndarray                 # 3
    eye_centers_world: dict[str, np.ndarray]
    eye_R_head: dict[str, np.ndarray]  # eyeball rotation in the head frame (rest optical axis = head +z)
    gaze_world: dict[str, np.ndarray]  # unit gaze direction per eye, cabin frame
    eye_openness: dict[str, float] = field(default_factory=dict)   # rendered aperture per eye (lid follow incl.)

    def gaze_in_head_deg(self, side: str) -> tuple[float, float]:
        """(yaw, pitch) of ``side``'s gaze relative to the head, in the camera convention of a camera the face
        looks straight into: yaw > 0 toward the subject's left (the image's right), pitch > 0 up."""
        return gaze_angles_from_vector(D_FACING @ (self.eye_R_head[side] @ np.array([0.0, 0.0, 1.0])))

    def to_world(self, p_head: np.ndarray) -> np.ndarray:
        return np.asarray(p_head) @ self.R_head.T + self.t_head

    @property
    def vertices_world(self) -> np.ndarray:
        return self.to_world(self.vertices_head)


def head_geometry(spec: SceneSpec) -> HeadGeometry:
    idn = spec.identity
    return head_model().geometry(idn.shape, hair_length=idn.hair_length, hair_volume_m=idn.hair_volume_m,
                                 hairline=idn.hairline, canthus_depth=idn.canthus_depth)


def head_transform(spec: SceneSpec, pose: DriverPose) -> tuple[np.ndarray, np.ndarray]:
    R = N_FORWARD @ ypr_to_matrix(pose.head_yaw_deg, pose.head_pitch_deg, pose.head_roll_deg)
    rest = spec.head_rest_position_m()
    pivot_world = rest + N_FORWARD @ NECK_PIVOT_HEAD_M
    t = pivot_world - R @ NECK_PIVOT_HEAD_M
    return R, t


def _eye_rotation(d_head: np.ndarray) -> np.ndarray:
    d = d_head / np.linalg.norm(d_head)
    yaw = np.degrees(np.arctan2(d[0], d[2]))
    pitch = np.degrees(np.arcsin(np.clip(d[1], -1, 1)))
    lim = MAX_EYE_ROTATION_DEG
    return ypr_to_matrix(float(np.clip(yaw, -lim, lim)), float(np.clip(pitch, -lim, lim)), 0.0)


def lid_follow(openness: float, eye_pitch_in_head_deg: float) -> float:
    """Rendered eyelid aperture of an eye with ``openness`` looking ``eye_pitch_in_head_deg`` up (+) / down (-)."""
    f = float(np.clip(1.0 + LID_FOLLOW_PER_DEG * eye_pitch_in_head_deg, *LID_FOLLOW_RANGE))
    return float(np.clip(openness * f, 0.0, 1.3))


def posed_head(spec: SceneSpec, pose: DriverPose) -> PosedHead:
    g = head_geometry(spec)
    R, t = head_transform(spec, pose)
    centers, eye_R, gaze = {}, {}, {}
    for side in ("left", "right"):
        c_head = g.eye_centers[side]
        c_world = R @ c_head + t
        if pose.gaze_target_m is not None:
            d_world = np.asarray(pose.gaze_target_m, dtype=np.float64) - c_world
            d_head = R.T @ d_world
        else:
            d_head = ypr_to_matrix(pose.eye_yaw_deg, pose.eye_pitch_deg, 0.0) @ np.array([0.0, 0.0, 1.0])
        Re = _eye_rotation(d_head)
        centers[side] = c_world
        eye_R[side] = Re
        gaze[side] = R @ (Re @ np.array([0.0, 0.0, 1.0]))
    op = {}
    for side, o in (("left", pose.eye_openness_left), ("right", pose.eye_openness_right)):
        d = eye_R[side] @ np.array([0.0, 0.0, 1.0])
        op[side] = lid_follow(o, float(np.degrees(np.arcsin(np.clip(d[1], -1, 1)))))
    w = key_weights(op["left"], op["right"], pose.mouth_openness, pose_smile(pose), pose_tongue(pose))
    v = g.deform(w)
    return PosedHead(g, w, v, R, t, centers, eye_R, gaze, op)


def project_landmarks(spec: SceneSpec, pose: DriverPose, distort: bool = True,
                      posed: PosedHead | None = None) -> tuple[np.ndarray, np.ndarray]:
    """468 x 2 landmark pixels (MediaPipe indexing) and 468 visibility flags (in front, in the image, facing
    the camera). ``distort=False`` gives the pinhole projection used for crop renders."""
    ph = posed or posed_head(spec, pose)
    cam = spec.camera_model()
    V = ph.vertices_world
    uv, z = cam.project(V[:468], distort=distort)
    # vertex normals of the face surface (face triangles only: indices < 468)
    T = ph.geometry.triangles
    T = T[(T < 468).all(axis=1)]
    P = V[:468]
    fn = np.cross(P[T[:, 1]] - P[T[:, 0]], P[T[:, 2]] - P[T[:, 0]])
    n = np.zeros_like(P)
    for k in range(3):
        np.add.at(n, T[:, k], fn)
    to_cam = np.asarray(cam.position_m) - P
    facing = (n * to_cam).sum(1) > 0
    inside = (uv[:, 0] >= -0.5) & (uv[:, 0] <= cam.width - 0.5) & (uv[:, 1] >= -0.5) & (uv[:, 1] <= cam.height - 0.5)
    visible = facing & inside & (z > 0) & np.isfinite(uv).all(axis=1)
    if spec.accessories.mask:   # a face mask hides the face from mid-nose down (same region the renderer covers)
        vh = ph.vertices_head[:468]
        visible &= ~((vh[:, 1] < vh[5, 1]) & (vh[:, 2] > -0.01))
    return uv, visible


def gaze_cam(spec: SceneSpec, ph: PosedHead, cam: CameraModel | None = None) -> dict[str, np.ndarray]:
    cam = cam or spec.camera_model()
    out = {}
    for side, g in ph.gaze_world.items():
        v = cam.world_dir_to_cam(g)
        out[side] = v / np.linalg.norm(v)
    return out


def head_angles_cam(ph: PosedHead, cam: CameraModel) -> tuple[float, float, float]:
    R_cam_head = cam.R.T @ ph.R_head
    return matrix_to_ypr(D_FACING.T @ R_cam_head)


def _r(x: float, nd: int = 4) -> float:
    return float(round(float(x), nd)) + 0.0


def frame_label(spec: SceneSpec, pose: DriverPose, frame_index: int, t_s: float) -> FrameLabel:
    """Per-frame ground truth for the full (distorted) camera frame."""
    cam = spec.camera_model()
    ph = posed_head(spec, pose)
    uv, vis = project_landmarks(spec, pose, distort=True, posed=ph)
    gz = gaze_cam(spec, ph, cam)
    mean = gz["left"] + gz["right"]
    gyaw, gpitch = gaze_angles_from_vector(mean)
    hy, hp, hr = head_angles_cam(ph, cam)
    ok = np.isfinite(uv).all(axis=1)
    box = None
    if ok.any():
        x0, y0 = np.clip(uv[ok].min(0), 0, [cam.width - 1, cam.height - 1])
        x1, y1 = np.clip(uv[ok].max(0), 0, [cam.width - 1, cam.height - 1])
        if x1 > x0 and y1 > y0:
            box = (_r(x0, 2), _r(y0, 2), _r(x1, 2), _r(y1, 2))
    eo_l = float(np.clip(ph.eye_openness["left"], 0, 1))     # the rendered apertures (lid follow included)
    eo_r = float(np.clip(ph.eye_openness["right"], 0, 1))
    lm = tuple((_r(u, 3), _r(v, 3)) if np.isfinite(u) else (-1.0, -1.0) for u, v in uv)
    return FrameLabel(
        frame_index=int(frame_index), t_s=_r(t_s, 6), eye_openness_left=_r(eo_l), eye_openness_right=_r(eo_r),
        eyes_closed=bool(eo_l < EYE_CLOSED_THRESHOLD and eo_r < EYE_CLOSED_THRESHOLD),
        mouth_openness=_r(pose.mouth_openness), yawn=bool(pose.yawn), gaze_zone=pose.gaze_zone,
        gaze_vec_left_cam=tuple(_r(x, 6) for x in gz["left"]), gaze_vec_right_cam=tuple(_r(x, 6) for x in gz["right"]),
        gaze_yaw_deg=_r(gyaw), gaze_pitch_deg=_r(gpitch), head_yaw_deg=_r(hy), head_pitch_deg=_r(hp),
        head_roll_deg=_r(hr), hand_left=pose.hand_left, hand_right=pose.hand_right,
        phone_present=pose.phone_in_hand is not None, accessories=spec.accessories.names, face_box_xyxy_px=box,
        landmarks_px=lm, landmarks_visible=tuple(bool(x) for x in vis), events=tuple(pose.events))


def crop_kind(crop_name: str) -> tuple[str, str]:
    if crop_name.startswith("eye_"):
        return "eye", crop_name.split("_", 1)[1]
    if crop_name in ("mouth", "face"):
        return crop_name, ""
    raise KeyError(f"no label rule for crop {crop_name!r}")


def pupil_px(spec: SceneSpec, ph: PosedHead, side: str, distort: bool = False) -> np.ndarray:
    """Pixel position of the pupil centre (cornea apex) of one eye."""
    from dms.sim.head import CORNEA_OFFSET_M, CORNEA_RADIUS_M
    apex = ph.eye_centers_world[side] + ph.gaze_world[side] * (CORNEA_OFFSET_M + CORNEA_RADIUS_M)
    return spec.camera_model().project(apex[None], distort=distort)[0][0]


def crop_label(spec: SceneSpec, pose: DriverPose, crop_name: str, modality: str, file: str,
               size: int | tuple[int, int] | None = None) -> CropLabel:
    """Ground truth of one crop render (pinhole geometry, cut with dms.data.crops from projected landmarks).

    ``size``: the crop's output size when it was rendered with a non-default size (as ``render_crops(size=)``),
    so ``landmarks_crop_px`` are in that crop's pixels."""
    if modality not in ("rgb", "nir"):
        raise ValueError(f"modality must be 'rgb' or 'nir', got {modality!r}")
    kind, side = crop_kind(crop_name)
    cam = spec.camera_model()
    ph = posed_head(spec, pose)
    uv, _ = project_landmarks(spec, pose, distort=False, posed=ph)
    cd = get_crop(crop_name)
    if size is not None:
        cd = cd.with_size(*((int(size), int(size)) if isinstance(size, (int, np.integer)) else tuple(size)))
    M = crop_transform(uv, cd)
    hy, hp, hr = head_angles_cam(ph, cam)
    attrs: dict = {"crop_def": cd.to_dict()}
    kw: dict = dict(file=file, kind=kind, crop=crop_name, modality=modality, side=side, scene_id=spec.scene_id,
                    head_yaw_deg=_r(hy), head_pitch_deg=_r(hp), head_roll_deg=_r(hr),
                    accessories=spec.accessories.names, camera_mount=spec.camera.mount)
    if kind == "eye":
        o = float(np.clip(ph.eye_openness[side], 0, 1))
        g = gaze_cam(spec, ph, cam)[side]
        gy, gp = gaze_angles_from_vector(g)
        attrs["gaze_in_head_deg"] = [_r(x) for x in ph.gaze_in_head_deg(side)]
        ids = LEFT_EYE_RING if side == "left" else RIGHT_EYE_RING
        pts = transform_points(M, uv[list(ids)])
        pp = transform_points(M, pupil_px(spec, ph, side)[None])[0]
        # view frame: the gaze relative to the ray through the crop centre, in the crop's rotated axes (what the
        # crop shows; dms.contracts.gaze). The runtime inverts it from the same landmarks and intrinsics.
        ctr, roll = crop_geometry(M, cd.out_size)
        yv, pv = camera_to_view(g, view_rotation(ctr, cam.K, roll))
        attrs.update(landmark_ids=list(ids), pupil_crop_px=[_r(pp[0], 3), _r(pp[1], 3)],
                     gaze_vec_cam=[_r(x, 6) for x in g], gaze_view_deg=[_r(yv), _r(pv)],
                     crop_center_px=[_r(ctr[0], 3), _r(ctr[1], 3)], crop_roll_deg=_r(np.degrees(roll)))
        kw.update(eye_openness=_r(o), eye_closed=bool(o < EYE_CLOSED_THRESHOLD), gaze_yaw_deg=_r(gy),
                  gaze_pitch_deg=_r(gp))
    elif kind == "mouth":
        pts = transform_points(M, uv[list(MOUTH_LIP_IDS)])
        attrs["landmark_ids"] = list(MOUTH_LIP_IDS)
        kw.update(mouth_openness=_r(pose.mouth_openness), yawn=bool(pose.yawn))
        attrs["hand_over_mouth"] = bool(pose.hand_over_mouth)
    else:
        pts = transform_points(M, uv[list(FACE_KEY_IDS)])
        attrs["landmark_ids"] = list(FACE_KEY_IDS)
        eo_l = float(np.clip(ph.eye_openness["left"], 0, 1))
        eo_r = float(np.clip(ph.eye_openness["right"], 0, 1))
        gy, gp = gaze_angles_from_vector(sum(gaze_cam(spec, ph, cam).values()))
        kw.update(eye_openness=_r(min(eo_l, eo_r)), eye_closed=bool(max(eo_l, eo_r) < EYE_CLOSED_THRESHOLD),
                  mouth_openness=_r(pose.mouth_openness), yawn=bool(pose.yawn), gaze_yaw_deg=_r(gy),
                  gaze_pitch_deg=_r(gp), hand_left=pose.hand_left, hand_right=pose.hand_right,
                  phone_present=pose.phone_in_hand is not None)
    kw["landmarks_crop_px"] = tuple((_r(a, 3), _r(b, 3)) for a, b in pts)
    kw["attrs"] = attrs
    return CropLabel(**kw)
