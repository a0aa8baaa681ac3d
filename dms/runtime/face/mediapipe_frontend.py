"""MediaPipe FaceMesh front end (mediapipe 0.10.21 ``solutions.face_mesh``, bundled offline models).

VIDEO/LIVE (``t_ns`` given): FaceMesh runs in tracking mode — the landmarks of the previous frame define the
next crop, so the detector only runs when tracking is lost. IMAGE (``t_ns`` None): a separate static-image graph
runs detection on every call. Gray/NIR frames are replicated to three channels (MediaPipe wants RGB); BGR is
converted to RGB. ``score`` is 1.0 for a tracked face (the solutions API does not expose the presence score;
faces below ``min_tracking_confidence`` are dropped by the graph itself).
"""
from __future__ import annotations

import logging
from typing import Optional

import numpy as np

from dms.errors import DmsError
from dms.runtime.face.base import FaceFrontEnd, FaceObservation

log = logging.getLogger(__name__)


class MediaPipeFrontEnd(FaceFrontEnd):
    name = "mediapipe"

    def __init__(self, max_faces: int = 1, refine_landmarks: bool = True, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5, rgb_input: bool = False):
        try:
            import mediapipe as mp  # noqa: F401
            from mediapipe.python.solutions import face_mesh
        except ImportError as e:
            raise DmsError(f"mediapipe is not installed ({e}); use --frontend onnx") from e
        self._face_mesh = face_mesh
        self._kw = dict(max_num_faces=int(max_faces), refine_landmarks=bool(refine_landmarks),
                        min_detection_confidence=float(min_detection_confidence),
                        min_tracking_confidence=float(min_tracking_confidence))
        self._video = None
        self._image = None
        self._last_t_ns: Optional[int] = None
        self.rgb_input = rgb_input

    def _graph(self, static: bool):
        if static:
            if self._image is None:
                self._image = self._face_mesh.FaceMesh(static_image_mode=True, **self._kw)
            return self._image
        if self._video is None:
            self._video = self._face_mesh.FaceMesh(static_image_mode=False, **self._kw)
        return self._video

    def _to_rgb(self, image: np.ndarray) -> np.ndarray:
        import cv2

        from dms.data.preprocess import to_u8_3ch
        gray = image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1)
        img = to_u8_3ch(image)                    # gray/NIR: three equal channels, order does not matter
        if gray or self.rgb_input:
            return img
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)

    def process(self, image: np.ndarray, t_ns: Optional[int] = None) -> list[FaceObservation]:
        static = t_ns is None
        if not static and self._last_t_ns is not None and t_ns <= self._last_t_ns:
            # MediaPipe's own graph would raise on this; a reset starts a fresh tracking session instead.
            log.debug("non-increasing t_ns %s <= %s: resetting tracking", t_ns, self._last_t_ns)
            self.reset()
        rgb = self._to_rgb(image)
        h, w = rgb.shape[:2]
        res = self._graph(static).process(rgb)
        if not static:
            self._last_t_ns = t_ns
        faces = []
        for lms in (res.multi_face_landmarks or []):
            arr = np.array([(p.x, p.y, p.z) for p in lms.landmark], dtype=np.float32)
            xy = arr[:, :2] * np.array([w, h], np.float32)
            z = arr[:, 2] * w
            x0, y0 = xy.min(axis=0)
            x1, y1 = xy.max(axis=0)
            faces.append(FaceObservation(landmarks_px=xy, box_xyxy_px=(float(x0), float(y0), float(x1), float(y1)),
                                         score=1.0, landmarks_z=z))
        faces.sort(key=lambda f: (f.box_xyxy_px[2] - f.box_xyxy_px[0]) * (f.box_xyxy_px[3] - f.box_xyxy_px[1]),
                   reverse=True)
        return faces

    def reset(self) -> None:
        if self._video is not None:
            self._video.close()
            self._video = None
        self._last_t_ns = None

    def close(self) -> None:
        for g in (self._video, self._image):
            if g is not None:
                g.close()
        self._video = self._image = None
