"""Alert policy: raising, escalation, hysteresis, speed gating and supersession of alerts.

The engine computes, per alert type and per step, a :class:`Condition`: ``raise_`` (the profile's trigger is
met now), ``sustain`` (the situation that caused it is still going on, e.g. eyes still off the road), an
optional condition-driven level and a reason. The policy turns these into :class:`dms.contracts.Alert`
transitions:

* raised when ``raise_`` holds and the alert's speed gate is open;
* escalated along the rule's time ladder (seconds since raised) or to a higher condition level;
  levels never go down while active;
* cleared when neither ``raise_`` nor ``sustain`` has held for ``clear_after_s`` (hysteresis), immediately
  when its speed gate closes, or when a more urgent alert that supersedes it is raised.

Urgency: sleep-type alerts (unresponsive, sleep, microsleep) rank above distraction at equal level, and
their levels start higher (microsleep WARNING, sleep CRITICAL vs distraction CAUTION).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Optional

from dms.contracts.enums import AlertLevel, AlertType
from dms.contracts.state import Alert
from dms.fusion.profiles import ALERT_GATES, Profile, SpeedGate, UnknownSpeedPolicy
from dms.fusion.timing import ns_to_s, s_to_ns

# Urgency order (most urgent first): used to order rules and ``active_alerts`` at equal level.
URGENCY: tuple[AlertType, ...] = (
    AlertType.UNRESPONSIVE, AlertType.SLEEP, AlertType.MICROSLEEP, AlertType.DISTRACTION_LONG,
    AlertType.PHONE_USE, AlertType.DISTRACTION_VATS, AlertType.DROWSINESS, AlertType.HANDS_OFF,
    AlertType.MONITORING_UNAVAILABLE, AlertType.YAWNING,
)
_RANK = {a: i for i, a in enumerate(URGENCY)}
SLEEP_TYPES = frozenset({AlertType.UNRESPONSIVE, AlertType.SLEEP, AlertType.MICROSLEEP})


@dataclass(frozen=True)
class AlertRule:
    type: AlertType
    ladder: tuple[tuple[float, AlertLevel], ...]      # (seconds since raised, level); first entry at 0
    clear_after_s: float = 0.0
    supersedes: tuple[AlertType, ...] = ()

    def __post_init__(self) -> None:
        if not self.ladder or self.ladder[0][0] != 0:
            raise ValueError(f"{self.type.value}: ladder must start at 0 s")
        if [t for t, _ in self.ladder] != sorted(t for t, _ in self.ladder):
            raise ValueError(f"{self.type.value}: ladder times must increase")

    def ladder_level(self, since_raised_s: float) -> AlertLevel:
        level = self.ladder[0][1]
        for after_s, lv in self.ladder:
            if since_raised_s >= after_s:
                level = lv
        return level


@dataclass(frozen=True)
class Condition:
    raise_: bool
    sustain: Optional[bool] = None        # None = same as raise_
    level: Optional[AlertLevel] = None    # condition-driven level (e.g. from the KSS estimate)
    reason: str = ""


_FALSE = Condition(False, False)


@dataclass
class _Active:
    raised_ns: int
    level: AlertLevel
    false_since_ns: Optional[int] = None    # first sample at which the condition was gone


class AlertPolicy:
    """Stateful alert transitions for a set of rules (see module doc)."""

    def __init__(self, rules: Iterable[AlertRule], profile_name: str = ""):
        self.rules = sorted(rules, key=lambda r: _RANK.get(r.type, len(_RANK)))
        self.profile_name = profile_name
        self._clear_ns = {r.type: s_to_ns(r.clear_after_s) for r in self.rules}
        self._active: dict[AlertType, _Active] = {}
        self._superseded_by: dict[AlertType, tuple[AlertType, ...]] = {}
        for r in self.rules:
            for sup in r.supersedes:
                self._superseded_by[sup] = self._superseded_by.get(sup, ()) + (r.type,)

    def reset(self) -> None:
        self._active.clear()

    def is_active(self, alert: AlertType) -> bool:
        return alert in self._active

    @property
    def active(self) -> dict[AlertType, AlertLevel]:
        return {a: st.level for a, st in self._active.items()}

    def active_sorted(self) -> tuple[AlertType, ...]:
        return tuple(sorted(self._active, key=lambda a: (-int(self._active[a].level), _RANK.get(a, 99))))

    @property
    def level(self) -> AlertLevel:
        return max((st.level for st in self._active.values()), default=AlertLevel.NONE)

    def _emit(self, t_ns: int, alert: AlertType, level: AlertLevel, active: bool, reason: str) -> Alert:
        return Alert(t_ns=t_ns, type=alert, level=level, active=active, reason=reason,
                     profile=self.profile_name)

    def update(self, t_ns: int, conditions: Mapping[AlertType, Condition],
               gates_open: Mapping[AlertType, bool]) -> list[Alert]:
        events: list[Alert] = []
        for rule in self.rules:
            a = rule.type
            cond = conditions.get(a, _FALSE)
            gate = gates_open.get(a, True)
            st = self._active.get(a)
            if st is None:
                if not (cond.raise_ and gate):
                    continue
                if any(sup in self._active for sup in self._superseded_by.get(a, ())):
                    continue
                level = rule.ladder_level(0.0)
                if cond.level is not None and cond.level > level:
                    level = cond.level
                self._active[a] = _Active(t_ns, level)
                events.append(self._emit(t_ns, a, level, True, f"raised: {cond.reason}"))
                for sup in rule.supersedes:
                    if sup in self._active:
                        lv = self._active.pop(sup).level
                        events.append(self._emit(t_ns, sup, lv, False, f"cleared: superseded by {a.value}"))
                continue
            if not gate:
                del self._active[a]
                events.append(self._emit(t_ns, a, st.level, False, "cleared: vehicle below the speed gate"))
                continue
            sustain = cond.raise_ if cond.sustain is None else (cond.raise_ or cond.sustain)
            if sustain:
                st.false_since_ns = None
                level = rule.ladder_level(ns_to_s(t_ns - st.raised_ns))
                if cond.level is not None and cond.level > level:
                    level = cond.level
                if level > st.level:
                    st.level = level
                    why = cond.reason or f"still active {ns_to_s(t_ns - st.raised_ns):.1f} s after raised"
                    events.append(self._emit(t_ns, a, level, True, f"escalated: {why}"))
            else:
                if st.false_since_ns is None:
                    st.false_since_ns = t_ns
                if t_ns - st.false_since_ns >= self._clear_ns[a]:
                    del self._active[a]
                    events.append(self._emit(
                        t_ns, a, st.level, False,
                        f"cleared: condition gone for {ns_to_s(t_ns - st.false_since_ns):.2f} s"))
        return events


def rules_for_profile(profile: Profile) -> list[AlertRule]:
    """The alert rules (ladders, clear hysteresis, supersession) of a profile's enabled alerts."""
    p = profile
    C, W, X, I = AlertLevel.CAUTION, AlertLevel.WARNING, AlertLevel.CRITICAL, AlertLevel.INFO
    all_rules = [
        AlertRule(AlertType.UNRESPONSIVE, ((0.0, X),), p.sleep_clear_s),
        AlertRule(AlertType.SLEEP, ((0.0, X),), p.sleep_clear_s, supersedes=(AlertType.MICROSLEEP,)),
        AlertRule(AlertType.MICROSLEEP, ((0.0, W),), p.microsleep_hold_s),
        AlertRule(AlertType.DISTRACTION_LONG, ((0.0, C), (p.distraction_escalate_s, W)), p.distraction_clear_s),
        AlertRule(AlertType.PHONE_USE, ((0.0, C), (p.phone_escalate_s, W)), p.phone_clear_s),
        AlertRule(AlertType.DISTRACTION_VATS, ((0.0, C),), 0.0),
        AlertRule(AlertType.DROWSINESS, ((0.0, I),), p.drowsiness_clear_s),
        AlertRule(AlertType.HANDS_OFF, ((0.0, C), (p.hands_off_escalate_s, W)), p.hands_clear_s),
        AlertRule(AlertType.MONITORING_UNAVAILABLE, ((0.0, I),), p.unavailable_clear_s),
        AlertRule(AlertType.YAWNING, ((0.0, I),), 0.0),
    ]
    return [r for r in all_rules if p.enabled(r.type)]


class SpeedGates:
    """Open/closed state of each speed gate with hysteresis; unknown speed follows the profile's policy."""

    def __init__(self, profile: Profile):
        self.profile = profile
        self._open: dict[SpeedGate, bool] = {g: False for g in SpeedGate}

    def update(self, speed_kph: Optional[float]) -> dict[SpeedGate, bool]:
        p = self.profile
        for g in SpeedGate:
            if g is SpeedGate.NONE:
                self._open[g] = True
            elif speed_kph is None:
                self._open[g] = p.unknown_speed_policy is UnknownSpeedPolicy.ASSUME_MOVING
            else:
                thr = p.gate_kph(g)
                if self._open[g]:
                    self._open[g] = speed_kph >= thr - p.speed_gate_hysteresis_kph
                else:
                    self._open[g] = speed_kph >= thr
        return dict(self._open)

    def for_alerts(self) -> dict[AlertType, bool]:
        return {a: self._open[g] for a, g in ALERT_GATES.items()}

    def reset(self) -> None:
        self._open = {g: False for g in SpeedGate}
