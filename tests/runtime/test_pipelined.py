"""Pipelined Monitor (``pipelined=True``): the face front end of frame t+1 overlaps frame t's models. Same results as
frame-by-frame processing, in frame order, one frame later; faults and front-end failures keep their order."""
from __future__ import annotations

import time

import numpy as np
import pytest

from dms.contracts import FaultCode, RunningMode
from dms.errors import UsageError
from dms.runtime.monitor import Monitor, MonitorOptions

from tests.runtime.conftest import ScriptedFrontEnd, face_frame, no_face_frame

DT = 33_333_333


class FlakyFrontEnd(ScriptedFrontEnd):
    """Scripted faces; raises on the given process() calls; logs submits."""

    def __init__(self, fail_calls=(), log=None, **kw):
        super().__init__(**kw)
        self.fail_calls = set(fail_calls)
        self.log = log if log is not None else []

    def submit(self, image, t_ns=None):
        self.log.append(("submit", t_ns))
        super().submit(image, t_ns)

    def process(self, image, t_ns=None):
        if self.calls in self.fail_calls:
            self.calls += 1
            raise RuntimeError("front end crashed")
        return super().process(image, t_ns)


def _script():
    """A session with open/closed eyes, lost faces, a bad frame and a camera fault."""
    items = []
    for i in range(40):
        t = (i + 1) * DT
        if i == 17:
            items.append(("fault", t))
        elif i in (9, 10):
            items.append(("frame", no_face_frame(t, frame_id=i)))
        elif i == 25:
            f = face_frame(t, frame_id=i)
            object.__setattr__(f, "image", np.zeros((120, 160, 3), np.float32))   # corrupted after creation
            items.append(("frame", f))
        else:
            items.append(("frame", face_frame(t, eye_value=255 if (i // 4) % 3 else 40, frame_id=i)))
    return items


def _run(models_dir, pipelined: bool, fail_calls=()):
    got = []
    fe = FlakyFrontEnd(fail_calls=fail_calls)
    m = Monitor(MonitorOptions(models_dir=models_dir, frontend_instance=fe, running_mode=RunningMode.VIDEO,
                               pipelined=pipelined, result_callback=got.append))
    for kind, x in _script():
        if kind == "fault":
            m.push_fault(x, FaultCode.CAMERA_FAULT, reason="unplugged")
        else:
            m.push(x)
    m.close()                       # pipelined: the last frame is delivered on close
    return got, fe


def _comparable(res):
    p = res.perception.to_dict()
    p.pop("latency_ms", None)
    s = res.state.to_dict() if res.state is not None else None
    if s is not None:
        s.pop("latency_ms", None)
    return p, s, [e.to_dict() for e in res.events]


@pytest.mark.parametrize("fail_calls", [(), (5, 30)])
def test_pipelined_results_equal_frame_by_frame(models_dir, fail_calls):
    seq, fe_a = _run(models_dir, False, fail_calls)
    pip, fe_b = _run(models_dir, True, fail_calls)
    assert len(seq) == len(pip) == 40
    assert [r.t_ns for r in pip] == [(i + 1) * DT for i in range(40)]        # every step, in order
    assert [_comparable(r) for r in pip] == [_comparable(r) for r in seq]
    faults = [r.perception.fault for r in pip]
    assert faults[17] is FaultCode.CAMERA_FAULT and faults[25] is FaultCode.BAD_FRAME
    assert faults[9] is faults[10] is FaultCode.NO_FACE
    if fail_calls:
        assert faults.count(FaultCode.MODEL_ERROR) == 2 and fe_b.resets == fe_a.resets >= 2
    closed = [r.perception.eye_closed_prob_left for r in pip if r.perception.valid]
    assert min(closed) < 0.3 < 0.7 < max(closed)             # the probe models saw both eye states


def test_pipelined_overlaps_next_face_with_current_models(models_dir):
    order = []
    fe = FlakyFrontEnd(log=order)
    m = Monitor(MonitorOptions(models_dir=models_dir, frontend_instance=fe, running_mode=RunningMode.VIDEO,
                               pipelined=True, result_callback=lambda r: order.append(("result", r.t_ns))))
    assert m.push(face_frame(DT, frame_id=0)) is None
    assert order == [("submit", DT)]                       # frame 0 is in flight, no result yet
    m.push(face_frame(2 * DT, frame_id=1))
    # frame 1 went to the front end before frame 0's models ran and its result was delivered
    assert order == [("submit", DT), ("submit", 2 * DT), ("result", DT)]
    m.flush()
    assert order[-1] == ("result", 2 * DT)
    m.close()
    assert order.count(("result", 2 * DT)) == 1             # close after flush delivers nothing twice


def test_pipelined_misuse(models_dir, frontend):
    with pytest.raises(UsageError, match="result_callback"):
        Monitor(MonitorOptions(models_dir=models_dir, frontend_instance=frontend, pipelined=True))
    with pytest.raises(UsageError, match="VIDEO or LIVE"):
        Monitor(MonitorOptions(models_dir=models_dir, frontend_instance=frontend, pipelined=True,
                               running_mode=RunningMode.IMAGE, result_callback=lambda r: None))


def test_pipelined_live_keeps_order_and_counts_drops(models_dir):
    got = []
    m = Monitor(MonitorOptions(models_dir=models_dir, frontend_instance=ScriptedFrontEnd(delay_s=0.01),
                               running_mode=RunningMode.LIVE, pipelined=True, result_callback=got.append))
    for i in range(40):
        m.push(face_frame((i + 1) * DT, frame_id=i))
        time.sleep(0.001)
    m.flush()
    st = m.stats()
    assert st["processed"] + st["dropped"] == st["pushed"] == 40 and st["dropped"] > 0
    ids = [r.frame_id for r in got]
    assert ids == sorted(ids) and ids[-1] == 39             # in order, the newest frame processed last
    # a slow trickle of frames: nothing waits for a newer frame, every result arrives without one
    got.clear()
    for i in range(40, 43):
        m.push(face_frame((i + 1) * DT, frame_id=i))
        deadline = time.monotonic() + 5
        while (not got or got[-1].frame_id != i) and time.monotonic() < deadline:
            time.sleep(0.002)
        assert got[-1].frame_id == i
    m.close()
    assert m.stats()["processed"] + m.stats()["dropped"] == 43
