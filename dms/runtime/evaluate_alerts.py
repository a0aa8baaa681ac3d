"""`dms eval alerts DIR [--json] [--profile P]`: run the full pipeline over simulator sequences and score the
alerts against their ground-truth events with ``dms.fusion.scoring.score_alerts`` (per event type detection rate
and latency vs. the profile's required time; false alerts per hour on attentive sequences).

Each sequence gets a fresh Monitor (VIDEO mode, timestamps from the frame labels). ``main(args)`` is called by
the `dms eval` CLI (owned by dms.train) with ``args.dir``, ``args.json``, ``args.profile`` and optionally
``args.models``, ``args.frontend``, ``args.modality``, ``args.max_sequences``.
"""
from __future__ import annotations

import json
import logging
from typing import Optional

from dms.contracts import RunningMode

log = logging.getLogger(__name__)


def evaluate_alerts(root: str, profile: str = "euro_ncap_2026", models_dir: Optional[str] = "models",
                    frontend: str = "mediapipe", modality: str = "rgb", max_sequences: int = 0,
                    monitor_kwargs: Optional[dict] = None) -> dict:
    from dms.data.dataset import open_dataset
    from dms.fusion.scoring import score_alerts
    from dms.io.sources import SequenceSource
    from dms.runtime.monitor import Monitor, MonitorOptions
    seqs = [s for s in open_dataset(root).sequences() if (s.path / modality).is_dir()]
    if max_sequences:
        seqs = seqs[:max_sequences]
    per_seq = []
    all_alerts, all_events, total_s = [], [], 0.0
    offset_s = 0.0
    for seq in seqs:
        alerts = []
        n = 0
        t0_ns = None
        with Monitor(MonitorOptions(models_dir=models_dir, frontend=frontend, profile=profile,
                                    running_mode=RunningMode.VIDEO, **(monitor_kwargs or {}))) as mon:
            for fr in SequenceSource(seq, modality):
                t0_ns = fr.t_ns if t0_ns is None else t0_ns
                res = mon.push(fr)
                alerts.extend(res.events)
                n += 1
        if n == 0:
            continue
        dur = max((seq.labels[-1].t_s if seq.labels else n / 30.0) + 1 / 30.0, 1e-3)
        # sequence times start at label t_s of frame 0 (t_ns 0 when frames are timed by labels)
        score = score_alerts(alerts, seq.events, dur, profile, t0_ns=0)
        per_seq.append({"sequence": seq.path.name, "frames": n, "duration_s": round(dur, 3),
                        "events": [e.type for e in seq.events], "alerts_raised": [a.type.value for a in alerts
                                                                                  if a.active], "score": score})
        shift = int(round(offset_s * 1e9))
        all_alerts.extend(a.__class__(**{**a.__dict__, "t_ns": a.t_ns + shift}) for a in alerts)
        all_events.extend(e.__class__(**{**e.__dict__, "start_s": e.start_s + offset_s,
                                         "end_s": e.end_s + offset_s}) for e in seq.events)
        offset_s += dur + 10.0          # gap so late alerts cannot match the next sequence's events
        total_s += dur
    overall = score_alerts(all_alerts, all_events, max(offset_s, 1e-3), profile, t0_ns=0) if per_seq else {}
    return {"dataset": str(root), "profile": profile, "sequences": len(per_seq), "total_s": round(total_s, 2),
            "overall": overall, "per_sequence": per_seq}


def main(args) -> int:
    from dms.cli.common import print_json_last_line
    res = evaluate_alerts(str(args.dir), profile=getattr(args, "profile", None) or "euro_ncap_2026",
                          models_dir=getattr(args, "models", None) or "models",
                          frontend=getattr(args, "frontend", None) or "mediapipe",
                          modality=getattr(args, "modality", None) or "rgb",
                          max_sequences=int(getattr(args, "max_sequences", 0) or 0))
    print(f"alerts on {res['sequences']} sequences ({res['total_s']} s), profile {res['profile']}:")
    for s in res["per_sequence"]:
        print(f"  {s['sequence']}: events {s['events']} -> alerts {s['alerts_raised']}")
    print(json.dumps(res["overall"], indent=1, default=str))
    if getattr(args, "json", False):
        print_json_last_line(res)
    return 0
