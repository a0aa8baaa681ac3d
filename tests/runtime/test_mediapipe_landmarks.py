"""The MediaPipe front end decodes landmark lists from their wire bytes; any other layout falls back."""
from __future__ import annotations

import numpy as np
import pytest

landmark_pb2 = pytest.importorskip("mediapipe.framework.formats.landmark_pb2")

from dms.runtime.face.mediapipe_frontend import landmarks_array  # noqa: E402


def _list(n: int, visibility_at: int | None = None):
    rng = np.random.default_rng(n)
    lms = landmark_pb2.NormalizedLandmarkList()
    vals = rng.uniform(-1, 2, (n, 3)).astype(np.float32)
    vals[0] = 0.0                                   # explicit zeros are on the wire too (proto2)
    for i, (x, y, z) in enumerate(vals):
        p = lms.landmark.add()
        p.x, p.y, p.z = float(x), float(y), float(z)
        if i == visibility_at:
            p.visibility = 0.5
    return lms, vals


@pytest.mark.parametrize("n", [1, 468, 478])
def test_wire_decode_equals_the_fields(n):
    lms, vals = _list(n)
    out = landmarks_array(lms)
    assert out.dtype == np.float32 and out.shape == (n, 3)
    assert np.array_equal(out, vals)


def test_other_layouts_fall_back_to_the_fields():
    lms, vals = _list(478, visibility_at=10)         # one landmark with an extra field: 17-byte layout broken
    assert np.array_equal(landmarks_array(lms), vals)
    partial = landmark_pb2.NormalizedLandmarkList()
    partial.landmark.add().x = 0.25                  # y, z unset -> defaults 0
    assert np.array_equal(landmarks_array(partial), np.array([[0.25, 0.0, 0.0]], np.float32))
    assert landmarks_array(landmark_pb2.NormalizedLandmarkList()).shape == (0, 3)


def test_front_end_equals_stock_facemesh_and_overlaps_work():
    """submit() starts the graph, collect() waits: same landmarks as the stock FaceMesh.process (tracking mode)."""
    import cv2
    from mediapipe.python.solutions import face_mesh

    from dms.runtime.bench import load_frames
    from dms.runtime.face.mediapipe_frontend import MediaPipeFrontEnd
    frames, src = load_frames(n=30)
    if src == "synthetic":
        pytest.skip("no demo clip")
    fe = MediaPipeFrontEnd()
    ref = face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1, refine_landmarks=True)
    found = 0
    try:
        for i, f in enumerate(frames[:12]):
            fe.submit(f, (i + 1) * 33_333_333)
            faces = fe.collect()
            res = ref.process(cv2.cvtColor(f, cv2.COLOR_BGR2RGB)).multi_face_landmarks
            assert len(faces) == len(res or [])
            if faces:
                found += 1
                want = np.array([(p.x * f.shape[1], p.y * f.shape[0]) for p in res[0].landmark], np.float32)
                assert faces[0].landmarks_px.shape == (478, 2)
                assert np.abs(faces[0].landmarks_px - want).max() < 1e-3
        assert found >= 10
        with pytest.raises(RuntimeError, match="submit"):
            fe.collect()
    finally:
        fe.close()
        ref.close()
