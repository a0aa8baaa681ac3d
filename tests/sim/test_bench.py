"""dms bench simulate: worker processes like dms simulate (mock renderer: no Blender needed)."""
import pytest

from dms.sim.bench import bench_simulate


def test_bench_simulate_runs_workers_like_simulate():
    out = bench_simulate(n_frames=2, modalities=("nir",), renderer="mock", workers=2)
    s = out["settings"]
    assert s["workers"] == 2 and s["n_frames"] == 2 and s["samples"] >= 1
    assert out["eye_crops_per_s"] > 0 and out["face_crops_per_s"] > 0
    assert out["per_modality"]["nir"]["eye_crops_per_s"] == pytest.approx(out["eye_crops_per_s"], rel=1e-3)
    with pytest.raises(ValueError, match="workers"):
        bench_simulate(n_frames=2, renderer="mock", workers=0)
