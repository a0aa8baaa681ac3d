"""`dms eval alerts DIR [--json] [--profile P]`: run the full pipeline over simulator sequences and score the
alerts against their ground-truth events with ``dms.fusion.scoring.score_alerts`` (per event type detection rate
and latency vs. the profile's required time; false alerts per hour on attentive sequences).

Each sequence gets a fresh Monitor (VIDEO mode, timestamps from the frame labels). With
``perception="labels"`` (oracle mode) the models and face front end are bypassed: each frame's ground-truth label
becomes its Perception, so the score measures the alert policy alone against the scenarios (the upper bound a
perfect perception stack would reach). ``main(args)`` is called by
the `dms eval` CLI (owned by dms.train) with ``args.dir``, ``args.json``, ``args.profile`` and optionally
``args.models``, ``args.frontend``, ``args.modality``, ``args.max_sequences``.
"""
from __future__ import annotations

import json
import logging
from typing import Optional

from dms.contracts import RunningMode

log = logging.getLogger(__name__)


def perception_from_label(label, t_ns: int):
    """Oracle Perception from a ground-truth FrameLabel (probabilities are 0/1; sides are the driver's). The gaze
    is given as the label's zone, without angles: fusion maps gaze angles with its own zone map around the camera
    mount's road direction, so angles would score that mapping instead of taking the ground-truth zone."""
    from dms.contracts import HandState, HeadPose, Perception
    closed = 1.0 if label.eyes_closed else 0.0

    def on_wheel(h):
        return None if h is HandState.UNKNOWN else float(h is HandState.ON_WHEEL)
    return Perception(t_ns=int(t_ns), frame_id=label.frame_index, valid=True, face_found=True, face_confidence=1.0,
                      head_pose=HeadPose(label.head_yaw_deg, label.head_pitch_deg, label.head_roll_deg),
                      eye_openness_left=label.eye_openness_left, eye_openness_right=label.eye_openness_right,
                      eye_closed_prob_left=closed, eye_closed_prob_right=closed,
                      mouth_openness=label.mouth_openness, yawn_prob=float(label.yawn),
                      gaze_zone=label.gaze_zone, hands_on_wheel_prob_left=on_wheel(label.hand_left),
                      hands_on_wheel_prob_right=on_wheel(label.hand_right),
                      phone_prob=float(label.phone_present), sunglasses_prob=0.0)


def with_closed_spans(events: list, labels: list) -> list:
    """Eye-closure events (microsleep, sleep) with ``attrs["closed_s"]``: the longest run of eyes-closed frame
    labels inside the event, first to last closed frame (what fusion can measure; the event interval also spans
    the lids closing and reopening). ``score_alerts`` requires an alert only when this reaches the profile's
    threshold. Other events are returned unchanged."""
    out = []
    for e in events:
        if e.type not in ("microsleep", "sleep") or "closed_s" in e.attrs:
            out.append(e)
            continue
        best, run_start, last = 0.0, None, None
        for lab in labels:
            if not (e.start_s <= lab.t_s < e.end_s):
                continue
            if lab.eyes_closed:
                run_start = lab.t_s if run_start is None else run_start
                last = lab.t_s
                best = max(best, last - run_start)
            else:
                run_start = None
        out.append(e.__class__(**{**e.__dict__, "attrs": {**e.attrs, "closed_s": round(best, 4)}}))
    return out


def _oracle_alerts(seq, profile: str) -> tuple[list, int]:
    from dms.fusion import FusionEngine
    engine = FusionEngine(profile=profile)
    alerts = []
    for lab in seq.labels:
        alerts.extend(engine.step(perception_from_label(lab, round(lab.t_s * 1e9))).events)
    return alerts, len(seq.labels)


def _monitor_alerts(seq, modality: str, options) -> tuple[list, int]:
    from dms.io.sources import SequenceSource
    from dms.runtime.monitor import Monitor
    alerts, n = [], 0
    with Monitor(options) as mon:
        for fr in SequenceSource(seq, modality):
            alerts.extend(mon.push(fr).events)
            n += 1
    return alerts, n


def evaluate_alerts(root: str, profile: str = "euro_ncap_2026", models_dir: Optional[str] = "models",
                    frontend: str = "mediapipe", modality: str = "rgb", max_sequences: int = 0,
                    monitor_kwargs: Optional[dict] = None, perception: str = "models") -> dict:
    if perception not in ("models", "labels"):
        from dms.errors import UsageError
        raise UsageError(f"perception must be 'models' or 'labels', got {perception!r}")
    from dms.data.dataset import open_dataset
    from dms.fusion.scoring import score_alerts
    from dms.runtime.monitor import MonitorOptions
    seqs = [s for s in open_dataset(root).sequences() if perception == "labels" or (s.path / modality).is_dir()]
    if max_sequences:
        seqs = seqs[:max_sequences]
    per_seq = []
    all_alerts, all_events, total_s = [], [], 0.0
    offset_s = 0.0
    for seq in seqs:
        if perception == "labels":
            alerts, n = _oracle_alerts(seq, profile)
        else:
            alerts, n = _monitor_alerts(seq, modality, MonitorOptions(
                models_dir=models_dir, frontend=frontend, profile=profile, running_mode=RunningMode.VIDEO,
                **(monitor_kwargs or {})))
        if n == 0:
            continue
        dur = max((seq.labels[-1].t_s if seq.labels else n / 30.0) + 1 / 30.0, 1e-3)
        # sequence times start at label t_s of frame 0 (t_ns 0 when frames are timed by labels)
        events = with_closed_spans(list(seq.events), list(seq.labels))
        score = score_alerts(alerts, events, dur, profile, t0_ns=0)
        per_seq.append({"sequence": seq.path.name, "frames": n, "duration_s": round(dur, 3),
                        "events": [e.type for e in seq.events], "alerts_raised": [a.type.value for a in alerts
                                                                                  if a.active], "score": score})
        shift = int(round(offset_s * 1e9))
        all_alerts.extend(a.__class__(**{**a.__dict__, "t_ns": a.t_ns + shift}) for a in alerts)
        all_events.extend(e.__class__(**{**e.__dict__, "start_s": e.start_s + offset_s,
                                         "end_s": e.end_s + offset_s}) for e in events)
        offset_s += dur + 10.0          # gap so late alerts cannot match the next sequence's events
        total_s += dur
    overall = score_alerts(all_alerts, all_events, max(offset_s, 1e-3), profile, t0_ns=0) if per_seq else {}
    return {"dataset": str(root), "profile": profile, "perception": perception, "sequences": len(per_seq), "total_s": round(total_s, 2),
            "overall": overall, "per_sequence": per_seq}


def main(args) -> int:
    from dms.cli.common import print_json_last_line
    res = evaluate_alerts(str(args.dir), profile=getattr(args, "profile", None) or "euro_ncap_2026",
                          models_dir=getattr(args, "models", None) or "models",
                          frontend=getattr(args, "frontend", None) or "mediapipe",
                          modality=getattr(args, "modality", None) or "rgb",
                          max_sequences=int(getattr(args, "max_sequences", 0) or 0),
                          perception=getattr(args, "perception", None) or "models")
    print(f"alerts on {res['sequences']} sequences ({res['total_s']} s), profile {res['profile']}:")
    for s in res["per_sequence"]:
        print(f"  {s['sequence']}: events {s['events']} -> alerts {s['alerts_raised']}")
    print(json.dumps(res["overall"], indent=1, default=str))
    if getattr(args, "json", False):
        print_json_last_line(res)
    return 0
