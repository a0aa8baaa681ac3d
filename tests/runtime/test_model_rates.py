"""Models run every N face frames (gaze_every_n / yawn_every_n / hands_every_n) reuse their last output in
between, and never across a lost face."""
from __future__ import annotations

from dms.runtime.config import PerceptionConfig
from dms.runtime.monitor import Monitor, MonitorOptions

from tests.runtime.conftest import face_frame, no_face_frame

DT = 33_333_333


def _counting(m):
    calls = []
    run = m.models["gaze"].run

    def counted(x):
        calls.append(x.shape[0])
        return run(x)
    m.models["gaze"].run = counted
    return calls


def test_gaze_every_2_reuses_the_last_output_and_restarts_after_a_lost_face(models_dir, frontend):
    cfg = PerceptionConfig(gaze_every_n=2, yawn_every_n=1)
    with Monitor(MonitorOptions(models_dir=models_dir, frontend_instance=frontend, perception=cfg)) as m:
        calls = _counting(m.perceiver)
        a = m.push(face_frame(0, eye_value=255)).perception
        b = m.push(face_frame(DT, eye_value=200)).perception       # skipped: a's gaze reused
        c = m.push(face_frame(2 * DT, eye_value=200)).perception   # runs
        assert len(calls) == 2 and calls == [2, 2]                 # both eyes in one batch
        assert "gaze" in a.latency_ms and "gaze" not in b.latency_ms and "gaze" in c.latency_ms
        assert b.gaze_yaw_deg == a.gaze_yaw_deg and b.gaze_pitch_deg == a.gaze_pitch_deg
        assert c.gaze_yaw_deg != a.gaze_yaw_deg                    # the probe gaze follows the eye pixels
        m.push(face_frame(3 * DT, eye_value=200))                  # skipped
        assert len(calls) == 2
        lost = m.push(no_face_frame(4 * DT)).perception
        assert not lost.face_found and lost.gaze_yaw_deg is None
        m.push(face_frame(5 * DT, eye_value=255))                  # first frame after the loss: runs
        assert len(calls) == 3


def test_every_frame_by_default_for_gaze_and_image_mode_always_runs(models_dir, frontend):
    from dms.contracts import RunningMode
    with Monitor(MonitorOptions(models_dir=models_dir, frontend_instance=frontend)) as m:
        calls = _counting(m.perceiver)
        for i in range(4):
            m.push(face_frame(i * DT))
        assert len(calls) == 4
    cfg = PerceptionConfig(gaze_every_n=3, yawn_every_n=3)
    with Monitor(MonitorOptions(models_dir=models_dir, frontend_instance=frontend, perception=cfg,
                                running_mode=RunningMode.IMAGE)) as m:
        calls = _counting(m.perceiver)
        rs = [m.push(face_frame(i * DT)).perception for i in range(3)]
        assert len(calls) == 3 and all("yawn" in r.latency_ms for r in rs)


def test_yawn_default_is_every_second_face_frame(models_dir, frontend):
    assert PerceptionConfig().yawn_every_n == 2
    with Monitor(MonitorOptions(models_dir=models_dir, frontend_instance=frontend)) as m:
        ps = [m.push(face_frame(i * DT)).perception for i in range(4)]
    assert ["yawn" in p.latency_ms for p in ps] == [True, False, True, False]
    assert all(p.yawn_prob == ps[0].yawn_prob and p.mouth_openness is not None for p in ps)


def test_hands_prescale_matches_preprocessing_the_full_frame(models_dir, frontend):
    """Gray first, then one area downscale of one channel: the hands input equals preprocess() of the full frame
    (the former colour-first downscale was off by ~0.04 per-image-normalised units on the demo frames)."""
    import numpy as np

    from dms.data.preprocess import preprocess
    from dms.runtime.bench import load_frames
    from dms.runtime.testing import write_model
    write_model(models_dir, "hands", normalize="per_image")
    frames, _ = load_frames(n=30)
    with Monitor(MonitorOptions(models_dir=models_dir, frontend_instance=frontend)) as m:
        p = m.perceiver
        hm = p.models["hands"]
        seen = []
        run = hm.run
        hm.run = lambda x: (seen.append(x), run(x))[1]
        for img in frames[::10]:
            p._hands(img, "BGR8")
            ref = preprocess([img], hm.preprocessing, "BGR8")
            assert seen[-1].shape == ref.shape
            assert float(np.abs(seen[-1] - ref).max()) < 0.005
