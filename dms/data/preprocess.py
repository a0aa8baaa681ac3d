"""Model-input preprocessing, described by a dict that travels in the model manifest.

``spec`` keys (all optional except ``size``):
  size:       [width, height] of the model input
  channels:   1 (gray; RGB/BGR converted with ITU-R BT.601 weights, NIR passed through) or 3
  normalize:  "per_image" (zero mean, unit std per image — robust across RGB/NIR/exposure) or "fixed"
  mean, std:  used when normalize == "fixed", on [0, 1] pixel values
Layout is NCHW float32.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

DEFAULT_SPEC = {"size": [32, 32], "channels": 1, "normalize": "per_image"}


def to_gray_u8(image: np.ndarray, pixel_format: str = "BGR8") -> np.ndarray:
    """Any supported frame/crop -> HxW uint8 gray. 16-bit inputs are scaled by their bit depth."""
    img = np.asarray(image)
    if img.dtype == np.uint16:
        img = (img >> 8).astype(np.uint8) if img.max(initial=0) > 4095 else (img >> 4).astype(np.uint8)
    elif img.dtype != np.uint8:
        f = img.astype(np.float32)
        if f.max(initial=0) <= 1.0:
            f = f * 255.0
        img = np.clip(f, 0, 255).astype(np.uint8)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 3:
        if img.shape[2] == 4:
            img = img[:, :, :3]
        w = np.array([0.114, 0.587, 0.299], np.float32)   # BGR
        if pixel_format.upper().startswith("RGB"):
            w = w[::-1]
        img = np.clip(img.astype(np.float32) @ w + 0.5, 0, 255).astype(np.uint8)
    return img


def to_u8_3ch(image: np.ndarray) -> np.ndarray:
    """Any frame -> contiguous HxWx3 uint8: 16-bit scaled to 8 bits (>> 8), gray/NIR replicated to three equal
    channels; colour images keep their channel order."""
    img = np.asarray(image)
    if img.dtype == np.uint16:
        img = (img >> 8).astype(np.uint8)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 2:
        return np.ascontiguousarray(np.repeat(img[:, :, None], 3, axis=2))
    return np.ascontiguousarray(img)


def resize(img: np.ndarray, size: Sequence[int]) -> np.ndarray:
    import cv2
    w, h = int(size[0]), int(size[1])
    if img.shape[1] == w and img.shape[0] == h:
        return img
    interp = cv2.INTER_AREA if img.shape[1] > w else cv2.INTER_LINEAR
    return cv2.resize(img, (w, h), interpolation=interp)


def normalize(x: np.ndarray, spec: dict) -> np.ndarray:
    """x: float32 in [0, 1], shape (..., H, W)."""
    mode = spec.get("normalize", "per_image")
    if mode == "per_image":
        axes = tuple(range(x.ndim - 3, x.ndim)) if x.ndim >= 3 else (-2, -1)
        m = x.mean(axis=axes, keepdims=True)
        s = x.std(axis=axes, keepdims=True)
        return (x - m) / np.maximum(s, 1e-2)
    if mode == "fixed":
        return (x - float(spec.get("mean", 0.5))) / float(spec.get("std", 0.25))
    raise ValueError(f"unknown normalize mode {mode!r}")


def preprocess(images: Sequence[np.ndarray], spec: dict, pixel_format: str = "BGR8") -> np.ndarray:
    """List of crops (any size, gray or colour) -> float32 NCHW batch per ``spec``."""
    size = spec.get("size", DEFAULT_SPEC["size"])
    ch = int(spec.get("channels", 1))
    out = []
    for img in images:
        if ch == 1:
            g = resize(to_gray_u8(img, pixel_format), size).astype(np.float32)[None] / 255.0
        else:
            im = np.asarray(img)
            if im.ndim == 2:
                im = np.repeat(im[:, :, None], 3, axis=2)
            g = resize(im, size).astype(np.float32).transpose(2, 0, 1) / 255.0
        out.append(g)
    x = np.stack(out).astype(np.float32)
    return normalize(x, spec).astype(np.float32)
