"""The static scene description (identity, accessories, body, cabin, camera, light, NIR) and its seeded sampler.

A :class:`SceneSpec` is fixed for a sequence; :class:`dms.sim.pose.DriverPose` animates it. Everything the
renderer and the label code need is in the spec (plus the committed assets), so a scene is reproducible from its
JSON alone (``spec.to_dict()`` / ``SceneSpec.from_dict()``, schema ``dms.scene_spec/1``). Sampling is a pure
function of a ``np.random.Generator`` and :class:`SamplingRanges` (domain-randomisation ranges; impossible
ranges raise :class:`dms.errors.ConfigError` when the ranges are built). Units are in the field names; the cabin
frame is documented in :mod:`dms.sim.camera`.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
from pydantic import Field, field_validator, model_validator

from dms.config import ConfigModel
from dms.errors import ConfigError
from dms.sim.camera import FACE_MOUNTS, MOUNTS, CameraModel, check_mounts
from dms.sim.head import IDENTITY_COEFFS

SCHEMA = "dms.scene_spec/1"
TIMES_OF_DAY = ("day", "dusk", "night")
GLASSES = ("none", "clear", "sunglasses")

# Typical iris colours (linear-ish sRGB 0..1): brown, dark brown, hazel, green, blue, grey.
IRIS_PALETTE = ((0.30, 0.16, 0.07), (0.16, 0.08, 0.04), (0.42, 0.30, 0.12), (0.26, 0.36, 0.18),
                (0.24, 0.38, 0.55), (0.42, 0.46, 0.50))
HAIR_PALETTE = ((0.03, 0.025, 0.02), (0.12, 0.07, 0.04), (0.30, 0.18, 0.08), (0.55, 0.40, 0.22),
                (0.45, 0.16, 0.06), (0.55, 0.55, 0.55))


@dataclass(frozen=True)
class Identity:
    shape: dict = field(default_factory=dict)       # IDENTITY_COEFFS -> value in [-1, 1]
    age_years: float = 35.0
    sex: str = "female"                              # "female" | "male" (stubble/makeup priors only)
    skin_tone: float = 0.3                           # 0 = very light ... 1 = very dark (melanin)
    skin_redness: float = 0.3
    skin_roughness: float = 0.45
    pore_strength: float = 0.5
    freckles: float = 0.0
    stubble: float = 0.0
    makeup: float = 0.0
    iris_rgb: tuple = (0.30, 0.16, 0.07)
    pupil_diameter_mm: float = 4.0
    sclera_tint: float = 0.1                        # 0 = white ... 1 = reddish/yellowish
    brow_thickness: float = 0.5
    brow_rgb: tuple = (0.05, 0.04, 0.03)
    hair_rgb: tuple = (0.05, 0.04, 0.03)
    hair_length: float = 0.4                        # 0 = short ... 1 = long at the back
    hair_volume_m: float = 0.008                    # 0 = bald
    hairline: float = 0.5
    lash_length: float = 1.0
    canthus_depth: float = 0.0                      # globes forward of the eye corners (dms.sim.head.CANTHUS_*)


@dataclass(frozen=True)
class Accessories:
    glasses: str = "none"                           # GLASSES
    frame_rgb: tuple = (0.05, 0.05, 0.05)
    lens_tint_rgb: tuple = (0.9, 0.9, 0.9)          # transmission per channel (sunglasses ~0.1)
    lens_nir_transmission: float = 0.95             # sunglasses: mostly transparent in NIR
    cap: bool = False
    cap_rgb: tuple = (0.1, 0.1, 0.3)
    mask: bool = False
    mask_rgb: tuple = (0.8, 0.85, 0.9)

    @property
    def names(self) -> tuple[str, ...]:
        out = []
        if self.glasses == "clear":
            out.append("glasses")
        elif self.glasses == "sunglasses":
            out.append("sunglasses")
        if self.cap:
            out.append("cap")
        if self.mask:
            out.append("mask")
        return tuple(out)


@dataclass(frozen=True)
class Body:
    seat_height_m: float = 0.0                      # vertical offset of the whole driver
    seat_fore_aft_m: float = 0.0                    # + = closer to the wheel
    head_offset_m: tuple = (0.0, 0.0, 0.0)          # head neutral position offset (posture)
    shoulder_width_m: float = 0.40
    arm_length_m: float = 0.60
    shirt_rgb: tuple = (0.2, 0.25, 0.35)
    sleeve: str = "long"                            # "long" | "short"


@dataclass(frozen=True)
class Cabin:
    layout: str = "sedan"                           # "sedan" | "suv" | "compact"
    wheel_radius_m: float = 0.185
    wheel_center_m: tuple = (0.47, 0.0, 0.36)
    wheel_tilt_deg: float = 25.0                    # from vertical
    dash_rgb: tuple = (0.05, 0.05, 0.055)
    seat_rgb: tuple = (0.08, 0.08, 0.08)
    headliner_rgb: tuple = (0.55, 0.53, 0.5)
    trim_rgb: tuple = (0.2, 0.2, 0.2)
    window_sky_rgb: tuple = (0.55, 0.7, 0.9)
    roof_height_m: float = 1.0                      # above the H-point
    scenery: str = "road"                           # "road" | "city" | "trees"


@dataclass(frozen=True)
class CameraSpec:
    mount: str = "steering_column"
    position_m: tuple = (0.56, 0.0, 0.36)
    target_m: tuple = (-0.10, 0.0, 0.66)
    roll_deg: float = 0.0
    width: int = 640
    height: int = 480
    hfov_deg: float = 50.0
    dist: tuple = (0.0, 0.0, 0.0, 0.0, 0.0)
    noise_sigma_dn: float = 1.5                    # read noise std in 8-bit digital numbers
    shot_noise: float = 0.02                        # photon noise scale (std ~ sqrt(signal) * this * 16)
    exposure_ev: float = 0.0
    vignetting: float = 0.2
    blur_px: float = 0.0                            # optical/motion blur sigma (pixels)

    def model(self) -> CameraModel:
        return CameraModel.create(self.width, self.height, self.hfov_deg, self.position_m, self.target_m,
                                  self.roll_deg, self.dist, name=self.mount)


@dataclass(frozen=True)
class Lighting:
    time_of_day: str = "day"                        # TIMES_OF_DAY
    sun_elevation_deg: float = 35.0
    sun_azimuth_deg: float = 30.0                   # 0 = sun ahead (+x), 90 = to the driver's left (+y)
    sun_strength: float = 3.0
    sky_strength: float = 0.8
    street_lights: int = 0
    cabin_ambient: float = 0.05


@dataclass(frozen=True)
class NirSpec:
    wavelength_nm: int = 940                        # 850 | 940
    illuminator_power: float = 1.0                  # relative
    illuminator_offset_m: tuple = (0.0, 0.03, 0.0)  # in the camera frame (OpenCV), metres
    bright_pupil: bool = False                      # on-axis illuminator -> retro-reflecting pupils
    ambient_nir: float = 0.3                        # sunlight leaking through the band-pass filter (day)


@dataclass(frozen=True)
class SceneSpec:
    seed: int
    scene_id: str
    identity: Identity = field(default_factory=Identity)
    accessories: Accessories = field(default_factory=Accessories)
    body: Body = field(default_factory=Body)
    cabin: Cabin = field(default_factory=Cabin)
    camera: CameraSpec = field(default_factory=CameraSpec)
    lighting: Lighting = field(default_factory=Lighting)
    nir: NirSpec = field(default_factory=NirSpec)
    texture_seed: int = 0

    # --- derived geometry ---------------------------------------------------------------------------------
    def camera_model(self) -> CameraModel:
        return self.camera.model()

    def head_rest_position_m(self) -> np.ndarray:
        """Cabin position of the head-local origin (canonical face origin, ~ nose root depth) at rest."""
        b = self.body
        return np.array([-0.10 + b.seat_fore_aft_m, 0.0, 0.635 + b.seat_height_m]) + np.asarray(b.head_offset_m)

    def with_resolution(self, width: int, height: int) -> "SceneSpec":
        """The same scene seen by the same camera (HFOV kept) on a ``width`` x ``height`` sensor."""
        return dataclasses.replace(self, camera=dataclasses.replace(self.camera, width=int(width),
                                                                     height=int(height)))

    def to_dict(self) -> dict[str, Any]:
        def enc(v):
            if isinstance(v, tuple):
                return [enc(x) for x in v]
            if isinstance(v, dict):
                return {k: enc(x) for k, x in sorted(v.items())}
            if isinstance(v, (np.floating, np.integer)):
                return v.item()
            return v
        d = {"schema": SCHEMA}
        for f in dataclasses.fields(self):
            val = getattr(self, f.name)
            d[f.name] = {k: enc(x) for k, x in dataclasses.asdict(val).items()} if dataclasses.is_dataclass(
                val) else enc(val)
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)

    @staticmethod
    def from_dict(d: dict[str, Any]) -> "SceneSpec":
        if d.get("schema") != SCHEMA:
            raise ValueError(f"expected schema {SCHEMA!r}, got {d.get('schema')!r}")
        subs = {"identity": Identity, "accessories": Accessories, "body": Body, "cabin": Cabin,
                "camera": CameraSpec, "lighting": Lighting, "nir": NirSpec}
        kw: dict[str, Any] = {}
        for k, v in d.items():
            if k == "schema":
                continue
            if k in subs:
                cls = subs[k]
                names = {f.name for f in dataclasses.fields(cls)}
                unknown = set(v) - names
                if unknown:
                    raise ValueError(f"scene spec {k}: unknown fields {sorted(unknown)}")
                kw[k] = cls(**{kk: (tuple(tuple(x) if isinstance(x, list) else x for x in vv)
                                    if isinstance(vv, list) else vv) for kk, vv in v.items()})
            elif k in ("seed", "scene_id", "texture_seed"):
                kw[k] = v
            else:
                raise ValueError(f"scene spec: unknown field {k!r}")
        return SceneSpec(**kw)


# ------------------------------------------------------------------------------------------------------------
Range = tuple[float, float]


class SamplingRanges(ConfigModel):
    """Domain-randomisation ranges for :func:`sample_scene` (exposed in the simulate config)."""
    mounts: list[str] = Field(default_factory=lambda: list(FACE_MOUNTS))
    mount_weights: Optional[list[float]] = None
    resolutions: list[tuple[int, int]] = Field(default_factory=lambda: [(1280, 800), (640, 480)])
    hfov_deg: Range = (40.0, 60.0)
    k1: Range = (-0.15, 0.02)
    camera_roll_deg: Range = (-3.0, 3.0)
    aim_jitter_m: float = 0.04
    noise_sigma_dn: Range = (0.5, 4.0)
    exposure_ev: Range = (-0.6, 0.6)
    blur_px: Range = (0.0, 0.8)
    p_day: float = 0.5
    p_dusk: float = 0.2
    p_night: float = 0.3
    sun_elevation_deg: Range = (8.0, 65.0)
    sun_azimuth_deg: Range = (-180.0, 180.0)
    street_lights: tuple[int, int] = (1, 4)
    age_years: Range = (18.0, 78.0)
    skin_tone: Range = (0.0, 1.0)
    face_shape_sigma: float = 0.45
    p_male: float = 0.5
    pupil_diameter_mm: Range = (2.5, 6.5)
    p_glasses_clear: float = 0.22
    p_sunglasses: float = 0.06
    p_cap: float = 0.08
    p_mask: float = 0.03
    sunglasses_nir_transmission: Range = (0.6, 0.98)
    seat_height_m: Range = (-0.06, 0.06)
    seat_fore_aft_m: Range = (-0.06, 0.06)
    head_offset_m: float = 0.025
    p_nir_940: float = 0.5
    illuminator_power: Range = (0.6, 1.4)
    p_bright_pupil: float = 0.08
    #: Identity.canthus_depth: 0 = the canonical MediaPipe eye ring (deep-set eyeballs, the default: the eye_state
    #: sets were rendered with it), 1 = anatomical corner depth (dms.sim.head.CANTHUS_GLOBE_FORWARD_M). Drawn last,
    #: and only when the range is not (0, 0), so the other draws of a seed are unchanged.
    canthus_depth: Range = (0.0, 0.0)
    layouts: list[str] = Field(default_factory=lambda: ["sedan", "suv", "compact"])

    @field_validator("mounts")
    @classmethod
    def _mounts_known(cls, v: list[str]) -> list[str]:
        return check_mounts(v)

    @field_validator("layouts")
    @classmethod
    def _layouts_known(cls, v: list[str]) -> list[str]:
        if not v or any(x not in ("sedan", "suv", "compact") for x in v):
            raise ValueError(f"layouts must be a non-empty subset of sedan, suv, compact; got {v}")
        return v

    @field_validator("resolutions")
    @classmethod
    def _res_ok(cls, v: list[tuple[int, int]]) -> list[tuple[int, int]]:
        if not v:
            raise ValueError("resolutions must not be empty")
        for w, h in v:
            if not (16 <= w <= 8192 and 16 <= h <= 8192):
                raise ValueError(f"resolution {w}x{h} out of range 16..8192")
        return v

    @model_validator(mode="after")
    def _check(self) -> "SamplingRanges":
        limits = {"hfov_deg": (5, 150), "k1": (-0.6, 0.6), "camera_roll_deg": (-45, 45), "noise_sigma_dn": (0, 50),
                  "exposure_ev": (-4, 4), "blur_px": (0, 10), "sun_elevation_deg": (-10, 90),
                  "sun_azimuth_deg": (-360, 360), "age_years": (16, 100), "skin_tone": (0, 1),
                  "pupil_diameter_mm": (1.5, 9), "sunglasses_nir_transmission": (0, 1),
                  "seat_height_m": (-0.2, 0.2), "seat_fore_aft_m": (-0.2, 0.2), "illuminator_power": (0, 10),
                  "street_lights": (0, 20), "canthus_depth": (0, 1.5)}
        for name, (lo_lim, hi_lim) in limits.items():
            lo, hi = getattr(self, name)
            if lo > hi:
                raise ValueError(f"{name}: low {lo} > high {hi}")
            if lo < lo_lim or hi > hi_lim:
                raise ValueError(f"{name}: range ({lo}, {hi}) outside the possible ({lo_lim}, {hi_lim})")
        for name in ("p_day", "p_dusk", "p_night", "p_male", "p_glasses_clear", "p_sunglasses", "p_cap", "p_mask",
                     "p_nir_940", "p_bright_pupil"):
            p = getattr(self, name)
            if not (0.0 <= p <= 1.0):
                raise ValueError(f"{name} must be a probability in [0, 1], got {p}")
        if self.p_day + self.p_dusk + self.p_night <= 0:
            raise ValueError("p_day + p_dusk + p_night must be > 0")
        if self.p_glasses_clear + self.p_sunglasses > 1:
            raise ValueError("p_glasses_clear + p_sunglasses must be <= 1")
        if self.mount_weights is not None:
            if len(self.mount_weights) != len(self.mounts) or any(w < 0 for w in self.mount_weights) or \
                    sum(self.mount_weights) <= 0:
                raise ValueError("mount_weights must be non-negative, one per mount, with a positive sum")
        if not (0 <= self.face_shape_sigma <= 1.5) or not (0 <= self.aim_jitter_m <= 0.3) or \
                not (0 <= self.head_offset_m <= 0.2):
            raise ValueError("face_shape_sigma in [0, 1.5], aim_jitter_m in [0, 0.3], head_offset_m in [0, 0.2]")
        return self

    @classmethod
    def create(cls, **kw: Any) -> "SamplingRanges":
        """Build ranges, raising ConfigError (exit code 2) with the pydantic message on impossible values."""
        from pydantic import ValidationError
        try:
            return cls(**kw)
        except ValidationError as e:
            raise ConfigError(f"invalid sampling ranges: {e}") from None


def _u(rng: np.random.Generator, r: Range) -> float:
    return float(rng.uniform(r[0], r[1])) if r[1] > r[0] else float(r[0])


def _jit_rgb(rng: np.random.Generator, base, amount: float) -> tuple:
    return tuple(float(np.clip(c * (1 + rng.normal(0, amount)), 0.0, 1.0)) for c in base)


#: share of drivers in short sleeves (bare forearms; most of State Farm's drivers)
P_SHORT_SLEEVES = 0.55
#: how much closer to the driver the wheel is in side-view scenes (m)
SIDE_VIEW_WHEEL_CLOSER_M = 0.07


def _seat_rgb(draw) -> tuple:
    """Seat upholstery from three uniform(0.02, 0.4) draws: mostly greys / beiges / blacks from dark to light grey
    (linear 0.03 ... 0.5), with a little of the draw's hue kept (car seats are rarely saturated colours)."""
    c = np.asarray(draw, dtype=np.float64)
    m = float(c.mean())
    lum = 0.03 + 0.47 * (m - 0.02) / 0.38
    return tuple(float(x) for x in np.clip(lum + 0.35 * (c - m), 0.01, 1.0))


