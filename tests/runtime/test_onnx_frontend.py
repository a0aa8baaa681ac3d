"""The ONNX face front end: decoding helpers, the full pipeline on a real face photo, tracking, and agreement with
MediaPipe FaceMesh (the bound asserted here is the one stated for the front ends)."""
from __future__ import annotations

import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")
pytest.importorskip("onnxruntime")

from dms.errors import ModelError  # noqa: E402
from dms.runtime.face import create_face_frontend  # noqa: E402
from dms.runtime.face.onnx_frontend import (  # noqa: E402
    LEFT_EYE_IDX, LIPS_IDX, RIGHT_EYE_IDX, OnnxFrontEnd, Roi, decode_detections, refine_attention_landmarks,
    roi_from_box_and_axis, roi_from_landmarks, ssd_anchors, weighted_nms)

ROOT = Path(__file__).resolve().parents[2]
DEMO_CLIP = ROOT / "tools" / "demo" / "demo_clip.mp4"

# Agreement bound between the ONNX and MediaPipe front ends, in inter-ocular distances (outer eye corners 33-263):
STATIC_MEAN_IOD = 0.01   # same image, detector + landmarks (measured ~5e-5)
TRACKED_MEAN_IOD = 0.05  # per-frame mean in tracking mode on video (measured: max 0.038, mean 0.003 on YawDD)


def _iod(lm: np.ndarray) -> float:
    return float(np.linalg.norm(lm[33] - lm[263]))


@pytest.fixture(scope="module")
def face_bgr():
    """A real face photograph shipped with matplotlib (Grace Hopper, public domain), 512x600."""
    cbook = pytest.importorskip("matplotlib.cbook")
    img = cv2.imread(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))
    assert img is not None
    return img


@pytest.fixture(scope="module")
def frontend():
    fe = OnnxFrontEnd()
    yield fe
    fe.close()


@pytest.fixture(scope="module")
def mp_frontend():
    pytest.importorskip("mediapipe")
    from dms.runtime.face.mediapipe_frontend import MediaPipeFrontEnd
    fe = MediaPipeFrontEnd()
    yield fe
    fe.close()


# -- helpers -----------------------------------------------------------------------------------------------------
def test_ssd_anchors_match_mediapipe_layout():
    a = ssd_anchors()
    assert a.shape == (896, 2)
    np.testing.assert_allclose(a[0], [0.5 / 16, 0.5 / 16])
    np.testing.assert_allclose(a[1], a[0])  # two anchors per location on the stride-8 layer
    np.testing.assert_allclose(a[2], [1.5 / 16, 0.5 / 16])
    np.testing.assert_allclose(a[512], [0.5 / 8, 0.5 / 8])
    assert np.all(a[512:518] == a[512])  # six anchors per location on the merged stride-16 layers
    np.testing.assert_allclose(a[-1], [7.5 / 8, 7.5 / 8])


def test_decode_places_box_and_keypoints_relative_to_anchor():
    anchors = ssd_anchors()
    reg = np.zeros((896, 16), np.float32)
    logits = np.full((896, 1), -10.0, np.float32)
    k = 517
    reg[k, :4] = [12.8, -6.4, 32.0, 64.0]  # dx, dy, w, h in 128-px units
    reg[k, 4:6] = [-10.0, 0.0]
    logits[k] = 3.0
    boxes, kps, scores = decode_detections(reg, logits, anchors, 0.5)
    assert len(scores) == 1 and scores[0] == pytest.approx(1 / (1 + math.exp(-3.0)))
    cx, cy = anchors[k] + [0.1, -0.05]
    np.testing.assert_allclose(boxes[0], [cx - 0.125, cy - 0.25, cx + 0.125, cy + 0.25], atol=1e-6)
    np.testing.assert_allclose(kps[0, 0], anchors[k] + [-10 / 128, 0], atol=1e-6)
    assert len(decode_detections(reg, logits, anchors, 0.96)[2]) == 0


