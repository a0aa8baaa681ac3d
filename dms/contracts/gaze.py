"""The gaze-angle convention, once: (yaw, pitch) degrees <-> unit direction in OpenCV camera axes.

yaw > 0 toward the image's right, pitch > 0 up, (0, 0) = into the camera; vectors point from the eye (x right,
y down, z forward). Used by labels (dms.sim), metrics (dms.eval) and head-pose composition (dms.runtime).
"""
from __future__ import annotations

import numpy as np


def gaze_vector(yaw_deg, pitch_deg) -> np.ndarray:
    """(yaw, pitch) degrees (scalars or arrays) -> unit vectors [..., 3]."""
    y, p = np.radians(np.asarray(yaw_deg, np.float64)), np.radians(np.asarray(pitch_deg, np.float64))
    return np.stack([np.cos(p) * np.sin(y), -np.sin(p), -np.cos(p) * np.cos(y)], axis=-1)


def gaze_angles(v) -> tuple[float, float]:
    """A direction (any length) -> (yaw, pitch) degrees; inverse of :func:`gaze_vector`."""
    g = np.asarray(v, dtype=np.float64)
    yaw = np.degrees(np.arctan2(g[0], -g[2]))
    pitch = np.degrees(np.arctan2(-g[1], np.hypot(g[0], g[2])))
    return float(yaw), float(pitch)


# ------------------------------------------------------------------------------------------------ view frame
# An eye crop shows the gaze relative to the *viewing ray* through the eye (the direction from the camera to the
# eye), in the crop's own rotated axes - not relative to the camera's optical axis (an eye at the image's edge
# looking into the camera is (0, 0) in its crop, but ~25 deg off the axis) and not relative to the head. This is
# the "normalised camera" of appearance-based gaze estimation (Zhang, Sugano & Bulling, ETRA 2018): the camera
# virtually rotated to look straight at the crop centre, rolled like the crop. Real eye-crop sets label gaze this
# way ("(0, 0) = into the camera"), the simulator writes it (``attrs["gaze_view_deg"]``), and the runtime maps a
# model's view-frame output back to the camera frame with :func:`view_to_camera`.

def crop_geometry(M, out_size) -> tuple[np.ndarray, float]:
    """A crop's 2x3 image->crop similarity ``M`` (dms.data.crops.crop_transform) and its output size (w, h) ->
    (the image pixel at the crop centre, the crop's in-plane rotation in radians; image axes, y down)."""
    M = np.asarray(M, dtype=np.float64)
    A, t = M[:, :2], M[:, 2]
    c = np.array([(out_size[0] - 1) / 2.0, (out_size[1] - 1) / 2.0])
    return np.linalg.solve(A, c - t), float(np.arctan2(-M[1, 0], M[0, 0]))


def view_rotation(center_px, K, roll_rad: float = 0.0) -> np.ndarray:
    """3x3 rotation camera axes -> view axes of a crop centred on image pixel ``center_px`` (pinhole ``K``),
    rotated in-plane by ``roll_rad`` (the crop's rotation, :func:`crop_geometry`). View axes: z along the ray from
    the camera through the crop centre, x/y the crop's right/down."""
    K = np.asarray(K, dtype=np.float64)
    z = np.linalg.solve(K, np.array([float(center_px[0]), float(center_px[1]), 1.0]))
    z /= np.linalg.norm(z)
    y = np.cross(z, np.array([1.0, 0.0, 0.0]))
    y /= np.linalg.norm(y)
    x = np.cross(y, z)
    R = np.stack([x, y, z])                              # rows: view axes in camera coordinates
    c, s = np.cos(roll_rad), np.sin(roll_rad)
    Rz = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])   # the crop's rotation by -roll (y down)
    return Rz @ R


def camera_to_view(g_cam, R_view) -> tuple[float, float]:
    """Camera-frame gaze direction -> view-frame (yaw, pitch) degrees (0, 0 = into the camera)."""
    return gaze_angles(np.asarray(R_view) @ np.asarray(g_cam, dtype=np.float64))


def view_to_camera(yaw_deg: float, pitch_deg: float, R_view) -> tuple[float, float]:
    """View-frame (yaw, pitch) (an eye crop model's output) -> camera-frame (yaw, pitch) degrees."""
    return gaze_angles(np.asarray(R_view).T @ gaze_vector(yaw_deg, pitch_deg))