def skin_albedo_rgb(tone: float, redness: float) -> tuple[float, float, float]:
    """Approximate linear skin albedo for a melanin level (0 light ... 1 dark)."""
    light = np.array([0.78, 0.57, 0.47])
    dark = np.array([0.17, 0.09, 0.05])
    c = light * (1 - tone) ** 1.2 + dark * (1 - (1 - tone) ** 1.2)
    c = c * np.array([1.0 + 0.08 * redness, 1.0 - 0.05 * redness, 1.0 - 0.05 * redness])
    return tuple(float(x) for x in np.clip(c, 0, 1))


def sample_scene(rng: np.random.Generator, ranges: SamplingRanges | None = None,
                 seed: int | None = None) -> SceneSpec:
    """Sample a static scene. Deterministic for the generator's state (and ``ranges``)."""
    R = ranges or SamplingRanges()
    if seed is None:
        seed = int(rng.integers(0, 2 ** 62))
    # identity
    male = bool(rng.random() < R.p_male)
    shape = {k: float(np.clip(rng.normal(0, R.face_shape_sigma), -1, 1)) for k in IDENTITY_COEFFS}
    if male:
        shape["jaw_width"] = float(np.clip(shape["jaw_width"] + 0.3, -1, 1))
        shape["head_size"] = float(np.clip(shape["head_size"] + 0.3, -1, 1))
    age = _u(rng, R.age_years)
    hair_grey = float(np.clip((age - 45) / 30, 0, 1)) * float(rng.random())
    hair = np.array(HAIR_PALETTE[int(rng.integers(len(HAIR_PALETTE) - 1))])
    hair = tuple(float(x) for x in hair * (1 - hair_grey) + np.array(HAIR_PALETTE[-1]) * hair_grey)
    tone = _u(rng, R.skin_tone)
    iris = IRIS_PALETTE[int(rng.choice(len(IRIS_PALETTE), p=_iris_probs(tone)))]
    ident = Identity(
        shape=shape, age_years=age, sex="male" if male else "female", skin_tone=tone,
        skin_redness=float(rng.uniform(0.1, 0.7)), skin_roughness=float(rng.uniform(0.35, 0.6)),
        pore_strength=float(rng.uniform(0.2, 1.0)),
        freckles=float(rng.uniform(0, 1) if (tone < 0.35 and rng.random() < 0.25) else 0.0),
        stubble=float(rng.uniform(0.2, 1.0) if male and rng.random() < 0.5 else 0.0),
        makeup=float(rng.uniform(0.2, 1.0) if (not male and rng.random() < 0.4) else 0.0),
        iris_rgb=_jit_rgb(rng, iris, 0.12), pupil_diameter_mm=_u(rng, R.pupil_diameter_mm),
        sclera_tint=float(rng.uniform(0, 0.5)), brow_thickness=float(rng.uniform(0.25, 1.0)),
        brow_rgb=tuple(float(c * rng.uniform(0.6, 1.0)) for c in hair), hair_rgb=hair,
        hair_length=float(rng.uniform(0, 1)),
        hair_volume_m=float(0.0 if (male and age > 40 and rng.random() < 0.25) else rng.uniform(0.004, 0.02)),
        hairline=float(rng.uniform(0.0, 1.0) if male else rng.uniform(0.0, 0.4)),
        lash_length=float(rng.uniform(0.7, 1.3) * (1.15 if not male else 1.0)),
    )
    # accessories
    g = rng.random()
    glasses = "clear" if g < R.p_glasses_clear else ("sunglasses" if g < R.p_glasses_clear + R.p_sunglasses
                                                      else "none")
    tint = (0.92, 0.92, 0.92) if glasses != "sunglasses" else tuple(
        float(x) for x in np.clip(rng.uniform(0.03, 0.2) * (1 + rng.normal(0, 0.2, 3)), 0.01, 0.4))
    acc = Accessories(glasses=glasses, frame_rgb=_jit_rgb(rng, (0.06, 0.05, 0.05), 0.5) if rng.random() < 0.7
                      else tuple(float(x) for x in rng.uniform(0.1, 0.7, 3)),
                      lens_tint_rgb=tint,
                      lens_nir_transmission=_u(rng, R.sunglasses_nir_transmission) if glasses == "sunglasses"
                      else 0.95,
                      cap=bool(rng.random() < R.p_cap), cap_rgb=tuple(float(x) for x in rng.uniform(0.05, 0.7, 3)),
                      mask=bool(rng.random() < R.p_mask),
                      mask_rgb=tuple(float(x) for x in rng.uniform(0.5, 0.95, 3)))
    ho = R.head_offset_m
    body = Body(seat_height_m=_u(rng, R.seat_height_m), seat_fore_aft_m=_u(rng, R.seat_fore_aft_m),
                head_offset_m=(float(rng.uniform(-ho, ho)), float(rng.uniform(-ho, ho)),
                               float(rng.uniform(-ho, ho) * 0.5)),
                shoulder_width_m=float(rng.uniform(0.36, 0.46) * (1.06 if male else 1.0)),
                arm_length_m=float(rng.uniform(0.55, 0.66)),
                shirt_rgb=tuple(float(x) for x in rng.uniform(0.03, 0.8, 3)),
                sleeve="short" if rng.random() < P_SHORT_SLEEVES else "long")
    layout = str(R.layouts[int(rng.integers(len(R.layouts)))])
    wheel_z = {"sedan": 0.36, "suv": 0.40, "compact": 0.37}[layout] + float(rng.uniform(-0.03, 0.03))
    cabin = Cabin(layout=layout, wheel_radius_m=float(rng.uniform(0.175, 0.195)),
                  wheel_center_m=(float(0.46 + rng.uniform(-0.03, 0.03)), 0.0, wheel_z),
                  wheel_tilt_deg=float(rng.uniform(18, 32)),
                  dash_rgb=_jit_rgb(rng, (0.05, 0.05, 0.055), 0.4) if rng.random() < 0.7 else
                  tuple(float(x) for x in rng.uniform(0.05, 0.5, 3)),
                  seat_rgb=_seat_rgb(rng.uniform(0.02, 0.4, 3)),
                  headliner_rgb=tuple(float(x) for x in rng.uniform(0.15, 0.75) * rng.uniform(0.9, 1.0, 3)),
                  trim_rgb=tuple(float(x) for x in rng.uniform(0.03, 0.5) * rng.uniform(0.85, 1.0, 3)),
                  window_sky_rgb=_jit_rgb(rng, (0.55, 0.7, 0.9), 0.15),
                  roof_height_m={"sedan": 0.98, "suv": 1.08, "compact": 0.96}[layout] + float(
                      rng.uniform(-0.03, 0.03)),
                  scenery=str(rng.choice(["road", "city", "trees"])))
    # camera
    mounts = list(R.mounts)
    w = np.asarray(R.mount_weights if R.mount_weights is not None else [1.0] * len(mounts), dtype=np.float64)
    mount = MOUNTS[mounts[int(rng.choice(len(mounts), p=w / w.sum()))]]
    pos = np.array([p + rng.uniform(-j, j) for p, j in zip(mount.position_m, mount.jitter_m)])
    if mount.name in ("steering_column", "cluster"):   # these mounts move with the column / wheel
        pos += np.array([cabin.wheel_center_m[0] - 0.46, 0.0, cabin.wheel_center_m[2] - 0.36])
    pos = tuple(float(x) for x in pos)
    head = np.array([-0.10 + body.seat_fore_aft_m, 0.0, 0.66 + body.seat_height_m]) + np.asarray(
        body.head_offset_m)
    aim = rng.uniform(-R.aim_jitter_m, R.aim_jitter_m, 3)
    if mount.target_m is not None:     # side-view mounts aim at the body, not the head (same draws: same stream)
        head = np.asarray(mount.target_m) + np.array([body.seat_fore_aft_m, 0.0, body.seat_height_m])
        aim = aim * (mount.target_jitter_m / R.aim_jitter_m if R.aim_jitter_m > 0 else 0.0)
    target = tuple(float(x) for x in head + aim)
    res = R.resolutions[int(rng.integers(len(R.resolutions)))]
    k1 = _u(rng, R.k1)
    # (draw order roll, hfov as before: the random stream of the face mounts is unchanged)
    roll = _u(rng, R.camera_roll_deg)
    if mount.roll_deg is not None:     # the mount's own bracket roll: map the draw into its range
        lo, hi = R.camera_roll_deg
        f = (roll - lo) / (hi - lo) if hi > lo else 0.5
        roll = float(mount.roll_deg[0] + f * (mount.roll_deg[1] - mount.roll_deg[0]))
    hfov = _u(rng, R.hfov_deg)
    if mount.hfov_deg is not None:     # the mount's own lens: map the draw into its range
        lo, hi = R.hfov_deg
        f = (hfov - lo) / (hi - lo) if hi > lo else 0.5
        hfov = float(mount.hfov_deg[0] + f * (mount.hfov_deg[1] - mount.hfov_deg[0]))
    if mount.target_m is not None:     # side views: the driver sits closer to the wheel (elbows bent, as in State
        # Farm's frames) instead of reaching it with straight arms; no extra draw (the random stream is unchanged)
        wc = cabin.wheel_center_m
        cabin = dataclasses.replace(cabin, wheel_center_m=(float(wc[0] - SIDE_VIEW_WHEEL_CLOSER_M), wc[1], wc[2]))
    cam = CameraSpec(mount=mount.name, position_m=pos, target_m=target, roll_deg=roll,
                     width=int(res[0]), height=int(res[1]), hfov_deg=hfov,
                     dist=(k1, float(-0.2 * k1 * rng.uniform(0, 1)), float(rng.normal(0, 4e-4)),
                           float(rng.normal(0, 4e-4)), 0.0),
                     noise_sigma_dn=_u(rng, R.noise_sigma_dn), shot_noise=float(rng.uniform(0.01, 0.04)),
                     exposure_ev=_u(rng, R.exposure_ev), vignetting=float(rng.uniform(0.0, 0.4)),
                     blur_px=_u(rng, R.blur_px))
    # light
    p = np.array([R.p_day, R.p_dusk, R.p_night], dtype=np.float64)
    tod = TIMES_OF_DAY[int(rng.choice(3, p=p / p.sum()))]
    elev = _u(rng, R.sun_elevation_deg) if tod == "day" else float(rng.uniform(-2, 8))
    light = Lighting(time_of_day=tod, sun_elevation_deg=elev, sun_azimuth_deg=_u(rng, R.sun_azimuth_deg),
                     sun_strength={"day": float(rng.uniform(2.0, 5.0)), "dusk": float(rng.uniform(0.3, 1.0)),
                                   "night": 0.0}[tod],
                     sky_strength={"day": float(rng.uniform(0.5, 1.2)), "dusk": float(rng.uniform(0.1, 0.3)),
                                   "night": float(rng.uniform(0.005, 0.03))}[tod],
                     street_lights=int(rng.integers(R.street_lights[0], R.street_lights[1] + 1))
                     if tod == "night" else 0,
                     cabin_ambient=float(rng.uniform(0.01, 0.08)))
    nir = NirSpec(wavelength_nm=940 if rng.random() < R.p_nir_940 else 850,
                  illuminator_power=_u(rng, R.illuminator_power),
                  illuminator_offset_m=(float(rng.uniform(-0.04, 0.04)), float(rng.uniform(-0.03, 0.03)), 0.0),
                  bright_pupil=bool(rng.random() < R.p_bright_pupil),
                  ambient_nir={"day": float(rng.uniform(0.15, 0.6)), "dusk": float(rng.uniform(0.02, 0.1)),
                               "night": 0.0}[tod])
    texture_seed = int(rng.integers(0, 2 ** 31))
    if tuple(R.canthus_depth) != (0.0, 0.0):
        ident = dataclasses.replace(ident, canthus_depth=_u(rng, R.canthus_depth))
    return SceneSpec(seed=int(seed), scene_id=f"scene-{int(seed) & 0xFFFFFFFFFFFF:012x}", identity=ident,
                     accessories=acc, body=body, cabin=cabin, camera=cam, lighting=light, nir=nir,
                     texture_seed=texture_seed)


def _iris_probs(tone: float) -> np.ndarray:
    # darker skin -> brown irises much more likely
    p = np.array([0.35, 0.2, 0.12, 0.1, 0.15, 0.08])
    dark = np.array([0.5, 0.45, 0.05, 0.0, 0.0, 0.0])
    q = p * (1 - tone) + dark * tone
    return q / q.sum()
