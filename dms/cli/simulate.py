"""`dms simulate`: render a labelled RGB/NIR dataset (sequences + training crops) with Blender."""
from __future__ import annotations

import argparse

from dms.cli.common import add_config_args

DESCRIPTION = """Render a labelled dataset of driver behaviour sequences and training crops (RGB and NIR).

  dms simulate out=data/sim                          defaults (`dms cfg show simulate`)
  dms simulate -c sim.yaml out=data/sim workers=2    config file + overrides
  dms simulate out=data/sim --backend ray            render on Ray (local instance, or RAY_ADDRESS)
  dms simulate out=data/sim renderer=mock            fast geometric stand-in (tests, dry runs)
  dms simulate out=data/sim --preview                also write data/sim/preview.png (label overlays)
  dms simulate out=data/sim --dry-run                validate and print the plan, render nothing
  dms simulate out=data/sim --relabel                recompute the labels of a rendered dataset with the current
                                                     label code (replays the sampling; no rendering)

Re-running the same command resumes: finished shards are skipped, unfinished ones are rendered again.
Exit codes: 0 ok, 2 bad config, 1 failure (e.g. shards that still failed after `retries`).
"""

# keys that do not change what is rendered (may differ between a run and its resume)
_RUN_ONLY_KEYS = ("out", "workers", "backend", "retries", "progress", "preview", "preview_samples", "min_free_gb")


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config_args(p)
    p.add_argument("--preview", action="store_true", help="write OUT/preview.png, a contact sheet of samples with "
                   "label overlays (same as preview=true)")
    p.add_argument("--preview-only", action="store_true", help="only (re)write the preview of an existing dataset")
    p.add_argument("--dry-run", action="store_true", help="validate the config, plan shards, check disk; render "
                   "nothing")
    p.add_argument("--relabel", action="store_true", help="recompute the label files of OUT's finished shards with "
                   "the current label code, keeping the images (deterministic replay without rendering; refused "
                   "when the replay does not reproduce a shard)")
    p.add_argument("--json", action="store_true", help="print a JSON summary as the last stdout line")


def _content_config(cfg_dict: dict) -> dict:
    """The settings that make a dataset's content, as rendered: run-only keys dropped, ``render.crop_samples``
    null (= ``render.samples``) resolved, so a set stored with null resumes under an explicit equal value."""
    out = {k: v for k, v in cfg_dict.items() if k not in _RUN_ONLY_KEYS}
    r = out.get("render")
    if isinstance(r, dict) and r.get("crop_samples") is None and "samples" in r:
        out["render"] = {**r, "crop_samples": r["samples"]}
    return out


