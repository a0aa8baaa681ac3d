"""The trainer: seeded, resumable training with the four domain-adaptation modes.

Modes (``TrainConfig.mode``):

* ``synthetic``: train on renders only (the shipped models).
* ``hybrid``:    renders + the real adaptation split mixed in every batch (``real_fraction`` of the samples).
* ``finetune``:  renders pre-training (or ``init=``), then ``finetune_epochs`` on the real adaptation split.
* ``adabn``:     renders pre-training (or ``init=``), then batch-norm statistics recomputed on the real
                 adaptation images without their labels (AdaBN, Li et al. 2016).

When ``real=`` is given, a stratified ``real_holdout`` share of it is never trained on and is measured after every
epoch, so the four modes are compared on the same held-out real images.

Outputs in ``out=``: ``config.resolved.yaml``, ``checkpoint.pt`` (every epoch, atomic; resumed automatically),
``model.pt`` (final weights + everything export needs), ``metrics.json``, ``curves.png``, ``confusion.png`` or
``error_hist.png``.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import time
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from dms.config import save_resolved
from dms.data.augment import build_augmenter
from dms.errors import ConfigError, DataError, ModelError
from dms.eval.metrics import task_metrics
from dms.train.config import TrainConfig
from dms.train.data import (Samples, TorchSamples, batch_inputs, concat_samples, load_real, load_synthetic,
                            split_by_group,
                            stratified_split)
from dms.train.models import build_model, n_params
from dms.train.tasks import distill_loss, loss_fn, teacher_targets
from dms.train.taskdefs import TaskDef, get_task

log = logging.getLogger(__name__)

MODEL_FORMAT = "dms.train.model/1"
CKPT_FORMAT = "dms.train.checkpoint/1"


def _atomic_torch_save(obj, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _git_rev() -> str:
    try:
        r = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
                           cwd=Path(__file__).resolve().parent)
        return r.stdout.strip() if r.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _config_key(cfg: TrainConfig) -> str:
    d = cfg.model_dump(mode="json")
    for k in ("resume", "out", "device", "num_threads"):
        d.pop(k, None)
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def _dataset_provenance(root: Optional[str], used_shards: tuple[str, ...] = ()) -> dict:
    if not root:
        return {}
    p = Path(root)
    info: dict = {"path": str(p)}
    mf = p / "dataset.json"
    if mf.is_file():
        try:
            meta = json.loads(mf.read_text())
            from dms.data.dataset import SUCCESS, open_dataset
            shards = open_dataset(p).shard_dirs()   # complete shards (a render may be ongoing)
            if used_shards:
                shards = [d for d in shards if d.name in set(used_shards)]
            digest = hashlib.sha256()
            for d in shards:
                digest.update(d.name.encode() + b"\0" + (d / SUCCESS).read_bytes())
            info.update({"name": meta.get("name"), "seed": meta.get("seed"),
                         "renderer": (meta.get("config") or {}).get("renderer"), "n_shards": len(shards),
                         "shards_sha256": digest.hexdigest()})
        except (OSError, json.JSONDecodeError, DataError):
            pass
    return info


def _datasets_provenance(roots: list[str], root_shards: dict[str, tuple[str, ...]]) -> dict:
    """Provenance of the synthetic data: one root -> its dict (as before); several -> ``roots`` (one dict per
    root, each with its own shard digest), ``path`` = the first root (``dms export calib=`` default/held-out
    check), summed ``n_shards`` and a digest over the roots' digests."""
    if len(roots) <= 1:
        return _dataset_provenance(roots[0] if roots else None, root_shards.get(roots[0], ()) if roots else ())
    per = [_dataset_provenance(r, root_shards.get(r, ())) for r in roots]
    digest = hashlib.sha256()
    for d in per:
        digest.update(str(d.get("shards_sha256")).encode() + b"\0")
    uniq = lambda k: (per[0].get(k) if len({json.dumps(d.get(k)) for d in per}) == 1  # noqa: E731
                      else [d.get(k) for d in per])
    return {"path": per[0]["path"], "paths": [d["path"] for d in per], "name": uniq("name"), "seed": uniq("seed"),
            "renderer": uniq("renderer"), "n_shards": sum(int(d.get("n_shards") or 0) for d in per),
            "shards_sha256": digest.hexdigest(), "roots": per}


