"""`dms simulate` command line: config errors (exit 2 with suggestions), dry run, a tiny mock run with preview,
resume, and refusing to mix configs in one folder."""
from __future__ import annotations

import json

import cv2

from dms.data.dataset import open_dataset

TINY = ["renderer=mock", "resolution=[96,72]", "sequences.count=2", "sequences.duration_s=1.2", "sequences.fps=10",
        "sequences.presets=[microsleep,attentive]", "crops.eye.count=4", "crops.mouth.count=2", "crops.face.count=2",
        "crops.frame.count=2", "crops.frame.width=96", "crops.frame.height=72", "crops.per_shard=2", "workers=2",
        "progress=false"]


def test_unknown_key_exits_2_with_suggestion(dms_cli, tmp_path):
    rc, out, err = dms_cli("simulate", f"out={tmp_path}", "sequences.duraton_s=3")
    assert rc == 2
    assert "unknown config key 'sequences.duraton_s'" in err and "did you mean 'sequences.duration_s'" in err
    assert not (tmp_path / "dataset.json").exists()


def test_impossible_ranges_exit_2_before_rendering(dms_cli, tmp_path):
    for bad, msg in (("crops.eye.openness_range=[0,1.5]", "openness_range"),
                     ("behaviour.yawn_duration_s=[-1,5]", "yawn_duration_s"),
                     ("sequences.duration_s=-2", "sequences.duration_s"),
                     ("scene.hfov_deg=[30,400]", "hfov_deg"),
                     ("sequences.presets=[drowsy+sleepy]", "unknown scenario preset 'sleepy'"),
                     ("sequences.duration_s=2", "shorter than the shortest")):
        rc, out, err = dms_cli("simulate", f"out={tmp_path / 'x'}", "renderer=mock", bad)
        assert rc == 2, (bad, err)
        assert msg in err, (bad, err)
    assert not (tmp_path / "x").exists()
    rc, out, err = dms_cli("simulate", "renderer=mock")
    assert rc == 2 and "out=DIR" in err


def test_dry_run_plans_without_rendering(dms_cli, tmp_path):
    rc, out, err = dms_cli("simulate", f"out={tmp_path / 'd'}", *TINY, "--dry-run", "--json")
    assert rc == 0, err
    plan = json.loads(out.strip().splitlines()[-1])
    assert plan["dry_run"] and plan["shards"] == 2 + 1 + 1 + 1 + 1 and plan["todo"] == plan["shards"]
    assert plan["images"] == 2 * 12 * 2 + (4 + 2 + 2 + 2) * 2
    assert not (tmp_path / "d").exists()


def test_simulate_with_preview_then_resume_and_config_mismatch(dms_cli, tmp_path):
    out_dir = tmp_path / "ds"
    rc, out, err = dms_cli("simulate", f"out={out_dir}", *TINY, "--preview", "--json")
    assert rc == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["complete"] and summary["rendered"] == 6 and summary["failed"] == {}
    png = out_dir / "preview.png"
    img = cv2.imread(str(png))
    assert img is not None and img.shape[0] > 200 and img.shape[1] > 600 and img.std() > 10
    assert (out_dir / "config.resolved.yaml").is_file()
    meta = json.loads((out_dir / "dataset.json").read_text())
    assert meta["schema"] == "dms.dataset/1" and meta["complete"] and len(meta["shards"]) == 6
    assert meta["config"]["renderer"] == "mock" and meta["seed"] == 0
    ds = open_dataset(out_dir)
    assert len(list(ds.sequences())) == 2
    assert {c.label.kind for c in ds.crops()} == {"eye", "mouth", "face", "frame"}
    # resume: same config (other worker count) renders nothing
    rc, out, err = dms_cli("simulate", f"out={out_dir}", *TINY, "workers=1", "--json")
    assert rc == 0, err
    s2 = json.loads(out.strip().splitlines()[-1])
    assert s2["rendered"] == 0 and s2["skipped"] == 6
    # a different content config into the same folder is refused
    rc, out, err = dms_cli("simulate", f"out={out_dir}", *TINY, "seed=5")
    assert rc == 2 and "different config" in err and "seed" in err
    # a dataset rendered before a setting existed resumes with the setting's legacy value (how it was made), not
    # with the new default
    mf = out_dir / "dataset.json"
    meta = json.loads(mf.read_text())
    del meta["config"]["render"]["camera_fill_p"]
    del meta["config"]["crops"]["mouth"]["tongue_prob"]
    mf.write_text(json.dumps(meta))
    rc, out, err = dms_cli("simulate", f"out={out_dir}", *TINY)
    assert rc == 2 and "different config" in err and "crops" in err and "render" in err
    rc, out, err = dms_cli("simulate", f"out={out_dir}", *TINY, "render.camera_fill_p=0", "crops.mouth.tongue_prob=0",
                           "--json")
    assert rc == 0, err
    assert json.loads(out.strip().splitlines()[-1])["skipped"] == 6
    # a set stored with crop_samples null (crops rendered with `samples`, before the default became 2) resumes
    # under an explicit equal value, never under the new default
    legacy = [*TINY, "render.camera_fill_p=0", "crops.mouth.tongue_prob=0"]
    meta = json.loads(mf.read_text())
    meta["config"]["render"]["crop_samples"] = None
    mf.write_text(json.dumps(meta))
    samples = meta["config"]["render"]["samples"]
    rc, out, err = dms_cli("simulate", f"out={out_dir}", *legacy)
    assert rc == 2 and "different config" in err and "render" in err
    for value in (samples, "null"):
        rc, out, err = dms_cli("simulate", f"out={out_dir}", *legacy, f"render.crop_samples={value}", "--json")
        assert rc == 0, err
        assert json.loads(out.strip().splitlines()[-1])["skipped"] == 6


def test_legacy_values_complete_only_what_a_stored_config_lacks():
    from dms.sim.config import LEGACY_VALUES, SimulateConfig, with_legacy_values
    full = SimulateConfig().model_dump(mode="json")
    assert with_legacy_values(full) == full                              # nothing missing: unchanged
    old = json.loads(json.dumps(full))
    del old["render"]["camera_fill_p"]
    del old["render"]["crop_samples"]
    old["crops"]["mouth"].pop("tongue_prob")
    filled = with_legacy_values(old)
    assert filled["render"]["camera_fill_p"] == LEGACY_VALUES[("render", "camera_fill_p")] == 0.0
    assert filled["render"]["crop_samples"] is None and SimulateConfig(**filled).render.crop_samples is None
    assert filled["crops"]["mouth"]["tongue_prob"] == 0.0
    assert "camera_fill_p" not in old["render"]                          # the input is not modified
    assert with_legacy_values({"renderer": "mock"}) == {"renderer": "mock"}   # sections it lacks stay absent


def test_cfg_show_simulate_lists_keys(dms_cli):
    rc, out, err = dms_cli("cfg", "show", "simulate")
    assert rc == 0
    for key in ("sequences:", "duration_s:", "crops:", "eye:", "backend: local", "renderer: blender", "workers:",
                "behaviour:", "microsleep_duration_s:", "scene:", "resolution:"):
        assert key in out, key
