"""Fixtures for runtime tests: tiny contract-following ONNX models and a scripted face front end (no MediaPipe)."""
from __future__ import annotations

import numpy as np
import pytest

from dms.contracts import Frame
from dms.runtime.face.base import FaceFrontEnd, FaceObservation
from dms.runtime.testing import write_model_set

W, H = 160, 120


def synthetic_landmarks(cx: float = 80.0, cy: float = 60.0, eye_dx: float = 22.0) -> np.ndarray:
    """468 landmarks of a frontal face: key points placed anatomically, the rest around the nose."""
    rng = np.random.default_rng(0)
    lm = np.column_stack([cx + rng.uniform(-20, 20, 468), cy + rng.uniform(-25, 30, 468)]).astype(np.float32)
    ey = cy - 12
    pts = {33: (cx - eye_dx - 9, ey), 133: (cx - eye_dx + 9, ey), 362: (cx + eye_dx - 9, ey),
           263: (cx + eye_dx + 9, ey), 159: (cx - eye_dx, ey - 3), 145: (cx - eye_dx, ey + 3),
           386: (cx + eye_dx, ey - 3), 374: (cx + eye_dx, ey + 3), 1: (cx, cy + 2), 152: (cx, cy + 38),
           61: (cx - 14, cy + 20), 291: (cx + 14, cy + 20), 13: (cx, cy + 18), 14: (cx, cy + 22),
           10: (cx, cy - 40), 234: (cx - 38, ey), 454: (cx + 38, ey)}
    for i, p in pts.items():
        lm[i] = p
    return lm


class ScriptedFrontEnd(FaceFrontEnd):
    """Returns a fixed face (or none when the frame's top-left pixel is 0: 'no face' frames)."""
    name = "scripted"

    def __init__(self, delay_s: float = 0.0):
        self.lm = synthetic_landmarks()
        self.delay_s = delay_s
        self.calls = 0
        self.resets = 0

    def process(self, image, t_ns=None):
        import time
        self.calls += 1
        if self.delay_s:
            time.sleep(self.delay_s)
        if int(np.asarray(image).reshape(-1)[0]) == 0:
            return []
        return [FaceObservation(self.lm.copy(), (40.0, 20.0, 120.0, 100.0), 0.95)]

    def reset(self):
        self.resets += 1


def face_frame(t_ns: int, eye_value: int = 255, frame_id: int = 0, background: int = 128) -> Frame:
    """BGR frame; the eye regions are filled with ``eye_value`` (probe eye model: bright = open)."""
    img = np.full((H, W, 3), background, np.uint8)
    img[38:58, 45:70] = eye_value
    img[38:58, 90:115] = eye_value
    return Frame(image=img, t_ns=t_ns, frame_id=frame_id)


def no_face_frame(t_ns: int, frame_id: int = 0) -> Frame:
    img = np.full((H, W, 3), 128, np.uint8)
    img[0, 0] = 0
    return Frame(image=img, t_ns=t_ns, frame_id=frame_id)


@pytest.fixture
def models_dir(tmp_path):
    return write_model_set(tmp_path / "models")


@pytest.fixture
def frontend():
    return ScriptedFrontEnd()
