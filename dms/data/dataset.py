"""On-disk dataset format written by `dms simulate` and read by `dms train` (no bpy needed to read).

Layout::

    ROOT/
      dataset.json              {"schema": "dms.dataset/1", "name", "seed", "config": {...}, "created_by",
                                 "shards": {name: {"kind", "n_items", "files_sha256"}}}  (rewritten atomically)
      config.resolved.yaml      the resolved simulate config
      shards/
        seq-000123/             a sequence shard: full frames of one behaviour scenario
          scene.json            the sampled scene description: every sampled value + the seed
          labels.jsonl          one dms.frame_label/1 per frame
          events.json           [dms.event/1, ...]  ground-truth behaviour intervals
          rgb/000000.png        8-bit colour frames (when rendered)
          nir/000000.png        8-bit single-channel NIR frames (when rendered)
          parts/000000.png      uint8 part mask, ids of dms.sim.parts.PARTS (render.part_masks)
          depth/000000.png      uint16 depth, millimetres along the camera axis, 0 = none (render.depth)
          _SUCCESS.json         written last: {"n_items", "files": {relpath: sha256}}
        crops-000045/           a crop shard: many independent crops
          scene.json            the scene descriptions of the crops' scenes
          crops.jsonl           one dms.crop_label/1 per crop
          eye/000000.png ...    (kind folders; whole-frame crops also frame/parts/, frame/depth/ when asked,
                                 named in the crop label's attrs "parts_file" / "depth_file")
          _SUCCESS.json

Shards are written into ``shards/.tmp-NAME-PID`` and renamed into place only when complete, so a killed worker
never leaves a half-written shard that looks complete; re-running skips shards whose ``_SUCCESS.json`` exists.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

from dms.contracts import CropLabel, Event, FrameLabel
from dms.contracts.base import SchemaError
from dms.errors import DataError

DATASET_SCHEMA = "dms.dataset/1"
SUCCESS = "_SUCCESS.json"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def atomic_write_text(path: Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class ShardWriter:
    """Writes one shard into a temporary folder; ``commit()`` makes it visible atomically.

    Use as a context manager: an exception inside discards the temporary folder.
    """

    def __init__(self, root: str | Path, name: str):
        self.root = Path(root)
        self.name = name
        self.final = self.root / "shards" / name
        self.tmp = self.root / "shards" / f".tmp-{name}-{os.getpid()}"
        if self.tmp.exists():
            shutil.rmtree(self.tmp)
        self.tmp.mkdir(parents=True)
        self._labels: list[str] = []
        self._crops: list[str] = []
        self.n_items = 0

    @property
    def path(self) -> Path:
        return self.tmp

    def write_image(self, relpath: str, image) -> str:
        """Write a PNG (uint8 HxW or HxWx3 BGR) at ``relpath`` inside the shard; returns relpath."""
        import cv2
        p = self.tmp / relpath
        p.parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(str(p), image):
            raise DataError(f"could not write image {p}")
        return relpath

    def write_json(self, relpath: str, obj) -> None:
        p = self.tmp / relpath
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(obj, indent=1, sort_keys=True, allow_nan=False))

    def add_frame_label(self, label: FrameLabel) -> None:
        self._labels.append(label.to_json())
        self.n_items += 1

    def add_crop(self, label: CropLabel) -> None:
        self._crops.append(label.to_json())
        self.n_items += 1

    def commit(self) -> Path:
        if self._labels:
            (self.tmp / "labels.jsonl").write_text("\n".join(self._labels) + "\n")
        if self._crops:
            (self.tmp / "crops.jsonl").write_text("\n".join(self._crops) + "\n")
        files = {str(p.relative_to(self.tmp)): _sha256(p) for p in sorted(self.tmp.rglob("*")) if p.is_file()}
        (self.tmp / SUCCESS).write_text(json.dumps({"n_items": self.n_items, "files": files}, sort_keys=True))
        if self.final.exists():
            shutil.rmtree(self.final)
        os.rename(self.tmp, self.final)
        return self.final

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> "ShardWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()
        elif self.tmp.exists():
            self.commit()


def shard_done(root: str | Path, name: str) -> bool:
    return (Path(root) / "shards" / name / SUCCESS).is_file()


def write_dataset_manifest(root: str | Path, meta: dict) -> Path:
    """(Re)write ROOT/dataset.json from ``meta`` plus the list of complete shards found on disk."""
    root = Path(root)
    shards = {}
    for d in sorted((root / "shards").glob("*")):
        if d.is_dir() and not d.name.startswith(".") and (d / SUCCESS).is_file():
            info = json.loads((d / SUCCESS).read_text())
            shards[d.name] = {"kind": "sequence" if (d / "labels.jsonl").exists() else "crops",
                              "n_items": info["n_items"]}
    doc = {"schema": DATASET_SCHEMA, **meta, "shards": shards}
    atomic_write_text(root / "dataset.json", json.dumps(doc, indent=1, sort_keys=True, default=str))
    return root / "dataset.json"


@dataclass
class CropSample:
    path: Path
    label: CropLabel
    shard: Path                  # the shard folder (label file names are relative to it)

    def _aux(self, key: str) -> Optional[Path]:
        rel = (self.label.attrs or {}).get(key)
        return self.shard / rel if rel else None

    def parts(self) -> Optional[np.ndarray]:
        """Part mask of a whole-frame crop (uint8 ids of dms.sim.parts.PARTS), None if not rendered."""
        p = self._aux("parts_file")
        return None if p is None else read_parts(p)

    def depth(self) -> Optional[np.ndarray]:
        """Depth map of a whole-frame crop (float32 metres, NaN = no surface), None if not rendered."""
        p = self._aux("depth_file")
        return None if p is None else read_depth(p)


@dataclass
class Sequence:
    path: Path
    scene: dict
    labels: list[FrameLabel]
    events: list[Event]

    def frame_path(self, index: int, modality: str = "rgb") -> Path:
        return self.path / modality / f"{index:06d}.png"

    def parts(self, index: int) -> Optional[np.ndarray]:
        """Part mask of frame ``index`` (uint8 ids of dms.sim.parts.PARTS), None if not rendered
        (``render.part_masks``)."""
        return read_parts(self.path / "parts" / f"{index:06d}.png")

    def depth(self, index: int) -> Optional[np.ndarray]:
        """Depth map of frame ``index`` (float32 metres along the camera axis, NaN = no surface), None if not
        rendered (``render.depth``)."""
        return read_depth(self.path / "depth" / f"{index:06d}.png")

    @property
    def modalities(self) -> list[str]:
        return [m for m in ("rgb", "nir") if (self.path / m).is_dir()]


def read_parts(path: str | Path) -> Optional[np.ndarray]:
    """A part mask PNG (uint8 ids), None if the file does not exist; DataError if it is not a part mask."""
    return _read_aux(path, np.uint8)


def read_depth(path: str | Path) -> Optional[np.ndarray]:
    """A depth PNG (uint16 mm) as float32 metres with NaN where there is no surface; None if missing."""
    d = _read_aux(path, np.uint16)
    return None if d is None else decode_depth_m(d)


def encode_depth_mm(depth_m: np.ndarray) -> np.ndarray:
    """Depth in metres (0 / NaN / inf = no surface) -> uint16 millimetres (0 = no surface, saturates at 65.535 m:
    such far surfaces are stored as 0 too, never as a wrong near value)."""
    d = np.asarray(depth_m, np.float64)
    ok = np.isfinite(d) & (d > 0) & (d * 1000.0 < 65535.5)
    out = np.zeros(d.shape, np.uint16)
    out[ok] = np.clip(np.round(d[ok] * 1000.0), 1, 65535).astype(np.uint16)
    return out


def decode_depth_m(depth_mm: np.ndarray) -> np.ndarray:
    """uint16 millimetres -> float32 metres with NaN where there is no surface."""
    d = np.asarray(depth_mm).astype(np.float32) / 1000.0
    d[np.asarray(depth_mm) == 0] = np.nan
    return d


def _read_aux(path: str | Path, dtype) -> Optional[np.ndarray]:
    import cv2
    p = Path(path)
    if not p.is_file():
        return None
    img = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
    if img is None or img.ndim != 2 or img.dtype != dtype:
        raise DataError(f"{p}: not a single-channel {np.dtype(dtype).name} PNG "
                        f"({'unreadable' if img is None else f'{img.dtype} {img.shape}'})")
    return img


class Dataset:
    """Read-only view of a dataset root (validates the manifest; skips incomplete shards)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        mf = self.root / "dataset.json"
        if not mf.is_file():
            raise DataError(f"{self.root} is not a dms dataset (no dataset.json)")
        try:
            self.meta = json.loads(mf.read_text())
        except json.JSONDecodeError as e:
            raise DataError(f"{mf}: not valid JSON: {e}") from e
        if self.meta.get("schema") != DATASET_SCHEMA:
            raise DataError(f"{mf}: schema {self.meta.get('schema')!r}, expected {DATASET_SCHEMA!r}")

    def shard_dirs(self) -> list[Path]:
        return [d for d in sorted((self.root / "shards").glob("*"))
                if d.is_dir() and not d.name.startswith(".") and (d / SUCCESS).is_file()]

    def crops(self, kind: Optional[str] = None, modality: Optional[str] = None) -> Iterator[CropSample]:
        for d in self.shard_dirs():
            f = d / "crops.jsonl"
            if not f.is_file():
                continue
            for ln, line in enumerate(f.read_text().splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    lab = CropLabel.from_dict(json.loads(line))
                except (json.JSONDecodeError, SchemaError) as e:
                    raise DataError(f"{f}:{ln}: {e}") from e
                if (kind is None or lab.kind == kind) and (modality is None or lab.modality == modality):
                    yield CropSample(d / lab.file, lab, d)

    def sequences(self) -> Iterator[Sequence]:
        for d in self.shard_dirs():
            f = d / "labels.jsonl"
            if not f.is_file():
                continue
            labels = [FrameLabel.from_dict(json.loads(x)) for x in f.read_text().splitlines() if x.strip()]
            ev_path = d / "events.json"
            events = [Event.from_dict(e) for e in json.loads(ev_path.read_text())] if ev_path.is_file() else []
            scene = json.loads((d / "scene.json").read_text()) if (d / "scene.json").is_file() else {}
            yield Sequence(d, scene, labels, events)


def open_dataset(root: str | Path) -> Dataset:
    return Dataset(root)
