"""The one crop function: landmark-defined, rotation-normalised crops for eyes, mouth and face.

Training (simulator crop renders) and the runtime cut crops with exactly these definitions, so a model sees
the same framing in both. A crop is a similarity transform (rotation + uniform scale + translation) from image
pixels to crop pixels, defined by landmarks in MediaPipe FaceMesh 468 indexing:

* the crop's x axis is aligned with the line between two anchor landmarks (eye corners, mouth corners), which
  removes head roll;
* its width is ``scale`` times the anchor distance, its height ``width * out_h / out_w`` (so pixels are square);
* its centre is the mean of the ``center_ids`` landmarks plus ``offset`` (fractions of the crop width/height, in
  the crop's rotated frame; +y = down).

Eye sides are the driver's own: "left" eye = MediaPipe landmarks 362/263 (appears on the image's right side in a
camera facing the driver). Crops are never mirrored here; a model that wants one eye orientation flips itself.

Pure numpy; OpenCV is used lazily for the warp (``cut``).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np

# MediaPipe FaceMesh indices.
RIGHT_EYE_CORNERS = (33, 133)     # driver's right eye: outer, inner
LEFT_EYE_CORNERS = (362, 263)     # driver's left eye: inner, outer
RIGHT_EYE_RING = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
LEFT_EYE_RING = (362, 382, 381, 380, 374, 373, 390, 249, 263, 466, 388, 387, 386, 385, 384, 398)
RIGHT_EYE_LIDS = (159, 145)       # upper, lower lid centre
LEFT_EYE_LIDS = (386, 374)
MOUTH_CORNERS = (61, 291)
INNER_LIPS = (13, 14)             # upper inner lip centre, lower inner lip centre
FACE_OVAL_SIDES = (234, 454)      # face sides at eye level
NOSE_TIP = 1
CHIN = 152
FOREHEAD = 10


@dataclass(frozen=True)
class CropDef:
    """A named crop definition. Serialised into each model's manifest (``manifest.crop``)."""
    name: str
    anchors: tuple[int, int]            # x axis from anchors[0] to anchors[1] (image-left to image-right)
    center_ids: tuple[int, ...]
    scale: float                        # crop width / anchor distance
    out_size: tuple[int, int]           # (width, height) in pixels
    offset: tuple[float, float] = (0.0, 0.0)
    version: int = 1

    def to_dict(self) -> dict:
        d = asdict(self)
        d["anchors"] = list(self.anchors)
        d["center_ids"] = list(self.center_ids)
        d["out_size"] = list(self.out_size)
        d["offset"] = list(self.offset)
        return d

    @staticmethod
    def from_dict(d: dict) -> "CropDef":
        return CropDef(name=d["name"], anchors=tuple(d["anchors"]), center_ids=tuple(d["center_ids"]),
                       scale=float(d["scale"]), out_size=tuple(d["out_size"]), offset=tuple(d.get("offset", (0, 0))),
                       version=int(d.get("version", 1)))

    def with_size(self, width: int, height: int | None = None) -> "CropDef":
        return CropDef(self.name, self.anchors, self.center_ids, self.scale, (width, height or width), self.offset,
                       self.version)


# Anchors are ordered image-left -> image-right for a frontal face so an upright face gives angle 0.
CROPS: dict[str, CropDef] = {
    # Square eye crops: the eye spans ~1/1.8 of the width, lids and brow edge included (MRL/CEW-like framing).
    "eye_right": CropDef("eye_right", anchors=(33, 133), center_ids=RIGHT_EYE_CORNERS, scale=1.8,
                         out_size=(64, 64)),
    "eye_left": CropDef("eye_left", anchors=(362, 263), center_ids=LEFT_EYE_CORNERS, scale=1.8,
                        out_size=(64, 64)),
    # Mouth crop wide enough for a full yawn: 2.0 x mouth width, centred slightly below the lip midpoint.
    "mouth": CropDef("mouth", anchors=MOUTH_CORNERS, center_ids=MOUTH_CORNERS + INNER_LIPS, scale=2.0,
                     out_size=(64, 64), offset=(0.0, 0.08)),
    # Whole face, roll-normalised.
    "face": CropDef("face", anchors=FACE_OVAL_SIDES, center_ids=(NOSE_TIP, FOREHEAD, CHIN), scale=1.35,
                    out_size=(128, 128), offset=(0.0, -0.04)),
}


