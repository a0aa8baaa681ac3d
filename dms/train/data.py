"""Training samples from simulator renders (:mod:`dms.data.dataset`) and real labelled folders
(:mod:`dms.data.realdata`), splits, and the torch dataset applying flips + augmentation + the runtime's
preprocessing."""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import torch

from dms.data.preprocess import preprocess, to_gray_u8
from dms.data.realdata import read_image, read_real
from dms.errors import DataError
from dms.train.taskdefs import TaskDef

log = logging.getLogger(__name__)


@dataclass
class Samples:
    """In-memory gray uint8 images with target vectors (NaN = unknown)."""
    images: list[np.ndarray] = field(default_factory=list)
    targets: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    groups: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    source: str = "synthetic"
    n_unreadable: int = 0
    n_blank: int = 0
    shards: tuple[str, ...] = ()          # simulator shards the samples came from (provenance)

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, idx) -> "Samples":
        idx = list(idx)
        return Samples([self.images[i] for i in idx], self.targets[idx] if len(idx) else self.targets[:0],
                       [self.groups[i] for i in idx], [self.paths[i] for i in idx], self.source, 0, 0,
                       self.shards)


def concat_samples(parts: Sequence[Samples]) -> Samples:
    """Pool samples (e.g. of several render sets); ``shards`` is the union of the parts' shard names."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return Samples()
    out = Samples(source=parts[0].source)
    for p in parts:
        out.images += p.images
        out.groups += p.groups
        out.paths += p.paths
        out.n_unreadable += p.n_unreadable
        out.n_blank += p.n_blank
    out.targets = np.concatenate([p.targets for p in parts]).astype(np.float32)
    out.shards = tuple(sorted({s for p in parts for s in p.shards}))
    return out


def _flip_target(td: TaskDef, t: np.ndarray) -> np.ndarray:
    t = t.copy()
    for i in td.flip_negates:
        t[i] = -t[i]
    for a, b in td.flip_swaps:
        t[a], t[b] = t[b], t[a]
    return t


def load_synthetic(root: str | Path, td: TaskDef, modality: str = "both", max_items: int = 0,
                   rng: Optional[np.random.Generator] = None, drop_accessories: Sequence[str] = (),
                   min_std: float = 0.0) -> Samples:
    """Load the task's crops from a ``dms simulate`` dataset (mirroring eye crops of ``td.mirror_side``).

    ``drop_accessories``: eye crops wearing any of these are skipped; ``min_std``: crops whose gray standard
    deviation is below it (blank/degenerate renders) are skipped and counted."""
    from dms.data.dataset import open_dataset
    ds = open_dataset(root)
    mod = None if modality == "both" else modality
    drop = set(drop_accessories) if td.kind == "eye" else set()
    recs = [(s.path, s.label) for s in ds.crops(kind=td.kind, modality=mod)
            if not (drop and drop.intersection(s.label.accessories))]
    if not recs:
        raise DataError(f"{root}: no '{td.kind}' crops{'' if mod is None else f' ({mod})'} for task {td.name} "
                        f"in this dataset")
    if max_items and len(recs) > max_items:
        rng = rng or np.random.default_rng(0)
        keep = np.sort(rng.choice(len(recs), size=max_items, replace=False))
        recs = [recs[i] for i in keep]
    out = Samples(source="synthetic")
    targets = []
    skipped = blank = 0
    for path, lab in recs:
        t = td.target_from_crop(lab)
        if t is None:
            skipped += 1
            continue
        img = read_image(path)
        if img is None:
            out.n_unreadable += 1
            continue
        g = to_gray_u8(img, "GRAY8" if lab.modality == "nir" else "BGR8")
        if min_std and float(g.std()) < min_std:
            blank += 1
            continue
        if td.mirror_side and lab.side == td.mirror_side:
            g = np.ascontiguousarray(g[:, ::-1])
            t = _flip_target(td, t)
        out.images.append(g)
        targets.append(t)
        out.groups.append(lab.scene_id or path.parent.name)
        out.paths.append(str(path))
    if not out.images:
        raise DataError(f"{root}: none of the {len(recs)} '{td.kind}' crops is usable for {td.name} "
                        f"({skipped} unlabelled, {out.n_unreadable} unreadable, {blank} blank)")
    if out.n_unreadable:
        log.warning("%s: %d unreadable crop images skipped", root, out.n_unreadable)
    if blank:
        log.warning("%s: %d blank/degenerate crops skipped (gray std < %.1f)", root, blank, min_std)
    out.targets = np.stack(targets).astype(np.float32)
    out.n_blank = blank
    shards_root = Path(root) / "shards"
    out.shards = tuple(sorted({Path(p).relative_to(shards_root).parts[0] for p in out.paths}))
    log.info("loaded %d synthetic %s crops from %s (%d without %s labels, %d blank)", len(out), td.kind, root,
             skipped, td.name, blank)
    return out


def load_real(path: str | Path, td: TaskDef) -> Samples:
    """Load a real labelled folder/CSV in the ``dms eval`` layout of the task (unreadable images are skipped and
    counted)."""
    items = read_real(td.name, path)
    out = Samples(source="real")
    targets = []
    for it in items:
        img = read_image(it.path)
        if img is None:
            out.n_unreadable += 1
            continue
        out.images.append(to_gray_u8(img, "BGR8"))
        targets.append(td.target_from_real(it.label, it.yaw_deg, it.pitch_deg))
        out.groups.append(it.path.name)
        out.paths.append(str(it.path))
    if not out.images:
        raise DataError(f"{path}: none of the {len(items)} images is readable")
    if out.n_unreadable:
        log.warning("%s: %d unreadable images skipped", path, out.n_unreadable)
    out.targets = np.stack(targets).astype(np.float32)
    return out


def _hash_unit(key: str, seed: int) -> float:
    h = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64


def split_by_group(s: Samples, frac: float, seed: int) -> tuple[Samples, Samples]:
    """Deterministic split by group key (scene): no scene is in both parts."""
    if frac <= 0 or len(s) < 2:
        return s, s.subset([])
    val = [i for i, g in enumerate(s.groups) if _hash_unit(g, seed) < frac]
    if not val or len(val) == len(s):   # too few scenes: fall back to items
        val = [i for i, p in enumerate(s.paths) if _hash_unit(p, seed) < frac] or [0]
    vs = set(val)
    return s.subset([i for i in range(len(s)) if i not in vs]), s.subset(val)


def stratified_split(s: Samples, frac: float, td: TaskDef, rng: np.random.Generator) -> tuple[Samples, Samples]:
    """Split real samples into (adapt, holdout) with ``frac`` held out, stratified by class (gaze: random)."""
    if frac <= 0:
        return s, s.subset([])
    n = len(s)
    if td.classification:
        cls = td.class_of_target(s.targets)
        hold: list[int] = []
        for c in np.unique(cls):
            idx = np.flatnonzero(cls == c)
            rng.shuffle(idx)
            hold.extend(idx[: int(round(frac * len(idx)))].tolist())
    else:
        idx = rng.permutation(n)
        hold = idx[: int(round(frac * n))].tolist()
    hs = set(hold)
    return s.subset([i for i in range(n) if i not in hs]), s.subset(sorted(hold))


class TorchSamples(torch.utils.data.Dataset):
    """Flip (label-aware) -> augment (uint8) -> the runtime's preprocessing -> (x [1,H,W], target, mask)."""

    def __init__(self, s: Samples, td: TaskDef, input_size: tuple[int, int],
                 augment: Optional[Callable[[np.ndarray], np.ndarray]] = None, hflip: bool = False,
                 rng: Optional[np.random.Generator] = None):
        self.s, self.td = s, td
        self.spec = td.preprocessing(input_size)
        self.augment = augment
        self.hflip = hflip and td.flip_allowed
        self.rng = rng or np.random.default_rng(0)

    def __len__(self) -> int:
        return len(self.s)

    def __getitem__(self, i: int):
        img = self.s.images[i]
        t = self.s.targets[i]
        if self.hflip and self.rng.random() < 0.5:
            img = np.ascontiguousarray(img[:, ::-1])
            t = _flip_target(self.td, t)
        if self.augment is not None:
            img = self.augment(img)
        x = preprocess([img], self.spec, "GRAY8")[0]
        mask = (~np.isnan(t)).astype(np.float32)
        return torch.from_numpy(x), torch.from_numpy(np.nan_to_num(t, nan=0.0)), torch.from_numpy(mask)


def batch_inputs(s: Samples, td: TaskDef, input_size: tuple[int, int]) -> np.ndarray:
    """Preprocessed NCHW float32 of all samples (no augmentation), e.g. for evaluation or calibration."""
    if not len(s):
        w, h = input_size
        return np.zeros((0, 1, h, w), np.float32)
    return preprocess(s.images, td.preprocessing(input_size), "GRAY8")
