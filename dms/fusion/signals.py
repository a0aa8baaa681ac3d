"""Eye, mouth, hand and phone signal trackers: eye-closure episodes, blinks, PERCLOS, yawns, hands off the
wheel, phone use. Each is small, deterministic and driven only by sample timestamps (see dms.fusion.timing).

``None`` inputs mean "not measured / unavailable": they never count as eyes closed, hands off or phone use.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Optional

from dms.contracts.enums import HandState
from dms.fusion.timing import ContinuousTimer, Hysteresis, IntervalSet, SampleHold, ns_to_s, s_to_ns


@dataclass(frozen=True)
class ClosureEpisode:
    """One continuous eye closure. ``interrupted`` = it ended by loss of the eyes (unavailable, frame gap),
    not by the eyes opening, so its true duration is unknown (at least ``duration_s``)."""
    start_ns: int
    end_ns: int
    interrupted: bool = False

    @property
    def duration_s(self) -> float:
        return ns_to_s(self.end_ns - self.start_ns)


class ClosureEpisodes:
    """Tracks the current continuous eye closure and counts closures that reach ``microsleep_min_s``
    (microsleep onsets, sleep included) within ``event_window_s``.

    ``update(t_ns, closed)`` with closed True/False/None returns the episode that ended at this sample, if any.
    """

    def __init__(self, max_gap_s: float = 0.5, microsleep_min_s: float = 1.0, event_window_s: float = 300.0):
        self._hold = SampleHold(max_gap_s)
        self.microsleep_min_ns = s_to_ns(microsleep_min_s)
        self.event_window_ns = s_to_ns(event_window_s)
        self.start_ns: Optional[int] = None
        self._counted = False
        self._onsets: deque[int] = deque()
        self.last_t_ns: Optional[int] = None

    def update(self, t_ns: int, closed: Optional[bool]) -> Optional[ClosureEpisode]:
        prev_t = self._hold.last_t_ns
        self._hold.update(t_ns, closed)
        self.last_t_ns = t_ns
        ended = None
        if self.start_ns is not None:
            if self._hold.gap:
                ended = ClosureEpisode(self.start_ns, prev_t, interrupted=True)
            elif closed is None:
                ended = ClosureEpisode(self.start_ns, t_ns, interrupted=True)
            elif not closed:
                ended = ClosureEpisode(self.start_ns, t_ns, interrupted=False)
            if ended is not None:
                self.start_ns = None
        if closed and self.start_ns is None:
            self.start_ns = t_ns
            self._counted = False
        if self.start_ns is not None and not self._counted and t_ns - self.start_ns >= self.microsleep_min_ns:
            self._counted = True
            self._onsets.append(t_ns)
        while self._onsets and self._onsets[0] <= t_ns - self.event_window_ns:
            self._onsets.popleft()
        return ended

    @property
    def closure_duration_s(self) -> float:
        """Current continuous closure (0 when the eyes are open or unavailable)."""
        if self.start_ns is None or self.last_t_ns is None:
            return 0.0
        return ns_to_s(self.last_t_ns - self.start_ns)

    @property
    def closed(self) -> bool:
        return self.start_ns is not None

    @property
    def microsleeps_in_window(self) -> int:
        return len(self._onsets)

    def reset(self) -> None:
        self.__init__(ns_to_s(self._hold.max_gap_ns), ns_to_s(self.microsleep_min_ns),
                      ns_to_s(self.event_window_ns))


class BlinkDetector:
    """Blinks = complete (not interrupted) closure episodes of ``blink_min_s``..``blink_max_s``. Reports the
    blink rate per minute of *valid* eye time and the mean blink duration over a rolling window."""

    def __init__(self, blink_min_s: float = 0.05, blink_max_s: float = 0.5, window_s: float = 60.0,
                 min_count: int = 5, max_gap_s: float = 0.5, min_valid_s: float = 10.0):
        self.blink_min_s, self.blink_max_s = blink_min_s, blink_max_s
        self.window_ns = s_to_ns(window_s)
        self.min_count = min_count
        self.min_valid_ns = s_to_ns(min_valid_s)
        self._hold = SampleHold(max_gap_s)
        self._valid = IntervalSet()
        self._blinks: deque[tuple[int, float]] = deque()   # (end_ns, duration_s)
        self._t_ns: Optional[int] = None

    def add_episode(self, episode: ClosureEpisode) -> bool:
        """Offer an ended closure episode; returns True if it was counted as a blink."""
        if episode.interrupted or not (self.blink_min_s <= episode.duration_s <= self.blink_max_s):
            return False
        self._blinks.append((episode.end_ns, episode.duration_s))
        return True

    def update(self, t_ns: int, eyes_valid: bool) -> None:
        iv = self._hold.update(t_ns, eyes_valid)
        if iv is not None and iv[2]:
            self._valid.add(iv[0], iv[1])
        self._t_ns = t_ns
        cutoff = t_ns - self.window_ns
        self._valid.trim(cutoff)
        while self._blinks and self._blinks[0][0] <= cutoff:
            self._blinks.popleft()

    @property
    def count_in_window(self) -> int:
        return len(self._blinks)

    @property
    def rate_per_min(self) -> Optional[float]:
        if self._t_ns is None:
            return None
        valid_ns = self._valid.total_ns(self._t_ns - self.window_ns)
        if valid_ns < self.min_valid_ns:
            return None
        return len(self._blinks) / (valid_ns / 60e9)

    @property
    def mean_duration_s(self) -> Optional[float]:
        if len(self._blinks) < self.min_count:
            return None
        return sum(d for _, d in self._blinks) / len(self._blinks)

    def reset(self) -> None:
        self._hold.reset()
        self._valid.clear()
        self._blinks.clear()
        self._t_ns = None


class PerclosWindow:
    """PERCLOS: fraction of *valid* eye time in a rolling window during which the eyes were closed
    (P80 = >= 80 % closed). Closures shorter than ``min_closure_s`` (normal blinks) are excluded, an ongoing
    closure counts once it is that long. Unavailable time (``closed=None``) and gaps count neither as closed
    nor as valid, so losing the eyes can never raise PERCLOS."""

    def __init__(self, window_s: float = 60.0, min_closure_s: float = 0.3, min_valid_s: float = 30.0,
                 max_gap_s: float = 0.5):
        self.window_ns = s_to_ns(window_s)
        self.min_closure_ns = s_to_ns(min_closure_s)
        self.min_valid_ns = s_to_ns(min_valid_s)
        self._hold = SampleHold(max_gap_s)
        self._valid = IntervalSet()
        self._closed = IntervalSet()
        self._run: Optional[list[int]] = None          # [start_ns, end_ns] of the current closed run
        self._t_ns: Optional[int] = None

    def _finish_run(self) -> None:
        if self._run is not None:
            if self._run[1] - self._run[0] >= self.min_closure_ns:
                self._closed.add(self._run[0], self._run[1])
            self._run = None

    def update(self, t_ns: int, closed: Optional[bool]) -> Optional[float]:
        iv = self._hold.update(t_ns, closed)
        if iv is None:
            self._finish_run()
        else:
            a, b, held = iv
            if held is None:
                self._finish_run()
            else:
                self._valid.add(a, b)
                if held:
                    if self._run is None:
                        self._run = [a, b]
                    else:
                        self._run[1] = b
                else:
                    self._finish_run()
        if closed is None:
            self._finish_run()
        self._t_ns = t_ns
        cutoff = t_ns - self.window_ns
        self._valid.trim(cutoff)
        self._closed.trim(cutoff)
        return self.value

    @property
    def valid_s(self) -> float:
        return 0.0 if self._t_ns is None else ns_to_s(self._valid.total_ns(self._t_ns - self.window_ns))

    @property
    def closed_s(self) -> float:
        if self._t_ns is None:
            return 0.0
        since = self._t_ns - self.window_ns
        total = self._closed.total_ns(since)
        if self._run is not None and self._run[1] - self._run[0] >= self.min_closure_ns:
            total += max(0, self._run[1] - max(self._run[0], since))
        return ns_to_s(total)

    @property
    def value(self) -> Optional[float]:
        if self._t_ns is None:
            return None
        valid_ns = self._valid.total_ns(self._t_ns - self.window_ns)
        if valid_ns < self.min_valid_ns or valid_ns <= 0:
            return None
        return min(1.0, self.closed_s / ns_to_s(valid_ns))

    def reset(self) -> None:
        self._hold.reset()
        self._valid.clear()
        self._closed.clear()
        self._run = None
        self._t_ns = None


class YawnCounter:
    """Yawns from a yawn classifier probability (or, without one, mouth openness), each with hysteresis. A
    yawn is counted once, when the mouth has been in the yawn state for ``min_s``; counts over a window."""

    def __init__(self, prob_on: float = 0.6, prob_off: float = 0.4, mouth_on: float = 0.6,
                 mouth_off: float = 0.4, min_s: float = 1.5, window_s: float = 300.0, max_gap_s: float = 0.5):
        self._prob = Hysteresis(prob_on, prob_off)
        self._mouth = Hysteresis(mouth_on, mouth_off)
        self._timer = ContinuousTimer(max_gap_s)
        self.min_s = min_s
        self.window_ns = s_to_ns(window_s)
        self._counted = False
        self._yawns: deque[int] = deque()
        self.measured = False             # True once any yawn/mouth signal has been seen
        self.yawning = False

    def update(self, t_ns: int, yawn_prob: Optional[float], mouth_openness: Optional[float]) -> int:
        if yawn_prob is not None:
            active = self._prob.update(yawn_prob)
            self._mouth.reset()
        else:
            active = self._mouth.update(mouth_openness)
            self._prob.reset()
        if active is not None:
            self.measured = True
        duration_s = self._timer.update(t_ns, active)
        self.yawning = bool(active)
        if not active:
            self._counted = False
        elif not self._counted and duration_s >= self.min_s:
            self._counted = True
            self._yawns.append(t_ns)
        while self._yawns and self._yawns[0] <= t_ns - self.window_ns:
            self._yawns.popleft()
        return len(self._yawns)

    @property
    def count_in_window(self) -> int:
        return len(self._yawns)

    def reset(self) -> None:
        self._prob.reset()
        self._mouth.reset()
        self._timer.reset()
        self._counted = False
        self._yawns.clear()
        self.measured = False
        self.yawning = False


@dataclass(frozen=True)
class HandsStatus:
    left: HandState
    right: HandState
    hands_off: Optional[bool]      # None = not measured
    hands_off_s: float


class HandsOffTimer:
    """Both hands off the wheel, continuously, from per-hand on-wheel probabilities; a wheel touch sensor
    (vehicle signal), when present, decides. Unmeasured hands are UNKNOWN, never "off"."""

    def __init__(self, on_prob: float = 0.5, max_gap_s: float = 0.5):
        self.on_prob = on_prob
        self._timer = ContinuousTimer(max_gap_s)

    def _hand(self, prob: Optional[float]) -> HandState:
        if prob is None:
            return HandState.UNKNOWN
        return HandState.ON_WHEEL if prob >= self.on_prob else HandState.OTHER

    def update(self, t_ns: int, prob_left: Optional[float], prob_right: Optional[float],
               wheel_touch: Optional[bool] = None) -> HandsStatus:
        left, right = self._hand(prob_left), self._hand(prob_right)
        if wheel_touch is not None:
            hands_off: Optional[bool] = not wheel_touch
            if left is HandState.UNKNOWN:
                left = HandState.ON_WHEEL if wheel_touch else HandState.OTHER
            if right is HandState.UNKNOWN:
                right = HandState.ON_WHEEL if wheel_touch else HandState.OTHER
        elif left is HandState.UNKNOWN or right is HandState.UNKNOWN:
            hands_off = None
        else:
            hands_off = left is not HandState.ON_WHEEL and right is not HandState.ON_WHEEL
        return HandsStatus(left, right, hands_off, self._timer.update(t_ns, hands_off))

    def reset(self) -> None:
        self._timer.reset()


class PhoneTracker:
    """Phone use from a phone classifier probability with hysteresis; ``phone_use`` once it has lasted
    ``min_s``. Returns the continuous duration of the phone state."""

    def __init__(self, prob_on: float = 0.7, prob_off: float = 0.4, min_s: float = 1.0, max_gap_s: float = 0.5):
        self._hyst = Hysteresis(prob_on, prob_off)
        self._timer = ContinuousTimer(max_gap_s)
        self.min_s = min_s
        self.active: Optional[bool] = None
        self.duration_s = 0.0

    def update(self, t_ns: int, phone_prob: Optional[float]) -> float:
        self.active = self._hyst.update(phone_prob)
        self.duration_s = self._timer.update(t_ns, self.active)
        return self.duration_s

    @property
    def phone_use(self) -> bool:
        return bool(self.active) and self.duration_s >= self.min_s

    def reset(self) -> None:
        self._hyst.reset()
        self._timer.reset()
        self.active = None
        self.duration_s = 0.0
