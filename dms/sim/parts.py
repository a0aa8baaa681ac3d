"""Part segmentation and depth maps of full frames: the part legend (the depth encoding lives in dms.data.dataset).

Optional per-frame outputs of ``dms simulate`` (``render.part_masks`` / ``render.depth``), rendered by a second,
cheap Cycles pass in which every surface emits its part id and its depth (:meth:`BlenderView.render_aux`):

* **part mask**: ``uint8`` PNG, one :data:`PARTS` id per pixel = the first surface the camera sees through that
  pixel's centre (no anti-aliasing: ids are never blended). Transparent surfaces count: an eye behind a clear
  glasses lens is ``glasses_lens``, the iris under the cornea is ``eye``.
* **depth**: ``uint16`` PNG in millimetres of that surface's distance along the camera's optical axis (z in the
  OpenCV camera frame of :mod:`dms.sim.camera`, the ``z`` that :meth:`CameraModel.project` returns), 0 = no
  surface within 65.535 m. Divide by 1000 for metres.

Both are geometry, the same for RGB and NIR, and go through the same lens distortion as the images (nearest
neighbour). Importable without bpy.
"""
from __future__ import annotations

import re
from typing import Optional

import numpy as np

from dms.data.dataset import decode_depth_m, encode_depth_mm  # noqa: F401  (the depth encoding, re-exported)

#: the optional geometry outputs of a full frame (``render_frame(..., aux=...)``, render.part_masks / render.depth)
AUX_OUTPUTS = ("parts", "depth")
#: part id -> name. 0 = no surface (the empty world beyond the scenery).
PARTS: dict[int, str] = {
    0: "none", 1: "face_skin", 2: "eye", 3: "eyelashes", 4: "mouth_interior", 5: "teeth", 6: "tongue",
    7: "hair", 8: "neck", 9: "hand_left", 10: "hand_right", 11: "arm_left", 12: "arm_right", 13: "torso",
    14: "legs", 15: "glasses_frame", 16: "glasses_lens", 17: "headwear", 18: "face_mask", 19: "phone", 20: "cup",
    21: "steering_wheel", 22: "seat", 23: "cabin", 24: "window", 25: "outside",
}
PART_IDS: dict[str, int] = {v: k for k, v in PARTS.items()}
#: an object the legend does not know (a new scene object): rendered with this id, never silently as "none"
UNKNOWN_PART = 255

# parts of the head mesh by material (the head is one object with several materials)
_HEAD_MATERIALS = {"skin": "face_skin", "lid_margin": "face_skin", "mouth": "mouth_interior",
                   "lip_inner": "mouth_interior", "teeth": "teeth", "tongue": "tongue", "lash": "eyelashes",
                   "conjunctiva": "eye"}
# every other object by name (prefix match on the part before a trailing index / side)
_OBJECTS = {
    "head": "face_skin", "sclera": "eye", "cornea": "eye", "lens": "glasses_lens", "rim": "glasses_frame",
    "bridge": "glasses_frame", "temple": "glasses_frame", "cap": "headwear", "hat": "headwear",
    "face_mask": "face_mask", "hair": "hair", "neck": "neck", "hand_left": "hand_left", "hand_right": "hand_right",
    "upperarm_left": "arm_left", "forearm_left": "arm_left", "upperarm_right": "arm_right",
    "forearm_right": "arm_right", "torso": "torso", "shoulder": "torso", "hips": "legs", "thigh": "legs",
    "shin": "legs", "shoe": "legs", "phone": "phone", "cup": "cup", "wheel": "steering_wheel",
    "hub": "steering_wheel", "spoke": "steering_wheel", "seat": "seat", "headrest": "seat", "column": "cabin",
    "dash": "cabin", "roof": "cabin", "floor": "cabin", "door": "cabin", "a_pillar": "cabin", "b_pillar": "cabin",
    "rear": "cabin", "side_window": "window", "windscreen": "window", "rear_quarter": "window",
    "ground": "outside", "scenery": "outside",
}


def part_of(object_name: str, material_name: Optional[str] = None) -> int:
    """Part id of a face of ``object_name`` with ``material_name`` (:data:`UNKNOWN_PART` if the legend has no
    entry: callers warn). Blender's duplicate-name suffixes ("skin.001") are ignored."""
    object_name = re.sub(r"\.\d+$", "", object_name)
    material_name = re.sub(r"\.\d+$", "", material_name) if material_name else material_name
    if object_name == "head" and material_name in _HEAD_MATERIALS:
        return PART_IDS[_HEAD_MATERIALS[material_name]]
    best = ""
    for prefix in _OBJECTS:
        if object_name.startswith(prefix) and len(prefix) > len(best):
            best = prefix
    return PART_IDS[_OBJECTS[best]] if best else UNKNOWN_PART


def colorize_parts(parts: np.ndarray) -> np.ndarray:
    """A BGR picture of a part mask (a fixed colour per id) for previews and contact sheets."""
    rng = np.random.default_rng(7)
    lut = rng.integers(40, 256, size=(256, 3)).astype(np.uint8)
    lut[0] = 0
    lut[PART_IDS["face_skin"]] = (120, 170, 230)
    lut[PART_IDS["eye"]] = (255, 255, 255)
    lut[PART_IDS["hand_left"]] = (0, 200, 255)
    lut[PART_IDS["hand_right"]] = (0, 120, 255)
    lut[UNKNOWN_PART] = (255, 0, 255)
    return lut[np.asarray(parts, np.uint8)]


def legend() -> dict:
    """The dataset manifest's description of the part masks and depth maps."""
    return {"parts": {str(k): v for k, v in PARTS.items()} | {str(UNKNOWN_PART): "unknown"},
            "part_mask": "uint8 PNG, one part id per pixel: the first surface seen through the pixel centre",
            "depth": "uint16 PNG, millimetres along the camera's optical axis (OpenCV camera z); 0 = no surface"}
