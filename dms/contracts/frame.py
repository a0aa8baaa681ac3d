"""Frame record: the only thing a source yields."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from dms.contracts.base import Record, SchemaError
from dms.contracts.enums import PixelFormat


@dataclass(frozen=True)
class CameraInfo(Record):
    """Pinhole intrinsics (+ OpenCV distortion) and optional extrinsics of a camera.

    ``K`` is 3x3 (fx, fy, cx, cy in pixels); ``dist`` is OpenCV (k1, k2, p1, p2, k3).
    ``T_cam_from_world`` is a 4x4 rigid transform (OpenCV camera axes: x right, y down, z forward), metres.
    """
    SCHEMA_ID = "dms.camera"
    width: int
    height: int
    K: tuple[tuple[float, float, float], ...]
    dist: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0, 0.0)
    T_cam_from_world: Optional[tuple[tuple[float, ...], ...]] = None
    name: str = ""

    @staticmethod
    def from_hfov(width: int, height: int, hfov_deg: float, name: str = "") -> "CameraInfo":
        fx = (width / 2.0) / np.tan(np.radians(hfov_deg) / 2.0)
        K = ((float(fx), 0.0, (width - 1) / 2.0), (0.0, float(fx), (height - 1) / 2.0), (0.0, 0.0, 1.0))
        return CameraInfo(width=width, height=height, K=K, name=name)

    @property
    def K_array(self) -> np.ndarray:
        return np.asarray(self.K, dtype=np.float64)


@dataclass(frozen=True)
class Frame(Record):
    """One captured image.

    ``t_ns`` is the monotonic capture time in nanoseconds; ``frame_id`` counts frames delivered by the source
    (gaps mean drops). The image is not serialised by ``to_dict()`` (metadata only).
    """
    SCHEMA_ID = "dms.frame"
    image: np.ndarray = field(metadata={"serialize": False}, repr=False)
    t_ns: int
    frame_id: int = 0
    source_id: str = ""
    pixel_format: PixelFormat = PixelFormat.BGR8
    camera: Optional[CameraInfo] = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError if the image does not match the pixel format (shape/dtype) or t_ns is bad."""
        img = self.image
        if not isinstance(img, np.ndarray):
            raise ValueError(f"frame image must be a numpy array, got {type(img).__name__}")
        if not isinstance(self.t_ns, (int, np.integer)) or self.t_ns < 0:
            raise ValueError(f"frame t_ns must be a non-negative integer, got {self.t_ns!r}")
        pf = PixelFormat(self.pixel_format)
        if img.dtype != np.dtype(pf.dtype):
            raise ValueError(f"{pf.value} frame must be {pf.dtype}, got {img.dtype}")
        if pf.channels == 3:
            if img.ndim != 3 or img.shape[2] != 3:
                raise ValueError(f"{pf.value} frame must be HxWx3, got shape {img.shape}")
        elif not (img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 1)):
            raise ValueError(f"{pf.value} frame must be HxW (single channel), got shape {img.shape}")
        if img.shape[0] < 2 or img.shape[1] < 2:
            raise ValueError(f"frame too small: {img.shape}")

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @classmethod
    def from_dict(cls, data):  # metadata-only records cannot rebuild an image
        raise SchemaError("Frame records are not deserialisable (the image is not serialised)")

    def replace(self, **changes) -> "Frame":
        return dataclasses.replace(self, **changes)