def load_model_file(path: str | Path, map_location: str = "cpu") -> dict:
    """Load a ``model.pt`` (or a ``checkpoint.pt``, taking its model) -> the model dict; ModelError on garbage."""
    p = Path(path)
    if not p.is_file():
        raise ModelError(f"{p}: model file not found")
    try:   # weights_only: plain containers + tensors, no arbitrary code from a model file
        obj = torch.load(p, map_location=map_location, weights_only=True)
    except Exception as e:  # noqa: BLE001 — any unpickling failure means a corrupt or foreign file
        raise ModelError(f"{p}: not a readable torch model file: {str(e).splitlines()[0][:300]}") from e
    if isinstance(obj, dict) and obj.get("format") == CKPT_FORMAT:
        obj = obj["model_info"] | {"state_dict": obj["model"]}
    if not isinstance(obj, dict) or obj.get("format") != MODEL_FORMAT:
        raise ModelError(f"{p}: not a dms model file (expected format {MODEL_FORMAT})")
    return obj


#: what a model's input and outputs mean: models that combine (ensemble members, distillation teachers) must agree
INPUT_KEYS = ("task", "input_size", "preprocessing", "crop", "gaze_frame")


def input_difference(a: dict, b: dict) -> Optional[tuple[str, object, object]]:
    """The first of :data:`INPUT_KEYS` where two model dicts differ, as (key, a's value, b's value); None if none."""
    for key in INPUT_KEYS:
        va, vb = a.get(key), b.get(key)
        if (list(va) if isinstance(va, tuple) else va) != (list(vb) if isinstance(vb, tuple) else vb):
            return key, va, vb
    return None


def model_provenance(path: str | Path, info: dict) -> dict:
    """Where a model that went into another one (ensemble member, teacher) came from."""
    tr = info.get("training") or {}
    return {"file": str(path), "arch": info.get("arch"), "seed": tr.get("seed"), "config_key": tr.get("config_key"),
            "git_rev": tr.get("git_rev")}


def model_from_file(info: dict) -> torch.nn.Module:
    model = build_model(info["arch"], info["task"])
    try:
        model.load_state_dict(info["state_dict"])
    except RuntimeError as e:
        raise ModelError(f"weights do not fit arch {info['arch']}: {e}") from e
    return model.eval()


@torch.no_grad()
def predict(model: torch.nn.Module, td: TaskDef, x: np.ndarray, batch_size: int = 256,
            device: str = "cpu") -> dict[str, np.ndarray]:
    model.eval()
    outs: list[list[np.ndarray]] = [[] for _ in td.outputs]
    for i in range(0, len(x), batch_size):
        ys = model(torch.from_numpy(x[i:i + batch_size]).to(device))
        for j, y in enumerate(ys):
            outs[j].append(y.cpu().numpy())
    return {name: (np.concatenate(o) if o else np.zeros((0, w), np.float32))
            for (name, w, _), o in zip(td.outputs, outs)}


def _metric_key(td: TaskDef) -> str:
    return "balanced_accuracy" if td.classification else "mean_angular_error_deg"


