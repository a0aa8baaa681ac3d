"""Scoring of eye-closure events: an alert is required when the eyes were *closed* for the trigger time; the
event interval also spans the lids closing and reopening (``attrs["closed_s"]`` carries the closed span)."""
from __future__ import annotations

from dms.contracts import Alert, AlertLevel, AlertType
from dms.contracts.labels import Event
from dms.fusion import score_alerts

NS = 1_000_000_000


def _sleep_alert(t_s: float) -> Alert:
    return Alert(t_ns=int(t_s * NS), type=AlertType.SLEEP, active=True, level=AlertLevel.CRITICAL, reason="x")


def test_sleep_event_with_a_short_closure_requires_no_sleep_alert():
    ev = Event(type="sleep", start_s=1.0, end_s=4.2, attrs={"closed_s": 2.53})   # 3.2 s span, 2.53 s closed
    r = score_alerts([], [ev], 10.0, "euro_ncap_2026")["per_event_type"]["sleep"]
    assert r["n_events"] == 1 and r["n_required"] == 0 and r["detection_rate"] is None


def test_sleep_event_closed_long_enough_is_required_and_scored():
    ev = Event(type="sleep", start_s=1.0, end_s=5.0, attrs={"closed_s": 3.4})
    missed = score_alerts([], [ev], 10.0, "euro_ncap_2026")["per_event_type"]["sleep"]
    assert missed["n_required"] == 1 and missed["detection_rate"] == 0.0
    hit = score_alerts([_sleep_alert(4.3)], [ev], 10.0, "euro_ncap_2026")["per_event_type"]["sleep"]
    assert hit["detection_rate"] == 1.0 and abs(hit["latency_s"]["max"] - 3.3) < 1e-9


def test_without_closed_span_the_event_interval_decides_as_before():
    ev = Event(type="sleep", start_s=1.0, end_s=4.2)
    assert score_alerts([], [ev], 10.0, "euro_ncap_2026")["per_event_type"]["sleep"]["n_required"] == 1
    glance = Event(type="glance", start_s=1.0, end_s=5.0, attrs={"closed_s": 0.0})   # ignored for non-closure
    assert score_alerts([], [glance], 10.0, "euro_ncap_2026")["per_event_type"]["glance"]["n_required"] == 1
