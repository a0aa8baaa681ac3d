"""``dms simulate`` configuration (``dms cfg show simulate``): what to render, how much, and how.

Every value is checked before anything is rendered: pydantic checks types and per-field bounds,
:meth:`SimulateConfig.check` the cross-field rules (ranges ordered, presets known, eye openness within 0..1, ...).
Errors surface as :class:`dms.errors.ConfigError` (exit code 2).
"""
from __future__ import annotations

import copy
from typing import Literal, Optional

from pydantic import Field, field_validator, model_validator

from dms.config import ConfigModel
from dms.sim.pose import WHEEL_CLOCK_LEFT_RANGE, WHEEL_CLOCK_RIGHT_RANGE
from dms.sim.scenarios import PRESETS, BehaviourParams, resolve_preset
from dms.sim.spec import SamplingRanges

RangeF = tuple[float, float]


def _check_range(name: str, v: RangeF, lo: float, hi: float) -> RangeF:
    a, b = float(v[0]), float(v[1])
    if not (lo <= a <= b <= hi):
        raise ValueError(f"{name} must satisfy {lo} <= min <= max <= {hi}, got [{a}, {b}]")
    return (a, b)


class RenderConfig(ConfigModel):
    samples: int = Field(4, ge=1, le=4096, description="Cycles samples per pixel (denoised) of full frames and "
                         "sequences (crops: crop_samples); more = cleaner, slower (4 = what the shipped models' "
                         "render sets used)")
    # Measured on the same 3,600 eye crops (sim_eye6 settings, seed 61) + the eye_state recipe: crop_samples 4 /
    # 2 / 1 rendered in ~805 / 458 / 303 s; real MRL 0.931 / 0.925 / 0.878, CEW 0.805 / 0.802 / 0.784. So 2 is
    # nearly free of realism loss, 1 is not: 2 is the default. Session 14, training seeds 0-3 on each twin (eye
    # set 1: 2.50 vs 4.52 images/s): MRL 0.956/0.928/0.940/0.927 (4) vs 0.944/0.951/0.952/0.922 (2), CEW
    # 0.802/0.759/0.780/0.770 vs 0.777/0.780/0.791/0.748; the yawn set (600 mouth crops) 0.881/0.868/0.843/0.886
    # vs 0.886/0.868/0.848/0.878: equal within seed noise. The shipped render sets were made with 4
    # (tools/train_models.py pins render.crop_samples=4; datasets that stored null resume as 4 = samples).
    crop_samples: Optional[int] = Field(2, ge=1, le=4096, description="samples of training-crop renders "
                                        "(null = samples); fewer = faster crop sets (2: 1.8x faster eye sets "
                                        "than 4, same real accuracy; 1: 2.7x, but -0.05 on real eye state)")
    device: Literal["CPU", "GPU", "CUDA", "OPTIX", "HIP", "METAL", "ONEAPI"] = Field(
        "CPU", description="Cycles device (GPU picks any available compute device)")
    threads: int = Field(0, ge=0, description="render threads per worker (0 = CPU cores / workers)")
    denoise: bool = Field(True, description="denoise Cycles output (OpenImageDenoise): clean images at few "
                          "samples; camera noise comes from the sensor model and training augmentation")
    crop_max_scale: float = Field(1.0, ge=0.1, le=8.0, description="crops are rendered at just enough pixels "
                                  "for their size but at most this multiple of the camera's native resolution "
                                  "(1 = true sensor detail; >1 = sharper crops, e.g. close-up eye sensors)")
    camera_fill_p: float = Field(0.5, ge=0, le=1, description="share of scenes with an RGB camera-side fill light "
                                 "(a lamp behind the camera, a screen, a flash: lights the face frontally and "
                                 "into an open mouth); drawn per scene from its texture seed, 0 = never")
    part_masks: bool = Field(False, description="also write a part segmentation mask (uint8 PNG of dms.sim.parts "
                             "ids: skin, eye, lashes, mouth, teeth, hands, arms, glasses, phone, wheel, ...) for "
                             "every full frame (sequences and frame crops): one extra 1-sample pass shared by RGB "
                             "and NIR (measured: +24 % on a one-modality 640x480 frame, 0.67 s on 2 cores)")
    depth: bool = Field(False, description="also write a depth map (uint16 PNG, millimetres along the camera "
                        "axis, 0 = no surface) for every full frame (sequences and frame crops); shares the pass "
                        "with part_masks")