@torch.no_grad()
def adabn(model: torch.nn.Module, x: np.ndarray, batch_size: int = 128, device: str = "cpu") -> int:
    """Recompute every BatchNorm's running statistics on ``x`` (labels unused). Returns the number of BN layers."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not len(x):
        raise DataError("AdaBN needs at least one real image")
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None            # cumulative moving average over all batches
    model.train()
    for i in range(0, len(x), batch_size):
        chunk = x[i:i + batch_size]
        if len(chunk) < 2 and i > 0:
            break
        model(torch.from_numpy(chunk).to(device))
    for m, mom in zip(bns, saved):
        m.momentum = mom
    model.eval()
    return len(bns)


class Trainer:
    def __init__(self, cfg: TrainConfig):
        self.cfg = cfg
        self.td = get_task(cfg.task, gaze_frame=cfg.gaze_frame)
        self.arch = cfg.arch or self.td.default_arch
        self.input_size = tuple(cfg.input_size) if cfg.input_size else self.td.input_size
        if len(self.input_size) != 2 or min(self.input_size) < 8:
            raise ConfigError(f"input_size must be [width, height] >= 8, got {cfg.input_size}")
        self.out = Path(cfg.out)
        self.device = "cuda" if cfg.device in ("auto", "cuda") and torch.cuda.is_available() else "cpu"
        if cfg.device == "cuda" and self.device != "cuda":
            raise ConfigError("device=cuda but no CUDA device is available")
        if cfg.mode != "synthetic" and not cfg.real:
            raise ConfigError(f"mode={cfg.mode} needs real=DIR (a labelled folder in the `dms eval` layout)")
        need_synth = cfg.mode == "hybrid" or not cfg.init or (cfg.mode == "synthetic" and cfg.epochs > 0)
        if need_synth and not cfg.data_roots():
            raise ConfigError(f"mode={cfg.mode} needs data=DIR (a dms simulate dataset)"
                              + ("" if cfg.mode == "hybrid" else " or init=MODEL.pt"))
        self.need_synth = need_synth
        self.history: list[dict] = []

    # --- data --------------------------------------------------------------------------------------------
    def _load(self, rng: np.random.Generator) -> None:
        cfg, td = self.cfg, self.td
        self.synth_train = self.synth_val = Samples()
        self.root_shards: dict[str, tuple[str, ...]] = {}
        roots = cfg.data_roots()
        if self.need_synth or roots:
            missing = [r for r in roots if not Path(r).is_dir()]
            if missing:
                raise DataError(f"data root{'s' if len(missing) > 1 else ''} not found: {', '.join(missing)} "
                                f"(data={roots if len(roots) > 1 else roots[0]})")
            if len(roots) == 1:
                s = load_synthetic(roots[0], td, cfg.modality, cfg.max_items, rng, cfg.drop_accessories,
                                   cfg.min_crop_std)
                self.root_shards[roots[0]] = s.shards
            elif roots:
                parts = []
                for i, r in enumerate(roots):
                    p = load_synthetic(r, td, cfg.modality, 0, rng, cfg.drop_accessories, cfg.min_crop_std)
                    self.root_shards[r] = p.shards
                    if i:   # scene ids (shard/index) repeat across render sets: keep the scenes apart in the
                        p.groups = [f"{i}:{g}" for g in p.groups]  # split (root 0 splits as when trained alone)
                    parts.append(p)
                s = concat_samples(parts)
                if cfg.max_items and len(s) > cfg.max_items:
                    s = s.subset(np.sort(rng.choice(len(s), size=cfg.max_items, replace=False)))
                log.info("pooled %d synthetic samples from %d roots: %s", len(s), len(roots),
                         ", ".join(f"{r} ({len(p)})" for r, p in zip(roots, parts)))
            # re-derive the class flag (target 1) from the rendered openness (target 0) at the user's threshold
            thr, flag_is_high, what = {"yawn": (cfg.yawn_threshold, True, "yawn: mouth_openness >="),
                                       "eye_state": (cfg.closed_threshold, False, "closed: eye_openness <")
                                       }.get(td.name, (None, True, ""))
            if roots and thr is not None:
                o = s.targets[:, 0]
                known = np.isfinite(o)
                s.targets[known, 1] = ((o[known] >= thr) == flag_is_high).astype(np.float32)
                log.info("label re-derived, %s %.3f (%d of %d crops)", what, thr,
                         int(np.sum(s.targets[known, 1] > 0.5)), int(known.sum()))
            if roots:
                self.synth_train, self.synth_val = split_by_group(s, cfg.val_fraction, cfg.seed)
        self.real_adapt = self.real_hold = Samples(source="real")
        self.real_unreadable = 0
        if cfg.real:
            r = load_real(cfg.real, td)
            self.real_unreadable = r.n_unreadable
            self.real_adapt, self.real_hold = stratified_split(r, cfg.real_holdout, td, rng)
            if cfg.mode != "synthetic" and not len(self.real_adapt):
                raise DataError(f"{cfg.real}: no real images left for adaptation (real_holdout={cfg.real_holdout})")
        log.info("samples: synthetic train %d / val %d, real adapt %d / holdout %d", len(self.synth_train),
                 len(self.synth_val), len(self.real_adapt), len(self.real_hold))
        self.x_val = batch_inputs(self.synth_val, td, self.input_size)
        self.x_hold = batch_inputs(self.real_hold, td, self.input_size)

    def _evaluate(self, model) -> dict:
        out = {}
        if len(self.synth_val):
            out["synthetic_val"] = task_metrics(self.td, predict(model, self.td, self.x_val, device=self.device),
                                                self.synth_val.targets)
        if len(self.real_hold):
            out["real_holdout"] = task_metrics(self.td, predict(model, self.td, self.x_hold, device=self.device),
                                               self.real_hold.targets)
        return out

    @torch.no_grad()
    def _val_loss(self, model) -> Optional[float]:
        if not len(self.synth_val):
            return None
        model.eval()
        x = torch.from_numpy(self.x_val).to(self.device)
        t = torch.from_numpy(np.nan_to_num(self.synth_val.targets, nan=0.0)).to(self.device)
        m = torch.from_numpy((~np.isnan(self.synth_val.targets)).astype(np.float32)).to(self.device)
        return float(loss_fn(self.td.name, model.raw(x), t, m))

    # --- phases ------------------------------------------------------------------------------------------
    def _loader(self, phase: str, rng: np.random.Generator) -> torch.utils.data.DataLoader:
        cfg, td = self.cfg, self.td
        task_aug = (dict(zoom=cfg.augment.zoom or td.zoom, glint_p=td.glint_p, rotate=td.rotate,
                         shift=td.shift if cfg.augment.shift is None else cfg.augment.shift)
                    if cfg.augment.profile == "strong" else {})      # the task's extras: strong profile only
        aug_s = build_augmenter(cfg.augment.profile, rng, aspect=td.aspect_jitter, **task_aug)
        aug_r = build_augmenter(cfg.augment.real_profile, rng)
        gen = torch.Generator().manual_seed(int(rng.integers(0, 2**62)))
        if phase == "finetune":
            ds = TorchSamples(self.real_adapt, td, self.input_size, aug_r, cfg.augment.hflip, rng)
            return torch.utils.data.DataLoader(ds, batch_size=min(cfg.batch_size, max(2, len(ds))), shuffle=True,
                                               generator=gen, drop_last=len(ds) > cfg.batch_size)
        ds_s = TorchSamples(self.synth_train, td, self.input_size, aug_s, cfg.augment.hflip, rng)
        if phase == "hybrid" and len(self.real_adapt):
            ds_r = TorchSamples(self.real_adapt, td, self.input_size, aug_r, cfg.augment.hflip, rng)
            ds = torch.utils.data.ConcatDataset([ds_s, ds_r])
            ns, nr = len(ds_s), len(ds_r)
            w = np.concatenate([np.full(ns, (1 - cfg.real_fraction) / ns), np.full(nr, cfg.real_fraction / nr)])
            sampler = torch.utils.data.WeightedRandomSampler(torch.from_numpy(w), num_samples=ns, replacement=True,
                                                             generator=gen)
            return torch.utils.data.DataLoader(ds, batch_size=cfg.batch_size, sampler=sampler, drop_last=True)
        if cfg.balance_classes and td.classification and len(ds_s):
            w = class_balance_weights(td.class_of_target(self.synth_train.targets))
            if w is not None:
                sampler = torch.utils.data.WeightedRandomSampler(torch.from_numpy(w), num_samples=len(ds_s),
                                                                 replacement=True, generator=gen)
                return torch.utils.data.DataLoader(ds_s, batch_size=cfg.batch_size, sampler=sampler,
                                                   drop_last=len(ds_s) > cfg.batch_size)
        return torch.utils.data.DataLoader(ds_s, batch_size=cfg.batch_size, shuffle=True, generator=gen,
                                           drop_last=len(ds_s) > cfg.batch_size)

    def _plan(self) -> list[tuple[str, int, float]]:
        cfg = self.cfg
        plan = []
        if not cfg.init or cfg.mode in ("synthetic", "hybrid"):
            plan.append(("hybrid" if cfg.mode == "hybrid" else "synthetic", cfg.epochs, cfg.lr))
        if cfg.mode == "finetune":
            plan.append(("finetune", cfg.finetune_epochs, cfg.finetune_lr))
        return [p for p in plan if p[1] > 0]

    def run(self) -> dict:
        cfg, td = self.cfg, self.td
        torch.set_num_threads(cfg.num_threads)
        torch.manual_seed(cfg.seed)
        rng = np.random.default_rng(cfg.seed)
        self.out.mkdir(parents=True, exist_ok=True)
        save_resolved(cfg, self.out, extra={"git_rev": _git_rev(), "config_key": _config_key(cfg)})
        self._load(rng)
        model = build_model(self.arch, td.name).to(self.device)
        if cfg.init:
            info = load_model_file(cfg.init)
            if info["task"] != td.name or info["arch"] != self.arch:
                raise ConfigError(f"init={cfg.init} is a {info['task']}/{info['arch']} model, need "
                                  f"{td.name}/{self.arch}")
            model.load_state_dict(info["state_dict"])
        log.info("model %s for %s: %d parameters", self.arch, td.name, n_params(model))
        teachers = self._teachers()

        ckpt_path = self.out / "checkpoint.pt"
        key = _config_key(cfg)
        start = (0, 0)                     # (phase index, epochs done in that phase)
        opt_state = sched_state = ema_state = None
        if cfg.resume and ckpt_path.is_file():
            ck = torch.load(ckpt_path, map_location=self.device, weights_only=True)
            if ck.get("format") == CKPT_FORMAT and ck.get("config_key") == key:
                model.load_state_dict(ck["model"])
                start = tuple(ck["position"])
                opt_state, sched_state, ema_state = ck["optimizer"], ck["scheduler"], ck.get("ema")
                self.history = ck["history"]
                rng.bit_generator.state = ck["np_rng"]
                torch.set_rng_state(ck["torch_rng"])
                log.info("resuming from %s at phase %d epoch %d", ckpt_path, *start)
            else:
                log.warning("%s belongs to another config; starting fresh (it will be overwritten)", ckpt_path)

        plan = self._plan()
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
        console = Console(stderr=True)
        t0 = time.monotonic()
        for pi, (phase, n_epochs, lr) in enumerate(plan):
            if pi < start[0]:
                continue
            first = start[1] if pi == start[0] else 0
            ema = _ema(model, cfg.ema_decay)
            ema_resumed = ema is not None and pi == start[0] and first > 0 and ema_state is not None
            if ema_resumed:
                ema.load_state_dict(ema_state)
            if first >= n_epochs:     # a finished phase (resumed after it): its end state is the EMA when on
                if ema_resumed:
                    model.load_state_dict(ema.module.state_dict())
                continue
            loader = self._loader(phase, rng)
            steps = max(1, len(loader))
            opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=cfg.weight_decay)
            sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=n_epochs * steps,
                                                        pct_start=0.15 if phase != "finetune" else 0.05)
            if pi == start[0] and first > 0 and opt_state is not None:
                opt.load_state_dict(opt_state)
                sched.load_state_dict(sched_state)
            with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                          TextColumn("loss {task.fields[loss]:.4f}"), TimeRemainingColumn(), console=console,
                          transient=False, disable=not console.is_terminal) as prog:
                for epoch in range(first, n_epochs):
                    bar = prog.add_task(f"{td.name} {phase} {epoch + 1}/{n_epochs}", total=steps, loss=0.0)
                    model.train()
                    tot, cnt = 0.0, 0
                    for x, t, m in loader:
                        if len(x) < 2:
                            continue
                        x, t, m = x.to(self.device), t.to(self.device), m.to(self.device)
                        raw = model.raw(x)
                        loss = loss_fn(td.name, raw, t, m)
                        if teachers:
                            with torch.no_grad():
                                soft = teacher_targets(td.name, [tm.raw(x) for tm in teachers])
                            w = cfg.distill_weight
                            loss = (1.0 - w) * loss + w * distill_loss(td.name, raw, soft)
                        opt.zero_grad(set_to_none=True)
                        loss.backward()
                        opt.step()
                        if sched.last_epoch + 1 < n_epochs * steps:
                            sched.step()
                        if ema is not None:
                            ema.update_parameters(model)
                        tot += loss.item() * len(x)
                        cnt += len(x)
                        prog.update(bar, advance=1, loss=tot / max(cnt, 1))
                    current = model if ema is None else ema.module     # what this epoch would save
                    ev = self._evaluate(current)
                    rec = {"phase": phase, "epoch": epoch + 1, "train_loss": tot / max(cnt, 1),
                           "val_loss": self._val_loss(current), **{k: _short(v) for k, v in ev.items()}}
                    self.history.append(rec)
                    log.info("%s %s epoch %d/%d: %s", td.name, phase, epoch + 1, n_epochs, _fmt(rec))
                    _atomic_torch_save({"format": CKPT_FORMAT, "config_key": key, "position": (pi, epoch + 1),
                                        "model": model.state_dict(), "optimizer": opt.state_dict(),
                                        "scheduler": sched.state_dict(), "history": self.history,
                                        "ema": None if ema is None else ema.state_dict(),
                                        "np_rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
                                        "model_info": self._model_info(None)}, ckpt_path)
            if ema is not None:        # the phase ends with the averaged weights (the next phase starts from them)
                model.load_state_dict(ema.module.state_dict())
                log.info("%s %s: weights = EMA (decay %g) of %d steps", td.name, phase, cfg.ema_decay,
                         int(ema.n_averaged))

        if cfg.mode == "adabn":
            n_bn = adabn(model, batch_inputs(self.real_adapt, td, self.input_size), device=self.device)
            log.info("AdaBN: recomputed %d batch-norm layers on %d unlabelled real images", n_bn,
                     len(self.real_adapt))
            self.history.append({"phase": "adabn", "epoch": 0, **{k: _short(v) for k, v in
                                                                  self._evaluate(model).items()}})
        final = self._evaluate(model)
        metrics = {"synthetic_val": final.get("synthetic_val"), "real_holdout": final.get("real_holdout"),
                   "n": {"synthetic_train": len(self.synth_train), "synthetic_val": len(self.synth_val),
                         "real_adapt": len(self.real_adapt), "real_holdout": len(self.real_hold),
                         "real_unreadable": self.real_unreadable},
                   "train_seconds": round(time.monotonic() - t0, 1)}
        info = self._model_info(metrics)
        info["state_dict"] = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        _atomic_torch_save(info, self.out / "model.pt")
        (self.out / "metrics.json").write_text(json.dumps(metrics, indent=1, sort_keys=True, default=str))
        (self.out / "history.json").write_text(json.dumps(self.history, indent=1, default=str))
        try:
            from dms.train.plots import plot_curves, plot_final
            plot_curves(self.history, td, self.out / "curves.png")
            plot_final(model, self, self.out)
        except Exception as e:  # noqa: BLE001 — plots are reports; never lose a trained model over them
            log.warning("could not write plots: %s", e)
        log.info("wrote %s", self.out / "model.pt")
        return {"model": str(self.out / "model.pt"), **metrics}

    def _teachers(self) -> list[torch.nn.Module]:
        """The ``distill`` teachers in eval mode, checked to read the same input as the student (task, input size,
        preprocessing, crop, gaze frame); a mismatch is a ConfigError naming the teacher and the field."""
        cfg, td = self.cfg, self.td
        out, self.teacher_info = [], []
        student = {"task": td.name, "input_size": list(self.input_size),
                   "preprocessing": td.preprocessing(self.input_size), "crop": td.crop_dict()} | (
                   {"gaze_frame": td.gaze_frame} if td.name == "gaze" else {})      # as _model_info writes them
        for path in cfg.distill or []:
            try:
                info = load_model_file(path)
            except ModelError as e:
                raise ConfigError(f"distill teacher: {e}") from e
            diff = input_difference(student, info)
            if diff is not None:
                k, v, got = diff
                raise ConfigError(f"distill teacher {path}: {k} {got!r} differs from the student's {v!r}")
            tm = model_from_file(info).to(self.device).eval()
            for p in tm.parameters():
                p.requires_grad_(False)
            out.append(tm)
            self.teacher_info.append(model_provenance(path, info))
        if out:
            log.info("distilling from %d teacher(s), weight %g", len(out), cfg.distill_weight)
        return out

    def _model_info(self, metrics: Optional[dict]) -> dict:
        cfg, td = self.cfg, self.td
        return {
            "format": MODEL_FORMAT, "task": td.name, "arch": self.arch, "input_size": list(self.input_size),
            "name": cfg.name or f"dms_{td.name}", "version": cfg.version,
            "preprocessing": td.preprocessing(self.input_size), "crop": td.crop_dict(),
            "training": {"mode": cfg.mode, "data": _datasets_provenance(cfg.data_roots(), getattr(self, "root_shards", {})),
                         "real": {"path": cfg.real, "holdout": cfg.real_holdout} if cfg.real else None,
                         "init": cfg.init, "seed": cfg.seed, "config": cfg.model_dump(mode="json"),
                         "distill": getattr(self, "teacher_info", None) or None,
                         "config_key": _config_key(cfg), "git_rev": _git_rev(), "torch": str(torch.__version__)},
            "metrics": metrics or {},
        } | ({"gaze_frame": td.gaze_frame} if td.name == "gaze" else {})


def _ema(model: torch.nn.Module, decay: float):
    """An exponential moving average of ``model``'s weights and buffers (torch.optim.swa_utils.AveragedModel), or
    None (off). The decay warms up as in timm's ModelEmaV3, min(decay, (1 + n) / (10 + n)) after n updates, so a
    short phase (a fine-tune of a few dozen steps) averages its own recent steps instead of staying near its start."""
    if not decay:
        return None
    from torch.optim.swa_utils import AveragedModel

    @torch.no_grad()
    def update(ema_params, params, n_averaged) -> None:
        n = float(n_averaged)
        d = min(decay, (1.0 + n) / (10.0 + n))
        for e, p in zip(ema_params, params, strict=True):
            if e.is_floating_point():
                e.lerp_(p, 1.0 - d)
            else:                      # integer buffers (BN's batch counter): the current value
                e.copy_(p)
    return AveragedModel(model, multi_avg_fn=update, use_buffers=True)


def class_balance_weights(classes: np.ndarray) -> Optional[np.ndarray]:
    """Per-sample weights giving every known class the same total weight (unknown class -1: the mean weight);
    None when fewer than two classes are present."""
    classes = np.asarray(classes)
    known = np.unique(classes[classes >= 0])
    if len(known) < 2:
        return None
    w = np.zeros(len(classes), np.float64)
    for c in known:
        m = classes == c
        w[m] = 1.0 / m.sum()
    if (classes < 0).any():
        w[classes < 0] = w[classes >= 0].mean()
    return w / w.sum()


def _short(m: Optional[dict]) -> Optional[dict]:
    if not m:
        return m
    keys = ("accuracy", "balanced_accuracy", "mean_angular_error_deg", "median_angular_error_deg", "n")
    return {k: m[k] for k in keys if k in m}


def _fmt(rec: dict) -> str:
    parts = [f"train_loss={rec['train_loss']:.4f}"]
    if rec.get("val_loss") is not None:
        parts.append(f"val_loss={rec['val_loss']:.4f}")
    for k in ("synthetic_val", "real_holdout"):
        if rec.get(k):
            parts.append(k + "=" + ",".join(f"{a}={b:.4g}" for a, b in rec[k].items()
                                            if isinstance(b, float)))
    return " ".join(parts)


def train(cfg: TrainConfig) -> dict:
    return Trainer(cfg).run()
