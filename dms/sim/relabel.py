"""Re-derive the labels of a rendered dataset with the current label code, without rendering.

Labels come from the scene description by projection, and a shard's scenes and poses come from its seed, so the
label files of a finished shard can be recomputed by replaying the shard with the geometric stand-in renderer
(:class:`~dms.sim.render.MockRenderer`: same sampling, same pose redraws, no pixels) and keeping the rendered images.
Use it after a label-schema addition (e.g. a new ``attrs`` field) to upgrade a dataset that took an hour to render.

Safety: the replay must reproduce the shard exactly - the same image files, and every value of every existing
label (new fields may be added, none may change). Otherwise the sampling code changed since the dataset was
rendered, the images no longer match any recomputed label, and the shard is refused (nothing is written).
Each shard is replaced atomically (label files + ``_SUCCESS.json`` with new hashes; images are hard links).

May import: numpy, stdlib, dms.contracts, dms.data, dms.config, dms.sim (no bpy).
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Optional

from dms.data.dataset import SUCCESS, _sha256
from dms.errors import DataError

#: files of a shard that hold labels (recomputed); everything else must match the replay file for file
LABEL_FILES = ("crops.jsonl", "labels.jsonl", "events.json", "scene.json")


def _subset_mismatch(old: Any, new: Any, path: str = "") -> Optional[str]:
    """Where ``old`` is not contained in ``new`` (dict keys may be added; everything else equal), or None."""
    if isinstance(old, dict) and isinstance(new, dict):
        for k, v in old.items():
            if k not in new:
                return f"{path}.{k} missing"
            m = _subset_mismatch(v, new[k], f"{path}.{k}")
            if m:
                return m
        return None
    if isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            return f"{path}: {len(old)} vs {len(new)} entries"
        for i, (a, b) in enumerate(zip(old, new)):
            m = _subset_mismatch(a, b, f"{path}[{i}]")
            if m:
                return m
        return None
    return None if old == new else f"{path}: {old!r} -> {new!r}"


def _read_records(p: Path) -> list:
    if not p.is_file():
        return []
    if p.suffix == ".jsonl":
        return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]
    return [json.loads(p.read_text())]


def relabel_dataset(root: str | Path, progress: Optional[Callable[[str], None]] = None) -> dict:
    """Recompute the label files of every finished shard of ``root`` in place. Returns a summary
    {"shards": n, "relabelled": n, "unchanged": n, "items": n}. Raises DataError (nothing written for that shard
    and the ones after it) when a replay does not reproduce a shard."""
    from dms.sim.config import SimulateConfig, with_legacy_values
    from dms.sim.jobs import execute_shard, plan_jobs
    from dms.sim.render import MockRenderer, RenderSettings

    root = Path(root)
    mf = root / "dataset.json"
    if not mf.is_file():
        raise DataError(f"{root} is not a dms dataset (no dataset.json)")
    meta = json.loads(mf.read_text())
    cfg_dict = dict(meta.get("config") or {})
    if not cfg_dict:
        raise DataError(f"{mf} records no config: cannot replay its shards")
    cfg = SimulateConfig(**with_legacy_values(cfg_dict))      # replay settings it predates as they were
    jobs = {j.name: j for j in plan_jobs(cfg)}
    renderer = MockRenderer(RenderSettings(samples=1))
    summary = {"shards": 0, "relabelled": 0, "unchanged": 0, "items": 0}
    for shard in sorted((root / "shards").iterdir()):
        if shard.name.startswith(".") or not (shard / SUCCESS).is_file():
            continue
        job = jobs.get(shard.name)
        if job is None:
            raise DataError(f"{shard}: no such shard in the dataset's plan (config changed?)")
        summary["shards"] += 1
        old_success = json.loads((shard / SUCCESS).read_text())
        with tempfile.TemporaryDirectory(prefix="dms-relabel-") as tmp:
            res = execute_shard(job, cfg, tmp, renderer)
            rep = Path(tmp) / "shards" / job.name
            new_success = json.loads((rep / SUCCESS).read_text())
            old_files = {f for f in old_success["files"] if Path(f).name not in LABEL_FILES}
            new_files = {f for f in new_success["files"] if Path(f).name not in LABEL_FILES}
            if old_files != new_files or int(old_success.get("n_items", -1)) != int(res["n_items"]):
                raise DataError(f"{shard}: the replay renders other files ({len(old_files)} vs {len(new_files)}, "
                                f"items {old_success.get('n_items')} vs {res['n_items']}): the sampling code "
                                "changed since this dataset was rendered; re-render it")
            changed = []
            for name in LABEL_FILES:
                old_p, new_p = shard / name, rep / name
                if old_p.is_file() != new_p.is_file():
                    raise DataError(f"{shard}: {name} present in only one of the dataset and the replay")
                if not old_p.is_file():
                    continue
                old_r, new_r = _read_records(old_p), _read_records(new_p)
                mism = _subset_mismatch(old_r, new_r, name)
                if mism:
                    raise DataError(f"{shard}: the replay changes an existing label ({mism}): the sampling or "
                                    "label code changed since this dataset was rendered; re-render it")
                if old_p.read_bytes() != new_p.read_bytes():
                    changed.append(name)
            if not changed:
                summary["unchanged"] += 1
                continue
            # assemble the new shard next to the old one (images hard-linked), then swap atomically
            stage = root / "shards" / f".relabel-{shard.name}-{os.getpid()}"
            shutil.rmtree(stage, ignore_errors=True)
            files = {}
            for rel in sorted(old_success["files"]):
                dst = stage / rel
                dst.parent.mkdir(parents=True, exist_ok=True)
                if Path(rel).name in LABEL_FILES:
                    shutil.copyfile(rep / rel, dst)
                    files[rel] = _sha256(dst)
                    continue
                try:                                 # images are kept as they are: so is their recorded hash
                    os.link(shard / rel, dst)
                except OSError:
                    shutil.copyfile(shard / rel, dst)
                files[rel] = old_success["files"][rel]
            (stage / SUCCESS).write_text(json.dumps({"n_items": int(res["n_items"]), "files": files},
                                                    sort_keys=True))
            old_dir = root / "shards" / f".old-{shard.name}-{os.getpid()}"
            os.rename(shard, old_dir)
            os.rename(stage, shard)
            shutil.rmtree(old_dir, ignore_errors=True)
            summary["relabelled"] += 1
            summary["items"] += int(res["n_items"])
            if progress:
                progress(f"{shard.name}: {', '.join(changed)} rewritten")
    from dms.data.dataset import write_dataset_manifest
    write_dataset_manifest(root, {k: v for k, v in meta.items() if k != "shards"})
    return summary