def test_weighted_nms_merges_overlaps_and_keeps_separate_faces():
    boxes = np.array([[0.1, 0.1, 0.3, 0.3], [0.12, 0.1, 0.32, 0.3], [0.6, 0.6, 0.8, 0.8]])
    kps = np.zeros((3, 6, 2))
    kps[1] += 0.01
    scores = np.array([0.9, 0.6, 0.7])
    out = weighted_nms(boxes, kps, scores, 0.3)
    assert len(out) == 2
    (b0, k0, s0), (b1, _, s1) = out
    assert s0 == 0.9 and s1 == 0.7
    np.testing.assert_allclose(b0[0], (0.1 * 0.9 + 0.12 * 0.6) / 1.5)
    np.testing.assert_allclose(k0[0, 0], 0.01 * 0.6 / 1.5)
    np.testing.assert_allclose(b1, boxes[2])


def test_roi_rotation_sign_scale_and_crop_mapping():
    # eyes level -> no rotation, square on the long side x1.5
    roi = roi_from_box_and_axis((100, 50, 200, 250), (120, 100), (180, 100))
    assert roi.rotation_rad == pytest.approx(0) and roi.size == pytest.approx(300) and (roi.cx, roi.cy) == (150, 150)
    # the person's head tilted so the second eye is lower in the image -> positive (clockwise) rotation
    tilted = roi_from_box_and_axis((0, 0, 100, 100), (0, 0), (10, 10))
    assert tilted.rotation_rad == pytest.approx(math.pi / 4)
    m = tilted.crop_to_image(192)
    # the crop's horizontal axis runs along the eye line, the crop centre is the ROI centre
    axis = m[:, :2] @ np.array([1.0, 0.0])
    assert axis[0] == pytest.approx(axis[1]) and axis[0] > 0
    np.testing.assert_allclose(m @ [96, 96, 1], [50, 50])
    corners = tilted.corners()
    np.testing.assert_allclose(np.linalg.norm(corners[1] - corners[0]), tilted.size)
    assert Roi(0, 0, 10).iou(Roi(0, 0, 10)) == pytest.approx(1.0, abs=1e-4)
    assert Roi(0, 0, 10).iou(Roi(5, 0, 10)) == pytest.approx(1 / 3, abs=1e-3)
    assert Roi(0, 0, 10).iou(Roi(50, 0, 10)) == 0.0


def test_refinement_overwrites_xy_and_sets_iris_depth():
    rng = np.random.default_rng(0)
    mesh = rng.normal(size=(468, 3)).astype(np.float32)
    lips, le, re_ = (rng.normal(size=(n, 2)) for n in (80, 71, 71))
    li, ri = rng.normal(size=(5, 2)), rng.normal(size=(5, 2))
    out = refine_attention_landmarks(mesh, lips, le, re_, li, ri)
    assert out.shape == (478, 3)
    np.testing.assert_allclose(out[LIPS_IDX, :2], lips, rtol=1e-6)
    np.testing.assert_allclose(out[LIPS_IDX, 2], mesh[LIPS_IDX, 2])  # z of refined points stays the mesh z
    np.testing.assert_allclose(out[LEFT_EYE_IDX, :2], le, rtol=1e-6)
    np.testing.assert_allclose(out[468:473, :2], li, rtol=1e-6)
    assert out[468, 2] == pytest.approx(mesh[LEFT_EYE_IDX[:16], 2].mean(), rel=1e-5)
    untouched = np.setdiff1d(np.arange(468), np.concatenate([LIPS_IDX, LEFT_EYE_IDX, RIGHT_EYE_IDX]))
    assert np.allclose(out[untouched], mesh[untouched])


# -- the pipeline on a real face ---------------------------------------------------------------------------------
def test_finds_the_face_and_478_landmarks(frontend, face_bgr):
    faces = frontend.process(face_bgr)
    assert len(faces) == 1
    f = faces[0]
    h, w = face_bgr.shape[:2]
    assert f.landmarks_px.shape == (478, 2) and f.landmarks_px.dtype == np.float32 and f.has_iris
    assert f.landmarks_z.shape == (478,)
    assert f.score > 0.9
    x0, y0, x1, y1 = f.box_xyxy_px
    assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
    assert 0.25 * w < x1 - x0 < 0.8 * w
    lm = f.landmarks_px
    # anatomy: eyes above the nose tip above the mouth, the person's right eye (33) on the image left
    assert lm[33, 0] < lm[263, 0]
    assert max(lm[33, 1], lm[263, 1]) < lm[1, 1] < lm[13, 1]
    assert 40 < _iod(lm) < 250
    # irises inside their eye contours
    for iris, eye in ((468, LEFT_EYE_IDX[:16]), (473, RIGHT_EYE_IDX[:16])):
        ex = lm[eye, 0]
        assert ex.min() < lm[iris, 0] < ex.max()


