"""Readers for real labelled data in the folder layouts of ``dms eval`` (and ``dms train real=DIR``).

Layouts (exact; other tools depend on them)::

    eye-state DIR   DIR/open/*, DIR/closed/*        eye crops, gray or colour, any size
    yawn DIR        DIR/yawn/*, DIR/no_yawn/*       mouth crops or full camera frames
    gaze CSV        columns path,yaw_deg,pitch_deg (+ others ignored); paths relative to the CSV
    hands DIR       DIR/on/* (both hands on the wheel), DIR/off/* (at least one hand off)

Only files with an image extension are listed; other files (labels.csv, README) are ignored. Reading an image
that turns out to be unreadable is not fatal: :func:`read_image` returns None and callers count it.
Pure stdlib + numpy; OpenCV is imported lazily to decode images.
"""
from __future__ import annotations

import csv
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from dms.errors import DataError

log = logging.getLogger(__name__)

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm", ".tif", ".tiff", ".webp")

# task -> ordered class folders; index 0 is the "negative" class where that makes sense.
CLASS_LAYOUTS: dict[str, tuple[str, ...]] = {
    "eye_state": ("open", "closed"),
    "yawn": ("no_yawn", "yawn"),
    "hands": ("off", "on"),
}


@dataclass(frozen=True)
class RealItem:
    """One real labelled image. ``label`` is the class name for folder layouts; ``yaw_deg``/``pitch_deg`` for
    gaze."""
    path: Path
    label: str = ""
    yaw_deg: Optional[float] = None
    pitch_deg: Optional[float] = None


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTS
                  and not p.name.startswith("."))


def read_class_folder(root: str | Path, task: str) -> list[RealItem]:
    """List the images of a class-folder layout (``CLASS_LAYOUTS[task]``).

    Raises DataError naming the problem when the folder is missing, a class folder is missing, or there are no
    images at all.
    """
    if task not in CLASS_LAYOUTS:
        raise DataError(f"task {task!r} has no class-folder layout; known: {sorted(CLASS_LAYOUTS)}")
    root = Path(root)
    classes = CLASS_LAYOUTS[task]
    if not root.exists():
        raise DataError(f"{root}: folder not found")
    if not root.is_dir():
        raise DataError(f"{root}: not a folder (expected {'/, '.join(classes)}/ sub-folders)")
    missing = [c for c in classes if not (root / c).is_dir()]
    if missing:
        present = sorted(p.name for p in root.iterdir() if p.is_dir())
        raise DataError(f"{root}: wrong layout for {task}: missing sub-folder(s) {missing}; expected "
                        f"{[c + '/' for c in classes]}, found {present}")
    items: list[RealItem] = []
    for c in classes:
        files = _images_in(root / c)
        items.extend(RealItem(p, label=c) for p in files)
    if not items:
        raise DataError(f"{root}: no images in {[c + '/' for c in classes]} (extensions {IMAGE_EXTS})")
    return items


def read_gaze_csv(csv_path: str | Path) -> list[RealItem]:
    """Read a gaze CSV (``path,yaw_deg,pitch_deg`` + ignored columns; paths relative to the CSV).

    A directory holding exactly one ``gaze.csv`` is accepted too. Rows with non-numeric angles raise DataError
    naming the line; missing image files are kept (they are counted as unreadable at evaluation time).
    """
    p = Path(csv_path)
    if p.is_dir():
        if (p / "gaze.csv").is_file():
            p = p / "gaze.csv"
        else:
            raise DataError(f"{p}: is a folder without gaze.csv; pass the CSV (columns path,yaw_deg,pitch_deg)")
    if not p.is_file():
        raise DataError(f"{p}: gaze CSV not found")
    items: list[RealItem] = []
    with open(p, newline="") as f:
        reader = csv.DictReader(f)
        cols = reader.fieldnames or []
        need = ("path", "yaw_deg", "pitch_deg")
        if any(c not in cols for c in need):
            raise DataError(f"{p}: wrong layout for gaze: columns {cols}, need {list(need)}")
        for ln, row in enumerate(reader, 2):
            try:
                yaw, pitch = float(row["yaw_deg"]), float(row["pitch_deg"])
            except (TypeError, ValueError):
                raise DataError(f"{p}:{ln}: non-numeric yaw_deg/pitch_deg {row.get('yaw_deg')!r}, "
                                f"{row.get('pitch_deg')!r}") from None
            if not (math.isfinite(yaw) and math.isfinite(pitch)):
                raise DataError(f"{p}:{ln}: non-finite angle")
            items.append(RealItem(p.parent / row["path"], yaw_deg=yaw, pitch_deg=pitch))
    if not items:
        raise DataError(f"{p}: no rows")
    return items


def read_real(task: str, path: str | Path) -> list[RealItem]:
    """Dispatch on task: gaze -> CSV, others -> class folders."""
    if task == "gaze":
        return read_gaze_csv(path)
    return read_class_folder(path, task)


def read_image(path: str | Path) -> Optional[np.ndarray]:
    """Decode an image (BGR uint8 or gray; 16-bit kept); None when unreadable (missing, truncated, not an image)."""
    import cv2
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError:
        return None
    if data.size == 0:
        return None
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if img is None or img.size == 0:
        return None
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[:, :, :3]
    return img
