"""Alert scoring against ground-truth events (backs ``dms eval alerts``).

``score_alerts(alerts, events, duration_s, profile)`` reports, per ground-truth event type, how many events
required an alert under the profile, how many got one in time, the latency from event start to the first
matching alert (vs the profile's required time), and the false alerts per hour: raised alerts that match
no ground-truth event.

The mapping event type -> expected / tolerated alert types, the minimum event duration that requires an
alert and the required time are defined once, in :data:`EVENT_ALERTS`.

Matching rules:
  * an event is *detected* by the first raise of one of its expected alert types in
    ``[start_s, end_s + tail_s]`` (``tail_s`` absorbs pipeline latency);
  * an event *requires* an alert only if the profile enables one of its expected types and the event lasts
    at least the profile's trigger time (a 2 s glance needs no long-distraction warning); for eye-closure
    events (microsleep, sleep) what must last is the closure itself: ``attrs["closed_s"]`` when the event
    carries it (``dms eval alerts`` fills it from the frame labels: first to last eyes-closed frame, the span
    fusion can observe), since the event interval also spans the lids closing and reopening;
  * a raise is *not false* if it falls in ``[start_s, end_s + tail_s]`` of an event whose expected or
    tolerated types include it; drowsiness/yawning alerts, which summarise minutes of behaviour, may also
    follow a drowsiness-related event by up to the profile's drowsiness window;
  * MONITORING_UNAVAILABLE is a status indication and is counted separately, never as a false alert.
Events are scored as if the vehicle were above every speed gate (the simulator's drives are).
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Callable, Iterable, Optional, Union

from dms.contracts.enums import AlertType
from dms.contracts.labels import EVENT_TYPES, Event
from dms.contracts.state import Alert
from dms.fusion.profiles import Profile, get_profile
from dms.fusion.timing import NS_PER_S

A = AlertType


@dataclass(frozen=True)
class EventAlertSpec:
    expected: tuple[AlertType, ...]           # any of these raised in time = detected
    tolerated: tuple[AlertType, ...] = ()     # may fire during the event without being false
    # (profile, speed_kph) -> (minimum event duration that requires an alert, required time from start)
    timing: Optional[Callable[[Profile, Optional[float]], tuple[float, float]]] = None


def _distraction_timing(p: Profile, speed_kph: Optional[float]) -> tuple[float, float]:
    band = p.distraction_band(speed_kph)
    return band.trigger_s, band.deadline_s


_DROWSY_TOL = (A.DROWSINESS, A.YAWNING)

EVENT_ALERTS: dict[str, EventAlertSpec] = {
    "blink": EventAlertSpec(()),
    "drowsy_droop": EventAlertSpec((), (A.DROWSINESS, A.MICROSLEEP, A.YAWNING)),
    "microsleep": EventAlertSpec((A.MICROSLEEP, A.SLEEP), (A.DROWSINESS, A.UNRESPONSIVE),
                                 lambda p, v: (p.microsleep_min_s, p.microsleep_min_s)),
    "sleep": EventAlertSpec((A.SLEEP,), (A.MICROSLEEP, A.UNRESPONSIVE, A.DROWSINESS),
                            lambda p, v: (p.sleep_s, p.sleep_s)),
    "yawn": EventAlertSpec((), _DROWSY_TOL),
    "yawn_covered": EventAlertSpec((), _DROWSY_TOL),
    "talking": EventAlertSpec(()),
    "glance": EventAlertSpec((A.DISTRACTION_LONG,), (A.DISTRACTION_VATS,), _distraction_timing),
    "texting": EventAlertSpec((A.DISTRACTION_LONG, A.PHONE_USE), (A.DISTRACTION_VATS, A.HANDS_OFF),
                              _distraction_timing),
    "phone_call": EventAlertSpec((A.PHONE_USE,), (A.DISTRACTION_LONG, A.DISTRACTION_VATS, A.HANDS_OFF),
                                 lambda p, v: (p.phone_alert_s, p.phone_alert_s)),
    "hands_off": EventAlertSpec((A.HANDS_OFF,), (), lambda p, v: (p.hands_off_alert_s, p.hands_off_alert_s)),
    "drinking": EventAlertSpec((), (A.DISTRACTION_LONG, A.DISTRACTION_VATS, A.HANDS_OFF)),
    "distraction": EventAlertSpec((A.DISTRACTION_LONG, A.DISTRACTION_VATS), (A.PHONE_USE,),
                                  _distraction_timing),
}
_DROWSY_EVENTS = frozenset({"drowsy_droop", "microsleep", "sleep", "yawn", "yawn_covered"})
if set(EVENT_ALERTS) != set(EVENT_TYPES):  # import-time guard: a new event type needs a mapping here
    raise ImportError(f"EVENT_ALERTS does not match EVENT_TYPES: {sorted(set(EVENT_ALERTS) ^ set(EVENT_TYPES))}")


def required_time_s(event_type: str, profile: Union[str, Profile],
                    speed_kph: Optional[float] = None) -> Optional[tuple[float, float]]:
    """(minimum event duration that requires an alert, required time from event start) under a profile, or
    None when the profile requires no alert for this event type."""
    p = get_profile(profile)
    spec = EVENT_ALERTS[event_type]
    if spec.timing is None or not any(p.enabled(a) for a in spec.expected):
        return None
    return spec.timing(p, speed_kph)


_CLOSURE_EVENTS = frozenset({"microsleep", "sleep"})


def _required_duration_s(e: Event) -> float:
    """The duration compared with the trigger time: the eyes-closed span of a closure event when known."""
    if e.type in _CLOSURE_EVENTS and e.attrs.get("closed_s") is not None:
        return float(e.attrs["closed_s"])
    return e.duration_s


def raises(alerts: Iterable[Alert]) -> list[Alert]:
    """The alert records that *raise* an alert (not escalations, not clears), in time order."""
    active: set[AlertType] = set()
    out = []
    for a in sorted(alerts, key=lambda x: x.t_ns):
        if a.active:
            if a.type not in active:
                out.append(a)
                active.add(a.type)
        else:
            active.discard(a.type)
    return out


def score_alerts(alerts: list[Alert], events: list[Event], duration_s: float,
                 profile: Union[str, Profile], *, t0_ns: int = 0, tail_s: float = 1.0,
                 tolerance_s: float = 0.5, speed_kph: Optional[float] = None) -> dict:
    """Score alert transitions against ground-truth events of one sequence (or several concatenated).

    ``t0_ns`` is the alert timestamp of the sequence start (event times are seconds from it); a detection
    is *on time* when its latency is within the required time + ``tolerance_s``.
    """
    p = get_profile(profile)
    if duration_s <= 0:
        raise ValueError(f"duration_s must be > 0, got {duration_s}")
    raised = raises(alerts)
    times = [(a, (a.t_ns - t0_ns) / NS_PER_S) for a in raised]

    per_type: dict[str, dict] = {}
    for etype in EVENT_TYPES:
        evs = [e for e in events if e.type == etype]
        if not evs:
            continue
        spec = EVENT_ALERTS[etype]
        timing = required_time_s(etype, p, speed_kph)
        expected = tuple(a for a in spec.expected if p.enabled(a))
        n_req = n_det = n_on_time = 0
        latencies: list[float] = []
        for e in evs:
            if timing is None or _required_duration_s(e) < timing[0]:
                continue
            n_req += 1
            hits = [t for a, t in times if a.type in expected and e.start_s <= t <= e.end_s + tail_s]
            if hits:
                n_det += 1
                lat = min(hits) - e.start_s
                latencies.append(lat)
                if lat <= timing[1] + tolerance_s:
                    n_on_time += 1
        entry: dict = {"n_events": len(evs), "n_required": n_req, "n_detected": n_det,
                       "n_on_time": n_on_time,
                       "expected_alerts": [a.value for a in expected],
                       "required_s": None if timing is None else timing[1],
                       "min_event_s": None if timing is None else timing[0]}
        entry["detection_rate"] = n_det / n_req if n_req else None
        entry["on_time_rate"] = n_on_time / n_req if n_req else None
        entry["latency_s"] = ({"mean": statistics.fmean(latencies), "median": statistics.median(latencies),
                               "max": max(latencies)} if latencies else None)
        per_type[etype] = entry

    false_list = []
    n_unavailable = 0
    for a, t in times:
        if a.type is AlertType.MONITORING_UNAVAILABLE:
            n_unavailable += 1
            continue
        matched = False
        for e in events:
            spec = EVENT_ALERTS[e.type]
            if a.type not in spec.expected and a.type not in spec.tolerated:
                continue
            end = e.end_s + tail_s
            if a.type in _DROWSY_TOL and e.type in _DROWSY_EVENTS:
                end += p.drowsy_event_window_s
            if e.start_s <= t <= end:
                matched = True
                break
        if not matched:
            false_list.append({"t_s": round(t, 3), "type": a.type.value, "reason": a.reason})
    hours = duration_s / 3600.0
    return {
        "profile": p.name,
        "duration_s": duration_s,
        "per_event_type": per_type,
        "alerts_raised": len(raised),
        "unavailable_alerts": n_unavailable,
        "false_alerts": len(false_list),
        "false_alerts_per_hour": len(false_list) / hours,
        "false_alert_list": false_list,
        "tail_s": tail_s,
        "tolerance_s": tolerance_s,
    }
