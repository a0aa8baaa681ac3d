"""ONNX vs MediaPipe face front end on real driver video (YawDD mirror-camera clips, research licence: read in
place from ../shared/realdata-dev, never copied). Measures and asserts the stated agreement bound and logs the
speed of both front ends. Run: pytest -m "slow and realdata" tests/runtime/test_onnx_frontend_realdata.py -s"""
from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
CLIPS = sorted((ROOT.parent / "shared" / "realdata-dev" / "cabin_video_yawdd").glob("*.avi"))

pytestmark = [pytest.mark.slow, pytest.mark.realdata]
log = logging.getLogger(__name__)

# Stated agreement bound on real video, tracking mode (inter-ocular distance = landmarks 33-263):
DETECTION_AGREEMENT_MIN = 0.99   # fraction of frames where both front ends agree on face / no face
PER_FRAME_MEAN_IOD_P95 = 0.02    # 95th percentile over frames of the mean landmark distance
PER_FRAME_MEAN_IOD_MAX = 0.05    # worst frame


def _iod(lm):
    return float(np.linalg.norm(lm[33] - lm[263]))


@pytest.mark.skipif(not CLIPS, reason="../shared/realdata-dev/cabin_video_yawdd not available")
@pytest.mark.parametrize("clip", CLIPS, ids=lambda p: p.name)
def test_front_ends_agree_on_real_driver_video(clip):
    cv2 = pytest.importorskip("cv2")
    pytest.importorskip("mediapipe")
    from dms.runtime.face.mediapipe_frontend import MediaPipeFrontEnd
    from dms.runtime.face.onnx_frontend import OnnxFrontEnd

    cap = cv2.VideoCapture(str(clip))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    n = agree = 0
    per_frame, per_frame_px = [], []
    t_onnx = t_mp = 0.0
    with OnnxFrontEnd(intra_op_num_threads=1) as ours, MediaPipeFrontEnd() as ref:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            t_ns = int(n * 1e9 / fps)
            t0 = time.perf_counter()
            a = ours.process(frame, t_ns)
            t1 = time.perf_counter()
            b = ref.process(frame, t_ns)
            t_onnx += t1 - t0
            t_mp += time.perf_counter() - t1
            n += 1
            agree += bool(a) == bool(b)
            if a and b:
                d = np.linalg.norm(a[0].landmarks_px - b[0].landmarks_px, axis=1)
                per_frame_px.append(d.mean())
                per_frame.append(d.mean() / _iod(b[0].landmarks_px))
        det_runs = ours.stats["detector_runs"]
    assert n > 100
    rate = agree / n
    pf = np.array(per_frame)
    log.warning("%s: %d frames, detection agreement %.4f, landmark distance per frame: mean %.4f / p95 %.4f / "
                "max %.4f IOD (mean %.3f px, p95 %.3f px); ms/frame onnx %.2f (detector runs %d) mediapipe %.2f",
                clip.name, n, rate, pf.mean(), np.percentile(pf, 95), pf.max(), np.mean(per_frame_px),
                np.percentile(per_frame_px, 95), 1e3 * t_onnx / n, det_runs, 1e3 * t_mp / n)
    assert rate >= DETECTION_AGREEMENT_MIN
    assert len(pf) >= 0.9 * n
    assert np.percentile(pf, 95) <= PER_FRAME_MEAN_IOD_P95
    assert pf.max() <= PER_FRAME_MEAN_IOD_MAX
