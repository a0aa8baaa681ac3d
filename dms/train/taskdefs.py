"""Torch-free task definitions shared by training, export and evaluation.

For each task: the dataset crop kind, crop definition, model input size, output tensors (the model I/O contract),
label extraction from simulator :class:`~dms.contracts.CropLabel` records and from real folders, and the decision
rule turning outputs into a class for classification metrics.

Targets are float vectors with NaN where a label is unknown (masked in the loss):

* eye_state: [openness, closed]          real: [nan, closed]
* yawn:      [mouth_openness, yawn]      real: [nan, yawn]
* gaze:      [yaw_deg, pitch_deg]   eye-in-head (:func:`gaze_in_head_deg`, the default ``gaze_frame="head"``) or
             in the crop's view frame (:func:`gaze_view_deg`, ``gaze_frame="view"``)
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
#: what the gaze model's angles are relative to, by default (recorded in the manifest as
#: ``output_semantics.gaze_frame``; the runtime maps both back to the camera frame):
#: "head" = eye-in-head (composed with the estimated head pose); "view" = the ray through the eye crop's centre, in
#: the crop's axes (dms.contracts.gaze; (0, 0) = into the camera). "view" is what real eye-crop sets label
#: (Columbia: (0, 0) = gaze locking at all five head poses) and the exact target of an eye crop, but the model must
#: read the head's rotation relative to the camera from the periocular shape. On the same renders (sim_eye6, 15
#: epochs) a view model measured 19.1 deg on Columbia (23.4 with 20 % shift jitter) vs 12.9 for "head": it reads
#: the nasal/temporal side of real crops as a head turn (left/right eye yaw biases +10 / -7 deg, -15 / +11 with
#: shift jitter), i.e. our periocular 3D shape does not transfer yet. So "head" stays the default.
#: Sharper, larger eye renders (96 px, render.crop_max_scale=3, open eyes only; zoom 1.0-1.8 so the eye fills the
#: crop as in Columbia's patches) made vertical gaze readable on real eyes: the view model's pitch follows the
#: label with slope 1.0 (correlation 0.71; the shipped model: 0.03), but its yaw carries a nasal bias (+25 deg on
#: image-left eyes, -2 on image-right ones) that moves +-13-20 deg with a 10 % shift of the real crop: 21.7 deg
#: mean (head frame on the same renders: 14.6; 15 % shift jitter or zoom 1.3-2.0 did not remove the bias).
#: Pitch from such renders is worth keeping; yaw needs the head-turn cue fixed first.
#: Session 9: the canonical eye ring set the globes 9.3 mm behind the eye-corner midpoint (real ~3-5 mm), so a head
#: turn moved the iris across the crop 0.81x as far as a gaze turn (Columbia: ~0.34x). With scene.canthus_depth
#: (dms.sim.head.CANTHUS_GLOBE_FORWARD_M) view models improve (19.1 -> 16.9 deg on set 1's twin; 96 px renders
#: 21.0 -> 17.1, seeds 0/1) and the left/right-eye bias halves (+27/-6 -> +12/-2 deg), but "head" still wins:
#: 12.18/12.77/12.44 on the same twin (gaze 0.4.0).
GAZE_FRAME = "head"
GAZE_FRAMES = ("view", "head")
#: eye crops narrower than this carry no gaze label. 0 keeps all: the (unobservable) gaze of nearly closed eyes
#: teaches the model to fall back to the mean when the iris is hidden, measured better on real eyes (Columbia:
#: 12.7 vs 16.4 deg mean error with 0.3 on the same renders)
GAZE_MIN_OPENNESS = 0.0

NAN = float("nan")


def gaze_view_deg(lab: CropLabel) -> Optional[tuple[float, float]]:
    """View-frame gaze (yaw, pitch) of an eye crop label: relative to the ray from the camera through the crop
    centre, in the crop's rotated axes ((0, 0) = looking into the camera, yaw > 0 toward the crop's right, pitch > 0
    up). What the crop's pixels show whatever the head pose and wherever the eye is in the image. Written by the
    simulator as ``attrs["gaze_view_deg"]`` (datasets rendered before it have none: train them with
    ``gaze_frame=head``)."""
    v = (lab.attrs or {}).get("gaze_view_deg")
    return None if v is None else (float(v[0]), float(v[1]))


def gaze_in_head_deg(lab: CropLabel) -> Optional[tuple[float, float]]:
    """Eye-in-head gaze (yaw, pitch) of an eye crop label, in the camera convention of a camera the face looks
    straight into (yaw > 0 toward the image's right, pitch > 0 up; (0, 0) = straight ahead of the face).

    This is the part of the gaze an eye crop shows most directly: where the iris sits between the lids and
    corners. (Real eye-crop sets label the *view* frame instead: Columbia Gaze's (0, 0) is "gaze locking", looking
    into the camera, at every head pose - see :func:`gaze_view_deg`.) Read from ``attrs["gaze_in_head_deg"]``
    when the simulator wrote it, else derived from the camera-frame gaze vector and the head pose relative to the
    camera."""
    v = (lab.attrs or {}).get("gaze_in_head_deg")
    if v is not None:
        return float(v[0]), float(v[1])
    g = (lab.attrs or {}).get("gaze_vec_cam")
    if g is None or lab.head_yaw_deg is None or lab.head_pitch_deg is None:
        return None
    from dms.sim.camera import D_FACING, gaze_angles_from_vector, ypr_to_matrix
    R = D_FACING @ ypr_to_matrix(lab.head_yaw_deg, lab.head_pitch_deg, lab.head_roll_deg or 0.0)  # cam_from_head
    return gaze_angles_from_vector(D_FACING @ (R.T @ np.asarray(g, dtype=np.float64)))


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
    #: ``dms export tta=flip`` is defined (a mirrored crop is the same kind of scene): the graph averages the
    #: model over the crop and its mirror image (dms.train.models.FlipTTA); ``tta_flip``: the task's default.
    #: Measured (session 9, shipped weights; runtime bench p50 per frame, two crops): eye_state MRL +3.0 points
    #: (ten eye models: +1.2 on average), CEW -0.4 (average -0.1), +0.45 ms -> default on; yawn +0.5 (thirteen
    #: models: +0.4 on average), +0.26 ms: within seed noise, default off; gaze -0.16 deg (0.3.0), -0.20/-0.22/-0.27
    #: (0.4.0 recipe seeds 0/1/2: 12.18 -> 11.98), +0.9 ms with cnn_m at 48 px: off then. gaze 0.5.0 (cnn_s at 32 px,
    #: see TASK_DEFS["gaze"]) costs less with the flip than cnn_m at 48 px without it: default on.
    tta_flip_allowed: bool = False
    tta_flip: bool = False
    #: (output index, column) pairs negated for the mirror image
    flip_output_negates: tuple[tuple[int, int], ...] = ()
    classification: bool = True
    zoom: tuple[float, float] = (0.85, 1.15)       # framing jitter of the strong augmentation
    shift: float = 0.08                            # translation jitter (fraction of the crop) of the strong aug.
    aspect_jitter: bool = True                     # vertical stretch jitter (off for gaze: it moves the iris
    #                                                relative to the lids, i.e. the label)
    gaze_frame: str = GAZE_FRAME                   # gaze: "view" or "head" targets (see GAZE_FRAME)
    rotate: float = 12.0                           # strong aug.: in-plane rotation range, degrees
    glint_p: float = 0.0                           # strong aug.: share of crops given illuminator glints
    #                                                (dms.data.augment.add_glints; eye_state: glints on closed eyes
    #                                                behind glasses are not corneal reflections)

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
            if lab.eye_openness is not None and lab.eye_openness < GAZE_MIN_OPENNESS:
                return None      # the gaze of a (nearly) closed eye is not in its pixels: no label
            g = gaze_in_head_deg(lab) if self.gaze_frame == "head" else gaze_view_deg(lab)
            return None if g is None else np.array(g, np.float32)
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
        zoom=(0.9, 2.0), glint_p=0.2, tta_flip_allowed=True, tta_flip=True),
    "yawn": TaskDef(
        name="yawn", kind="mouth", crop="mouth", crop_size=(64, 64), input_size=(32, 32),
        outputs=(("mouth_openness", 1, "mouth openness 0 closed .. 1 full yawn"),
                 ("yawn_prob", 1, "probability of a yawn (wide-open mouth)")),
        targets=("mouth_openness", "yawn"), labels=("no_yawn", "yawn"), head_width=2, default_arch="cnn_s",
        zoom=(0.95, 2.3), tta_flip_allowed=True),
    # yawn, tried: rotate=30 (real mouth crops are tilted) + 15 % shift + a 2nd set with beards: real 0.853-0.858
    # vs 0.861 without; kept at the default 12 deg
    # gaze 0.5.0: cnn_s at 32 px with the flip TTA graph instead of cnn_m at 48 px one pass (0.4.0). Same renders
    # (sim_eye6cd), training seeds 0/1/2, Columbia mean angular error FP32: cnn_s 32 px + flip 11.98/12.87/12.52
    # (mean 12.46; one pass 12.28/13.05/12.73) vs cnn_m 48 px 12.18/12.77/12.44 (mean 12.46; 12.23 for seed 0 on
    # this session's re-render of the set). Cost, INT8, two eye crops, onnxruntime 1 thread: 1.22 vs 1.90 ms per
    # frame; training 139 vs 356 s. Tried: cnn_m at 32 px 14.05/12.59/13.75. The input equals eye_state's (same
    # crop, size and preprocessing), so the runtime cuts and preprocesses the eyes once for both models.
    "gaze": TaskDef(
        name="gaze", kind="eye", crop="eye_left", crop_size=(64, 64), input_size=(32, 32),
        outputs=(("gaze_deg", 2, "this eye's gaze (yaw, pitch) in degrees, yaw>0 toward the crop's right, "
                                 "pitch>0 up, in the frame output_semantics.gaze_frame names: 'view' = relative "
                                 "to the ray from the camera through the crop centre ((0,0) = into the camera; "
                                 "dms.contracts.gaze.view_to_camera maps it to the camera frame), 'head' = "
                                 "eye-in-head ((0,0) = straight ahead of the face; compose with the head pose)"),),
        targets=("yaw_deg", "pitch_deg"), labels=("yaw_deg", "pitch_deg"), head_width=2, default_arch="cnn_s",
        flip_negates=(0,), classification=False, aspect_jitter=False, tta_flip_allowed=True, tta_flip=True,
        flip_output_negates=((0, 0),)),
    "hands": TaskDef(
        name="hands", kind="frame", crop="frame", crop_size=(96, 72), input_size=(96, 72),
        outputs=(("on_wheel_prob", 2, "probability the driver's (left, right) hand is on the wheel"),
                 ("phone_prob", 1, "probability a phone is in the driver's hand")),
        targets=("left_on", "right_on", "phone", "both_on"), labels=("off", "on"), head_width=3,
        default_arch="cnn_grid", flip_swaps=((0, 1),)),
}


def get_task(name: str, gaze_frame: Optional[str] = None) -> TaskDef:
    """The task definition; ``gaze_frame`` ("view" | "head") selects the gaze targets' frame (gaze only)."""
    try:
        td = TASK_DEFS[name]
    except KeyError:
        raise KeyError(f"unknown task {name!r}; known: {sorted(TASK_DEFS)}") from None
    if gaze_frame is not None and name == "gaze" and gaze_frame != td.gaze_frame:
        if gaze_frame not in GAZE_FRAMES:
            raise ValueError(f"gaze_frame must be one of {GAZE_FRAMES}, got {gaze_frame!r}")
        from dataclasses import replace
        td = replace(td, gaze_frame=gaze_frame)
    return td
