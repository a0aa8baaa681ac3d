"""dms bench simulate: worker processes like dms simulate (mock renderer: no Blender needed)."""
import pytest

from dms.sim.bench import bench_simulate


def test_bench_simulate_runs_workers_like_simulate():
    out = bench_simulate(n_frames=2, modalities=("nir",), renderer="mock", workers=2)
    s = out["settings"]
    assert s["workers"] == 2 and s["n_frames"] == 2 and (s["samples"], s["crop_samples"]) == (4, 2)  # dms simulate's
    assert out["eye_crops_per_s"] > 0 and out["face_crops_per_s"] > 0
    assert out["per_modality"]["nir"]["eye_crops_per_s"] == pytest.approx(out["eye_crops_per_s"], rel=1e-3)
    with pytest.raises(ValueError, match="workers"):
        bench_simulate(n_frames=2, renderer="mock", workers=0)


def test_bench_samples_option_sets_every_case():
    """--samples S renders frames and crops with S (not the crops with render.crop_samples)."""
    from dms.sim.bench import _bench_config
    r = _bench_config("mock", 3, 1).render
    assert (r.samples, r.crop_samples) == (3, 3)
    out = bench_simulate(n_frames=1, modalities=("rgb",), renderer="mock", workers=1, samples=1)
    assert (out["settings"]["samples"], out["settings"]["crop_samples"]) == (1, 1)


def test_bench_workload_is_the_same_items_for_any_worker_count():
    """Worker shares are dealt from one pose list, so 1- and 2-worker rates measure the very same renders."""
    from dms.sim.bench import bench_workload
    _, spec1, all_poses = bench_workload(5, seed=3, workers=1, renderer="mock")
    _, spec_a, a = bench_workload(5, seed=3, workers=2, worker=0, renderer="mock")
    _, spec_b, b = bench_workload(5, seed=3, workers=2, worker=1, renderer="mock")
    assert spec_a == spec1 == spec_b
    assert len(a) == 3 and len(b) == 2
    assert a == all_poses[0::2] and b == all_poses[1::2]
    assert len({repr(p) for p in all_poses}) == 5                  # distinct poses, not one repeated
    with pytest.raises(ValueError, match="n_frames"):
        bench_simulate(n_frames=1, renderer="mock", workers=2)


def test_bench_simulate_cli_rejects_bad_options_before_rendering(dms_cli):
    rc, _, err = dms_cli("bench", "simulate", "--modalities", "rgb,thermal")
    assert rc == 2 and "unknown modality 'thermal'" in err
    rc, _, err = dms_cli("bench", "simulate", "--workers", "3", "--n-frames", "2")
    assert rc == 2 and "n_frames (2) must be >= workers (3)" in err
