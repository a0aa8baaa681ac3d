"""Drawn toy datasets in the exact on-disk formats (simulator crops + ``dms eval`` folders), for tests and smoke
runs of the pipeline only. Never train shipped models on these: shipped models come from ``dms simulate`` renders
(``tools/train_models.py`` refuses datasets written by this module).

Eyes: a skin patch with an almond eye whose height follows openness and an iris displaced by gaze yaw/pitch.
Mouth: a dark ellipse whose height follows openness. Frame: a wheel arc with hand blobs on or off it (+ phone).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from dms.contracts import CropLabel, HandState

TOY_CREATOR = "dms.train.toydata"


def draw_eye(openness: float, yaw_deg: float, pitch_deg: float, rng: np.random.Generator,
             size: int = 64) -> np.ndarray:
    import cv2
    skin = int(rng.integers(120, 200))
    img = np.full((size, size), skin, np.uint8)
    c = (size // 2 + int(rng.integers(-2, 3)), size // 2 + int(rng.integers(-2, 3)))
    w = int(size * rng.uniform(0.26, 0.32))
    h = max(1, int(round(w * 0.55 * openness)))
    cv2.line(img, (c[0] - w, c[1] - int(size * 0.3)), (c[0] + w, c[1] - int(size * 0.3)), skin - 60, 3)  # brow
    if openness < 0.15:
        cv2.line(img, (c[0] - w, c[1]), (c[0] + w, c[1]), int(skin * 0.35), 2)
    else:
        mask = np.zeros_like(img)
        cv2.ellipse(mask, c, (w, h), 0, 0, 360, 255, -1)
        sclera = np.full_like(img, min(255, skin + 50))
        ix = int(c[0] + np.sin(np.radians(yaw_deg)) * w * 1.1)
        iy = int(c[1] - np.sin(np.radians(pitch_deg)) * w * 0.9)
        cv2.circle(sclera, (ix, iy), int(w * 0.45), int(skin * 0.3), -1)
        cv2.circle(sclera, (ix, iy), int(w * 0.18), 10, -1)
        img = np.where(mask > 0, sclera, img)
        cv2.ellipse(img, c, (w, h), 0, 0, 360, int(skin * 0.4), 1)
    noise = rng.normal(0, 4, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def draw_mouth(openness: float, rng: np.random.Generator, size: int = 64) -> np.ndarray:
    import cv2
    skin = int(rng.integers(120, 200))
    img = np.full((size, size), skin, np.uint8)
    c = (size // 2 + int(rng.integers(-2, 3)), size // 2 + int(rng.integers(-2, 3)))
    w = int(size * rng.uniform(0.22, 0.3))
    h = max(1, int(round(w * 1.1 * openness)))
    cv2.ellipse(img, c, (w, max(2, h)), 0, 0, 360, int(skin * 0.55), 3)
    if h > 2:
        cv2.ellipse(img, c, (w - 2, h - 2), 0, 0, 360, int(skin * 0.15), -1)
    return np.clip(img + rng.normal(0, 4, img.shape), 0, 255).astype(np.uint8)


def draw_frame(left_on: bool, right_on: bool, phone: bool, rng: np.random.Generator,
               size: tuple[int, int] = (96, 72)) -> np.ndarray:
    import cv2
    w, h = size
    img = np.full((h, w), int(rng.integers(50, 90)), np.uint8)
    wheel_c = (w // 2 + int(rng.integers(-3, 4)), int(h * 0.85))
    r = int(w * 0.3)
    cv2.ellipse(img, wheel_c, (r, r // 2), 0, 180, 360, 20, 3)
    for side, on in ((-1, left_on), (1, right_on)):
        if on:
            p = (wheel_c[0] - side * int(r * 0.9), wheel_c[1] - int(r * 0.25))
        else:
            p = (wheel_c[0] - side * int(r * 0.5), int(h * 0.3) + int(rng.integers(-3, 4)))
        cv2.circle(img, p, 5, 200, -1)
        if phone and side == 1 and not on:
            cv2.rectangle(img, (p[0] - 2, p[1] - 8), (p[0] + 3, p[1] - 2), 240, -1)
    return np.clip(img + rng.normal(0, 4, img.shape), 0, 255).astype(np.uint8)


def write_toy_dataset(root: str | Path, n_per_kind: int = 48, rng: Optional[np.random.Generator] = None,
                      kinds: tuple[str, ...] = ("eye", "mouth", "frame"), n_shards: int = 2) -> Path:
    """Write a small dataset in the ``dms simulate`` format (crop shards, RGB+NIR)."""
    from dms.data.dataset import ShardWriter, write_dataset_manifest
    rng = rng or np.random.default_rng(0)
    root = Path(root)
    per_shard = int(np.ceil(n_per_kind / n_shards))
    for s in range(n_shards):
        with ShardWriter(root, f"crops-{s:06d}") as w:
            for kind in kinds:
                for i in range(per_shard):
                    modality = "nir" if i % 2 else "rgb"
                    scene = f"toy-{s}-{i // 2}"
                    fname = f"{kind}/{modality}_{i:05d}.png"
                    if kind == "eye":
                        op = float(rng.choice([rng.uniform(0, 0.12), rng.uniform(0.5, 1.0)]))
                        yaw, pitch = float(rng.uniform(-25, 25)), float(rng.uniform(-15, 15))
                        side = "left" if i % 4 < 2 else "right"
                        img = draw_eye(op, yaw, pitch, rng)
                        lab = CropLabel(file=fname, kind="eye", crop=f"eye_{side}", modality=modality, side=side,
                                        scene_id=scene, eye_openness=op, eye_closed=op < 0.2, gaze_yaw_deg=yaw,
                                        gaze_pitch_deg=pitch, head_yaw_deg=0.0, head_pitch_deg=0.0,
                                        head_roll_deg=0.0,   # a frontal toy head: eye-in-head = camera frame
                                        attrs={"gaze_in_head_deg": [yaw, pitch], "gaze_view_deg": [yaw, pitch]})
                    elif kind == "mouth":
                        op = float(rng.choice([rng.uniform(0, 0.3), rng.uniform(0.6, 1.0)]))
                        img = draw_mouth(op, rng)
                        lab = CropLabel(file=fname, kind="mouth", crop="mouth", modality=modality, scene_id=scene,
                                        mouth_openness=op, yawn=op > 0.5)
                    else:
                        lo, ro = bool(rng.random() < 0.6), bool(rng.random() < 0.6)
                        ph = bool(not ro and rng.random() < 0.5)
                        img = draw_frame(lo, ro, ph, rng)
                        lab = CropLabel(file=fname, kind="frame", crop="frame", modality=modality, scene_id=scene,
                                        hand_left=HandState.ON_WHEEL if lo else HandState.LAP,
                                        hand_right=HandState.ON_WHEEL if ro else HandState.LAP,
                                        phone_present=ph)
                    if modality == "rgb":
                        img = np.repeat(img[:, :, None], 3, axis=2)
                    w.write_image(fname, img)
                    w.add_crop(lab)
    write_dataset_manifest(root, {"name": "toy", "seed": 0, "created_by": TOY_CREATOR})
    return root


def write_toy_real(root: str | Path, task: str, n_per_class: int = 12,
                   rng: Optional[np.random.Generator] = None) -> Path:
    """Write a toy folder in the ``dms eval`` layout of ``task`` (gaze: images/ + gaze.csv). Images are
    colour/odd-sized to exercise the readers."""
    import cv2
    rng = rng or np.random.default_rng(1)
    root = Path(root)
    if task == "gaze":
        (root / "images").mkdir(parents=True, exist_ok=True)
        rows = ["path,yaw_deg,pitch_deg,subject"]
        for i in range(2 * n_per_class):
            yaw, pitch = float(rng.uniform(-20, 20)), float(rng.uniform(-10, 10))
            img = draw_eye(0.9, yaw, pitch, rng)
            cv2.imwrite(str(root / "images" / f"{i:04d}.jpg"), cv2.cvtColor(img, cv2.COLOR_GRAY2BGR))
            rows.append(f"images/{i:04d}.jpg,{yaw:.2f},{pitch:.2f},s{i % 3}")
        (root / "gaze.csv").write_text("\n".join(rows) + "\n")
        return root / "gaze.csv"
    for cls in {"eye_state": ("open", "closed"), "yawn": ("yawn", "no_yawn"), "hands": ("on", "off")}[task]:
        d = root / cls
        d.mkdir(parents=True, exist_ok=True)
        for i in range(n_per_class):
            if task == "eye_state":
                img = draw_eye(rng.uniform(0.6, 1.0) if cls == "open" else rng.uniform(0, 0.1),
                               rng.uniform(-10, 10), rng.uniform(-5, 5), rng, size=int(rng.integers(40, 90)))
            elif task == "yawn":
                img = draw_mouth(rng.uniform(0.7, 1.0) if cls == "yawn" else rng.uniform(0, 0.25), rng,
                                 size=int(rng.integers(40, 70)))
            else:
                on = cls == "on"
                img = draw_frame(on or bool(rng.random() < 0.5), on, False, rng, size=(80, 60))
            cv2.imwrite(str(d / f"{cls}_{i:03d}.png"), cv2.cvtColor(img, cv2.COLOR_GRAY2BGR))
    return root
