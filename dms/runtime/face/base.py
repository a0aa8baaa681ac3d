"""The face front-end interface."""
from __future__ import annotations

import abc
import importlib
from dataclasses import dataclass
from typing import Optional

import numpy as np

from dms.errors import DmsError


@dataclass
class FaceObservation:
    """One face. ``landmarks_px``: (468 or 478) x 2 float32 image pixel coordinates in MediaPipe FaceMesh indexing
    (478 = with the 10 refined iris points 468..477). ``landmarks_z``: relative depth per landmark in pixels-like
    units (MediaPipe convention: smaller = closer), or None. ``score``: face presence confidence in [0, 1]."""
    landmarks_px: np.ndarray
    box_xyxy_px: tuple[float, float, float, float]
    score: float
    landmarks_z: Optional[np.ndarray] = None

    @property
    def has_iris(self) -> bool:
        return self.landmarks_px.shape[0] >= 478


class FaceFrontEnd(abc.ABC):
    """Detect the driver's face and its landmarks in one image.

    ``process`` takes an HxWx3 BGR uint8 or HxW uint8 gray/NIR image and a monotonic ``t_ns`` (None in IMAGE
    mode: no tracking between calls) and returns faces sorted by size, largest (the driver) first.
    """
    name: str = "base"

    @abc.abstractmethod
    def process(self, image: np.ndarray, t_ns: Optional[int] = None) -> list[FaceObservation]:
        ...

    def submit(self, image: np.ndarray, t_ns: Optional[int] = None) -> None:
        """Start processing one image; :meth:`collect` returns its faces. Front ends that run in their own threads
        (MediaPipe's graph) start right away, so the caller can do frame-level work meanwhile; the default runs
        everything in :meth:`collect`. ``submit`` + ``collect`` == ``process``."""
        self._submitted = (image, t_ns)

    def collect(self) -> list[FaceObservation]:
        """The faces of the image given to the last :meth:`submit`."""
        pending = getattr(self, "_submitted", None)
        if pending is None:
            raise RuntimeError("collect() without a submit()")
        self._submitted = None
        return self.process(*pending)

    def reset(self) -> None:
        """Forget tracking state (e.g. after a source reconnect)."""

    def close(self) -> None:
        """Release resources."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# name -> "module:Class"; modules are imported lazily so a missing optional dependency only affects that front end.
_FRONTENDS = {
    "mediapipe": "dms.runtime.face.mediapipe_frontend:MediaPipeFrontEnd",
    "onnx": "dms.runtime.face.onnx_frontend:OnnxFrontEnd",
}


def available_frontends() -> list[str]:
    return sorted(_FRONTENDS)


def create_face_frontend(name: str = "mediapipe", **kwargs) -> FaceFrontEnd:
    if name not in _FRONTENDS:
        raise DmsError(f"unknown face front end {name!r}; available: {available_frontends()}")
    mod, _, cls = _FRONTENDS[name].partition(":")
    try:
        module = importlib.import_module(mod)
    except ImportError as e:
        raise DmsError(f"face front end {name!r} is not usable here: {e}") from e
    return getattr(module, cls)(**kwargs)
