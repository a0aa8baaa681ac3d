"""Monitor API: behaviour through the real pipeline (tiny probe models, real fusion, scripted face front end)."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest

from dms.contracts import FaultCode, Frame, RunningMode
from dms.errors import ModelError, UsageError
from dms.runtime.monitor import Monitor, MonitorOptions, TimestampError
from dms.runtime.testing import write_model

from tests.runtime.conftest import ScriptedFrontEnd, face_frame, no_face_frame

DT = 33_333_333


def mon(models_dir, frontend, **kw):
    return Monitor(MonitorOptions(models_dir=models_dir, frontend_instance=frontend, **kw))


def test_eye_openness_follows_the_eye_crops(models_dir, frontend):
    with mon(models_dir, frontend) as m:
        bright = m.push(face_frame(0, eye_value=255))
        dark = m.push(face_frame(DT, eye_value=0))
    for side in ("left", "right"):
        assert getattr(bright.perception, f"eye_openness_{side}") > 0.9
        assert getattr(dark.perception, f"eye_openness_{side}") < 0.1
        assert getattr(dark.perception, f"eye_closed_prob_{side}") > 0.9
    p = bright.perception
    assert p.valid and p.fault is FaultCode.OK and p.face_found
    assert p.yawn_prob is not None and p.gaze_yaw_deg is not None and p.hands_on_wheel_prob_left is not None
    assert {"face", "eye_state", "gaze", "yawn", "hands", "total"} <= set(p.latency_ms)
    assert bright.state is not None and bright.state.t_ns == 0
    assert "fusion" in bright.latency_ms


def test_timestamps_must_increase(models_dir, frontend):
    with mon(models_dir, frontend) as m:
        m.push(face_frame(10 * DT))
        with pytest.raises(TimestampError, match="strictly increase"):
            m.push(face_frame(10 * DT))
        with pytest.raises(TimestampError):
            m.push(face_frame(5 * DT))
        assert m.push(face_frame(11 * DT)).perception.valid


def test_image_mode_accepts_any_order_and_skips_fusion(models_dir, frontend):
    with mon(models_dir, frontend, running_mode=RunningMode.IMAGE) as m:
        a = m.push(face_frame(5 * DT))
        b = m.push(face_frame(1 * DT))
    assert a.state is None and b.state is None and a.perception.valid and b.perception.valid


def test_misuse_errors(models_dir, frontend):
    with pytest.raises(UsageError, match="result_callback"):
        mon(models_dir, frontend, running_mode=RunningMode.LIVE)
    m = mon(models_dir, frontend)
    with pytest.raises(UsageError, match="Frame"):
        m.push(np.zeros((10, 10, 3), np.uint8))
    m.close()
    with pytest.raises(UsageError, match="closed"):
        m.push(face_frame(0))


def test_bad_frame_is_reported_and_loop_goes_on(models_dir, frontend):
    with mon(models_dir, frontend) as m:
        f = face_frame(0)
        object.__setattr__(f, "image", np.zeros((120, 160, 3), np.float32))   # corrupted after creation
        r = m.push(f)
        assert not r.perception.valid and r.perception.fault is FaultCode.BAD_FRAME
        assert r.state is not None and not r.state.valid
        r2 = m.push(face_frame(DT))
        assert r2.perception.valid


def test_no_face(models_dir, frontend):
    with mon(models_dir, frontend) as m:
        r = m.push(no_face_frame(0))
    assert not r.perception.valid and r.perception.fault is FaultCode.NO_FACE and not r.perception.face_found
    assert r.state is not None and not r.state.valid


def test_nan_model_output_is_model_error(tmp_path, frontend):
    md = tmp_path / "m"
    write_model(md, "eye_state", nan=True)
    write_model(md, "yawn")
    with mon(md, frontend) as m:
        r = m.push(face_frame(0))
    assert not r.perception.valid and r.perception.fault is FaultCode.MODEL_ERROR
    assert r.perception.eye_openness_left is None
    assert r.state is not None and not r.state.valid


def test_subset_of_models(tmp_path, frontend):
    md = tmp_path / "m"
    write_model(md, "eye_state")
    with mon(md, frontend) as m:
        r = m.push(face_frame(0))
        assert m.stats()["models"] == ["eye_state"]
    p = r.perception
    assert p.valid and p.eye_openness_left is not None
    assert p.yawn_prob is None and p.gaze_yaw_deg is None and p.hands_on_wheel_prob_left is None


def test_tampered_model_fails_before_first_frame(models_dir, frontend):
    with open(models_dir / "gaze" / "model.onnx", "ab") as f:
        f.write(b"\0")
    with pytest.raises(ModelError, match="sha256"):
        mon(models_dir, frontend)


def test_missing_model_file(models_dir, frontend):
    (models_dir / "yawn" / "model.onnx").unlink()
    with pytest.raises(ModelError, match="missing"):
        mon(models_dir, frontend)


def test_manifest_mismatch_names_the_problem(models_dir, frontend):
    mf = models_dir / "hands" / "manifest.json"
    d = json.loads(mf.read_text())
    d["outputs"][1]["name"] = "phone"
    mf.write_text(json.dumps(d))
    with pytest.raises(ModelError, match="phone_prob"):
        mon(models_dir, frontend)


def test_nothing_to_run(tmp_path):
    with pytest.raises(ModelError, match="nothing to run"):
        Monitor(MonitorOptions(models_dir=tmp_path / "none", frontend=None))


def test_mirrored_gaze_negates_yaw(tmp_path, frontend):
    # Probe gaze: yaw = 20 * mean(crop). Bright right eye, dark left eye; mirror_side="right" flips the right
    # crop (mean unchanged) and negates its yaw: combined yaw = (20*m_l - 20*m_r)/2.
    plain, mirrored = tmp_path / "a", tmp_path / "b"
    write_model(plain, "gaze")
    write_model(mirrored, "gaze", mirror_side="right")
    f = face_frame(0)
    f.image[38:58, 90:115] = 0      # image-right = driver's left eye dark
    with mon(plain, ScriptedFrontEnd()) as m:
        a = m.push(f)
    with mon(mirrored, ScriptedFrontEnd()) as m:
        b = m.push(f)
    ga, gb = a.detail, b.detail
    assert ga.gaze_right_deg[0] == pytest.approx(-gb.gaze_right_deg[0], abs=1e-4)
    assert ga.gaze_left_deg[0] == pytest.approx(gb.gaze_left_deg[0], abs=1e-4)
    assert ga.gaze_right_deg[0] > 10          # bright eye -> positive probe yaw


def test_live_mode_keeps_newest_and_counts_drops(models_dir):
    got = []
    fe = ScriptedFrontEnd(delay_s=0.01)
    m = Monitor(MonitorOptions(models_dir=models_dir, frontend_instance=fe, running_mode=RunningMode.LIVE,
                               result_callback=got.append))
    for i in range(40):
        assert m.push(face_frame(i * DT, frame_id=i)) is None
        time.sleep(0.001)
    m.flush()
    m.close()
    st = m.stats()
    assert st["dropped"] > 0
    assert st["processed"] + st["dropped"] == st["pushed"] == 40
    ids = [r.frame_id for r in got]
    assert ids == sorted(ids) and ids[-1] == 39          # in order, newest frame processed last


def test_camera_fault_publishes_invalid_states(models_dir, frontend):
    with mon(models_dir, frontend) as m:
        m.push(face_frame(0))
        r = m.push_fault(DT, FaultCode.CAMERA_FAULT, reason="unplugged")
        assert r.state is not None and not r.state.valid
        assert r.perception.fault is FaultCode.CAMERA_FAULT
        assert frontend.resets >= 1                     # tracking dropped after a fault
        assert m.push(face_frame(2 * DT)).perception.valid


def test_failing_callback_does_not_stop(models_dir, frontend):
    def boom(res):
        raise RuntimeError("app bug")
    with mon(models_dir, frontend, result_callback=boom) as m:
        assert m.push(face_frame(0)).perception.valid
        assert m.push(face_frame(DT)).perception.valid


def test_gray_and_nir16_frames(models_dir, frontend):
    from dms.contracts import PixelFormat
    with mon(models_dir, frontend) as m:
        g = face_frame(0).image[:, :, 0].copy()
        r8 = m.push(Frame(image=g, t_ns=0, pixel_format=PixelFormat.NIR8))
        r16 = m.push(Frame(image=g.astype(np.uint16) << 8, t_ns=DT, pixel_format=PixelFormat.NIR16))
    assert r8.perception.valid and r16.perception.valid
    assert r8.perception.eye_openness_left == pytest.approx(r16.perception.eye_openness_left, abs=0.02)


def test_gc_freeze_is_opt_in_and_dms_run_turns_it_on(models_dir, frontend):
    import gc

    from dms.runtime.config import RunConfig
    gc.unfreeze()
    try:
        with mon(models_dir, frontend) as m:
            assert gc.get_freeze_count() == 0                   # a library default leaves the process alone
            m.push(face_frame(0))
        with mon(models_dir, frontend, gc_freeze=True) as m:
            frozen = gc.get_freeze_count()
            assert frozen > 1000                                # the loaded runtime is out of the collector's reach
            r = m.push(face_frame(0, eye_value=0))
            assert r.perception.valid and r.perception.eye_closed_prob_left > 0.9
        assert MonitorOptions.from_run_config(RunConfig()).gc_freeze is True
        assert MonitorOptions.from_run_config(RunConfig(gc_freeze=False)).gc_freeze is False
    finally:
        gc.unfreeze()
