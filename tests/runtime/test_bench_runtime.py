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


def test_bench_repeat_reports_medians_of_the_runs(capsys):
    """`dms bench --repeat 2`: each headline figure is the median of the runs (here 2 runs: the mean for floats,
    the lower value for integer counts), every run's figures and their range are kept, the rest is the last run's."""
    import json

    from dms.cli.main import main
    assert main(["bench", "--json", "--duration", "0.5", "--models", "none", "--workers", "1", "--repeat", "2"]) == 0
    r = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert r["repeats"] == 2 and len(r["runs"]) == 2
    fps = [run["fps"] for run in r["runs"]]
    assert r["fps"] == pytest.approx(sum(fps) / 2, abs=1e-3) and r["spread"]["fps"] == [min(fps), max(fps)]
    streams = [run["streams_30fps"] for run in r["runs"]]
    assert r["streams_30fps"] == min(streams) and isinstance(r["streams_30fps"], int)
    assert r["per_stage"]["e2e"]["n"] > 0                              # details: the last run's
