"""Head pose from face landmarks: solvePnP against a 3D reference face.

Reference points: the MediaPipe canonical face mesh when the simulator ships it
(``cabin_assets/head/canonical_face_mesh.npy`` / ``.npz`` / ``.obj``: 468 vertices, centimetres, y up, z toward the
viewer as in MediaPipe's ``canonical_face_model.obj``), otherwise a standard 6-point anthropometric model
(nose tip, chin, outer eye corners, mouth corners). The reference is in the OpenCV head frame used here: x toward
the image's right for a frontal face, y down, z away from the camera, metres, origin at the nose tip.

Angles follow ``dms.contracts``: yaw > 0 = the face turns toward the image's right, pitch > 0 = up, roll > 0 =
clockwise in the image. They are computed from the rotated face direction (no Euler-order ambiguity).
"""
from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Optional

import numpy as np

from dms.contracts import CameraInfo, HeadPose
from dms.contracts.gaze import gaze_angles, gaze_vector

log = logging.getLogger(__name__)

# MediaPipe index -> metres, OpenCV head frame. Average adult proportions (interocular outer ~90 mm).
STANDARD_POINTS = {
    1: (0.0, 0.0, 0.0),            # nose tip
    152: (0.0, 0.066, 0.013),      # chin
    33: (-0.045, -0.034, 0.027),   # driver's right eye outer corner (image left)
    263: (0.045, -0.034, 0.027),   # driver's left eye outer corner (image right)
    61: (-0.030, 0.030, 0.025),    # mouth corner (image left)
    291: (0.030, 0.030, 0.025),    # mouth corner (image right)
}
# Stable (non-deforming) canonical-mesh points used when the full mesh is available.
CANONICAL_IDS = (1, 4, 6, 33, 133, 362, 263, 168, 197, 195, 5, 234, 454, 10, 152, 61, 291, 98, 327)

ASSET_DIR = Path(__file__).resolve().parents[2] / "cabin_assets" / "head"


def _load_canonical(asset_dir: Path = ASSET_DIR) -> Optional[np.ndarray]:
    """468x3 canonical mesh in the OpenCV head frame (metres) or None."""
    verts = None
    for name in ("canonical_face_mesh.npy", "canonical_face_mesh.npz", "canonical_face_model.obj"):
        p = asset_dir / name
        if not p.is_file():
            continue
        try:
            if p.suffix == ".npy":
                verts = np.load(p)
            elif p.suffix == ".npz":
                z = np.load(p)
                verts = z[z.files[0]]
            else:
                rows = [ln.split()[1:4] for ln in p.read_text().splitlines() if ln.startswith("v ")]
                verts = np.array(rows, dtype=np.float64)
        except (OSError, ValueError) as e:
            log.warning("cannot read canonical face mesh %s: %s", p, e)
            verts = None
        if verts is not None:
            break
    if verts is None or verts.ndim != 2 or verts.shape[0] < 468 or verts.shape[1] < 3:
        return None
    v = np.asarray(verts[:468, :3], dtype=np.float64) * 0.01          # cm -> m
    v = v * np.array([1.0, -1.0, -1.0])                                # y up, z to viewer -> OpenCV
    return v - v[1]                                                     # origin at the nose tip


def camera_matrix(width: int, height: int, camera: Optional[CameraInfo] = None) -> tuple[np.ndarray, np.ndarray]:
    """(K, distortion) for a ``width`` x ``height`` image: the camera's calibration scaled to the image when
    known, else ~60 deg horizontal field of view with a centred principal point and no distortion."""
    if camera is not None and camera.K is not None:
        sx, sy = width / camera.width, height / camera.height
        K = np.array(camera.K, dtype=np.float64)
        K[0] *= sx
        K[1] *= sy
        return K, np.array(camera.dist, dtype=np.float64)
    f = width / (2 * math.tan(math.radians(30.0)))
    return np.array([[f, 0, (width - 1) / 2], [0, f, (height - 1) / 2], [0, 0, 1]], dtype=np.float64), np.zeros(5)


