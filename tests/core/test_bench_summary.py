"""`dms bench --repeat N`: how repeated runs become one result (pure, no measurement)."""
from __future__ import annotations

import pytest

from dms.cli.bench import HEADLINE, summarize_runs


def test_headline_figures_are_medians_with_runs_and_range():
    runs = [{"fps": 100.0, "p99_ms": 30.0, "streams_30fps": 3, "per_stage": {"n": 1}},
            {"fps": 140.0, "p99_ms": 14.0, "streams_30fps": 5, "per_stage": {"n": 2}},
            {"fps": 120.0, "p99_ms": 18.0, "streams_30fps": 4, "per_stage": {"n": 3}}]
    s = summarize_runs(runs, ("fps", "p99_ms", "streams_30fps"))
    assert s["fps"] == 120.0 and s["p99_ms"] == 18.0 and s["streams_30fps"] == 4
    assert s["spread"] == {"fps": [100.0, 140.0], "p99_ms": [14.0, 30.0], "streams_30fps": [3, 5]}
    assert s["repeats"] == 3 and [r["fps"] for r in s["runs"]] == [100.0, 140.0, 120.0]
    assert s["per_stage"] == {"n": 3}                                  # non-headline fields: the last run's
    assert runs[-1]["fps"] == 120.0 and "repeats" not in runs[-1]       # inputs untouched


def test_process_peak_figures_come_from_the_first_run():
    """RSS is a process peak: a second run in the same process inherits the first one's (its concurrent monitors),
    so the one-stream figure is the first run's, not a median that grows with --repeat."""
    runs = [{"fps": 1.0, "rss_mb": 240.0, "rss_process_peak_mb": 320.0},
            {"fps": 2.0, "rss_mb": 350.0, "rss_process_peak_mb": 430.0},
            {"fps": 3.0, "rss_mb": 370.0, "rss_process_peak_mb": 450.0}]
    s = summarize_runs(runs, ("fps", "rss_mb"))
    assert s["rss_mb"] == 240.0 and s["rss_process_peak_mb"] == 320.0 and s["fps"] == 2.0
    assert s["spread"]["rss_mb"] == [240.0, 370.0]


def test_even_run_counts_and_missing_values():
    s = summarize_runs([{"fps": 10.0, "p99_ms": None, "streams_30fps": 2},
                        {"fps": 20.0, "p99_ms": 5.0, "streams_30fps": 5}], ("fps", "p99_ms", "streams_30fps"))
    assert s["fps"] == 15.0                    # float: the mean of the middle two
    assert s["streams_30fps"] == 2             # int count: the lower median (a count that was measured)
    assert s["p99_ms"] == 5.0 and s["spread"]["p99_ms"] == [5.0, 5.0]    # a run without the figure is skipped
    with pytest.raises(ValueError):
        summarize_runs([], ("fps",))


def test_headline_keys_cover_the_issue_keys():
    assert {"fps", "p50_ms", "p99_ms", "rss_mb", "streams_30fps"} <= set(HEADLINE["runtime"])
    assert {"face_crops_per_s", "eye_crops_per_s", "full_frames_per_s"} == set(HEADLINE["simulate"])


def test_repeat_must_be_positive(capsys, caplog):
    from dms.cli.main import main
    assert main(["bench", "--repeat", "0"]) != 0
    assert "--repeat must be >= 1" in capsys.readouterr().err + caplog.text