def main(args, overrides) -> int:
    import json
    import logging
    from pathlib import Path

    from dms import __version__
    from dms.cli.common import print_json_last_line, resolve
    from dms.config import save_resolved
    from dms.data.dataset import write_dataset_manifest
    from dms.errors import ConfigError, DmsError
    from dms.sim.config import SimulateConfig

    log = logging.getLogger("dms.simulate")
    cfg = resolve(SimulateConfig, args, overrides)
    cfg.check()
    if args.preview:
        cfg.preview = True
    if not cfg.out:
        raise ConfigError("no output folder: give out=DIR (e.g. dms simulate out=data/sim)")
    root = Path(cfg.out)

    if args.preview_only:
        from dms.sim.preview import make_contact_sheet
        png = make_contact_sheet(root, root / "preview.png", n_tiles=cfg.preview_samples, seed=cfg.seed)
        print(f"preview: {png}")
        if args.json:
            print_json_last_line({"preview": str(png)})
        return 0

    if args.relabel:
        from dms.sim.relabel import relabel_dataset
        from dms.sim.runner import RunLock
        if not (root / "dataset.json").is_file():
            raise ConfigError(f"--relabel: {root} is not a rendered dataset (no dataset.json)")
        with RunLock(root):
            summary = relabel_dataset(root, progress=lambda m: log.info("relabel: %s", m))
        print(f"relabel: {summary['relabelled']} of {summary['shards']} shard(s) rewritten "
              f"({summary['items']} items), {summary['unchanged']} unchanged -> {root}")
        if args.json:
            print_json_last_line({"out": str(root), **summary})
        return 0

    from dms.sim.jobs import plan_jobs
    from dms.sim.runner import check_free_disk, run_jobs
    cfg_dict = cfg.model_dump(mode="json")
    mf = root / "dataset.json"
    if mf.is_file():                          # resuming: the folder must hold the same dataset
        try:
            old = json.loads(mf.read_text()).get("config", {})
        except json.JSONDecodeError:
            old = {}
        if old:                               # settings it predates: as it was rendered; the rest: defaults
            from dms.sim.config import with_legacy_values
            old = with_legacy_values(old)
            try:
                old = SimulateConfig(**old).model_dump(mode="json")
            except Exception:  # noqa: BLE001 - a config this version cannot read: compare it as stored
                pass
        a, b = _content_config(old), _content_config(cfg_dict)
        if a and a != b:
            diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            raise ConfigError(f"{root} holds a dataset made with a different config (differs in: "
                              f"{', '.join(diff)}); use another out= or the same config to resume it")
    jobs = plan_jobs(cfg)
    if not jobs:
        raise ConfigError("nothing to render: all sequence and crop counts are 0")
    from dms.data.dataset import shard_done
    todo = [j for j in jobs if not shard_done(root, j.name)]
    frac = sum(j.n_frames for j in todo) / max(1, sum(j.n_frames for j in jobs))
    check_free_disk(root, int(cfg.estimated_bytes() * frac), cfg.min_free_gb)
    n_frames = sum(j.n_frames for j in jobs)
    kinds: dict[str, int] = {}
    for j in jobs:
        kinds[j.kind] = kinds.get(j.kind, 0) + 1
    plan = {"out": str(root), "shards": len(jobs), "todo": len(todo), "images": n_frames, "shards_by_kind": kinds,
            "estimated_gb": round(cfg.estimated_bytes() / 1e9, 3)}
    if args.dry_run:
        print(f"plan: {len(jobs)} shards ({', '.join(f'{v} {k}' for k, v in kinds.items())}), {n_frames} images, "
              f"{len(todo)} shard(s) to render, ~{plan['estimated_gb']} GB")
        if args.json:
            print_json_last_line({"dry_run": True, **plan})
        return 0

    from dms.sim.runner import RunLock
    root.mkdir(parents=True, exist_ok=True)
    meta = {"name": cfg.name, "seed": cfg.seed, "created_by": f"dms {__version__}", "config": cfg_dict,
            "modalities": list(cfg.modalities), "renderer": cfg.renderer,
            "planned_shards": {j.name: j.kind for j in jobs}}
    if cfg.render.part_masks or cfg.render.depth:
        from dms.sim.parts import legend
        meta["aux"] = legend()
    with RunLock(root):                       # one writer per folder, from the manifest to the last shard
        save_resolved(cfg, root, extra={"dms": __version__})
        write_dataset_manifest(root, {**meta, "complete": False})
        log.info("simulate: %d shard(s), %d images -> %s (%s backend, renderer %s)", len(jobs), n_frames, root,
                 cfg.backend, cfg.renderer)
        report = run_jobs(jobs, cfg, root, lock=False)
        complete = not report.failed
        write_dataset_manifest(root, {**meta, "complete": complete, "last_run": report.to_dict()})
    summary = {"out": str(root), **report.to_dict(), "complete": complete}
    if cfg.preview:
        from dms.sim.preview import make_contact_sheet
        try:
            summary["preview"] = str(make_contact_sheet(root, root / "preview.png", n_tiles=cfg.preview_samples,
                                                        seed=cfg.seed))
        except DmsError as e:
            log.error("preview: %s", e)
    print(f"simulate: {len(report.rendered)} shard(s) rendered, {len(report.skipped)} skipped, "
          f"{len(report.failed)} failed; {report.n_frames} images in {report.elapsed_s:.1f} s "
          f"({report.frames_per_s:.2f} images/s) -> {root}")
    if "preview" in summary:
        print(f"preview: {summary['preview']}")
    if args.json:
        print_json_last_line(summary)
    if report.failed:
        raise DmsError(f"{len(report.failed)} shard(s) failed after {cfg.retries} retries: "
                       + "; ".join(f"{k}: {v}" for k, v in sorted(report.failed.items()))
                       + " — re-run the same command to retry them")
    return 0
