"""Renderer facade: ``Renderer`` (Blender/Cycles, one scene per process) and ``MockRenderer`` (numpy/OpenCV).

Both expose::

    render_frame(spec, pose, modalities=("rgb", "nir")) -> {"rgb": HxWx3 uint8 BGR, "nir": HxW uint8}
    render_crops(spec, pose, crop_names=(...), modalities=(...), size=None) -> [(crop_name, modality, image)]

Full frames are rendered pinhole (with an overscan margin when the lens has distortion) and warped into the
distorted image, then pass through the sensor model (exposure, vignetting, blur, shot + read noise). Crops are
rendered with Blender's render border around the crop region at the camera's own (pinhole) geometry and cut with
:func:`dms.data.crops.cut` from the projected landmarks — exactly as the runtime cuts them. ``bpy`` is imported
lazily: importing this module never needs Blender; ``Renderer()`` raises :class:`dms.errors.DmsError` without it.

Sensor noise is seeded from the scene seed and the pose, so the same spec + pose gives the same pixels.
May import numpy, OpenCV, dms.sim, dms.data; bpy only via dms.sim.blender.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

import numpy as np

from dms.data.crops import crop_bbox, crop_transform, cut, get_crop
from dms.errors import DmsError
from dms.sim.camera import CameraModel
from dms.sim.labels import posed_head, project_landmarks
from dms.sim.parts import AUX_OUTPUTS
from dms.sim.pose import DriverPose
from dms.sim.spec import SceneSpec

LOG = logging.getLogger(__name__)
MODALITIES = ("rgb", "nir")


@dataclass(frozen=True)
class RenderSettings:
    samples: int = 8
    device: str = "CPU"                 # "CPU" | "CUDA" | "OPTIX" | "HIP" | "METAL" | "ONEAPI"
    threads: int = 0                    # 0 = all cores
    denoise: bool = True                # OpenImageDenoise (cheap on CPU; few samples stay clean)
    max_bounces: int = 3
    subsurface: bool = True             # skin subsurface scattering (~15% render time)
    crop_scale: Optional[float] = None  # crops rendered at this multiple of the camera's native resolution;
    #                                     None = auto: just enough pixels for the crop size, never above native
    sensor: bool = True                 # apply the sensor model (noise, exposure, vignetting, blur)
    union_crops: bool = True            # render nearby crops (both eyes) with one border when cheaper
    crop_samples: Optional[int] = None  # samples for crop renders (None = ``samples``)
    auto_exposure: bool = True          # face-metered gain (the sensor's exposure_ev is applied on top)
    crop_pixel_ratio: float = 1.15      # auto crop scale: rendered pixels per crop pixel (< 1 = cheaper, softer)
    crop_max_scale: float = 1.0         # auto crop scale cap: 1 = never above the camera's native resolution
    #                                     (true sensor detail); > 1 = sharper crops than the sensor gives
    denoise_prefilter: str = "FAST"     # OIDN guide prefilter: "FAST" (one filter), "ACCURATE" (+2 filters that
    #                                     prefilter albedo/normal: ~2x the cost of a 4-sample crop, same look), "NONE"
    light_tree: bool = False            # Cycles light tree: costs ~15% of path tracing in this few-light scene
    camera_fill_p: float = 0.5          # share of scenes with an RGB camera-side fill light (per texture seed)

    def __post_init__(self) -> None:
        if not (1 <= int(self.samples) <= 4096):
            raise ValueError(f"samples must be in [1, 4096], got {self.samples}")
        if self.threads < 0:
            raise ValueError("threads must be >= 0")
        if not (0.2 <= self.crop_pixel_ratio <= 4):
            raise ValueError("crop_pixel_ratio must be in [0.2, 4]")
        if not (0.1 <= self.crop_max_scale <= 8):
            raise ValueError("crop_max_scale must be in [0.1, 8]")
        if self.crop_samples is not None and not (1 <= int(self.crop_samples) <= 4096):
            raise ValueError("crop_samples must be None or in [1, 4096]")
        if self.denoise_prefilter not in ("NONE", "FAST", "ACCURATE"):
            raise ValueError(f"denoise_prefilter must be NONE, FAST or ACCURATE, got {self.denoise_prefilter!r}")
        if not (0.0 <= self.camera_fill_p <= 1.0):
            raise ValueError(f"camera_fill_p must be in [0, 1], got {self.camera_fill_p}")
        if self.crop_scale is not None and not (0.05 <= self.crop_scale <= 8):
            raise ValueError("crop_scale must be None (auto) or in [0.05, 8]")


def _check_modalities(modalities: Iterable[str]) -> tuple[str, ...]:
    mods = tuple(modalities)
    bad = [m for m in mods if m not in MODALITIES]
    if bad or not mods:
        raise ValueError(f"modalities must be a non-empty subset of {MODALITIES}, got {mods}")
    return mods


def pose_rng(spec: SceneSpec, pose: DriverPose, salt: str = "") -> np.random.Generator:
    """Deterministic generator for per-image randomness (sensor noise) from the scene seed and the pose."""
    h = hashlib.sha256(f"{spec.seed}|{pose!r}|{salt}".encode()).digest()
    return np.random.default_rng(int.from_bytes(h[:8], "little"))


def _crop_size(name: str, size) -> tuple[int, int]:
    cd = get_crop(name)
    if size is None:
        return tuple(cd.out_size)
    if isinstance(size, dict):
        size = size.get(name, size.get(name.split("_")[0], cd.out_size))
    if isinstance(size, (int, np.integer)):
        return int(size), int(size)
    return int(size[0]), int(size[1])


# --- sensor model ---------------------------------------------------------------------------------------------
AE_TARGET = 0.40          # face-region 60th percentile after auto exposure (display-referred)
AE_GAIN_RANGE = (0.5, 12.0)


def auto_expose(img: np.ndarray, meter_box: Optional[tuple[int, int, int, int]] = None) -> np.ndarray:
    """Scale ``img`` so the metered region's 60th percentile is AE_TARGET (gain clamped to AE_GAIN_RANGE).

    Frames meter on the face box; crop regions (a face part) meter on the whole region. Deterministic."""
    roi = img if meter_box is None else img[meter_box[1]:meter_box[3], meter_box[0]:meter_box[2]]
    if roi.size == 0:
        roi = img
    level = float(np.percentile(roi, 60))
    gain = float(np.clip(AE_TARGET / max(level, 1e-4), *AE_GAIN_RANGE))
    return img * np.float32(gain)

def apply_sensor(img: np.ndarray, spec: SceneSpec, rng: np.random.Generator, modality: str,
                 origin_px: tuple[float, float] = (0.0, 0.0), scale: float = 1.0) -> np.ndarray:
    """Exposure, vignetting (by full-frame position), blur, shot + read noise, 8-bit quantisation.

    ``img`` is float32 in [0, 1+] display-referred (HxW or HxWx3). ``origin_px``/``scale`` place a region render
    in the full frame so vignetting matches.
    """
    import cv2
    c = spec.camera
    x = img.astype(np.float32) * np.float32(2.0 ** c.exposure_ev)
    h, w = x.shape[:2]
    if c.vignetting > 0:
        ys = (np.arange(h, dtype=np.float32) / scale + origin_px[1] - (c.height - 1) / 2) / (c.height / 2)
        xs = (np.arange(w, dtype=np.float32) / scale + origin_px[0] - (c.width - 1) / 2) / (c.width / 2)
        r2 = (xs[None, :] ** 2 * (c.width / c.height) ** 0 + ys[:, None] ** 2) / 2.0
        v = 1.0 - c.vignetting * np.clip(r2, 0, 1.5)
        x = x * (v[..., None] if x.ndim == 3 else v)
    if c.blur_px > 0.05:
        x = cv2.GaussianBlur(x, (0, 0), sigmaX=c.blur_px * scale)
    shot = c.shot_noise * (1.5 if modality == "nir" else 1.0)
    # a region rendered below native resolution stands for averaged native pixels: less noise per pixel
    noise_std = np.sqrt(np.clip(x, 0, None) * shot ** 2 + (c.noise_sigma_dn / 255.0) ** 2) * min(1.0, scale)
    if x.ndim == 3:  # colour noise is partly correlated (demosaicing)
        common = rng.standard_normal(x.shape[:2]).astype(np.float32)[..., None]
        indep = rng.standard_normal(x.shape).astype(np.float32)
        n = 0.6 * common + 0.8 * indep
    else:
        n = rng.standard_normal(x.shape).astype(np.float32)
    x = x + noise_std * n
    return np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)


def distort_image(img: np.ndarray, cam: CameraModel, pinhole: CameraModel, nearest: bool = False) -> np.ndarray:
    """Warp a pinhole render (camera ``pinhole``: same fx/fy/pose, larger grid) into ``cam``'s distorted image
    (``nearest``: no interpolation, for part ids and depth)."""
    import cv2
    vv, uu = np.mgrid[0:cam.height, 0:cam.width].astype(np.float64)
    und = cam.undistort_pixels(np.stack([uu, vv], -1))
    mapx = (und[..., 0] - cam.cx + pinhole.cx).astype(np.float32)
    mapy = (und[..., 1] - cam.cy + pinhole.cy).astype(np.float32)
    return cv2.remap(img, mapx, mapy, cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def overscan_camera(cam: CameraModel) -> CameraModel:
    """A pinhole camera with the same fx/fy/pose whose grid covers every undistorted pixel of ``cam``."""
    if not cam.has_distortion:
        return cam
    w, h = cam.width, cam.height
    edge = np.concatenate([np.stack([np.linspace(0, w - 1, 64), np.full(64, y)], 1) for y in (0, h - 1)] +
                          [np.stack([np.full(64, x), np.linspace(0, h - 1, 64)], 1) for x in (0, w - 1)])
    und = cam.undistort_pixels(edge)
    mx = int(np.ceil(max(0.0, -und[:, 0].min(), und[:, 0].max() - (w - 1)))) + 2
    my = int(np.ceil(max(0.0, -und[:, 1].min(), und[:, 1].max() - (h - 1)))) + 2
    return cam.with_size(w + 2 * mx, h + 2 * my, cam.cx + mx, cam.cy + my)


def scaled_camera(cam: CameraModel, s: float) -> CameraModel:
    if s == 1.0:
        return cam
    w, h = int(round(cam.width * s)), int(round(cam.height * s))
    return CameraModel(w, h, cam.fx * s, cam.fy * s, (cam.cx + 0.5) * s - 0.5, (cam.cy + 0.5) * s - 0.5,
                       cam.R_world_from_cam, cam.position_m, (0.0,) * 5, cam.name)


# ------------------------------------------------------------------------------------------------------------
class _Base:
    settings: RenderSettings

    # subclasses implement: _render_region(spec, pose, modality, cam, border_xyxy|None) -> float32 image and
    # _render_aux(spec, pose, cam) -> (parts uint8 HxW, depth float32 HxW metres, NaN = no surface)
    def _prepare(self, spec: SceneSpec, pose: DriverPose) -> None:
        pass

    def render_frame(self, spec: SceneSpec, pose: DriverPose, modalities: Sequence[str] = MODALITIES,
                     aux: Sequence[str] = ()) -> dict[str, np.ndarray]:
        """{modality: image} of the whole frame; ``aux`` ("parts", "depth") adds the part mask (uint8 HxW ids of
        :data:`dms.sim.parts.PARTS`) and the depth map (float32 HxW metres along the camera axis, NaN = no
        surface), through the same lens distortion (nearest neighbour)."""
        mods = _check_modalities(modalities)
        bad = set(aux) - set(AUX_OUTPUTS)
        if bad:
            raise DmsError(f"unknown aux output(s) {sorted(bad)}; known: {list(AUX_OUTPUTS)}")
        cam = spec.camera_model()
        pin = overscan_camera(cam)
        self._prepare(spec, pose)
        out = {}
        if aux:
            parts, depth = self._render_aux(spec, pose, pin)
            if pin is not cam:
                parts = distort_image(parts, cam, pin, nearest=True)
                depth = distort_image(depth, cam, pin, nearest=True)
            out.update({k: v for k, v in (("parts", parts), ("depth", depth)) if k in aux})
        for m in mods:
            img = self._render_region(spec, pose, m, pin, None)
            if pin is not cam:
                img = distort_image(img, cam, pin)
            # face-ROI auto exposure, as DMS cameras do: meter on the face box
            lm, _ = project_landmarks(spec, pose, distort=True)
            ok = np.isfinite(lm).all(axis=1)
            box = None
            if ok.any():
                x0, y0 = np.clip(np.floor(lm[ok].min(0)).astype(int), 0, [cam.width - 1, cam.height - 1])
                x1, y1 = np.clip(np.ceil(lm[ok].max(0)).astype(int) + 1, 1, [cam.width, cam.height])
                box = (x0, y0, x1, y1)
            out[m] = self._finish(img, spec, pose, m, (0.0, 0.0), 1.0, salt="frame", meter_box=box)
        return out

    def _finish(self, img: np.ndarray, spec, pose, modality, origin, scale, salt, meter_box=None) -> np.ndarray:
        if modality == "nir" and img.ndim == 3:
            img = img.mean(axis=2)
        if self.settings.auto_exposure:
            img = auto_expose(img, meter_box)
        if self.settings.sensor:
            out = apply_sensor(img, spec, pose_rng(spec, pose, f"{salt}|{modality}|{origin}"), modality, origin,
                               scale)
        else:
            out = np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)
        if modality == "rgb":
            out = np.ascontiguousarray(out[..., ::-1])   # RGB -> BGR (OpenCV order)
        return out

    def render_crops(self, spec: SceneSpec, pose: DriverPose,
                     crop_names: Sequence[str] = ("eye_left", "eye_right", "mouth"),
                     modalities: Sequence[str] = MODALITIES, size=None) -> list[tuple[str, str, np.ndarray]]:
        """Crops rendered with a render border at the camera's own geometry, cut with dms.data.crops.cut.

        ``size``: None (the crop definitions' sizes), an int / (w, h) for all crops, or a dict by crop name or
        kind ("eye", "mouth", "face")."""
        mods = _check_modalities(modalities)
        cam0 = spec.camera_model()
        ph = posed_head(spec, pose)
        lm0, _ = project_landmarks(spec, pose, distort=False, posed=ph)
        if not np.isfinite(lm0).all():
            raise DmsError(f"scene {spec.scene_id}: face behind the camera, cannot render crops")
        if self.settings.crop_scale is not None:
            s = float(self.settings.crop_scale)
        else:  # render each crop with ~1 rendered pixel per crop pixel (1.15x margin), capped (native)
            need = []
            for name in crop_names:
                cd = get_crop(name).with_size(*_crop_size(name, size))
                M = crop_transform(lm0, cd)
                need.append(self.settings.crop_pixel_ratio * float(np.hypot(M[0, 0], M[0, 1])))
            s = float(min(self.settings.crop_max_scale, max(need)))
        cam = scaled_camera(cam0, s)
        lm = (lm0 + 0.5) * s - 0.5
        self._prepare(spec, pose)
        boxes = []
        for name in crop_names:
            cd = get_crop(name).with_size(*_crop_size(name, size))
            M = crop_transform(lm, cd)
            boxes.append((name, cd, crop_bbox(M, cd.out_size, (cam.width, cam.height), margin_px=3.0)))
        groups = self._group(boxes)
        out = []
        for m in mods:
            for members, (x0, y0, x1, y1) in groups:
                if x1 - x0 < 2 or y1 - y0 < 2:
                    raise DmsError(f"scene {spec.scene_id}: crop {[b[0] for b in members]} outside the image")
                region = self._render_region(spec, pose, m, cam, (x0, y0, x1, y1), crop=True)
                region = self._finish(region, spec, pose, m, (x0 / s, y0 / s), s, salt="crop")
                for name, cd, _ in members:
                    img, _M = cut(region, lm, cd, region_origin_px=(float(x0), float(y0)))
                    out.append((name, m, img))
        order = {n: i for i, n in enumerate(crop_names)}
        out.sort(key=lambda t: (mods.index(t[1]), order[t[0]]))
        return out

    def _group(self, boxes):
        """Merge crop boxes into one render border when the union costs less than separate renders."""
        groups = [([b], b[2]) for b in boxes]
        if not self.settings.union_crops:
            return groups
        overhead_px = 40_000        # ~ fixed cost of one render call, in pixels
        merged = True
        while merged and len(groups) > 1:
            merged = False
            for i in range(len(groups)):
                for j in range(i + 1, len(groups)):
                    a, b = groups[i][1], groups[j][1]
                    u = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
                    area = lambda r: max(0, r[2] - r[0]) * max(0, r[3] - r[1])
                    if area(u) < area(a) + area(b) + overhead_px:
                        groups[i] = (groups[i][0] + groups[j][0], u)
                        del groups[j]
                        merged = True
                        break
                if merged:
                    break
        return groups


class Renderer(_Base):
    """Blender/Cycles renderer. Builds one scene per process and updates it per spec/pose."""

    def __init__(self, settings: Optional[RenderSettings] = None):
        self.settings = settings or RenderSettings()
        try:
            from dms.sim.blender.scene import BlenderView
        except ImportError as e:
            raise DmsError(f"Blender's Python module (bpy) is not available: {e}. Install the 'bpy' wheel "
                           "matching this Python (e.g. pip install bpy==5.0.1) or use the mock renderer.") from e
        self.view = BlenderView(self.settings)

    def _prepare(self, spec: SceneSpec, pose: DriverPose) -> None:
        self.view.set_scene(spec)
        self.view.set_pose(spec, pose)

    def _render_region(self, spec, pose, modality, cam, border, crop=False):
        samples = self.settings.crop_samples if (crop and self.settings.crop_samples) else self.settings.samples
        return self.view.render(spec, modality, cam, border, samples=samples)

    def _render_aux(self, spec, pose, cam):
        return self.view.render_aux(spec, cam)


# MediaPipe face oval and inner-lip ring (landmark ids): the mock's face and mouth opening
_MOCK_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148, 176,
              149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
_MOCK_MOUTH = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95)


class MockRenderer(_Base):
    """Cheap numpy/OpenCV rendition of the projected landmarks: face ellipse, eyes with aperture, iris, mouth.

    Same API and sizes as :class:`Renderer`, for tests and pipelines without Blender."""

    def __init__(self, settings: Optional[RenderSettings] = None):
        self.settings = settings or RenderSettings()

    def _render_region(self, spec, pose, modality, cam, border, crop=False):
        import cv2
        from dms.sim.spec import skin_albedo_rgb
        from dms.data.crops import LEFT_EYE_RING, RIGHT_EYE_RING
        ph = posed_head(spec, pose)
        w, h = cam.width, cam.height
        V = ph.vertices_world
        uv = cam.project(V[:468], distort=False)[0]
        ss = 4 if border is not None else 1            # supersample small regions
        ox, oy = (border[0], border[1]) if border is not None else (0, 0)
        rw, rh = (border[2] - border[0], border[3] - border[1]) if border is not None else (w, h)
        P = lambda p: np.round((np.asarray(p) - [ox, oy]) * ss * 16).astype(np.int32)   # 4 fractional bits
        nir = modality == "nir"
        bg = np.full((rh * ss, rw * ss, 3), 0.12 if nir else 0.0, np.float32)
        if not nir:
            bg[:] = np.array(spec.cabin.headliner_rgb, np.float32) * 0.6
        skin = np.array([0.62] * 3 if nir else skin_albedo_rgb(spec.identity.skin_tone, spec.identity.skin_redness),
                        np.float32)
        from dms.sim.head import CORNEA_OFFSET_M, CORNEA_RADIUS_M
        oval = np.array(_MOCK_OVAL)
        sh = dict(lineType=cv2.LINE_AA, shift=4)
        cv2.fillPoly(bg, [P(uv[oval])], skin.tolist(), **sh)
        for ring, side in ((RIGHT_EYE_RING, "right"), (LEFT_EYE_RING, "left")):
            poly = P(uv[list(ring)])
            mask = np.zeros(bg.shape[:2], np.uint8)
            cv2.fillPoly(mask, [poly], 255, **sh)
            eye = bg.copy()
            eye[:] = (0.85, 0.85, 0.85) if not nir else (0.7, 0.7, 0.7)
            apex = ph.eye_centers_world[side] + ph.gaze_world[side] * (CORNEA_OFFSET_M + CORNEA_RADIUS_M)
            pc = cam.project(apex[None], distort=False)[0][0]
            d_px = np.linalg.norm(uv[ring[0]] - uv[ring[8]])
            iris_col = (0.35, 0.35, 0.35) if nir else tuple(float(c) for c in spec.identity.iris_rgb)
            cv2.circle(eye, tuple(P(pc)), int(d_px * 0.22 * ss * 16), iris_col, -1, **sh)
            cv2.circle(eye, tuple(P(pc)), int(d_px * 0.09 * ss * 16),
                       (0.9,) * 3 if (nir and spec.nir.bright_pupil) else (0.02,) * 3, -1, **sh)
            bg[mask > 0] = eye[mask > 0]
            cv2.polylines(bg, [poly[8:]], False, (0.05, 0.04, 0.03), max(1, ss), **sh)   # upper lid + lashes
        lips = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146]
        cv2.fillPoly(bg, [P(uv[lips])], (0.45, 0.45, 0.45) if nir else (0.55, 0.25, 0.25), **sh)
        cv2.fillPoly(bg, [P(uv[list(_MOCK_MOUTH)])], (0.05, 0.02, 0.02), **sh)
        for brow in ((70, 63, 105, 66, 107), (300, 293, 334, 296, 336)):
            cv2.polylines(bg, [P(uv[list(brow)])], False, (0.1, 0.08, 0.06), max(1, 2 * ss), **sh)
        if ss > 1:
            bg = cv2.resize(bg, (rw, rh), interpolation=cv2.INTER_AREA)
        return bg

    def _render_aux(self, spec, pose, cam):
        """The mock's own drawing as parts (face oval, eye openings, mouth opening) and a depth map of the
        face plane at the landmarks' mean camera depth (the mock draws no cabin: no surface elsewhere)."""
        import cv2
        from dms.data.crops import LEFT_EYE_RING, RIGHT_EYE_RING
        from dms.sim.parts import PART_IDS
        ph = posed_head(spec, pose)
        uv, z = cam.project(ph.vertices_world[:468], distort=False)
        P = lambda idx: np.round(uv[list(idx)] * 16).astype(np.int32)
        parts = np.zeros((cam.height, cam.width), np.uint8)
        cv2.fillPoly(parts, [P(_MOCK_OVAL)], PART_IDS["face_skin"], shift=4)
        for ring in (RIGHT_EYE_RING, LEFT_EYE_RING):
            cv2.fillPoly(parts, [P(ring)], PART_IDS["eye"], shift=4)
        cv2.fillPoly(parts, [P(_MOCK_MOUTH)], PART_IDS["mouth_interior"], shift=4)
        depth = np.where(parts > 0, np.float32(np.nanmean(z)), np.float32(np.nan)).astype(np.float32)
        return parts, depth
