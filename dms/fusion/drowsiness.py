"""Drowsiness level: a KSS-like 1..9 estimate from eye and mouth indicators, with the inputs that drove it.

Each available indicator (PERCLOS, mean blink duration, microsleeps in the window, yawns in the window) is
mapped to a KSS value by the profile's piecewise-linear anchor points; the estimate is the highest of them
(any single strong sign of drowsiness is enough), plus a small corroboration bonus when at least two
indicators agree on an elevated level. The result is transparent: ``inputs`` lists every value, its KSS and
which indicator decided.
"""
from __future__ import annotations

import math
from typing import Optional

from dms.fusion.profiles import EURO_NCAP_2026, Profile
from dms.fusion.timing import interp_points


def kss_level(kss: Optional[float]) -> Optional[int]:
    """Integer KSS level of a continuous estimate (round half up), e.g. 7.5 -> 8."""
    return None if kss is None else int(math.floor(kss + 0.5))


class DrowsinessEstimator:
    def __init__(self, profile: Profile = EURO_NCAP_2026):
        self.profile = profile

    def estimate(self, perclos: Optional[float], mean_blink_duration_s: Optional[float],
                 microsleeps_in_window: int, yawns_in_window: Optional[int],
                 observed_valid_s: float) -> tuple[Optional[float], dict]:
        """Returns ``(kss or None, inputs)``. Without enough observation (``kss_min_observed_s`` of valid eye
        time) only a microsleep can produce an estimate; with nothing available the estimate is None."""
        p = self.profile
        warmed_up = observed_valid_s >= p.kss_min_observed_s
        parts: dict[str, float] = {}
        inputs: dict = {"observed_valid_s": round(observed_valid_s, 3)}
        if perclos is not None:
            inputs["perclos"] = round(perclos, 4)
            parts["perclos"] = interp_points(perclos, p.kss_perclos_points)
        if mean_blink_duration_s is not None:
            inputs["mean_blink_duration_s"] = round(mean_blink_duration_s, 4)
            parts["blink_duration"] = interp_points(mean_blink_duration_s, p.kss_blink_points)
        inputs["microsleeps_in_window"] = int(microsleeps_in_window)
        if microsleeps_in_window > 0 or warmed_up:
            parts["microsleeps"] = interp_points(float(microsleeps_in_window), p.kss_microsleep_points)
        if yawns_in_window is not None:
            inputs["yawns_in_window"] = int(yawns_in_window)
            if warmed_up or yawns_in_window > 0:
                parts["yawns"] = interp_points(float(yawns_in_window), p.kss_yawn_points)
        if not parts or not (warmed_up or microsleeps_in_window > 0):
            inputs["driver"] = None
            return None, inputs
        driver = max(parts, key=parts.__getitem__)
        kss = parts[driver]
        elevated = sum(1 for v in parts.values() if v >= p.kss_corroboration_min)
        bonus = p.kss_corroboration_bonus if elevated >= 2 else 0.0
        kss = min(9.0, max(1.0, kss + bonus))
        inputs.update({f"kss_{k}": round(v, 3) for k, v in parts.items()})
        inputs["corroboration_bonus"] = bonus
        inputs["driver"] = driver
        return kss, inputs
