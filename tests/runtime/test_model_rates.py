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


def _live(models_dir, frontend, got, **cfg):
    from dms.contracts import RunningMode
    return Monitor(MonitorOptions(models_dir=models_dir, frontend_instance=frontend, running_mode=RunningMode.LIVE,
                                  result_callback=got.append, perception=PerceptionConfig(**cfg)))


def _push_paced(m, n):
    """One frame at a time, each result out before the next push (a camera with idle time between frames)."""
    for i in range(n):
        m.push(face_frame(i * DT, frame_id=i))
        m.flush()


def test_live_mode_runs_hands_after_the_result_and_serves_the_next_frames(models_dir, frontend):
    """LIVE defers the hands model to the idle time after a frame's result is out: no frame's latency carries
    it, its output is on the frames after the one it ran on (every hands_every_n-th frame as before)."""
    got, order = [], []
    with _live(models_dir, frontend, got, hands_every_n=3) as m:
        hm = m.perceiver.models["hands"]
        run = hm.run
        hm.run = lambda x: (order.append(("hands", len(got))), run(x))[1]
        _push_paced(m, 7)
    ps = [r.perception for r in got]
    assert [p.frame_id for p in ps] == list(range(7))
    assert all("hands" not in p.latency_ms for p in ps)
    # frames 0, 3, 6 are due; each run happens once that frame's result is published
    assert order == [("hands", 1), ("hands", 4), ("hands", 7)]
    assert ps[0].hands_on_wheel_prob_left is None                      # nothing ran before frame 0's result
    assert all(p.hands_on_wheel_prob_left is not None and p.valid for p in ps[1:])


def test_live_deferred_hands_match_the_in_frame_outputs_and_report_failures(models_dir, frontend):
    from dms.contracts import FaultCode
    got_live, got_video = [], []
    with _live(models_dir, frontend, got_live, hands_every_n=1) as m:
        _push_paced(m, 3)
    with Monitor(MonitorOptions(models_dir=models_dir, frontend_instance=frontend,
                                result_callback=got_video.append)) as m:
        for i in range(3):
            m.push(face_frame(i * DT, frame_id=i))
    # frame i's deferred output is what frame i computes in the frame (VIDEO), published one frame later
    live = [r.perception.hands_on_wheel_prob_left for r in got_live]
    video = [r.perception.hands_on_wheel_prob_left for r in got_video]
    assert live[1:] == video[:-1] and video[0] is not None

    got = []
    with _live(models_dir, frontend, got, hands_every_n=2) as m:
        hm = m.perceiver.models["hands"]
        run, calls = hm.run, []

        def fails_once(x):
            calls.append(1)
            if len(calls) == 1:
                raise RuntimeError("hands session died")
            return run(x)
        hm.run = fails_once
        _push_paced(m, 3)
    faults = [r.perception.fault for r in got]
    assert faults == [FaultCode.OK, FaultCode.MODEL_ERROR, FaultCode.OK]   # reported once, on the next frame
    assert got[1].perception.hands_on_wheel_prob_left is None           # no output until a run succeeds (frame 1)
    assert got[2].perception.hands_on_wheel_prob_left is not None


def test_live_hands_run_in_the_frame_when_frames_leave_no_idle_time(models_dir, frontend):
    """Under load (a frame always waiting) a due hands run that found no idle time runs in the next due frame,
    so hands outputs never go stale by more than one period."""
    got = []
    with _live(models_dir, frontend, got, hands_every_n=1) as m:
        p = m.perceiver
        assert p.defer_hands
        # drive the perceiver directly, as the live loop does when a frame is always pending
        a = p.perceive(face_frame(0))[0]
        b = p.perceive(face_frame(DT))[0]
    assert a.hands_on_wheel_prob_left is None and "hands" not in a.latency_ms
    assert "hands" in b.latency_ms and b.hands_on_wheel_prob_left is not None


def test_defer_hands_is_live_only(models_dir, frontend):
    with Monitor(MonitorOptions(models_dir=models_dir, frontend_instance=frontend)) as m:
        assert m.perceiver.defer_hands is False
        assert "hands" in m.push(face_frame(0)).perception.latency_ms
    got = []
    with _live(models_dir, frontend, got, defer_hands_live=False) as m:
        assert m.perceiver.defer_hands is False
        _push_paced(m, 1)
    assert "hands" in got[0].perception.latency_ms
