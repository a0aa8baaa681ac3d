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
