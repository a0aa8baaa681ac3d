"""`dms bench runtime` on a short run: every phase measured, the keys the issue names, consistent figures."""
from __future__ import annotations

import pytest

pytest.importorskip("mediapipe")


def test_bench_runtime_short_run():
    from dms.runtime.bench import bench_runtime
    r = bench_runtime(duration_s=1.0, models_dir=None, frontend="mediapipe", n_workers=2, concurrent_s=0.5)
    for k in ("fps", "p50_ms", "p99_ms", "rss_mb", "streams_30fps"):
        assert k in r
    assert r["models_from"].startswith("stand-in")
    assert r["fps"] > 0 and r["fps_sequential"] > 0 and r["concurrent_fps"] > 0
    # the LIVE phase is paced like a 30 fps camera for 2 s: about 60 frames, each with a push-to-result latency
    assert 40 <= r["live_30fps_frames"] <= 62
    assert 0 < r["p50_ms"] <= r["p99_ms"]
    stages = r["per_stage"]
    assert {"e2e", "face", "eye_state", "gaze", "yawn", "hands", "total"} <= set(stages)
    assert stages["hands"]["n"] < stages["eye_state"]["n"]           # hands run every 3rd frame
    assert r["rss_mb"] == pytest.approx(r["rss_process_peak_mb"] - r["frames_buffer_mb"], abs=0.11)
    assert r["frames_buffer_mb"] > 10 and 0 < r["rss_mb"] < r["rss_process_peak_mb"]
