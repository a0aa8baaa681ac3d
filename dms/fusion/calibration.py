"""Per-driver calibration: the open-eye baseline and the natural head-pose / gaze offset (the direction in
which this driver, with this camera mounting, looks at the road), learned during the first minutes of valid
driving and then frozen. Until it completes, neutral defaults are used (openness as measured; head and gaze
offsets = the camera mount's nominal road direction, ``road_direction_deg``, (0, 0) unless configured) and the
published state says ``calibrated=False``; alerts are never held back waiting for calibration."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from dms.fusion.timing import s_to_ns


@dataclass(frozen=True)
class CalibrationResult:
    open_eye_baseline: float = 1.0        # raw openness of this driver's neutral open eye
    head_yaw_offset_deg: float = 0.0      # head pose while looking at the road (camera frame)
    head_pitch_offset_deg: float = 0.0
    gaze_yaw_offset_deg: float = 0.0      # gaze direction while looking at the road (camera frame)
    gaze_pitch_offset_deg: float = 0.0
    n_samples: int = 0

    def __post_init__(self) -> None:
        if not (self.open_eye_baseline > 0 and math.isfinite(self.open_eye_baseline)):
            raise ValueError(f"open_eye_baseline must be a positive number, got {self.open_eye_baseline}")


class Calibration:
    """Collects one sample per ``sample_period_s`` while the driver is monitored and driving, then computes
    robust statistics: the open-eye baseline is the ``open_percentile`` of open-eye openness samples (high, so
    a droopy start does not lower it much), the offsets are medians (robust as long as the driver looks at
    the road most of the time, which holds while driving)."""

    MIN_BASELINE = 0.3     # never accept a baseline below this (a closed-eye "calibration" is not one)

    def __init__(self, duration_s: float = 120.0, min_samples: int = 300, sample_period_s: float = 0.1,
                 open_percentile: float = 90.0, preset: Optional[CalibrationResult] = None,
                 road_direction_deg: tuple[float, float] = (0.0, 0.0)):
        ry, rp = (float(v) for v in road_direction_deg)
        if not (math.isfinite(ry) and math.isfinite(rp)):
            raise ValueError(f"road_direction_deg must be finite, got {road_direction_deg}")
        self.road_direction_deg = (ry, rp)
        self.sample_period_ns = s_to_ns(sample_period_s)
        self.target_samples = max(int(min_samples), int(math.ceil(duration_s / sample_period_s)))
        self.min_component = max(10, self.target_samples // 4)
        self.open_percentile = open_percentile
        self.preset = preset
        self._reset_state()

    def _reset_state(self) -> None:
        self._last_sample_ns: Optional[int] = None
        self._n = 0
        self._open: list[float] = []
        self._head: list[tuple[float, float]] = []
        self._gaze: list[tuple[float, float]] = []
        ry, rp = self.road_direction_deg
        self.result = self.preset if self.preset is not None else CalibrationResult(
            head_yaw_offset_deg=ry, head_pitch_offset_deg=rp, gaze_yaw_offset_deg=ry, gaze_pitch_offset_deg=rp)
        self.calibrated = self.preset is not None

    def update(self, t_ns: int, openness: Optional[float], eye_open: Optional[bool],
               head_yaw_deg: Optional[float], head_pitch_deg: Optional[float],
               gaze_yaw_deg: Optional[float], gaze_pitch_deg: Optional[float]) -> bool:
        """Offer one sample (call only while monitoring is valid and the vehicle is driving). Returns True at
        the sample that completes the calibration."""
        if self.calibrated:
            return False
        if self._last_sample_ns is not None and t_ns - self._last_sample_ns < self.sample_period_ns:
            return False
        self._last_sample_ns = t_ns
        self._n += 1
        if openness is not None and eye_open:
            self._open.append(float(openness))
        if head_yaw_deg is not None and head_pitch_deg is not None:
            self._head.append((float(head_yaw_deg), float(head_pitch_deg)))
        if gaze_yaw_deg is not None and gaze_pitch_deg is not None:
            self._gaze.append((float(gaze_yaw_deg), float(gaze_pitch_deg)))
        if self._n < self.target_samples:
            return False
        self.result = self._compute()
        self.calibrated = True
        self._open, self._head, self._gaze = [], [], []
        return True

    def _compute(self) -> CalibrationResult:
        baseline = 1.0
        if len(self._open) >= self.min_component:
            baseline = max(self.MIN_BASELINE, float(np.percentile(self._open, self.open_percentile)))
        hy, hp = gy, gp = self.road_direction_deg      # a component without enough samples keeps the prior
        if len(self._head) >= self.min_component:
            hy, hp = (float(v) for v in np.median(np.asarray(self._head), axis=0))
        if len(self._gaze) >= self.min_component:
            gy, gp = (float(v) for v in np.median(np.asarray(self._gaze), axis=0))
        return CalibrationResult(baseline, hy, hp, gy, gp, self._n)

    @property
    def progress(self) -> float:
        return 1.0 if self.calibrated else self._n / self.target_samples

    def openness(self, raw: Optional[float]) -> Optional[float]:
        """Calibrated openness in [0, 1] (1 = this driver's neutral open eye)."""
        if raw is None:
            return None
        v = raw / self.result.open_eye_baseline
        return 0.0 if v < 0 else (1.0 if v > 1 else v)

    def reset(self) -> None:
        self._reset_state()