def test_agrees_with_mediapipe_on_a_real_face(frontend, mp_frontend, face_bgr):
    ours = frontend.process(face_bgr)
    ref = mp_frontend.process(face_bgr)
    assert len(ours) == len(ref) == 1
    d = np.linalg.norm(ours[0].landmarks_px - ref[0].landmarks_px, axis=1) / _iod(ref[0].landmarks_px)
    assert d.mean() <= STATIC_MEAN_IOD, f"mean landmark distance {d.mean():.4f} IOD"
    assert np.percentile(d, 95) <= 2 * STATIC_MEAN_IOD
    dz = np.abs(ours[0].landmarks_z - ref[0].landmarks_z) / _iod(ref[0].landmarks_px)
    assert dz.mean() <= STATIC_MEAN_IOD


def test_gray_input_and_468_mode(face_bgr):
    gray = cv2.cvtColor(face_bgr, cv2.COLOR_BGR2GRAY)
    with OnnxFrontEnd(refine_landmarks=False) as fe:
        faces = fe.process(gray)
    assert len(faces) == 1 and faces[0].landmarks_px.shape == (468, 2) and not faces[0].has_iris


def test_no_face_gives_nothing_and_keeps_detecting(frontend):
    frontend.reset()
    img = np.full((240, 320, 3), 127, np.uint8)
    before = frontend.stats["detector_runs"]
    for i in range(3):
        assert frontend.process(img, t_ns=i * 33_000_000) == []
    assert frontend.stats["detector_runs"] - before == 3
    frontend.reset()


def _shifted_sequence(face_bgr, n: int, step_px: float):
    h, w = face_bgr.shape[:2]
    canvas = cv2.copyMakeBorder(face_bgr, 40, 40, 60, 60, cv2.BORDER_REPLICATE)
    for i in range(n):
        m = np.float32([[1, 0, i * step_px - 60], [0, 1, -40 + 0.5 * i * step_px]])
        yield cv2.warpAffine(canvas, m, (w, h), borderMode=cv2.BORDER_REPLICATE), (i * step_px, 0.5 * i * step_px)


def test_tracking_runs_the_detector_once_and_follows_the_face(face_bgr):
    with OnnxFrontEnd() as fe:
        first = None
        for k, (frame, (dx, dy)) in enumerate(_shifted_sequence(face_bgr, 8, 4.0)):
            faces = fe.process(frame, t_ns=k * 33_333_333)
            assert len(faces) == 1
            if first is None:
                first = faces[0].landmarks_px
            else:
                moved = np.median(faces[0].landmarks_px - first, axis=0)
                np.testing.assert_allclose(moved, [dx, dy], atol=1.5)
        assert fe.stats["detector_runs"] == 1 and fe.stats["landmark_runs"] == 8
        # time going backwards (e.g. a source restart) resets tracking -> the detector runs again
        fe.process(frame, t_ns=0)
        assert fe.stats["detector_runs"] == 2
        # image mode never tracks
        fe.process(frame)
        fe.process(frame)
        assert fe.stats["detector_runs"] == 4


def test_tracked_sequence_agrees_with_mediapipe(face_bgr):
    pytest.importorskip("mediapipe")
    from dms.runtime.face.mediapipe_frontend import MediaPipeFrontEnd
    with OnnxFrontEnd() as ours, MediaPipeFrontEnd() as ref:
        for k, (frame, _) in enumerate(_shifted_sequence(face_bgr, 10, 3.0)):
            a, b = ours.process(frame, k * 33_333_333), ref.process(frame, k * 33_333_333)
            assert len(a) == len(b) == 1
            d = np.linalg.norm(a[0].landmarks_px - b[0].landmarks_px, axis=1).mean() / _iod(b[0].landmarks_px)
            assert d <= TRACKED_MEAN_IOD, f"frame {k}: {d:.4f} IOD"


