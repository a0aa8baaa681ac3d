"""Gaze zones and glance timing: long distraction (one continuous glance away) and VATS (visual attention
time sharing: cumulative eyes-off-road within a rolling window, reset by a long enough look at the road)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

from dms.contracts.enums import GazeZone
from dms.fusion.profiles import DEFAULT_ATTENTIVE_ZONES, DEFAULT_ZONE_MAP, ZoneRect
from dms.fusion.timing import IntervalSet, SampleHold, ns_to_s, s_to_ns


class GazeZoneMapper:
    """Maps a gaze (or head) direction, relative to the driver's calibrated road direction, to a zone using
    the profile's zone map (first matching box wins; none = OTHER)."""

    def __init__(self, zone_map: Iterable[ZoneRect] = DEFAULT_ZONE_MAP,
                 attentive_zones: frozenset = DEFAULT_ATTENTIVE_ZONES):
        self.zone_map = tuple(zone_map)
        self.attentive_zones = frozenset(attentive_zones)

    def zone(self, rel_yaw_deg: float, rel_pitch_deg: float) -> GazeZone:
        for rect in self.zone_map:
            if rect.contains(rel_yaw_deg, rel_pitch_deg):
                return rect.zone
        return GazeZone.OTHER

    def on_road(self, zone: GazeZone) -> Optional[bool]:
        """True = attention on the driving task, False = away, None = unknown zone."""
        if zone is GazeZone.UNKNOWN:
            return None
        return zone in self.attentive_zones


@dataclass(frozen=True)
class GlanceStatus:
    on_road: Optional[bool]        # effective state after the unknown-hold (None = unknown)
    off_road_s: float              # current continuous glance away
    on_road_s: float               # current continuous look at the road
    vats_s: float                  # cumulative eyes-off-road in the window since the last reset
    vats_exceeded: bool            # latched from reaching the VATS threshold until the next reset
    vats_resets: int               # how many resets so far (monotonic)


class GlanceTracker:
    """Long distraction and VATS from a per-sample on-road flag (True / False / None = unknown).

    An unknown sample (blink, brief loss of the eyes) keeps the previous state for ``unknown_hold_s`` so a
    blink inside a glance does not split it; after that the state is unknown and both runs end. VATS sums the
    off-road time in the last ``vats_window_s`` after the last reset; ``vats_reset_on_road_s`` of continuous
    on-road time resets it. ``vats_exceeded`` latches once the sum reaches ``vats_cumulative_s``.
    """

    def __init__(self, vats_window_s: float = 30.0, vats_cumulative_s: float = 10.0,
                 vats_reset_on_road_s: float = 2.0, unknown_hold_s: float = 0.5, max_gap_s: float = 0.5):
        self.vats_window_ns = s_to_ns(vats_window_s)
        self.vats_cumulative_s = vats_cumulative_s
        self.vats_reset_ns = s_to_ns(vats_reset_on_road_s)
        self.unknown_hold_ns = s_to_ns(unknown_hold_s)
        self._hold = SampleHold(max_gap_s)
        self._off = IntervalSet()
        self._known: Optional[bool] = None
        self._known_t_ns: Optional[int] = None
        self._off_start: Optional[int] = None
        self._on_start: Optional[int] = None
        self._vats_since_ns: Optional[int] = None
        self._vats_latched = False
        self._resets = 0
        self.status = GlanceStatus(None, 0.0, 0.0, 0.0, False, 0)

    def update(self, t_ns: int, on_road: Optional[bool]) -> GlanceStatus:
        last = self._hold.last_t_ns
        gap = last is not None and t_ns - last > self._hold.max_gap_ns
        if on_road is not None:
            self._known, self._known_t_ns = on_road, t_ns
            eff = on_road
        elif (not gap and self._known_t_ns is not None
              and t_ns - self._known_t_ns <= self.unknown_hold_ns):
            eff = self._known
        else:
            eff = None
        iv = self._hold.update(t_ns, eff)
        if iv is None:                                   # first sample or gap: runs restart
            self._off_start = self._on_start = None
        elif iv[2] is False:
            self._off.add(iv[0], iv[1])
        if eff is False:
            if self._off_start is None:
                self._off_start = t_ns
            self._on_start = None
        elif eff is True:
            if self._on_start is None:
                self._on_start = t_ns
            self._off_start = None
            if t_ns - self._on_start >= self.vats_reset_ns and (
                    self._vats_since_ns is None or self._vats_since_ns < self._on_start):
                self._vats_since_ns = self._on_start      # no off-road time before this run counts
                self._vats_latched = False
                self._resets += 1
                self._off.clear()
        else:
            self._off_start = self._on_start = None
        self._off.trim(t_ns - self.vats_window_ns)
        since = t_ns - self.vats_window_ns
        if self._vats_since_ns is not None and self._vats_since_ns > since:
            since = self._vats_since_ns
        vats_s = ns_to_s(self._off.total_ns(since))
        if vats_s >= self.vats_cumulative_s:
            self._vats_latched = True
        self.status = GlanceStatus(
            on_road=eff,
            off_road_s=0.0 if self._off_start is None else ns_to_s(t_ns - self._off_start),
            on_road_s=0.0 if self._on_start is None else ns_to_s(t_ns - self._on_start),
            vats_s=vats_s, vats_exceeded=self._vats_latched, vats_resets=self._resets)
        return self.status

    def is_long_distraction(self, trigger_s: float) -> bool:
        return self.status.off_road_s >= trigger_s

    def reset(self) -> None:
        self.__init__(ns_to_s(self.vats_window_ns), self.vats_cumulative_s, ns_to_s(self.vats_reset_ns),
                      ns_to_s(self.unknown_hold_ns), ns_to_s(self._hold.max_gap_ns))
