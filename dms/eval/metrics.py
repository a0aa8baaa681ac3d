"""Metrics shared by training (validation) and ``dms eval`` (numpy only)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from dms.contracts.gaze import gaze_vector


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str]) -> dict:
    """Accuracy, balanced accuracy (mean recall over classes present), per-class counts/recall, confusion matrix
    (rows = true, columns = predicted)."""
    y_true = np.asarray(y_true, int)
    y_pred = np.asarray(y_pred, int)
    k = len(labels)
    cm = np.zeros((k, k), int)
    for t, p in zip(y_true, y_pred):
        if 0 <= t < k and 0 <= p < k:
            cm[t, p] += 1
    n = int(cm.sum())
    counts = {labels[i]: int(cm[i].sum()) for i in range(k)}
    recall = {labels[i]: (float(cm[i, i] / cm[i].sum()) if cm[i].sum() else None) for i in range(k)}
    present = [r for r in recall.values() if r is not None]
    return {
        "n": n,
        "accuracy": float(np.trace(cm) / n) if n else None,
        "balanced_accuracy": float(np.mean(present)) if present else None,
        "counts": counts,
        "recall": recall,
        "confusion": {"labels": list(labels), "matrix": cm.tolist()},
    }


def angular_errors_deg(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """[N,2] (yaw, pitch) degrees each -> angle between the gaze directions, degrees."""
    a = gaze_vector(pred[:, 0], pred[:, 1])
    b = gaze_vector(true[:, 0], true[:, 1])
    cos = np.clip((a * b).sum(axis=-1), -1.0, 1.0)
    return np.degrees(np.arccos(cos))


def gaze_metrics(pred: np.ndarray, true: np.ndarray) -> dict:
    pred = np.asarray(pred, np.float64).reshape(-1, 2)
    true = np.asarray(true, np.float64).reshape(-1, 2)
    n = len(true)
    if n == 0:
        return {"n": 0, "mean_angular_error_deg": None, "median_angular_error_deg": None}
    err = angular_errors_deg(pred, true)
    return {
        "n": n,
        "mean_angular_error_deg": float(err.mean()),
        "median_angular_error_deg": float(np.median(err)),
        "p90_angular_error_deg": float(np.percentile(err, 90)),
        "yaw_mae_deg": float(np.abs(pred[:, 0] - true[:, 0]).mean()),
        "pitch_mae_deg": float(np.abs(pred[:, 1] - true[:, 1]).mean()),
        "yaw_bias_deg": float((pred[:, 0] - true[:, 0]).mean()),
        "pitch_bias_deg": float((pred[:, 1] - true[:, 1]).mean()),
        "yaw_corr": (float(np.corrcoef(pred[:, 0], true[:, 0])[0, 1])
                     if n > 2 and true[:, 0].std() > 0 and pred[:, 0].std() > 0 else None),
        "zero_predictor_mean_angular_error_deg": float(angular_errors_deg(np.zeros_like(true), true).mean()),
    }


def task_metrics(td, outputs: dict[str, np.ndarray], targets: np.ndarray) -> dict:
    """Metrics of model outputs against target vectors (see dms.train.taskdefs) for any task."""
    if td.classification:
        cls = td.class_of_target(targets)
        keep = cls >= 0
        m = classification_metrics(cls[keep], td.decide(outputs)[keep], td.labels)
        return m
    return gaze_metrics(outputs["gaze_deg"], targets[:, :2])