class HeadPoseEstimator:
    """Stateful (reuses the previous solution as the initial guess in VIDEO/LIVE mode)."""

    def __init__(self, use_canonical: bool = True):
        canon = _load_canonical() if use_canonical else None
        if canon is not None:
            self.ids = np.array(CANONICAL_IDS)
            self.model_pts = canon[self.ids]
            self.reference = "canonical_face_mesh"
        else:
            self.ids = np.array(list(STANDARD_POINTS))
            self.model_pts = np.array(list(STANDARD_POINTS.values()), dtype=np.float64)
            self.reference = "standard_6_point"
        self._rvec: Optional[np.ndarray] = None
        self._tvec: Optional[np.ndarray] = None
        self._K_key = None
        self._K = None
        self._dist = np.zeros(5)

    def reset(self) -> None:
        self._rvec = self._tvec = None

    def _intrinsics(self, width: int, height: int, camera: Optional[CameraInfo]):
        key = (width, height, id(camera) if camera is not None else None)
        if key != self._K_key:
            K, self._dist = camera_matrix(width, height, camera)
            self._K, self._K_key = K, key
        return self._K

    def estimate(self, landmarks_px: np.ndarray, width: int, height: int, camera: Optional[CameraInfo] = None,
                 track: bool = True) -> Optional[HeadPose]:
        import cv2
        K = self._intrinsics(width, height, camera)
        img_pts = np.asarray(landmarks_px, dtype=np.float64)[self.ids, :2]
        guess = track and self._rvec is not None
        ok, rvec, tvec = cv2.solvePnP(self.model_pts, img_pts, K, self._dist,
                                      rvec=self._rvec.copy() if guess else None,
                                      tvec=self._tvec.copy() if guess else None,
                                      useExtrinsicGuess=guess, flags=cv2.SOLVEPNP_ITERATIVE)
        if not ok or not np.all(np.isfinite(rvec)) or not np.all(np.isfinite(tvec)) or tvec[2, 0] <= 0:
            self.reset()
            return None
        if track:
            self._rvec, self._tvec = rvec, tvec
        R, _ = cv2.Rodrigues(rvec)
        yaw, pitch, roll = angles_from_rotation(R)
        return HeadPose(yaw_deg=yaw, pitch_deg=pitch, roll_deg=roll,
                        t_cam_m=(float(tvec[0, 0]), float(tvec[1, 0]), float(tvec[2, 0])))


def angles_from_rotation(R: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) degrees of a head->camera rotation in the dms convention."""
    f = R @ np.array([0.0, 0.0, -1.0])       # face direction (toward the camera when frontal)
    x = R @ np.array([1.0, 0.0, 0.0])        # head x axis
    yaw = math.degrees(math.atan2(f[0], -f[2]))
    pitch = math.degrees(math.atan2(-f[1], math.hypot(f[0], f[2])))
    roll = math.degrees(math.atan2(x[1], x[0]))
    return yaw, pitch, roll


def rotation_from_angles(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """Inverse of :func:`angles_from_rotation` (for tests and synthetic data): roll about the view axis, then
    pitch, then yaw, in the dms convention."""
    y, p, r = (math.radians(v) for v in (yaw_deg, pitch_deg, roll_deg))
    Rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    # pitch up (face direction -z tilts toward -y): rotation about x
    Rx = np.array([[1, 0, 0], [0, math.cos(p), math.sin(p)], [0, -math.sin(p), math.cos(p)]])
    # yaw toward +x: rotation about y
    Ry = np.array([[math.cos(y), 0, -math.sin(y)], [0, 1, 0], [math.sin(y), 0, math.cos(y)]])
    return Ry @ Rx @ Rz


def compose_gaze(head: HeadPose, eye_yaw_deg: float, eye_pitch_deg: float) -> tuple[float, float]:
    """Camera-frame gaze (yaw, pitch) of an eye-in-head gaze (the eye crop models' output: relative to the face,
    (0, 0) = straight ahead of it) for a head at ``head`` (relative to the camera). Exact rotation composition:
    e.g. a head turned 20 deg toward the image's right with eyes turned back 20 deg looks into the camera."""
    R = rotation_from_angles(head.yaw_deg, head.pitch_deg, head.roll_deg)
    return gaze_angles(R @ gaze_vector(eye_yaw_deg, eye_pitch_deg))
