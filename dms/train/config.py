"""``dms train`` configuration (``dms cfg show train``)."""
from __future__ import annotations

from typing import Literal, Optional, Union

from pydantic import Field, field_validator

from dms.config import ConfigModel


class AugmentConfig(ConfigModel):
    profile: Literal["none", "light", "strong"] = Field("strong", description="synthetic-to-real augmentation "
                                                        "strength (blur, noise, gamma, JPEG, occlusion, contrast)")
    hflip: bool = Field(True, description="random horizontal flips (gaze: yaw is negated)")
    real_profile: Literal["none", "light", "strong"] = Field("light", description="augmentation of real images")
    zoom: Optional[tuple[float, float]] = Field(None, description="strong profile: framing zoom range (> 1 zooms "
                                                "in); null = the task's default (dms.train.taskdefs)")
    shift: Optional[float] = Field(None, ge=0, le=0.4, description="strong profile: translation jitter as a "
                                   "fraction of the crop; null = the task's default")

    @field_validator("zoom")
    @classmethod
    def _zoom(cls, v):
        if v is not None and not (0 < v[0] <= v[1]):
            raise ValueError(f"zoom must be [lo, hi] with 0 < lo <= hi, got {list(v)}")
        return v


class TrainConfig(ConfigModel):
    task: Literal["eye_state", "yawn", "gaze", "hands"] = Field("eye_state", description="model task")
    data: Optional[Union[str, list[str]]] = Field(None, description="simulator dataset root (dms simulate "
                                                  "output), or a list of roots [a, b] whose samples are pooled")
    real: Optional[str] = Field(None, description="real labelled folder in the `dms eval` layout of the task "
                                "(gaze: CSV); used by mode hybrid/finetune/adabn and measured in every mode")
    mode: Literal["synthetic", "hybrid", "finetune", "adabn"] = Field(
        "synthetic", description="domain adaptation: synthetic only | hybrid synthetic+real | synthetic "
        "pre-train then real fine-tune | AdaBN (BN statistics recomputed on unlabelled real images)")
    out: str = Field("runs/train", description="output folder (checkpoints, model.pt, plots, metrics.json)")
    init: Optional[str] = Field(None, description="start from this model.pt/checkpoint.pt (e.g. a synthetic "
                                "model for finetune/adabn: skips pre-training)")
    resume: bool = Field(True, description="continue from OUT/checkpoint.pt when it exists and matches")
    arch: Optional[str] = Field(None, description="model architecture from dms.train.models (default per task)")
    gaze_frame: Literal["head", "view"] = Field("head", description="gaze: target frame - head (eye-in-head) or "
                                                "view (relative to the ray through the eye crop, (0,0) = into the "
                                                "camera); the runtime maps both to the camera frame")
    modality: Literal["rgb", "nir", "both"] = Field("both", description="which rendered modality to train on")
    input_size: Optional[list[int]] = Field(None, description="[width, height] model input (default per task)")
    epochs: int = Field(12, ge=0, description="synthetic (pre-)training epochs")
    finetune_epochs: int = Field(8, ge=0, description="real fine-tuning epochs (mode finetune)")
    batch_size: int = Field(128, ge=1, description="batch size")
    lr: float = Field(3e-3, gt=0, description="AdamW peak learning rate (cosine schedule)")
    finetune_lr: float = Field(5e-4, gt=0, description="fine-tuning learning rate")
    weight_decay: float = Field(1e-4, ge=0, description="AdamW weight decay")
    ema_decay: float = Field(0.0, ge=0, lt=1, description="exponential moving average of the weights (and BN "
                             "statistics) per optimizer step, restarted each phase (the decay warms up over the "
                             "first steps); the average is evaluated and saved instead of the last weights; e.g. "
                             "0.99 = a ~100-step horizon; 0 = off (measured neutral with the recipes' one-cycle "
                             "schedule, see tools/train_models.py)")
    real_fraction: float = Field(0.3, ge=0, le=1, description="hybrid: share of each batch drawn from real images")
    real_holdout: float = Field(0.2, ge=0, lt=1, description="share of the real set held out (stratified) to "
                                "measure adaptation; the rest is used for adaptation")
    drop_accessories: list[str] = Field(default_factory=lambda: ["sunglasses"], description="eye tasks: skip "
                                        "synthetic eye crops wearing these accessories (eyes not visible)")
    min_crop_std: float = Field(3.0, ge=0, description="skip synthetic crops whose gray standard deviation is "
                                "below this (blank/degenerate renders); 0 keeps all")
    max_items: int = Field(0, ge=0, description="cap on synthetic samples (0 = all)")
    yawn_threshold: Optional[float] = Field(None, gt=0, lt=1, description="yawn: re-derive the synthetic yawn "
                                            "label as mouth_openness >= this (what 'mouth open' means for your "
                                            "data); null = the simulator's flag (crops.mouth.yawn_threshold)")
    closed_threshold: Optional[float] = Field(None, gt=0, lt=1, description="eye_state: re-derive the synthetic "
                                              "closed label as eye_openness < this (what 'closed' means for your "
                                              "data); null = the simulator's flag (openness < 0.2)")
    distill: Optional[list[str]] = Field(None, description="teacher model.pt files of the same task and input "
                                         "(e.g. other training seeds): their averaged outputs on each augmented "
                                         "batch become soft targets next to the labels (knowledge distillation: "
                                         "an ensemble's behaviour in one model of the size budget)")
    distill_weight: float = Field(0.5, ge=0, le=1, description="share of the teachers' soft-target loss in the "
                                  "training loss (1 - share: the labels)")
    balance_classes: bool = Field(True, description="classification: draw synthetic samples with equal class "
                                  "weight (the real-data metric is balanced accuracy)")
    val_fraction: float = Field(0.1, ge=0, lt=1, description="synthetic validation share (split by scene)")
    seed: int = Field(0, description="seed of all randomness (split, init, sampling, augmentation)")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="torch device (auto: cuda when present)")
    num_threads: int = Field(2, ge=1, description="torch CPU threads")
    augment: AugmentConfig = Field(default_factory=AugmentConfig, description="augmentation")
    name: Optional[str] = Field(None, description="model name in the manifest (default dms_<task>)")
    version: str = Field("0.1.0", description="model version in the manifest")

    @field_validator("data")
    @classmethod
    def _data_roots(cls, v):
        if isinstance(v, list):
            if not v:
                raise ValueError("data=[] lists no dataset root")
            bad = [r for r in v if not isinstance(r, str) or not r.strip()]
            if bad:
                raise ValueError(f"data roots must be non-empty paths, got {bad}")
            if len(set(v)) != len(v):
                raise ValueError(f"data lists a root twice: {v}")
        elif isinstance(v, str) and not v.strip():
            raise ValueError("data is an empty path")
        return v

    @field_validator("distill")
    @classmethod
    def _teachers(cls, v):
        if v is not None:
            if not v:
                raise ValueError("distill=[] lists no teacher")
            if len(set(v)) != len(v):
                raise ValueError(f"distill lists a teacher twice: {v}")
        return v

    def data_roots(self) -> list[str]:
        """The synthetic dataset roots (``data`` as a list; [] when unset)."""
        if self.data is None:
            return []
        return [self.data] if isinstance(self.data, str) else list(self.data)
