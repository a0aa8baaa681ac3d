"""Head pose recovery, and the `dms run` / `dms bench` commands end to end."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from dms.runtime.headpose import STANDARD_POINTS, HeadPoseEstimator, angles_from_rotation, rotation_from_angles


@pytest.mark.parametrize("yaw,pitch", [(0, 0), (25, 0), (-30, 10), (10, -15)])
def test_head_pose_recovers_known_rotation(yaw, pitch):
    R = rotation_from_angles(yaw, pitch, 0)
    assert angles_from_rotation(R)[:2] == pytest.approx((yaw, pitch), abs=1e-6)
    est = HeadPoseEstimator(use_canonical=False)
    K = np.array([[600.0, 0, 319.5], [0, 600.0, 239.5], [0, 0, 1]])
    obj = np.array(list(STANDARD_POINTS.values()))
    rvec, _ = cv2.Rodrigues(R)
    img_pts, _ = cv2.projectPoints(obj, rvec, np.array([0.0, 0.0, 0.6]), K, np.zeros(5))
    lm = np.zeros((468, 2))
    lm[list(STANDARD_POINTS)] = img_pts[:, 0]
    from dms.contracts import CameraInfo
    cam = CameraInfo(width=640, height=480, K=tuple(map(tuple, K)))
    hp = est.estimate(lm, 640, 480, cam, track=False)
    assert (hp.yaw_deg, hp.pitch_deg) == pytest.approx((yaw, pitch), abs=0.5)
    assert hp.t_cam_m[2] == pytest.approx(0.6, abs=0.01)


def _clip(path, n=15):
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 15.0, (160, 120))
    for i in range(n):
        w.write(np.full((120, 160, 3), 60 + 5 * i, np.uint8))
    w.release()


def test_dms_run_headless_end_to_end(tmp_path, dms_cli):
    from dms.runtime.testing import write_model_set
    models = write_model_set(tmp_path / "models", tasks=("eye_state", "hands"))
    clip = tmp_path / "clip.avi"
    _clip(clip)
    out = tmp_path / "out"
    rc, stdout, stderr = dms_cli("run", "--source", clip, "--headless", "--out", out, "--models", models)
    assert rc == 0, stderr[-2000:]
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary["frames_processed"] == summary["frames_in"] == 15 and summary["frames_dropped"] == 0
    for name in ("annotated.mp4", "states.jsonl", "events.jsonl", "timeline.png", "summary.json",
                 "config.resolved.yaml"):
        assert (out / name).is_file(), name
    states = [json.loads(x) for x in (out / "states.jsonl").read_text().splitlines()]
    assert len(states) == 15
    assert all(not s["valid"] for s in states)      # flat frames: no face -> unavailable, published every step
    assert json.loads((out / "summary.json").read_text()) == summary


def test_dms_run_fails_clearly_on_tampered_model(tmp_path, dms_cli):
    from dms.runtime.testing import write_model_set
    models = write_model_set(tmp_path / "models", tasks=("eye_state",))
    with open(models / "eye_state" / "model.onnx", "ab") as f:
        f.write(b"x")
    clip = tmp_path / "clip.avi"
    _clip(clip, 3)
    rc, _, stderr = dms_cli("run", "--source", clip, "--headless", "--out", tmp_path / "o", "--models", models)
    assert rc == 1 and "sha256" in stderr


def test_dms_bench_json(tmp_path, dms_cli):
    rc, stdout, stderr = dms_cli("bench", "--json", "--duration", "0.5", "--workers", "1",
                                 "--models", tmp_path / "nomodels")
    assert rc == 0, stderr[-2000:]
    res = json.loads(stdout.strip().splitlines()[-1])
    for k in ("fps", "p50_ms", "p99_ms", "rss_mb", "streams_30fps"):
        assert isinstance(res[k], (int, float)), k
    assert res["fps"] > 0 and res["p99_ms"] >= res["p50_ms"] > 0 and res["rss_mb"] > 0
    assert "stand-in" in res["models_from"]