def test_demo_clip_agreement_if_rendered():
    if not DEMO_CLIP.is_file():
        pytest.skip("tools/demo/demo_clip.mp4 not rendered yet")
    pytest.importorskip("mediapipe")
    from dms.runtime.face.mediapipe_frontend import MediaPipeFrontEnd
    cap = cv2.VideoCapture(str(DEMO_CLIP))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    n = both = agree = 0
    dists = []
    with OnnxFrontEnd() as ours, MediaPipeFrontEnd() as ref:
        while n < 60:
            ok, frame = cap.read()
            if not ok:
                break
            t_ns = int(n * 1e9 / fps)
            a, b = ours.process(frame, t_ns), ref.process(frame, t_ns)
            n += 1
            agree += bool(a) == bool(b)
            if a and b:
                both += 1
                dists.append(np.linalg.norm(a[0].landmarks_px - b[0].landmarks_px, axis=1).mean()
                             / _iod(b[0].landmarks_px))
    assert n > 0
    assert agree / n >= 0.95
    if dists:
        assert np.percentile(dists, 95) <= TRACKED_MEAN_IOD


# -- models and wiring -------------------------------------------------------------------------------------------
def test_factory_creates_the_onnx_frontend():
    with create_face_frontend("onnx") as fe:
        assert isinstance(fe, OnnxFrontEnd) and fe.landmark_model == "face_landmark_with_attention"


def test_tampered_or_missing_model_is_a_model_error(tmp_path):
    src = ROOT / "models" / "face"
    dst = tmp_path / "face"
    shutil.copytree(src, dst)
    data = bytearray((dst / "face_detection_short_range.onnx").read_bytes())
    data[-10] ^= 0xFF
    (dst / "face_detection_short_range.onnx").write_bytes(bytes(data))
    with pytest.raises(ModelError, match="sha256"):
        OnnxFrontEnd(model_dir=dst)
    (dst / "manifest.json").unlink()
    with pytest.raises(ModelError, match="manifest"):
        OnnxFrontEnd(model_dir=dst)


def test_roi_from_landmarks_uses_eye_corners():
    lm = np.zeros((478, 2))
    lm[:, 0] = np.linspace(0, 100, 478)
    lm[:, 1] = np.linspace(0, 50, 478)
    lm[33] = [20, 20]
    lm[263] = [80, 20]
    roi = roi_from_landmarks(lm)
    assert roi.rotation_rad == pytest.approx(0.0) and roi.size == pytest.approx(150) and roi.cx == pytest.approx(50)


def test_module_does_not_import_mediapipe_or_build_tools():
    code = ("import sys; import dms.runtime.face.onnx_frontend as m; m.OnnxFrontEnd().close(); "
            "print(','.join(k for k in ('mediapipe', 'onnx', 'tflite', 'torch', 'bpy') if k in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_background_submit_equals_process_and_overlaps(face_bgr):
    """background=True: submit() returns before the work is done (the caller overlaps it), collect() gives exactly
    what process() gives, a failure surfaces at collect(), and reset()/close() wait for the job in flight."""
    import threading
    seq = list(_shifted_sequence(face_bgr, 6, 3.0))
    with OnnxFrontEnd(background=False) as ref_fe, OnnxFrontEnd(background=True) as fe:
        gate = threading.Event()
        run = fe._lm.run
        fe._lm.run = lambda *a, **k: (gate.wait(5), run(*a, **k))[1]       # hold the helper thread
        for k, (frame, _) in enumerate(seq):
            ref = ref_fe.process(frame, k * 33_333_333)
            fe.submit(frame, k * 33_333_333)
            if k == 0:
                assert fe._future is not None and not fe._future.done()      # submit did not wait for the work
            gate.set()
            got = fe.collect()
            assert len(got) == len(ref) == 1
            np.testing.assert_array_equal(got[0].landmarks_px, ref[0].landmarks_px)
        assert fe.stats == ref_fe.stats                                      # tracking: one detector run
        fe.submit(np.zeros((4, 4), np.float32), 10**12)                      # not uint8
        with pytest.raises(ValueError, match="uint8"):
            fe.collect()
        fe.submit(seq[0][0], 10**12 + 1)
        fe.reset()                                                           # waits, then forgets tracking
        assert fe._future is None and fe._tracked == []
        fe.submit(seq[0][0], 10**12 + 2)
    assert fe._future is None and fe._pool is None                           # close() settled and stopped
