"""Camera geometry of the simulator: mounts, intrinsics, extrinsics, projection, OpenCV <-> Blender conversion.

Conventions (documented once here, used by spec, labels and the Blender view):

* **Cabin frame** (= Blender world): metres, right-handed, ISO 8855-like: x forward (driving direction),
  y to the driver's left, z up. Origin: the driver's seat reference point (H-point) of the sampled cabin.
* **Camera frame**: OpenCV, x right, y down, z forward (optical axis). ``R_world_from_cam`` maps camera-frame
  vectors into the cabin frame; ``position_m`` is the optical centre in the cabin frame.
* **Pixels**: (0, 0) is the centre of the top-left pixel, u right, v down (as in ``dms.contracts``).
* **Blender camera**: looks down its local -Z with +Y up, so ``R_blender = R_cv @ diag(1, -1, -1)``.
  ``bpy_extras.object_utils.world_to_camera_view`` returns (x, y) in [0, 1] from the frame's bottom-left
  *corner*, hence ``u = x * W - 0.5`` and ``v = (1 - y) * H - 0.5``. A test proves :func:`project_points`
  equals Blender's own projection.
* **Distortion**: OpenCV (k1, k2, p1, p2, k3) applied to normalised coordinates. Blender renders the pinhole
  image; the facade warps full frames into the distorted image (crops are rendered pinhole, see render.py).

Pure numpy; may import dms.contracts.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from dms.contracts import CameraInfo
from dms.contracts.gaze import gaze_angles

R_BLENDER_FROM_CV = np.diag([1.0, -1.0, -1.0])
SENSOR_WIDTH_MM = 36.0   # Blender sensor width used with sensor_fit HORIZONTAL (any value works; lens scales)


@dataclass(frozen=True)
class MountSpec:
    """A camera mount used in real cars: nominal optical centre (cabin frame, m) and a jitter half-range.

    ``target_m`` (cabin frame, relative to the H-point, moved with the seat) is the aim point of mounts that do
    not look at the face (None = aim at the head); ``hfov_deg`` / ``roll_deg`` replace the sampled HFOV / roll
    ranges for mounts with their own lens and bracket (None = the scene's ``hfov_deg`` / ``camera_roll_deg``)."""
    name: str
    position_m: tuple[float, float, float]
    jitter_m: tuple[float, float, float]
    description: str
    target_m: Optional[tuple[float, float, float]] = None
    target_jitter_m: float = 0.0
    hfov_deg: Optional[tuple[float, float]] = None
    roll_deg: Optional[tuple[float, float]] = None


# Nominal positions relative to the driver's H-point for a left-hand-drive car (driver's right = -y).
MOUNTS: dict[str, MountSpec] = {
    "steering_column": MountSpec("steering_column", (0.57, 0.0, 0.455), (0.03, 0.02, 0.012),
                                 "on the column cowl, looking up through the gap between hub and rim"),
    "cluster": MountSpec("cluster", (0.66, 0.0, 0.52), (0.03, 0.03, 0.02), "top of the instrument cluster"),
    "rearview_mirror": MountSpec("rearview_mirror", (0.55, -0.38, 0.86), (0.04, 0.04, 0.03),
                                 "under the rear-view mirror, looking down and across"),
    "a_pillar": MountSpec("a_pillar", (0.45, 0.46, 0.74), (0.04, 0.03, 0.04), "driver-side A-pillar"),
    "center_console": MountSpec("center_console", (0.60, -0.34, 0.40), (0.04, 0.04, 0.03),
                                "centre stack / infotainment bezel"),
    # side view of the whole driver from the passenger side (State Farm-like): across the cabin at the passenger
    # window, about shoulder height, looking across and a little down at the driver's right side with a long lens:
    # head in the upper-left third with the (bright) driver's window above it, seat back on the left, wheel at the
    # right edge, knees at the bottom right (fitted to State Farm's framing: head (0.33, 0.17), shoulder
    # (0.38, 0.35), hips (0.48, 0.85), knees (0.9, 0.68), wheel centre (0.97, 0.3) of the image)
    "passenger_window": MountSpec("passenger_window", (-0.12, -1.30, 0.52), (0.12, 0.15, 0.10),
                                  "passenger side at the window, about shoulder height, looking across (and a "
                                  "little down) at the driver's right side, rolled so the wheel sits high on the "
                                  "right (as in State Farm's frames)",
                                  target_m=(0.03, 0.0, 0.40), target_jitter_m=0.05, hfov_deg=(38.0, 50.0),
                                  roll_deg=(7.0, 18.0)),
}
# the same place and bracket with a wide lens: the whole driver at State Farm's scale (head about 1/6 of the frame
# width, knees and the window above in view) instead of filling the frame
MOUNTS["passenger_window_wide"] = dataclasses.replace(
    MOUNTS["passenger_window"], name="passenger_window_wide",
    description="passenger side at the window with a wide lens: the whole driver, window above and knees below, "
                "at State Farm's scale",
    target_m=(0.06, 0.0, 0.34), target_jitter_m=0.06, hfov_deg=(50.0, 62.0))
#: mounts that look at the driver's face (the default of scene sampling); side-view mounts are opt-in
FACE_MOUNTS: tuple[str, ...] = tuple(k for k, m in MOUNTS.items() if m.target_m is None)


def check_mounts(names: Sequence[str], what: str = "mounts") -> list[str]:
    """Validate a non-empty list of mount names (config validators); ValueError naming the unknown ones."""
    if not names:
        raise ValueError(f"{what} must not be empty")
    unknown = [m for m in names if m not in MOUNTS]
    if unknown:
        raise ValueError(f"unknown camera mounts {unknown}; known: {sorted(MOUNTS)}")
    return list(names)


def look_at(position_m: Sequence[float], target_m: Sequence[float], roll_deg: float = 0.0,
            up: Sequence[float] = (0.0, 0.0, 1.0)) -> np.ndarray:
    """R_world_from_cam (OpenCV axes) of a camera at ``position_m`` aiming at ``target_m``; roll about the
    optical axis (positive = image rotates clockwise, i.e. the camera rolls counter-clockwise)."""
    p = np.asarray(position_m, dtype=np.float64)
    z = np.asarray(target_m, dtype=np.float64) - p
    n = np.linalg.norm(z)
    if n < 1e-9:
        raise ValueError("camera target coincides with its position")
    z /= n
    upv = np.asarray(up, dtype=np.float64)
    x = np.cross(z, upv)               # right = forward x up  (y down = -up)
    if np.linalg.norm(x) < 1e-6:
        x = np.cross(z, np.array([1.0, 0.0, 0.0]))
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    R = np.stack([x, y, z], axis=1)
    if roll_deg:
        a = np.radians(roll_deg)
        c, s = np.cos(a), np.sin(a)
        Rz = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
        R = R @ Rz
    return R


def distort_normalized(xy: np.ndarray, dist: Sequence[float]) -> np.ndarray:
    """OpenCV radial-tangential model on normalised image coordinates (N x 2)."""
    k1, k2, p1, p2, k3 = (list(dist) + [0.0] * 5)[:5]
    x, y = xy[..., 0], xy[..., 1]
    r2 = x * x + y * y
    radial = 1 + k1 * r2 + k2 * r2 * r2 + k3 * r2 ** 3
    xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
    yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
    return np.stack([xd, yd], axis=-1)


def undistort_normalized(xy_d: np.ndarray, dist: Sequence[float], iterations: int = 20) -> np.ndarray:
    """Inverse of :func:`distort_normalized` by fixed-point iteration (accurate for DMS-range distortion)."""
    xy = np.array(xy_d, dtype=np.float64, copy=True)
    for _ in range(iterations):
        err = distort_normalized(xy, dist) - xy_d
        xy -= err
    return xy


@dataclass(frozen=True)
class CameraModel:
    """Pinhole camera + OpenCV distortion + pose in the cabin frame."""
    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    R_world_from_cam: tuple[tuple[float, float, float], ...]
    position_m: tuple[float, float, float]
    dist: tuple[float, float, float, float, float] = (0.0, 0.0, 0.0, 0.0, 0.0)
    name: str = ""

    @staticmethod
    def create(width: int, height: int, hfov_deg: float, position_m: Sequence[float], target_m: Sequence[float],
               roll_deg: float = 0.0, dist: Sequence[float] = (0, 0, 0, 0, 0),
               principal_offset_px: Sequence[float] = (0.0, 0.0), name: str = "") -> "CameraModel":
        if not (1.0 < hfov_deg < 170.0):
            raise ValueError(f"hfov_deg must be in (1, 170), got {hfov_deg}")
        fx = (width / 2.0) / np.tan(np.radians(hfov_deg) / 2.0)
        R = look_at(position_m, target_m, roll_deg)
        return CameraModel(int(width), int(height), float(fx), float(fx),
                           (width - 1) / 2.0 + float(principal_offset_px[0]),
                           (height - 1) / 2.0 + float(principal_offset_px[1]),
                           tuple(tuple(float(v) for v in row) for row in R),
                           tuple(float(v) for v in position_m), tuple(float(v) for v in (list(dist) + [0] * 5)[:5]),
                           name)

    # --- matrices -------------------------------------------------------------------------------------------
    @property
    def K(self) -> np.ndarray:
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def R(self) -> np.ndarray:
        return np.asarray(self.R_world_from_cam, dtype=np.float64)

    @property
    def T_cam_from_world(self) -> np.ndarray:
        T = np.eye(4)
        R = self.R
        T[:3, :3] = R.T
        T[:3, 3] = -R.T @ np.asarray(self.position_m)
        return T

    @property
    def hfov_deg(self) -> float:
        return float(np.degrees(2 * np.arctan((self.width / 2.0) / self.fx)))

    @property
    def has_distortion(self) -> bool:
        return any(abs(v) > 0 for v in self.dist)

    def to_camera_info(self) -> CameraInfo:
        return CameraInfo(width=self.width, height=self.height,
                          K=tuple(tuple(float(v) for v in r) for r in self.K), dist=tuple(self.dist),
                          T_cam_from_world=tuple(tuple(float(v) for v in r) for r in self.T_cam_from_world),
                          name=self.name)

    def with_size(self, width: int, height: int, cx: float, cy: float) -> "CameraModel":
        """Same optical geometry (fx, fy, pose) on a different pixel grid (used for overscan renders)."""
        return CameraModel(width, height, self.fx, self.fy, cx, cy, self.R_world_from_cam, self.position_m,
                           (0.0,) * 5, self.name)

    # --- transforms -----------------------------------------------------------------------------------------
    def world_to_cam(self, points_m: np.ndarray) -> np.ndarray:
        p = np.asarray(points_m, dtype=np.float64)
        return (p - np.asarray(self.position_m)) @ self.R

    def cam_dir_to_world(self, v_cam: np.ndarray) -> np.ndarray:
        return np.asarray(v_cam, dtype=np.float64) @ self.R.T

    def world_dir_to_cam(self, v_world: np.ndarray) -> np.ndarray:
        return np.asarray(v_world, dtype=np.float64) @ self.R

    def project(self, points_m: np.ndarray, distort: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Cabin-frame points (N x 3) -> (pixels N x 2, depth z_cam N). Points behind the camera get NaN px."""
        pc = self.world_to_cam(points_m)
        z = pc[..., 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            xy = pc[..., :2] / z[..., None]
        if distort and self.has_distortion:
            xy = distort_normalized(xy, self.dist)
        uv = np.stack([self.fx * xy[..., 0] + self.cx, self.fy * xy[..., 1] + self.cy], axis=-1)
        uv[z <= 1e-9] = np.nan
        return uv, z

    def undistort_pixels(self, uv: np.ndarray) -> np.ndarray:
        """Distorted pixels -> pinhole pixels of the same K."""
        uv = np.asarray(uv, dtype=np.float64)
        xy = np.stack([(uv[..., 0] - self.cx) / self.fx, (uv[..., 1] - self.cy) / self.fy], axis=-1)
        xy = undistort_normalized(xy, self.dist)
        return np.stack([self.fx * xy[..., 0] + self.cx, self.fy * xy[..., 1] + self.cy], axis=-1)

    # --- Blender --------------------------------------------------------------------------------------------
    def blender_params(self) -> dict:
        """Parameters of an equivalent Blender camera (pinhole part): lens, sensor, shift, 4x4 matrix_world."""
        mx = float(self.width)   # with sensor_fit HORIZONTAL, Blender's shift is in units of the image width
        M = np.eye(4)
        M[:3, :3] = self.R @ R_BLENDER_FROM_CV
        M[:3, 3] = self.position_m
        return {
            "lens_mm": self.fx * SENSOR_WIDTH_MM / self.width,
            "sensor_width_mm": SENSOR_WIDTH_MM,
            "sensor_fit": "HORIZONTAL",
            "pixel_aspect_x": 1.0, "pixel_aspect_y": self.fx / self.fy,
            "shift_x": ((self.width - 1) / 2.0 - self.cx) / mx,
            "shift_y": -((self.height - 1) / 2.0 - self.cy) / mx,
            "matrix_world": M,
            "resolution": (self.width, self.height),
        }

    def blender_ndc(self, points_m: np.ndarray) -> np.ndarray:
        """What ``world_to_camera_view`` returns (x, y in [0,1] from bottom-left, z = depth) — pinhole."""
        uv, z = self.project(points_m, distort=False)
        return np.stack([(uv[..., 0] + 0.5) / self.width, 1.0 - (uv[..., 1] + 0.5) / self.height, z], axis=-1)


def project_points(points_m: np.ndarray, camera: CameraModel, distort: bool = True) -> np.ndarray:
    """Cabin-frame points (N x 3, metres) -> pixel coordinates (N x 2), OpenCV convention (see module doc)."""
    return camera.project(points_m, distort=distort)[0]


# --- head / gaze angle conventions ----------------------------------------------------------------------------
# Head-local frame = MediaPipe canonical face: x = subject's left, y = up, z = out of the face.
# In the contracts' camera-frame convention the head angles (yaw, pitch, roll) are defined by
#   R_cam_from_head = D @ Ry(yaw) @ Rx(-pitch) @ Rz(-roll),  D = diag(1, -1, -1) (= facing the camera),
# so yaw > 0 turns the face toward the image's right, pitch > 0 up, roll > 0 clockwise in the image.
# The driver pose uses the same decomposition relative to the driver's forward pose:
#   R_cabin_from_head = N @ Ry(yaw) @ Rx(-pitch) @ Rz(-roll),  N = head axes when looking down the road.
D_FACING = np.diag([1.0, -1.0, -1.0])
N_FORWARD = np.array([[0.0, 0.0, 1.0],     # columns: head x (subject's left) -> cabin +y,
                      [1.0, 0.0, 0.0],     # head y (up) -> cabin +z, head z (forward) -> cabin +x
                      [0.0, 1.0, 0.0]])


def _rx(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]], dtype=np.float64)


def _ry(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]], dtype=np.float64)


def _rz(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]], dtype=np.float64)


def ypr_to_matrix(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """Ry(yaw) Rx(-pitch) Rz(-roll) in head-canonical axes (see the convention above)."""
    return _ry(np.radians(yaw_deg)) @ _rx(-np.radians(pitch_deg)) @ _rz(-np.radians(roll_deg))


def matrix_to_ypr(R: np.ndarray) -> tuple[float, float, float]:
    """Inverse of :func:`ypr_to_matrix` (pitch in (-90, 90))."""
    # R = Ry(a) Rx(b) Rz(c) with b = -pitch, c = -roll:  R[1,2] = -sin(b), R[0,2] = cos b sin a, R[2,2] = cos b cos a,
    # R[1,0] = cos b sin c, R[1,1] = cos b cos c
    b = float(np.arcsin(np.clip(-R[1, 2], -1.0, 1.0)))
    a = float(np.arctan2(R[0, 2], R[2, 2]))
    c = float(np.arctan2(R[1, 0], R[1, 1]))
    return float(np.degrees(a)), float(np.degrees(-b)), float(np.degrees(-c))


def gaze_angles_from_vector(g_cam: np.ndarray) -> tuple[float, float]:
    """Camera-frame gaze direction -> (yaw_deg, pitch_deg) in the contracts' convention ((0,0) = into camera)."""
    return gaze_angles(g_cam)
