"""Training report figures (matplotlib, Agg backend): curves, confusion matrices, gaze error histograms."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from dms.eval.metrics import angular_errors_deg  # noqa: E402


def plot_curves(history: list[dict], td, path: Path) -> Path:
    ep = [h for h in history if "train_loss" in h]
    key = "balanced_accuracy" if td.classification else "mean_angular_error_deg"
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    x = np.arange(1, len(ep) + 1)
    ax[0].plot(x, [h["train_loss"] for h in ep], label="train")
    if any(h.get("val_loss") is not None for h in ep):
        ax[0].plot(x, [h.get("val_loss") or np.nan for h in ep], label="synthetic val")
    ax[0].set_xlabel("epoch")
    ax[0].set_ylabel("loss")
    ax[0].legend()
    for src in ("synthetic_val", "real_holdout"):
        vals = [(h.get(src) or {}).get(key) for h in ep]
        if any(v is not None for v in vals):
            ax[1].plot(x, [np.nan if v is None else v for v in vals], marker=".", label=src)
    ax[1].set_xlabel("epoch")
    ax[1].set_ylabel(key)
    if ax[1].get_legend_handles_labels()[0]:
        ax[1].legend()
    phases = [h["phase"] for h in ep]
    for i in range(1, len(phases)):
        if phases[i] != phases[i - 1]:
            for a in ax:
                a.axvline(i + 0.5, color="gray", ls="--")
    fig.suptitle(f"{td.name}")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def plot_confusions(named: dict[str, dict], path: Path) -> Path:
    """named: title -> classification_metrics dict."""
    named = {k: v for k, v in named.items() if v}
    fig, axes = plt.subplots(1, max(1, len(named)), figsize=(4 * max(1, len(named)), 3.6), squeeze=False)
    for ax, (title, m) in zip(axes[0], named.items()):
        cm = np.asarray(m["confusion"]["matrix"])
        labels = m["confusion"]["labels"]
        ax.imshow(cm, cmap="Blues")
        for i in range(cm.shape[0]):
            for j in range(cm.shape[1]):
                ax.text(j, i, str(cm[i, j]), ha="center", va="center",
                        color="white" if cm[i, j] > cm.max() / 2 else "black")
        ax.set_xticks(range(len(labels)), labels)
        ax.set_yticks(range(len(labels)), labels)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ba = m.get("balanced_accuracy")
        ax.set_title(f"{title}\nbal. acc {ba:.3f}" if ba is not None else title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def plot_gaze_errors(named: dict[str, tuple[np.ndarray, np.ndarray]], path: Path) -> Path:
    """named: title -> (pred [N,2], true [N,2])."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for title, (pred, true) in named.items():
        if len(true):
            err = angular_errors_deg(pred, true)
            ax.hist(err, bins=40, range=(0, max(30.0, float(np.percentile(err, 99)))), alpha=0.5,
                    label=f"{title} (mean {err.mean():.1f}°)")
    ax.set_xlabel("angular error (deg)")
    ax.set_ylabel("count")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def plot_final(model, trainer, out: Path) -> None:
    from dms.train.trainer import predict
    td = trainer.td
    sets = {"synthetic val": (trainer.x_val, trainer.synth_val.targets),
            "real holdout": (trainer.x_hold, trainer.real_hold.targets)}
    sets = {k: v for k, v in sets.items() if len(v[0])}
    if td.classification:
        from dms.eval.metrics import task_metrics
        plot_confusions({k: task_metrics(td, predict(model, td, x, device=trainer.device), t)
                         for k, (x, t) in sets.items()}, out / "confusion.png")
    else:
        plot_gaze_errors({k: (predict(model, td, x, device=trainer.device)["gaze_deg"], t[:, :2])
                          for k, (x, t) in sets.items()}, out / "error_hist.png")
