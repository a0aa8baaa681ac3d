"""Task definitions: what a model of each task reads, predicts, and how it is supervised.

Everything here that the runtime or evaluation needs (output names/shapes, preprocessing, crop, decision rules)
is torch-free and lives in :mod:`dms.train.taskdefs`; this module adds the torch losses.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from dms.train.taskdefs import GAZE_SCALE_DEG, TASK_DEFS, TaskDef, get_task  # noqa: F401  (re-exported)


def heads_to_outputs(task: str, raw: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Raw head vector [N, k] -> the task's named outputs (the graph of the exported model)."""
    if task in ("eye_state", "yawn"):
        return torch.sigmoid(raw[:, 0:1]), torch.sigmoid(raw[:, 1:2])
    if task == "gaze":
        return (raw * GAZE_SCALE_DEG,)
    if task == "hands":
        return torch.sigmoid(raw[:, 0:2]), torch.sigmoid(raw[:, 2:3])
    raise ValueError(f"unknown task {task!r}")


def _masked_mean(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    return (x * m).sum() / m.sum().clamp_min(1.0)


def loss_fn(task: str, raw: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Masked loss. ``target``/``mask``: [N, len(TaskDef.targets)]; NaN targets must have mask 0."""
    t = torch.nan_to_num(target, nan=0.0)
    if task in ("eye_state", "yawn"):
        bce = F.binary_cross_entropy_with_logits(raw, t, reduction="none")
        # openness regression (soft target) weighted lower than the decision target
        w = torch.tensor([0.5, 1.0], device=raw.device)
        return _masked_mean(bce * w, mask) * 2.0 / 1.5
    if task == "gaze":
        err = F.smooth_l1_loss(raw * GAZE_SCALE_DEG / 10.0, t / 10.0, reduction="none", beta=0.5)
        return _masked_mean(err, mask)
    if task == "hands":
        bce = F.binary_cross_entropy_with_logits(raw, t[:, :3], reduction="none")
        loss = _masked_mean(bce, mask[:, :3])
        p_both = (torch.sigmoid(raw[:, 0]) * torch.sigmoid(raw[:, 1])).clamp(1e-6, 1 - 1e-6)
        both = F.binary_cross_entropy(p_both, t[:, 3], reduction="none")
        m = mask[:, 3]
        if m.sum() > 0:
            loss = loss + _masked_mean(both, m)
        return loss
    raise ValueError(f"unknown task {task!r}")


def teacher_targets(task: str, raws: list[torch.Tensor]) -> torch.Tensor:
    """Soft targets from teacher raw heads, in the units of the task's targets: the mean of the teachers'
    probabilities (eye_state, yawn, hands: one column per head) or of their angles in degrees (gaze)."""
    if task in ("eye_state", "yawn", "hands"):
        return torch.stack([torch.sigmoid(r) for r in raws]).mean(0)
    if task == "gaze":
        return torch.stack(raws).mean(0) * GAZE_SCALE_DEG
    raise ValueError(f"unknown task {task!r}")


def distill_loss(task: str, raw: torch.Tensor, soft: torch.Tensor) -> torch.Tensor:
    """:func:`loss_fn` with :func:`teacher_targets` as the targets of every head of every sample (hands: its three
    heads, not the both-on term, which the teachers do not give). Minimal where the student's outputs equal the
    teachers' mean."""
    mask = torch.ones_like(soft)
    if task == "hands":
        pad = torch.zeros_like(soft[:, :1])
        soft, mask = torch.cat([soft, pad], 1), torch.cat([mask, pad], 1)
    return loss_fn(task, raw, soft, mask)