def get_crop(name: str) -> CropDef:
    try:
        return CROPS[name]
    except KeyError:
        raise KeyError(f"unknown crop {name!r}; known: {sorted(CROPS)}") from None


def crop_transform(landmarks_px: np.ndarray, crop: CropDef) -> np.ndarray:
    """2x3 affine matrix mapping image pixels -> crop pixels for ``crop`` given 468x2 (or 478x2) landmarks."""
    lm = np.asarray(landmarks_px, dtype=np.float64)
    if lm.ndim != 2 or lm.shape[1] < 2 or lm.shape[0] < 468:
        raise ValueError(f"landmarks must be Nx2 with N >= 468 (MediaPipe indexing), got {lm.shape}")
    a, b = lm[crop.anchors[0], :2], lm[crop.anchors[1], :2]
    d = b - a
    dist = float(np.hypot(*d))
    if not np.isfinite(dist) or dist < 1e-3:
        raise ValueError(f"degenerate anchors for crop {crop.name}: distance {dist}")
    angle = float(np.arctan2(d[1], d[0]))
    out_w, out_h = crop.out_size
    width_px = crop.scale * dist
    s = out_w / width_px                        # image px -> crop px
    c, si = np.cos(-angle), np.sin(-angle)
    R = np.array([[c, -si], [si, c]]) * s       # rotate by -angle then scale
    center = lm[list(crop.center_ids), :2].mean(axis=0)
    # offset in the rotated crop frame, fractions of crop width/height -> image pixels
    ux = np.array([np.cos(angle), np.sin(angle)])
    uy = np.array([-np.sin(angle), np.cos(angle)])
    center = center + ux * crop.offset[0] * width_px + uy * crop.offset[1] * width_px * out_h / out_w
    t = np.array([(out_w - 1) / 2.0, (out_h - 1) / 2.0]) - R @ center
    return np.hstack([R, t[:, None]])


def crop_corners(M: np.ndarray, out_size: Sequence[int]) -> np.ndarray:
    """The crop's four corners in image pixels (4x2), e.g. to choose a render border."""
    out_w, out_h = out_size
    A = np.vstack([M, [0, 0, 1]])
    inv = np.linalg.inv(A)
    pts = np.array([[-0.5, -0.5, 1], [out_w - 0.5, -0.5, 1], [out_w - 0.5, out_h - 0.5, 1], [-0.5, out_h - 0.5, 1]])
    return (inv @ pts.T).T[:, :2]


def crop_bbox(M: np.ndarray, out_size: Sequence[int], image_size: Sequence[int] | None = None,
              margin_px: float = 2.0) -> tuple[int, int, int, int]:
    """Integer xyxy bounding box in image pixels covering the crop (clipped to ``image_size`` (w, h))."""
    c = crop_corners(M, out_size)
    x0, y0 = np.floor(c.min(axis=0) - margin_px)
    x1, y1 = np.ceil(c.max(axis=0) + margin_px)
    if image_size is not None:
        w, h = image_size
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    return int(x0), int(y0), int(x1), int(y1)


def transform_points(M: np.ndarray, pts: np.ndarray) -> np.ndarray:
    pts = np.asarray(pts, dtype=np.float64)
    return pts[..., :2] @ M[:, :2].T + M[:, 2]


def cut(image: np.ndarray, landmarks_px: np.ndarray, crop: CropDef | str,
        region_origin_px: tuple[float, float] = (0.0, 0.0)) -> tuple[np.ndarray, np.ndarray]:
    """Cut ``crop`` from ``image``. Returns (crop image, 2x3 matrix image->crop).

    ``region_origin_px``: when ``image`` is only a region of the full frame (e.g. a render border), the full-frame
    pixel coordinates of its top-left pixel; landmarks stay in full-frame coordinates.
    """
    import cv2
    cd = get_crop(crop) if isinstance(crop, str) else crop
    M = crop_transform(landmarks_px, cd)
    Mr = M.copy()
    Mr[:, 2] += M[:, :2] @ np.asarray(region_origin_px, dtype=np.float64)
    scale = float(np.hypot(Mr[0, 0], Mr[0, 1]))
    src = image
    if scale < 0.6:  # strong downscale: low-pass first so the crop is not aliased (warpAffine has no area mode)
        sigma = 0.45 / scale
        src = cv2.GaussianBlur(image, (0, 0), sigmaX=sigma, sigmaY=sigma)
    out = cv2.warpAffine(src, Mr, tuple(int(v) for v in cd.out_size), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)
    return out, M
