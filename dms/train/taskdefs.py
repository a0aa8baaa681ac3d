"""Torch-free task definitions shared by training, export and evaluation.

For each task: the dataset crop kind, crop definition, model input size, output tensors (the model I/O contract),
label extraction from simulator :class:`~dms.contracts.CropLabel` records and from real folders, and the decision
rule turning outputs into a class for classification metrics.

Targets are float vectors with NaN where a label is unknown (masked in the loss):

* eye_state: [openness, closed]          real: [nan, closed]
* yawn:      [mouth_openness, yawn]      real: [nan, yawn]
* gaze:      [yaw_deg, pitch_deg]
* hands:     [left_on, right_on, phone, both_on]   real: [nan, nan, nan, both_on]
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from dms.contracts import HandState
from dms.contracts.labels import CropLabel
from dms.contracts.manifest import TensorSpec

GAZE_SCALE_DEG = 20.0          # gaze head output unit: the raw value times this is degrees

NAN = float("nan")


@dataclass(frozen=True)
class TaskDef:
    name: str
    kind: str                          # CropLabel.kind of its training crops
    crop: str                          # dms.data.crops name, or "frame"
    crop_size: tuple[int, int]         # (w, h) crop cut by the runtime before preprocessing
    input_size: tuple[int, int]        # (w, h) default model input
    outputs: tuple[tuple[str, int, str], ...]   # (name, width, description)
    targets: tuple[str, ...]
    labels: tuple[str, ...]            # class names (classification) or output components (gaze)
    head_width: int
    default_arch: str
    mirror_side: Optional[str] = None  # runtime flips crops of this eye side (eye tasks)
    flip_negates: tuple[int, ...] = () # target indices negated by a horizontal flip
    flip_allowed: bool = True
    flip_swaps: tuple[tuple[int, int], ...] = ()   # target index pairs swapped by a horizontal flip
    classification: bool = True
    zoom: tuple[float, float] = (0.85, 1.15)       # framing jitter of the strong augmentation

    def output_specs(self) -> tuple[TensorSpec, ...]:
        return tuple(TensorSpec(name=n, shape=("N", w), dtype="float32", description=d) for n, w, d in self.outputs)

    def input_spec(self, input_size: Optional[tuple[int, int]] = None) -> TensorSpec:
        w, h = input_size or self.input_size
        return TensorSpec(name="image", shape=("N", 1, int(h), int(w)), dtype="float32",
                          description="gray, per-image normalised (dms.data.preprocess)")

    # --- labels -------------------------------------------------------------------------------------------
    def target_from_crop(self, lab: CropLabel) -> Optional[np.ndarray]:
        """Synthetic label -> target vector (None when the crop lacks this task's labels)."""
        def f(v):
            return NAN if v is None else float(v)
        if self.name == "eye_state":
            if lab.eye_openness is None and lab.eye_closed is None:
                return None
            closed = lab.eye_closed if lab.eye_closed is not None else (lab.eye_openness < 0.2)
            return np.array([f(lab.eye_openness), float(closed)], np.float32)
        if self.name == "yawn":
            if lab.mouth_openness is None and lab.yawn is None:
                return None
            return np.array([f(lab.mouth_openness), f(lab.yawn)], np.float32)
        if self.name == "gaze":
            if lab.gaze_yaw_deg is None or lab.gaze_pitch_deg is None:
                return None
            return np.array([lab.gaze_yaw_deg, lab.gaze_pitch_deg], np.float32)
        if self.name == "hands":
            if lab.hand_left is None and lab.hand_right is None:
                return None
            left = NAN if lab.hand_left is None else float(lab.hand_left is HandState.ON_WHEEL)
            right = NAN if lab.hand_right is None else float(lab.hand_right is HandState.ON_WHEEL)
            both = NAN if (math.isnan(left) or math.isnan(right)) else float(left == 1.0 and right == 1.0)
            return np.array([left, right, f(lab.phone_present), both], np.float32)
        raise ValueError(self.name)

    def target_from_real(self, label: str = "", yaw_deg: Optional[float] = None,
                         pitch_deg: Optional[float] = None) -> np.ndarray:
        if self.name == "eye_state":
            return np.array([NAN, float(label == "closed")], np.float32)
        if self.name == "yawn":
            return np.array([NAN, float(label == "yawn")], np.float32)
        if self.name == "gaze":
            return np.array([yaw_deg, pitch_deg], np.float32)
        if self.name == "hands":
            return np.array([NAN, NAN, NAN, float(label == "on")], np.float32)
        raise ValueError(self.name)

    def class_of_target(self, target: np.ndarray) -> np.ndarray:
        """Targets [N, k] -> class index per row (index into ``labels``); -1 when unknown."""
        t = np.asarray(target, np.float32)
        col = {"eye_state": 1, "yawn": 1, "hands": 3}[self.name]
        v = t[:, col]
        return np.where(np.isnan(v), -1, (v >= 0.5).astype(int))

    def decide(self, outputs: dict[str, np.ndarray]) -> np.ndarray:
        """Model outputs (name -> [N, w]) -> class index per row (index into ``labels``)."""
        if self.name == "eye_state":
            return (outputs["closed_prob"][:, 0] >= 0.5).astype(int)
        if self.name == "yawn":
            return (outputs["yawn_prob"][:, 0] >= 0.5).astype(int)
        if self.name == "hands":
            return (outputs["on_wheel_prob"].min(axis=1) >= 0.5).astype(int)
        raise ValueError(f"{self.name} is not a classification task")

    def preprocessing(self, input_size: Optional[tuple[int, int]] = None) -> dict:
        w, h = input_size or self.input_size
        return {"size": [int(w), int(h)], "channels": 1, "normalize": "per_image", "mirror_side": self.mirror_side}

    def crop_dict(self) -> dict:
        if self.crop == "frame":
            return {"name": "frame", "out_size": list(self.crop_size), "keep_aspect": False}
        from dms.data.crops import get_crop
        return get_crop(self.crop).with_size(*self.crop_size).to_dict()


TASK_DEFS: dict[str, TaskDef] = {
    "eye_state": TaskDef(
        name="eye_state", kind="eye", crop="eye_left", crop_size=(64, 64), input_size=(32, 32),
        outputs=(("openness", 1, "eye openness 0 closed .. 1 open"),
                 ("closed_prob", 1, "probability the eye is closed")),
        targets=("openness", "closed"), labels=("open", "closed"), head_width=2, default_arch="cnn_s",
        zoom=(0.85, 1.6)),
    "yawn": TaskDef(
        name="yawn", kind="mouth", crop="mouth", crop_size=(64, 64), input_size=(32, 32),
        outputs=(("mouth_openness", 1, "mouth openness 0 closed .. 1 full yawn"),
                 ("yawn_prob", 1, "probability of a yawn (wide-open mouth)")),
        targets=("mouth_openness", "yawn"), labels=("no_yawn", "yawn"), head_width=2, default_arch="cnn_s",
        zoom=(0.85, 1.8)),
    "gaze": TaskDef(
        name="gaze", kind="eye", crop="eye_left", crop_size=(64, 64), input_size=(48, 48),
        outputs=(("gaze_deg", 2, "this eye's gaze (yaw, pitch) in degrees; yaw>0 toward the image's right, "
                                 "pitch>0 up, (0,0) into the camera"),),
        targets=("yaw_deg", "pitch_deg"), labels=("yaw_deg", "pitch_deg"), head_width=2, default_arch="cnn_m",
        flip_negates=(0,), classification=False),
    "hands": TaskDef(
        name="hands", kind="frame", crop="frame", crop_size=(96, 72), input_size=(96, 72),
        outputs=(("on_wheel_prob", 2, "probability the driver's (left, right) hand is on the wheel"),
                 ("phone_prob", 1, "probability a phone is in the driver's hand")),
        targets=("left_on", "right_on", "phone", "both_on"), labels=("off", "on"), head_width=3,
        default_arch="cnn_grid", flip_swaps=((0, 1),)),
}


def get_task(name: str) -> TaskDef:
    try:
        return TASK_DEFS[name]
    except KeyError:
        raise KeyError(f"unknown task {name!r}; known: {sorted(TASK_DEFS)}") from None
