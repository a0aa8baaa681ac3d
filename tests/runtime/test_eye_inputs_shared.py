"""eye_state and gaze read the same eye crops the same way (gaze 0.5.0): the runtime cuts and preprocesses the two
eyes once per frame and feeds that one tensor to both models; models that read them differently get their own."""
from __future__ import annotations

import numpy as np
import pytest

import dms.runtime.perception as perception
from dms.runtime.monitor import Monitor, MonitorOptions
from dms.runtime.testing import write_model

from tests.runtime.conftest import face_frame


def _inputs_and_preprocess_calls(models_dir, frontend, monkeypatch):
    calls = []
    real = perception.preprocess

    def counted(images, spec, pf="BGR8"):
        calls.append(tuple(spec["size"]))
        return real(images, spec, pf)
    monkeypatch.setattr(perception, "preprocess", counted)
    seen = {}
    with Monitor(MonitorOptions(models_dir=models_dir, frontend_instance=frontend)) as m:
        for task in ("eye_state", "gaze"):
            run = m.perceiver.models[task].run

            def rec(x, _run=run, _task=task):
                seen[_task] = x
                return _run(x)
            m.perceiver.models[task].run = rec
        res = m.push(face_frame(0, eye_value=200)).perception
    return calls, seen, res


@pytest.mark.parametrize("gaze_kw, shared", [
    (dict(size=(32, 32)), True),                              # eye_state's crop, size and preprocessing
    (dict(), False),                                          # the stand-in gaze's 48 px crop
    (dict(size=(32, 32), mirror_side="right"), False),        # same size, but its right-eye crop is mirrored
])
def test_one_eye_input_for_both_eye_models_when_they_read_it_alike(tmp_path, frontend, monkeypatch, gaze_kw,
                                                                   shared):
    md = tmp_path / "models"
    write_model(md, "eye_state")
    write_model(md, "gaze", **gaze_kw)
    calls, seen, res = _inputs_and_preprocess_calls(md, frontend, monkeypatch)
    eye_calls = [c for c in calls if c in ((32, 32), (48, 48))]
    assert len(eye_calls) == (1 if shared else 2)
    assert (seen["eye_state"] is seen["gaze"]) is shared
    assert res.valid and res.gaze_yaw_deg is not None and res.eye_openness_left is not None
    if shared:
        # the shared tensor is exactly what gaze's own preprocessing of its own crops gives
        from dms.data.preprocess import preprocess
        lm = frontend.lm
        img = face_frame(0, eye_value=200).image
        with Monitor(MonitorOptions(models_dir=md, frontend_instance=frontend)) as m:
            per = m.perceiver
            crops = [perception.cut_fast(img, lm, per._eye_crops["gaze"][s]) for s in ("left", "right")]
            own = preprocess(crops, per.models["gaze"].preprocessing, "BGR8")
        np.testing.assert_array_equal(seen["gaze"], own)
