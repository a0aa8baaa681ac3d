"""Time primitives shared by the fusion trackers: sample-and-hold intervals, interval sets, hysteresis.

Timing convention (used by every tracker): a sample's state holds from its own ``t_ns`` until the next
sample (zero-order hold). A continuous state therefore starts at the ``t_ns`` of its first sample and its
duration at a later sample is ``t_now - t_first``, independent of frame rate. A gap between samples longer
than ``max_gap_s`` is unavailable time: it is attributed to no state and breaks every continuous run.
"""
from __future__ import annotations

from collections import deque
from typing import Any, Optional

NS_PER_S = 1_000_000_000


def s_to_ns(seconds: float) -> int:
    return int(round(seconds * NS_PER_S))


def ns_to_s(ns: int) -> float:
    return ns / NS_PER_S


class SampleHold:
    """Zero-order hold of a sampled state. ``update(t, state)`` returns ``(t_prev, t, held_state)`` for the
    interval since the previous sample (held_state = the previous sample's state), or None on the first
    sample and after a gap longer than ``max_gap_ns``. Raises ValueError if time does not increase."""

    __slots__ = ("max_gap_ns", "last_t_ns", "state", "gap")

    def __init__(self, max_gap_s: float):
        self.max_gap_ns = s_to_ns(max_gap_s)
        self.last_t_ns: Optional[int] = None
        self.state: Any = None
        self.gap = False            # True when the last update followed a gap (or was the first sample)

    def update(self, t_ns: int, state: Any) -> Optional[tuple[int, int, Any]]:
        prev_t, prev_state = self.last_t_ns, self.state
        if prev_t is not None and t_ns <= prev_t:
            raise ValueError(f"timestamps must increase: t_ns={t_ns} after {prev_t}")
        self.last_t_ns, self.state = t_ns, state
        if prev_t is None or t_ns - prev_t > self.max_gap_ns:
            self.gap = True
            return None
        self.gap = False
        return prev_t, t_ns, prev_state

    def reset(self) -> None:
        self.last_t_ns, self.state, self.gap = None, None, False


class IntervalSet:
    """Time-ordered, disjoint ``[start_ns, end_ns)`` intervals; touching intervals merge. Used for rolling
    windows (PERCLOS, VATS, valid time): ``trim`` drops what is older than the window."""

    __slots__ = ("_iv",)

    def __init__(self) -> None:
        self._iv: deque[list[int]] = deque()

    def add(self, start_ns: int, end_ns: int) -> None:
        if end_ns <= start_ns:
            return
        if self._iv and start_ns <= self._iv[-1][1]:
            last = self._iv[-1]
            if end_ns > last[1]:
                last[1] = end_ns
            return
        self._iv.append([start_ns, end_ns])

    def trim(self, before_ns: int) -> None:
        iv = self._iv
        while iv and iv[0][1] <= before_ns:
            iv.popleft()

    def total_ns(self, since_ns: Optional[int] = None) -> int:
        if since_ns is None:
            return sum(e - s for s, e in self._iv)
        total = 0
        for s, e in self._iv:
            if e > since_ns:
                total += e - (s if s > since_ns else since_ns)
        return total

    def clear(self) -> None:
        self._iv.clear()

    def __len__(self) -> int:
        return len(self._iv)

    def intervals(self) -> list[tuple[int, int]]:
        return [(s, e) for s, e in self._iv]


class Hysteresis:
    """Two-threshold switch. With ``on > off`` it activates at ``value >= on`` and releases at
    ``value < off``; with ``on < off`` (e.g. eye openness: closed when low) it activates at ``value <= on``
    and releases at ``value > off``. ``None`` (not measured) returns None and forgets the state."""

    __slots__ = ("on", "off", "rising", "active")

    def __init__(self, on: float, off: float):
        if on == off:
            raise ValueError("hysteresis needs on != off")
        self.on, self.off = float(on), float(off)
        self.rising = on > off
        self.active: Optional[bool] = None

    def update(self, value: Optional[float]) -> Optional[bool]:
        if value is None:
            self.active = None
            return None
        if self.rising:
            self.active = value >= self.on if not self.active else value >= self.off
        else:
            self.active = value <= self.on if not self.active else value <= self.off
        return self.active

    def reset(self) -> None:
        self.active = None


class ContinuousTimer:
    """How long a boolean has been continuously True, from sample timestamps. ``None`` (unknown) and gaps
    longer than ``max_gap_s`` restart it."""

    __slots__ = ("_hold", "start_ns")

    def __init__(self, max_gap_s: float):
        self._hold = SampleHold(max_gap_s)
        self.start_ns: Optional[int] = None

    def update(self, t_ns: int, active: Optional[bool]) -> float:
        self._hold.update(t_ns, active)
        if self._hold.gap:
            self.start_ns = None
        if active:
            if self.start_ns is None:
                self.start_ns = t_ns
            return ns_to_s(t_ns - self.start_ns)
        self.start_ns = None
        return 0.0

    def reset(self) -> None:
        self._hold.reset()
        self.start_ns = None


def interp_points(x: float, points: tuple) -> float:
    """Piecewise-linear interpolation through sorted ``(x, y)`` points, clamped at both ends."""
    if x <= points[0][0]:
        return float(points[0][1])
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if x <= x1:
            return float(y0 + (y1 - y0) * (x - x0) / (x1 - x0)) if x1 > x0 else float(y1)
    return float(points[-1][1])
