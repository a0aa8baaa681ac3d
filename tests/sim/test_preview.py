"""Preview contact sheet: overlays drawn from labels, tiles of frames and crops."""
from __future__ import annotations

import numpy as np
import pytest

from dms.config import load_config
from dms.contracts import CropLabel, FrameLabel
from dms.data.dataset import write_dataset_manifest
from dms.errors import DataError
from dms.sim.config import SimulateConfig
from dms.sim.jobs import execute_shard, plan_jobs
from dms.sim.preview import TILE_H, TILE_W, draw_crop_label, draw_frame_label, make_contact_sheet
from dms.sim.render import MockRenderer


def _frame_label(**kw) -> FrameLabel:
    lm = tuple((100.0 + (i % 20) * 3.0, 80.0 + (i // 20) * 2.0) for i in range(468))
    d = dict(frame_index=3, t_s=0.3, eye_openness_left=0.1, eye_openness_right=0.1, eyes_closed=True,
             mouth_openness=0.8, yawn=True, landmarks_px=lm, landmarks_visible=(True,) * 468,
             face_box_xyxy_px=(100.0, 80.0, 160.0, 130.0), events=("yawn", "microsleep"))
    d.update(kw)
    return FrameLabel(**d)


def test_frame_overlay_draws_landmarks_box_and_text():
    img = np.zeros((240, 320, 3), np.uint8)
    tile = draw_frame_label(img, _frame_label())
    assert tile.shape == (TILE_H, TILE_W, 3)
    # a landmark (visible -> green) is drawn at its pixel (tile scale 1 here)
    b, g, r = tile[80, 100].astype(int)
    assert g > 150 and g > r and g > b
    # the face box (cyan) edge
    assert tile[105, 160, 0] > 150 and tile[105, 160, 1] > 150
    # events line (red text) near the bottom
    bottom = tile[TILE_H - 16:, :, :].astype(int)
    assert ((bottom[..., 2] > 150) & (bottom[..., 1] < 100)).sum() > 20
    # occluded landmarks are red
    tile2 = draw_frame_label(img, _frame_label(landmarks_visible=(False,) * 468))
    b, g, r = tile2[80, 100].astype(int)
    assert r > 150 and r > g


def test_crop_overlay_draws_gaze_arrow_in_the_right_direction():
    img = np.zeros((64, 64), np.uint8)
    right = draw_crop_label(img, CropLabel(file="x.png", kind="eye", crop="eye_left", modality="nir", side="left",
                                           eye_openness=0.9, eye_closed=False, gaze_yaw_deg=40.0, gaze_pitch_deg=0.0))
    left = draw_crop_label(img, CropLabel(file="x.png", kind="eye", crop="eye_left", modality="nir", side="left",
                                          eye_openness=0.9, eye_closed=False, gaze_yaw_deg=-40.0, gaze_pitch_deg=0.0))
    yellow = lambda t: (t[..., 1].astype(int) > 180) & (t[..., 2].astype(int) > 180) & (t[..., 0] < 80)
    cx = TILE_W // 2
    ys = slice(TILE_H // 2 - 10, TILE_H // 2 + 10)
    assert yellow(right[ys, cx + 20:]).sum() > yellow(right[ys, :cx - 20]).sum() + 10
    assert yellow(left[ys, :cx - 20]).sum() > yellow(left[ys, cx + 20:]).sum() + 10


def test_contact_sheet_from_a_tiny_dataset(tmp_path):
    cfg = load_config(SimulateConfig, overrides=[
        "renderer=mock", "resolution=[96,72]", "sequences.count=1", "sequences.duration_s=1.5", "sequences.fps=10",
        "sequences.presets=[microsleep]", "crops.eye.count=4", "crops.mouth.count=2", "crops.face.count=0",
        "crops.frame.count=0", "crops.per_shard=4", "modalities=[rgb]"])
    r = MockRenderer()
    for job in plan_jobs(cfg):
        execute_shard(job, cfg, tmp_path, r)
    write_dataset_manifest(tmp_path, {"name": "t", "seed": 0})
    out = make_contact_sheet(tmp_path, tmp_path / "sheet.png", n_tiles=8, columns=4)
    import cv2
    sheet = cv2.imread(str(out))
    assert sheet.shape == (2 * (TILE_H + 4) + 4, 4 * (TILE_W + 4) + 4, 3)
    assert sheet.std() > 10
    # deterministic for the same seed
    out2 = make_contact_sheet(tmp_path, tmp_path / "sheet2.png", n_tiles=8, columns=4)
    assert out.read_bytes() == out2.read_bytes()


def test_contact_sheet_of_empty_dataset_is_an_error(tmp_path):
    write_dataset_manifest(tmp_path, {"name": "t", "seed": 0})
    with pytest.raises(DataError, match="nothing to preview"):
        make_contact_sheet(tmp_path, tmp_path / "s.png")
