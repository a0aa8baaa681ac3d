"""Job planning, per-shard seeds, crop pose sampling, and one shard written/read back (mock renderer)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from dms.config import load_config
from dms.contracts import CropLabel, Event, FrameLabel, HandState
from dms.data.dataset import SUCCESS, open_dataset, write_dataset_manifest
from dms.sim.config import SimulateConfig
from dms.sim.jobs import execute_shard, plan_jobs, sample_crop_pose, sample_eye_openness, shard_seed
from dms.sim.render import MockRenderer
from dms.sim.scenarios import events_at


def tiny_cfg(**over) -> SimulateConfig:
    base = {"renderer": "mock", "resolution": [128, 96], "sequences.count": 2, "sequences.duration_s": 2.5,
            "sequences.fps": 10, "sequences.presets": ["microsleep", "attentive"], "crops.eye.count": 6,
            "crops.mouth.count": 3, "crops.face.count": 2, "crops.frame.count": 2, "crops.per_shard": 2,
            "crops.frame.width": 96, "crops.frame.height": 72, "progress": False, "workers": 1}
    base.update(over)
    return load_config(SimulateConfig, overrides=list(base.items()))


def test_shard_seed_is_stable_and_name_dependent():
    assert shard_seed(0, "seq-000000") == shard_seed(0, "seq-000000")
    assert shard_seed(0, "seq-000000") != shard_seed(0, "seq-000001")
    assert shard_seed(0, "seq-000000") != shard_seed(1, "seq-000000")
    # pinned: the seed derivation is part of the dataset format (same config + seed -> same data forever)
    assert shard_seed(0, "seq-000000") == 8935916581919661190


def test_plan_counts_kinds_and_presets_round_robin():
    cfg = tiny_cfg(**{"sequences.count": 5, "crops.eye.count": 7, "crops.per_shard": 3})
    jobs = plan_jobs(cfg)
    seq = [j for j in jobs if j.kind == "sequence"]
    assert [j.opts["preset"] for j in seq] == ["microsleep", "attentive"] * 2 + ["microsleep"]
    assert all(j.n_samples == 25 and j.n_frames == 50 for j in seq)          # 2.5 s at 10 fps, rgb + nir
    eye = [j for j in jobs if j.kind == "eye"]
    assert sum(j.n_samples for j in eye) == 4 and [j.n_samples for j in eye] == [3, 1]   # 7 crops -> 4 faces
    assert len({j.name for j in jobs}) == len(jobs)
    assert plan_jobs(cfg) == jobs
    # the plan does not depend on run-only settings
    assert plan_jobs(tiny_cfg(**{"sequences.count": 5, "crops.eye.count": 7, "crops.per_shard": 3,
                                 "workers": 7, "backend": "ray"})) == jobs


def test_eye_openness_sampling_spreads_and_emphasises_boundary():
    cfg = tiny_cfg()
    rng = np.random.default_rng(0)
    v = np.array([sample_eye_openness(rng, cfg.crops.eye) for _ in range(4000)])
    lo, hi = cfg.crops.eye.openness_range
    assert v.min() >= lo and v.max() <= hi
    hist, _ = np.histogram(v, bins=11, range=(0.0, 1.1))
    assert (hist > 0).all()                                     # covers 0..1.1
    near = np.mean(np.abs(v - cfg.crops.eye.boundary) < 0.1)
    assert near > 0.3                                           # uniform would give ~0.18
    assert np.mean(v < 0.08) > 0.1                              # plenty of fully closed eyes


def test_crop_poses_cover_states_per_kind():
    cfg = tiny_cfg()
    rng = np.random.default_rng(1)
    mouth = [sample_crop_pose("mouth", rng, cfg) for _ in range(400)]
    yawns = [p for p in mouth if p.yawn]
    thr = cfg.crops.mouth.yawn_threshold
    # the label follows the pixels: yawn <=> mouth open at least yawn_threshold (wide-open yawns and laughs)
    assert all((p.mouth_openness >= thr) == p.yawn for p in mouth)
    assert 0.35 < len(yawns) / 400 < 0.6
    talking = [p for p in mouth if p.talking]
    assert talking and not any(p.yawn for p in talking)
    assert any(p.hand_over_mouth for p in yawns)
    smiles = [p for p in mouth if p.extra.get("smile", 0.0) > 0]
    assert 0.15 < len(smiles) / 400 < 0.45 and any(p.yawn for p in smiles) and any(not p.yawn for p in smiles)
    tongues = [p for p in mouth if p.extra.get("tongue", 0.0) > 0]
    # tongue out: only with the mouth open >= 0.3, amount 0.4..1, about tongue_prob of those
    assert tongues and all(p.mouth_openness >= 0.3 and 0.4 <= p.extra["tongue"] <= 1.0 for p in tongues)
    n_open = sum(p.mouth_openness >= 0.3 for p in mouth)
    assert 0.03 < len(tongues) / n_open < 0.3
    frames = [sample_crop_pose("frame", rng, cfg) for _ in range(400)]
    states = {p.hand_right for p in frames} | {p.hand_left for p in frames}
    assert {HandState.ON_WHEEL, HandState.PHONE_EAR, HandState.TEXTING, HandState.LAP} <= states
    for p in frames:
        has_phone = HandState.PHONE_EAR in (p.hand_left, p.hand_right) or HandState.TEXTING in (p.hand_left,
                                                                                               p.hand_right)
        assert (p.phone_in_hand is not None) == has_phone
    eyes = [sample_crop_pose("eye", rng, cfg) for _ in range(200)]
    yaw = np.array([p.eye_yaw_deg for p in eyes])
    assert yaw.min() < -25 and yaw.max() > 25


def test_sequence_shard_round_trip_and_byte_identical(tmp_path):
    cfg = tiny_cfg()
    job = [j for j in plan_jobs(cfg) if j.kind == "sequence"][0]
    r = MockRenderer()
    res = execute_shard(job, cfg, tmp_path / "a", r)
    execute_shard(job, cfg, tmp_path / "b", r)
    assert res["n_items"] == 25
    da, db = tmp_path / "a" / "shards" / job.name, tmp_path / "b" / "shards" / job.name
    assert (da / "labels.jsonl").read_bytes() == (db / "labels.jsonl").read_bytes()
    assert (da / "events.json").read_bytes() == (db / "events.json").read_bytes()
    assert (da / "scene.json").read_bytes() == (db / "scene.json").read_bytes()
    assert (da / "rgb" / "000003.png").read_bytes() == (db / "rgb" / "000003.png").read_bytes()
    succ = json.loads((da / SUCCESS).read_text())
    assert succ["n_items"] == 25 and "labels.jsonl" in succ["files"] and "nir/000024.png" in succ["files"]
    write_dataset_manifest(tmp_path / "a", {"name": "t", "seed": 0})
    ds = open_dataset(tmp_path / "a")
    (seq,) = list(ds.sequences())
    assert seq.modalities == ["rgb", "nir"] and len(seq.labels) == 25
    assert all(isinstance(x, FrameLabel) for x in seq.labels)
    assert all(isinstance(e, Event) for e in seq.events)
    assert any(e.type == "microsleep" for e in seq.events)
    for lab in seq.labels:
        assert lab.events == events_at(seq.events, lab.frame_index / 10.0)
        assert len(lab.landmarks_px) == 468
    assert seq.frame_path(0, "nir").is_file()
    assert seq.scene["scenario"]["preset"] == "microsleep" and seq.scene["seed"] == job.seed
    from dms.sim.spec import SceneSpec
    spec = SceneSpec.from_dict(seq.scene["scene"])
    assert (spec.camera.width, spec.camera.height) == (128, 96)
    import cv2
    img = cv2.imread(str(seq.frame_path(2, "rgb")), cv2.IMREAD_UNCHANGED)
    nir = cv2.imread(str(seq.frame_path(2, "nir")), cv2.IMREAD_UNCHANGED)
    assert img.shape == (96, 128, 3) and nir.shape == (96, 128)


@pytest.mark.parametrize("kind", ["eye", "mouth", "face", "frame"])
def test_crop_shards_round_trip(tmp_path, kind):
    cfg = tiny_cfg()
    job = [j for j in plan_jobs(cfg) if j.kind == kind][0]
    execute_shard(job, cfg, tmp_path, MockRenderer())
    write_dataset_manifest(tmp_path, {"name": "t", "seed": 0})
    ds = open_dataset(tmp_path)
    crops = list(ds.crops(kind=kind))
    per_sample = 2 if kind == "eye" else 1
    assert len(crops) == job.n_samples * per_sample * 2            # x rgb, nir
    import cv2
    for c in crops:
        assert isinstance(c.label, CropLabel) and c.path.is_file()
        img = cv2.imread(str(c.path), cv2.IMREAD_UNCHANGED)
        assert img.ndim == (3 if c.label.modality == "rgb" else 2)
        if kind == "eye":
            assert img.shape[:2] == (cfg.crops.eye.size,) * 2 and c.label.eye_openness is not None
            assert c.label.side in ("left", "right")
        if kind == "mouth":
            assert c.label.mouth_openness is not None
        if kind == "frame":
            assert img.shape[:2] == (72, 96) and c.label.hand_left is not None
        assert c.label.scene_id.startswith(job.name + "/")
    assert len(list(ds.crops(kind=kind, modality="nir"))) == len(crops) // 2


def test_bench_simulate_reports_rates_with_the_mock_renderer():
    from dms.sim.bench import bench_simulate
    out = bench_simulate(n_frames=2, modalities=("nir",), renderer="mock")
    for k in ("face_crops_per_s", "eye_crops_per_s", "full_frames_per_s", "full_frames_aux_per_s"):
        assert out[k] > 0
    assert set(out["per_modality"]) == {"nir"}
    assert isinstance(out["aux_overhead"], float)      # the part/depth pass's extra share (a figure, not a check)
    # two eye crops per render call: eye crops are cheaper per item than face crops (smaller border)
    assert out["eye_crops_per_s"] > out["face_crops_per_s"]
    with pytest.raises(ValueError):
        bench_simulate(n_frames=0, renderer="mock")


@pytest.mark.blender
def test_tiny_blender_sequence_shard(tmp_path):
    """One tiny real Cycles render through the whole shard path (3 frames, 64x48, 1 sample)."""
    pytest.importorskip("bpy")
    pytest.importorskip("dms.sim.blender.scene")
    cfg = tiny_cfg(renderer="blender", resolution=[64, 48], **{"sequences.duration_s": 1.0,
                                                               "sequences.presets": ["attentive"],
                                                               "render.samples": 1, "modalities": ["rgb", "nir"]})
    from dms.sim.jobs import make_renderer
    job = [j for j in plan_jobs(cfg) if j.kind == "sequence"][0]
    res = execute_shard(job, cfg, tmp_path, make_renderer(cfg))
    assert res["n_items"] == 10
    import cv2
    img = cv2.imread(str(tmp_path / "shards" / job.name / "rgb" / "000000.png"), cv2.IMREAD_UNCHANGED)
    nir = cv2.imread(str(tmp_path / "shards" / job.name / "nir" / "000000.png"), cv2.IMREAD_UNCHANGED)
    assert img.shape == (48, 64, 3) and nir.shape == (48, 64)
    assert img.std() > 3 and nir.std() > 3                     # a scene, not a blank frame
    # labels of a Blender run equal those of a mock run (labels never come from pixels)
    execute_shard(job, cfg.model_copy(update={"renderer": "mock"}), tmp_path / "m", MockRenderer())
    assert (tmp_path / "shards" / job.name / "labels.jsonl").read_bytes() == \
        (tmp_path / "m" / "shards" / job.name / "labels.jsonl").read_bytes()


def test_crop_poses_with_hidden_eyes_are_redrawn(tmp_path):
    """Extreme head yaw from a side camera hides one eye: such poses are redrawn, never written."""
    from dms.sim.jobs import crop_visible
    cfg = tiny_cfg(**{"crops.head_yaw_deg": [-80, 80], "crops.eye.count": 24, "crops.per_shard": 12,
                      "scene.mounts": ["a_pillar"], "modalities": ["nir"]})
    job = [j for j in plan_jobs(cfg) if j.kind == "eye"][0]
    from dms.sim.spec import sample_scene
    rng = np.random.default_rng(0)
    spec = sample_scene(rng, cfg.scene)
    poses = [sample_crop_pose("eye", rng, cfg) for _ in range(60)]
    vis = [crop_visible(spec, p, "eye") for p in poses]
    assert any(vis) and not all(vis)                   # the filter is doing something here
    execute_shard(job, cfg, tmp_path, MockRenderer())
    write_dataset_manifest(tmp_path, {"name": "t", "seed": 0})
    crops = list(open_dataset(tmp_path).crops(kind="eye"))
    assert len(crops) == 24
    for c in crops:   # eye-ring landmarks of every written crop lie inside the crop
        pts = np.asarray(c.label.landmarks_crop_px)
        assert ((pts > -2) & (pts < cfg.crops.eye.size + 2)).all()


def test_scene_that_can_never_show_the_crop_is_resampled(tmp_path, monkeypatch):
    """A sampled scene whose camera never sees the mouth is replaced (deterministically), not a failed shard;
    a config where no scene can show it fails with a clear error."""
    import dms.sim.jobs as jobs
    real_visible = jobs.crop_visible
    blocked: set[str] = set()

    def visible(spec, pose, kind):
        if not blocked:
            blocked.add(spec.scene_id)               # the first scene sampled is hopeless
        return spec.scene_id not in blocked and real_visible(spec, pose, kind)

    monkeypatch.setattr(jobs, "crop_visible", visible)
    cfg = tiny_cfg(**{"modalities": ["nir"]})
    job = [j for j in plan_jobs(cfg) if j.kind == "mouth"][0]
    execute_shard(job, cfg, tmp_path, MockRenderer())
    write_dataset_manifest(tmp_path, {"name": "t", "seed": 0})
    crops = list(open_dataset(tmp_path).crops(kind="mouth"))
    assert len(crops) == job.n_samples
    scene = json.loads((tmp_path / "shards" / job.name / "scene.json").read_text())
    assert all(s["scene_id"] not in blocked for s in scene["scenes"])   # the hopeless scene was replaced

    monkeypatch.setattr(jobs, "crop_visible", lambda spec, pose, kind: False)
    with pytest.raises(jobs.DmsError, match="no visible mouth crop in 5 scenes"):
        execute_shard(job, cfg, tmp_path / "again", MockRenderer())


def test_render_settings_from_config_denoise_and_crop_scale_cap():
    from dms.errors import ConfigError
    from dms.sim.jobs import make_renderer
    from dms.sim.render import RenderSettings
    cfg = load_config(SimulateConfig, overrides=["renderer=mock", "render.denoise=false",
                                                 "render.crop_max_scale=2.5", "workers=1"])
    r = make_renderer(cfg)
    assert r.settings.denoise is False and r.settings.crop_max_scale == 2.5
    assert make_renderer(load_config(SimulateConfig, overrides=["renderer=mock"])).settings.denoise is True
    d = make_renderer(load_config(SimulateConfig, overrides=["renderer=mock"])).settings
    assert d.samples == 4 and d.crop_samples == 2                     # frames 4, crops 2 (1.8x faster crop sets)
    c = make_renderer(load_config(SimulateConfig, overrides=["renderer=mock", "render.crop_samples=4"])).settings
    assert c.samples == 4 and c.crop_samples == 4                     # the shipped render sets' crop samples
    n = make_renderer(load_config(SimulateConfig, overrides=["renderer=mock", "render.crop_samples=null"])).settings
    assert n.crop_samples is None                                     # null: crops take `samples`
    with pytest.raises(ConfigError):
        load_config(SimulateConfig, overrides=["render.crop_samples=0"])
    with pytest.raises(ConfigError):
        load_config(SimulateConfig, overrides=["render.crop_max_scale=9"])
    with pytest.raises(ValueError):
        RenderSettings(crop_max_scale=0.0)
    assert d.camera_fill_p == 0.5
    assert make_renderer(load_config(SimulateConfig, overrides=["renderer=mock", "render.camera_fill_p=0"])
                         ).settings.camera_fill_p == 0.0
    with pytest.raises(ConfigError):
        load_config(SimulateConfig, overrides=["render.camera_fill_p=1.5"])
    with pytest.raises(ValueError):
        RenderSettings(camera_fill_p=-0.1)


def test_crop_max_scale_caps_the_crop_render_resolution():
    """Crops render at just enough pixels for their size, capped at crop_max_scale x native: a 64 px crop of a
    face far from a low-resolution camera is rendered above native only when the cap allows it."""
    from dms.sim.render import RenderSettings
    from dms.sim.pose import DriverPose
    from dms.sim.spec import sample_scene
    spec = sample_scene(np.random.default_rng(0)).with_resolution(320, 240)
    seen = {}

    class Probe(MockRenderer):
        def _render_region(self, spec, pose, modality, cam, border, crop=False):
            seen[self.settings.crop_max_scale] = cam.width
            return super()._render_region(spec, pose, modality, cam, border, crop)

    for cap in (1.0, 3.0):
        Probe(RenderSettings(crop_max_scale=cap)).render_crops(spec, DriverPose(), ("eye_left",), ("nir",))
    assert seen[1.0] <= 320 < seen[3.0] <= 3 * 320


def test_tongue_draws_leave_the_main_random_stream_alone():
    """The tongue comes from its own stream: switching it off changes no other sampled value of a seed (datasets
    rendered before it keep their poses)."""
    cfg = tiny_cfg()
    off = cfg.model_copy(deep=True)
    off.crops.mouth.tongue_prob = 0.0
    ra, rb = np.random.default_rng(5), np.random.default_rng(5)
    a = [sample_crop_pose("mouth", ra, cfg) for _ in range(200)]
    b = [sample_crop_pose("mouth", rb, off) for _ in range(200)]
    assert any("tongue" in p.extra for p in a) and not any("tongue" in p.extra for p in b)

    def strip(p):
        return {**vars(p), "extra": {k: v for k, v in p.extra.items() if k != "tongue"}}
    assert [strip(p) for p in a] == [strip(p) for p in b]


def test_auto_workers_give_blender_several_threads_per_process(monkeypatch):
    """workers=0: one Blender process per 4 cores with the cores split among them as render threads (one
    2-thread Blender renders faster than two 1-thread ones here); the single-threaded mock renderer: one per core."""
    import dms.sim.jobs as jobs
    from dms.sim.runner import default_workers
    assert [jobs.auto_workers("blender", n) for n in (1, 2, 4, 8, 16)] == [1, 1, 1, 2, 4]
    assert [jobs.auto_workers("mock", n) for n in (1, 2, 16)] == [1, 2, 16]
    monkeypatch.setattr(jobs.os, "cpu_count", lambda: 8)
    cfg = load_config(SimulateConfig, overrides=["renderer=blender"])
    assert jobs.resolved_workers(cfg) == default_workers(cfg) == 2
    from dms.sim.render import RenderSettings
    seen = {}

    class Fake:
        def __init__(self, settings: RenderSettings):
            seen["threads"] = settings.threads
    import dms.sim.render as render
    monkeypatch.setattr(render, "Renderer", Fake)
    jobs.make_renderer(cfg)
    assert seen["threads"] == 4                                            # 8 cores / 2 workers
    jobs.make_renderer(load_config(SimulateConfig, overrides=["renderer=blender", "workers=8"]))
    assert seen["threads"] == 1
    assert jobs.resolved_workers(load_config(SimulateConfig, overrides=["renderer=mock"])) == 8