class SequencesConfig(ConfigModel):
    count: int = Field(10, ge=0, description="number of sequences (one shard each)")
    duration_s: float = Field(20.0, gt=0, le=3600, description="length of each sequence, seconds")
    fps: float = Field(15.0, ge=10, le=30, description="frame rate of the sequences")
    presets: list[str] = Field(default_factory=lambda: list(PRESETS), description=(
        "behaviour presets assigned round-robin to the sequences; compose with '+', e.g. 'drowsy+texting'. "
        f"Known: {', '.join(PRESETS)}"))

    @field_validator("presets")
    @classmethod
    def _known_presets(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("at least one preset is needed")
        for name in v:
            resolve_preset(name)   # raises ValueError naming the unknown preset
        return v


class EyeCropsConfig(ConfigModel):
    count: int = Field(2000, ge=0, description="eye crops per modality (each sampled face gives a left and a "
                       "right eye crop, so the count is rounded up to even)")
    size: int = Field(64, ge=16, le=512, description="eye crop size in pixels (square)")
    openness_range: RangeF = Field((0.0, 1.1), description="eyelid aperture range sampled (0 closed .. 1 open)")
    boundary: float = Field(0.25, ge=0, le=1, description="the closed/open decision boundary the sampling "
                            "emphasises")
    boundary_fraction: float = Field(0.4, ge=0, le=1, description="share of eye samples drawn near the boundary")
    boundary_width: float = Field(0.12, gt=0, le=0.5, description="std of the aperture around the boundary")
    gaze_yaw_deg: RangeF = Field((-35.0, 35.0), description="eye-in-head yaw range")
    gaze_pitch_deg: RangeF = Field((-28.0, 25.0), description="eye-in-head pitch range")

    @field_validator("openness_range")
    @classmethod
    def _open(cls, v):
        return _check_range("openness_range", v, 0.0, 1.2)

    @field_validator("gaze_yaw_deg", "gaze_pitch_deg")
    @classmethod
    def _gaze(cls, v):
        return _check_range("gaze range", v, -45.0, 45.0)


class MouthCropsConfig(ConfigModel):
    count: int = Field(1000, ge=0, description="mouth crops per modality")
    size: int = Field(64, ge=16, le=512, description="mouth crop size in pixels (square)")
    yawn_fraction: float = Field(0.35, ge=0, le=1, description="share of wide-open mouths (yawns, laughs: "
                                 "openness yawn_threshold+0.05..1, yawn=true)")
    talking_fraction: float = Field(0.3, ge=0, le=1, description="share of talking mouths (talking_openness)")
    closed_fraction: float = Field(0.2, ge=0, le=1, description="share of closed mouths; the rest is uniform 0..1 "
                                   "without the yawn flag")
    covered_prob: float = Field(0.2, ge=0, le=1, description="probability that a yawn is hand-covered")
    yawn_threshold: float = Field(0.25, gt=0, lt=1, description="openness from which a crop's mouth counts as wide "
                                  "open (label yawn=true; ~ lip gap >= 1/4 of the mouth width, teeth and cavity "
                                  "showing); below it yawn=false, whatever the sampling branch")
    talking_openness: tuple[float, float] = Field((0.03, 0.2), description="openness range of talking mouths "
                                                  "(kept below yawn_threshold)")
    smile_prob: float = Field(0.3, ge=0, le=1, description="share of mouth crops with a smile (closed smile, "
                              "or a laugh when open); smile amount uniform 0.3..1")
    tongue_prob: float = Field(0.12, ge=0, le=1, description="share of mouths open >= 0.3 with the tongue out "
                               "(amount uniform 0.4..1); drawn from a stream derived from the crop's other values, "
                               "so the other sampled values of a seed do not change")

    @model_validator(mode="after")
    def _fractions(self):
        s = self.yawn_fraction + self.talking_fraction + self.closed_fraction
        if s > 1.0 + 1e-9:
            raise ValueError(f"yawn_fraction + talking_fraction + closed_fraction must be <= 1, got {s:.3f}")
        lo, hi = self.talking_openness
        if not (0.0 <= lo <= hi < self.yawn_threshold):
            raise ValueError(f"talking_openness must satisfy 0 <= lo <= hi < yawn_threshold "
                             f"({self.yawn_threshold}), got {self.talking_openness}")
        return self


class FaceCropsConfig(ConfigModel):
    count: int = Field(0, ge=0, description="face crops per modality (head pose / landmarks)")
    size: int = Field(128, ge=32, le=1024, description="face crop size in pixels (square)")


class FrameCropsConfig(ConfigModel):
    count: int = Field(500, ge=0, description="low-resolution whole frames per modality (hands / phone states)")
    width: int = Field(192, ge=32, le=4096, description="frame width in pixels")
    height: int = Field(144, ge=32, le=4096, description="frame height in pixels")
    mounts: Optional[list[str]] = Field(None, description="camera mounts of frame crops, e.g. [passenger_window] "
                                        "(side view of the whole driver); null = scene.mounts")
    on_fraction: Optional[float] = Field(None, ge=0, le=1, description="share of frames with both hands on the "
                                         "wheel (the rest has at least one hand off); null = independent per-hand "
                                         "state weights (~20% both on)")
    wheel_clock_left: tuple[float, float] = Field(WHEEL_CLOCK_LEFT_RANGE, description="clock positions (hours, "
                                                  "12 = top) of the left hand on the wheel in frame crops")
    wheel_clock_right: tuple[float, float] = Field(WHEEL_CLOCK_RIGHT_RANGE, description="clock positions (hours, "
                                                   "12 = top) of the right hand on the wheel in frame crops, e.g. "
                                                   "[1.5, 5.5] for hands low on the rim as well")

    @field_validator("wheel_clock_left", "wheel_clock_right")
    @classmethod
    def _clock_ok(cls, v: tuple[float, float]) -> tuple[float, float]:
        lo, hi = v
        if not (0.0 <= lo <= hi <= 12.0):
            raise ValueError(f"a wheel clock range must satisfy 0 <= low <= high <= 12 (hours), got {list(v)}")
        return v

    @field_validator("mounts")
    @classmethod
    def _mounts_known(cls, v: Optional[list[str]]) -> Optional[list[str]]:
        if v is None:
            return v
        from dms.sim.camera import check_mounts
        return check_mounts(v, "crops.frame.mounts (use null for scene.mounts)")


class CropsConfig(ConfigModel):
    per_shard: int = Field(64, ge=1, le=100000, description="crops per crop shard (per modality)")
    poses_per_scene: int = Field(4, ge=1, le=1000, description="poses rendered per sampled scene (identity, "
                                 "cabin, camera, light); a new scene is sampled after that many")
    eye: EyeCropsConfig = Field(default_factory=EyeCropsConfig, description="eye crops")
    mouth: MouthCropsConfig = Field(default_factory=MouthCropsConfig, description="mouth crops")
    face: FaceCropsConfig = Field(default_factory=FaceCropsConfig, description="face crops")
    frame: FrameCropsConfig = Field(default_factory=FrameCropsConfig, description="whole-frame crops")
    head_yaw_deg: RangeF = Field((-45.0, 45.0), description="head yaw range of crop poses")
    head_pitch_deg: RangeF = Field((-30.0, 25.0), description="head pitch range of crop poses")
    head_roll_deg: RangeF = Field((-20.0, 20.0), description="head roll range of crop poses")

    @field_validator("head_yaw_deg", "head_pitch_deg", "head_roll_deg")
    @classmethod
    def _head(cls, v):
        return _check_range("head angle range", v, -90.0, 90.0)


_BP = BehaviourParams()     # the default behaviour values, defined once in dms.sim.scenarios


class BehaviourConfig(ConfigModel):
    """Rates and durations of behaviours in sequences. The defaults are dms.sim.scenarios.BehaviourParams's (one
    table of values): this class adds validation bounds and descriptions."""
    blink_rate_alert_per_min: float = Field(_BP.blink_rate_alert_per_min, ge=0, le=120,
                                            description="blink rate when alert, /min")
    blink_rate_drowsy_per_min: float = Field(_BP.blink_rate_drowsy_per_min, ge=0, le=120,
                                             description="blink rate when drowsy, /min")
    blink_duration_s: RangeF = Field(_BP.blink_duration_s, description="blink duration range, s")
    blink_close_fraction: RangeF = Field(_BP.blink_close_fraction,
                                         description="closing share of a blink (opening is slower)")
    droop_rate_per_min: float = Field(_BP.droop_rate_per_min, ge=0,
                                      description="slow eyelid droops per minute at full drowsiness")
    droop_duration_s: RangeF = Field(_BP.droop_duration_s, description="droop duration range, s")
    droop_openness: RangeF = Field(_BP.droop_openness, description="eyelid aperture at the bottom of a droop")
    microsleep_rate_per_min: float = Field(_BP.microsleep_rate_per_min, ge=0,
                                           description="microsleeps per minute at full drowsiness")
    microsleep_duration_s: RangeF = Field(_BP.microsleep_duration_s,
                                          description="microsleep (eye closure) duration range, s")
    sleep_rate_per_min: float = Field(_BP.sleep_rate_per_min, ge=0,
                                      description="sleep episodes per minute at full drowsiness")
    sleep_duration_s: RangeF = Field(_BP.sleep_duration_s, description="sleep episode duration range, s (>= 3)")
    yawn_rate_per_min: float = Field(_BP.yawn_rate_per_min, ge=0,
                                     description="yawns per minute (scaled by 0.3 + drowsiness)")
    yawn_duration_s: RangeF = Field(_BP.yawn_duration_s, description="yawn duration range, s")
    yawn_covered_prob: float = Field(_BP.yawn_covered_prob, ge=0, le=1,
                                     description="probability a yawn is covered by a hand")
    talking_rate_per_min: float = Field(_BP.talking_rate_per_min, ge=0, description="talking bouts per minute")
    talking_duration_s: RangeF = Field(_BP.talking_duration_s, description="talking bout duration range, s")
    talking_syllable_hz: RangeF = Field(_BP.talking_syllable_hz, description="mouth opening rate while talking, Hz")
    talking_openness: RangeF = Field(_BP.talking_openness, description="mouth opening amplitude while talking")
    glance_rate_per_min: float = Field(_BP.glance_rate_per_min, ge=0, description="glances per minute when alert")
    glance_duration_s: RangeF = Field(_BP.glance_duration_s, description="ordinary glance duration range, s")
    long_glance_duration_s: RangeF = Field(_BP.long_glance_duration_s,
                                           description="long (distracting) glance duration range, s")
    owl_prob: float = Field(_BP.owl_prob, ge=0, le=1, description="share of owl (head) vs lizard (eyes only) glances")
    texting_rate_per_min: float = Field(_BP.texting_rate_per_min, ge=0, description="texting episodes per minute")
    texting_duration_s: RangeF = Field(_BP.texting_duration_s, description="texting episode duration range, s")
    phone_call_rate_per_min: float = Field(_BP.phone_call_rate_per_min, ge=0, description="phone calls per minute")
    phone_call_duration_s: RangeF = Field(_BP.phone_call_duration_s, description="phone call duration range, s")
    hands_off_rate_per_min: float = Field(_BP.hands_off_rate_per_min, ge=0,
                                          description="hands-off episodes per minute")
    hands_off_duration_s: RangeF = Field(_BP.hands_off_duration_s, description="hands-off duration range, s")
    drinking_rate_per_min: float = Field(_BP.drinking_rate_per_min, ge=0, description="drinking episodes per minute")
    drinking_duration_s: RangeF = Field(_BP.drinking_duration_s, description="drinking duration range, s")

    @model_validator(mode="after")
    def _check(self):
        try:
            self.to_params().validate()
        except ValueError as e:
            raise ValueError(str(e)) from None
        return self

    def to_params(self) -> BehaviourParams:
        return BehaviourParams(**{k: (tuple(v) if isinstance(v, (list, tuple)) else v)
                                  for k, v in self.model_dump().items()})


class SimulateConfig(ConfigModel):
    out: Optional[str] = Field(None, description="output dataset folder (required); re-running resumes it")
    name: str = Field("dms-sim", description="dataset name written to dataset.json")
    seed: int = Field(0, ge=0, description="global seed; each shard's seed is derived from it and the shard name")
    modalities: list[Literal["rgb", "nir"]] = Field(["rgb", "nir"], description="rendered modalities")
    resolution: tuple[int, int] = Field((640, 480), description="[width, height] of sequence frames (replaces "
                                        "scene.resolutions for sequences)")
    renderer: Literal["blender", "mock"] = Field("blender", description="blender (Cycles) or mock (fast "
                                                 "geometric stand-in for tests and dry runs)")
    backend: Literal["local", "ray"] = Field("local", description="local process pool or a Ray cluster "
                                             "(ray.init(address) from RAY_ADDRESS, else a local instance)")
    workers: int = Field(0, ge=0, le=4096, description="parallel render workers (0 = auto: one Blender process "
                         "per 4 CPU cores, each rendering with its share of the cores as threads - measured faster "
                         "than one single-thread process per core; the mock renderer: one per core)")
    retries: int = Field(2, ge=0, le=100, description="re-tries of a shard whose worker crashed or failed")
    render: RenderConfig = Field(default_factory=RenderConfig, description="Cycles settings")
    sequences: SequencesConfig = Field(default_factory=SequencesConfig, description="behaviour sequences")
    crops: CropsConfig = Field(default_factory=CropsConfig, description="training crops")
    behaviour: BehaviourConfig = Field(default_factory=BehaviourConfig, description="behaviour rates/durations")
    scene: SamplingRanges = Field(default_factory=SamplingRanges, description="domain-randomisation ranges of "
                                  "the static scene (dms.sim.spec.SamplingRanges); sequences use `resolution`, "
                                  "frame crops crops.frame.width/height, eye/mouth/face crops scene.resolutions")
    preview: bool = Field(False, description="write preview.png (contact sheet with label overlays) at the end")
    preview_samples: int = Field(16, ge=1, le=256, description="tiles in the preview contact sheet")
    min_free_gb: float = Field(0.5, ge=0, description="refuse to start with less free disk than the estimated "
                               "output size plus this margin, GB")
    progress: bool = Field(True, description="show a progress bar (frames/s, ETA) on stderr")

    @field_validator("resolution")
    @classmethod
    def _res(cls, v):
        w, h = int(v[0]), int(v[1])
        if not (16 <= w <= 8192 and 16 <= h <= 8192):
            raise ValueError(f"resolution must be within 16..8192 pixels per side, got [{w}, {h}]")
        return (w, h)

    @field_validator("modalities")
    @classmethod
    def _mods(cls, v):
        if not v:
            raise ValueError("at least one modality is needed")
        if len(set(v)) != len(v):
            raise ValueError(f"duplicate modalities in {v}")
        return v

    def check(self) -> None:
        """Cross-section checks that pydantic cannot attach to one key; raises ConfigError (exit 2).

        Every preset used by the sequences must fit its guaranteed behaviours into ``sequences.duration_s``."""
        from dms.errors import ConfigError
        p = self.behaviour.to_params()
        shortest = {"sleep": p.sleep_duration_s[0], "microsleep": p.microsleep_duration_s[0],
                    "yawn": p.yawn_duration_s[0], "droop": p.droop_duration_s[0],
                    "texting": p.texting_duration_s[0], "phone_call": p.phone_call_duration_s[0],
                    "hands_off": p.hands_off_duration_s[0], "drinking": p.drinking_duration_s[0],
                    "long_glance": p.long_glance_duration_s[0], "glance": p.glance_duration_s[0],
                    "talking": p.talking_duration_s[0]}
        used = self.sequences.presets[:self.sequences.count]
        for name in dict.fromkeys(used):
            for act in resolve_preset(name).guaranteed:
                if shortest[act] > self.sequences.duration_s:
                    raise ConfigError(
                        f"invalid config: sequences.duration_s={self.sequences.duration_s} is shorter than the "
                        f"shortest '{act}' ({shortest[act]} s, behaviour.*) that preset '{name}' guarantees; "
                        f"lengthen the sequences or drop '{name}' from sequences.presets")

    def total_items(self) -> dict[str, int]:
        """Images to render per kind (all modalities)."""
        m = len(self.modalities)
        seq_frames = self.sequences.count * max(1, int(round(self.sequences.duration_s * self.sequences.fps)))
        eye = self.crops.eye.count + (self.crops.eye.count % 2)
        return {"sequence": seq_frames * m, "eye": eye * m, "mouth": self.crops.mouth.count * m,
                "face": self.crops.face.count * m, "frame": self.crops.frame.count * m}

    def estimated_bytes(self) -> int:
        """Rough upper estimate of the dataset size on disk (PNG of noisy renders ~ 0.6 bytes/pixel/channel)."""
        w, h = self.resolution
        per_mod_px = {"rgb": 3, "nir": 1}
        n = self.total_items()
        m = len(self.modalities)
        ch = sum(per_mod_px[x] for x in self.modalities) / m
        px = (n["sequence"] * w * h + n["eye"] * self.crops.eye.size ** 2 + n["mouth"] * self.crops.mouth.size ** 2
              + n["face"] * self.crops.face.size ** 2 + n["frame"] * self.crops.frame.width * self.crops.frame.height)
        labels = (n["sequence"] // m) * 20_000 + sum(n[k] for k in ("eye", "mouth", "face", "frame")) * 2_000
        # part masks (flat ids: ~0.1 byte/pixel) and 16-bit depth (~1 byte/pixel), once per frame for all modalities
        aux_px = (n["sequence"] * w * h + n["frame"] * self.crops.frame.width * self.crops.frame.height) / m
        aux = aux_px * (0.1 * self.render.part_masks + 1.0 * self.render.depth)
        return int(px * ch * 0.6 + aux) + labels


#: settings added after datasets were already rendered, and the value that reproduces how those datasets were made
#: (the behaviour before the setting existed). A stored config that lacks one was rendered with this value.
LEGACY_VALUES: dict[tuple[str, ...], object] = {
    ("render", "camera_fill_p"): 0.0,          # no RGB camera-side fill light
    ("crops", "mouth", "tongue_prob"): 0.0,    # no tongue-out poses
    ("render", "crop_samples"): None,          # crops rendered with ``samples`` (the default was null)
}


def with_legacy_values(cfg_dict: dict) -> dict:
    """A stored (``dataset.json``) config completed with :data:`LEGACY_VALUES` for the settings it predates, so a
    dataset rendered before a setting existed resumes / replays as it was made (not with the new default)."""
    out = copy.deepcopy(cfg_dict)
    for path, value in LEGACY_VALUES.items():
        d = out
        for k in path[:-1]:
            if not isinstance(d.get(k), dict):
                break
            d = d[k]
        else:
            d.setdefault(path[-1], value)
    return out
