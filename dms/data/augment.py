"""Synthetic-to-real augmentation for single-channel training crops (albumentations).

Applied to uint8 HxW gray crops *before* :func:`dms.data.preprocess.preprocess` (so resize and per-image
normalisation stay exactly those of the runtime). Bridges the render-to-camera gap: optical/motion blur, sensor
noise, gamma and contrast (incl. NIR-like contrast via CLAHE and tone inversion of the iris/skin ratio), JPEG
artefacts, low resolution, occlusion (glasses frames, hands, hair) and small framing jitter (landmark noise).

Horizontal flips are NOT done here: whether a flip changes the label (gaze yaw) is the task's business.
Randomness comes from a seed derived from a ``np.random.Generator`` the caller owns.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

PROFILES = ("none", "light", "strong")


def add_glints(img: np.ndarray, rng: np.random.Generator, n_max: int = 2) -> np.ndarray:
    """Paint 1..``n_max`` saturated, soft-edged specular glints (the active illuminator reflected in glasses lenses
    or wet skin: discs of 3-12 % of the crop width, anywhere in its central 80 %). Real NIR eye crops of closed eyes
    behind glasses carry such discs; without them a model takes any bright spot for a corneal reflection (an open
    eye)."""
    import cv2
    h, w = img.shape[:2]
    layer = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(1, n_max + 1))):
        r = float(rng.uniform(0.03, 0.12)) * w
        c = (int(rng.uniform(0.1, 0.9) * w), int(rng.uniform(0.1, 0.9) * h))
        ax = (max(1, int(round(r))), max(1, int(round(r * rng.uniform(0.6, 1.0)))))
        cv2.ellipse(layer, c, ax, float(rng.uniform(0, 180)), 0, 360, 1.0, -1)
    layer = np.clip(cv2.GaussianBlur(layer, (0, 0), max(0.5, 0.012 * w)) * 1.5, 0.0, 1.0)   # saturated core
    out = img.astype(np.float32) * (1 - layer) + 255.0 * layer
    return np.clip(out, 0, 255).astype(np.uint8)


def build_augmenter(profile: str, rng: np.random.Generator, geometric: bool = True,
                    zoom: tuple[float, float] | None = None,
                    shift: float | None = None, aspect: bool = True,
                    glint_p: float = 0.0, rotate: float | None = None) -> Callable[[np.ndarray], np.ndarray]:
    """Return ``f(gray_u8) -> gray_u8``. ``profile``: "none" | "light" | "strong". ``zoom``: scale range of the
    framing jitter (> 1 zooms in: e.g. real datasets whose crops are tighter than the runtime's crop); ``shift``:
    translation jitter as a fraction of the crop size (real crops are not centred as exactly as landmark crops);
    ``glint_p``: probability of :func:`add_glints` (before the photometric ops, so glints are blurred and noisy
    like the rest); ``rotate``: in-plane rotation range in degrees (default 12 strong / 6 light)."""
    if profile not in PROFILES:
        raise ValueError(f"unknown augmentation profile {profile!r}; known: {PROFILES}")
    if profile == "none":
        return lambda img, mask=None: img if mask is None else (img, mask)
    import albumentations as A
    import cv2

    strong = profile == "strong"
    p = 0.5 if strong else 0.3
    ops = []
    if geometric:
        ops.append(A.Affine(scale=zoom or ((0.85, 1.15) if strong else (0.93, 1.07)),
                            translate_percent=(-shift, shift) if shift else ((-0.08, 0.08) if strong
                                                                             else (-0.04, 0.04)),
                            rotate=((-rotate, rotate) if rotate is not None else ((-12, 12) if strong else (-6, 6))),
                            border_mode=cv2.BORDER_REPLICATE, p=0.8))
        if strong and aspect:   # aspect jitter: real crops come in other aspect ratios (e.g. 34x26 eye patches) and are
            #          resized to the square input, stretching them vertically by up to ~1.3
            ops.append(A.Affine(scale={"x": (1.0, 1.0), "y": (0.85, 1.35)}, keep_ratio=False,
                                border_mode=cv2.BORDER_REPLICATE, p=0.5))
    ops += [
        A.OneOf([
            A.GaussianBlur(blur_limit=(3, 5), sigma_limit=(0.3, 1.6)),
            A.MotionBlur(blur_limit=(3, 7)),
            A.Downscale(scale_range=(0.25, 0.7), interpolation_pair={"downscale": cv2.INTER_AREA,
                                                                     "upscale": cv2.INTER_LINEAR}),
        ], p=p + 0.1),
        A.RandomGamma(gamma_limit=(60, 160) if strong else (75, 130), p=p + 0.1),
        A.RandomBrightnessContrast(brightness_limit=0.25, contrast_limit=(-0.4, 0.3), p=p + 0.1),
        A.CLAHE(clip_limit=(1.0, 3.0), tile_grid_size=(4, 4), p=p * 0.5),
        A.GaussNoise(std_range=(0.01, 0.08) if strong else (0.01, 0.04), p=p),
        A.ImageCompression(quality_range=(25, 90) if strong else (50, 95), p=p),
        A.CoarseDropout(num_holes_range=(1, 3), hole_height_range=(0.05, 0.25), hole_width_range=(0.05, 0.3),
                        fill="random_uniform", p=p * 0.5),
    ]
    if strong:
        ops.append(A.Sharpen(alpha=(0.1, 0.4), lightness=(0.8, 1.2), p=0.15))
    seed = int(rng.integers(0, 2**31 - 1))
    comp = A.Compose(ops, seed=seed)
    g_rng = np.random.default_rng(seed + 1)

    def apply(img: np.ndarray, mask: np.ndarray | None = None):
        """The augmented image; with ``mask`` (e.g. a part mask of the same size) the pair (image, mask), the
        mask moved by the same geometric jitter (nearest neighbour) and untouched by the photometric ops."""
        if glint_p > 0 and g_rng.random() < glint_p:
            img = add_glints(img, g_rng)
        if mask is None:
            out = comp(image=np.ascontiguousarray(img))["image"]
        else:
            r = comp(image=np.ascontiguousarray(img), mask=np.ascontiguousarray(mask))
            out, mask = r["image"], r["mask"]
        out = out if out.dtype == np.uint8 else np.clip(out, 0, 255).astype(np.uint8)
        return out if mask is None else (out, mask)

    return apply
