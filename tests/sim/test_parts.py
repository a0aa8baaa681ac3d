"""Part masks and depth maps of full frames (render.part_masks / render.depth): the legend, the encodings, and the
dataset round trip with the mock renderer (the real Cycles pass: test_render_blender.py)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from dms.data.dataset import open_dataset, read_depth, read_parts
from dms.errors import DataError
from dms.sim.parts import (PART_IDS, PARTS, UNKNOWN_PART, colorize_parts, decode_depth_m, encode_depth_mm, legend,
                           part_of)

TINY = ["renderer=mock", "resolution=[96,72]", "sequences.count=1", "sequences.duration_s=1.2", "sequences.fps=10",
        "sequences.presets=[attentive]", "crops.eye.count=2", "crops.mouth.count=0", "crops.face.count=0",
        "crops.frame.count=2", "crops.frame.width=96", "crops.frame.height=72", "crops.per_shard=2", "workers=1",
        "progress=false"]


def test_part_of_maps_head_materials_and_objects_by_longest_prefix():
    assert part_of("head", "skin") == PART_IDS["face_skin"]
    assert part_of("head", "teeth") == PART_IDS["teeth"] and part_of("head", "lash") == PART_IDS["eyelashes"]
    assert part_of("head", "conjunctiva") == PART_IDS["eye"]
    assert part_of("head.001", "teeth.002") == PART_IDS["teeth"]           # Blender's duplicate-name suffixes
    assert part_of("headrest", "seat") == PART_IDS["seat"]                # not "head"
    assert part_of("rear_quarter") == PART_IDS["window"] and part_of("rear") == PART_IDS["cabin"]
    assert part_of("hand_left", "skin") == PART_IDS["hand_left"] and part_of("forearm_right") == PART_IDS["arm_right"]
    assert part_of("spoke2") == part_of("wheel") == PART_IDS["steering_wheel"]
    assert part_of("lens_left", "lens") == PART_IDS["glasses_lens"] and part_of("face_mask") == PART_IDS["face_mask"]
    assert part_of("a_new_object") == UNKNOWN_PART
    assert len(set(PARTS.values())) == len(PARTS) and UNKNOWN_PART not in PARTS
    assert set(legend()["parts"]) == {str(k) for k in PARTS} | {str(UNKNOWN_PART)}
    c = colorize_parts(np.array([[0, PART_IDS["eye"], UNKNOWN_PART]], np.uint8))
    assert c.shape == (1, 3, 3) and (c[0, 0] == 0).all() and (c[0, 1] != c[0, 2]).any()


def test_depth_encoding_round_trip_and_no_surface():
    d = np.array([0.6234, 1.0, 12.3456, 0.0, np.nan, np.inf, 70.0, -1.0], np.float32)
    mm = encode_depth_mm(d)
    assert mm.dtype == np.uint16
    assert mm.tolist() == [623, 1000, 12346, 0, 0, 0, 0, 0]              # beyond 65.5 m: "none", never wrapped
    back = decode_depth_m(mm)
    assert np.allclose(back[:3], [0.623, 1.0, 12.346]) and np.isnan(back[3:]).all()


def test_simulate_writes_and_reads_part_masks_and_depth(dms_cli, tmp_path):
    out = tmp_path / "ds"
    rc, _, err = dms_cli("simulate", f"out={out}", *TINY, "render.part_masks=true", "render.depth=true", "--preview")
    assert rc == 0, err
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["aux"]["parts"][str(PART_IDS["eye"])] == "eye" and "millimetres" in meta["aux"]["depth"]
    ds = open_dataset(out)
    seq = next(ds.sequences())
    assert len(seq.labels) == 12
    for lab in seq.labels:
        img = __import__("cv2").imread(str(seq.frame_path(lab.frame_index, "nir")), -1)
        parts, depth = seq.parts(lab.frame_index), seq.depth(lab.frame_index)
        assert parts.shape == depth.shape == img.shape[:2]
        # the labels' landmarks fall on the face in the mask, at a plausible depth (the mock's face plane)
        x, y = np.round(np.asarray(lab.landmarks_px)[1]).astype(int)     # nose tip
        assert parts[y, x] == PART_IDS["face_skin"] and 0.3 < depth[y, x] < 1.5
        assert (parts == PART_IDS["eye"]).any() and np.isnan(depth[parts == 0]).all()
    frames = list(ds.crops(kind="frame"))
    assert len(frames) == 4                                           # 2 frames x rgb + nir, one mask per frame
    assert {c.label.attrs["parts_file"] for c in frames} == {"frame/parts/000000_frame.png",
                                                              "frame/parts/000001_frame.png"}
    for c in frames:
        assert c.parts().shape == c.depth().shape == (72, 96)
    assert all("parts_file" not in (c.label.attrs or {}) for c in ds.crops(kind="eye"))
    # a part mask is not a depth map: a clear error, not garbage
    with pytest.raises(DataError, match="uint16"):
        read_depth(seq.path / "parts" / "000000.png")
    assert read_parts(seq.path / "parts" / "missing.png") is None
    # resuming with the outputs switched off is a different dataset: refused
    rc, _, err = dms_cli("simulate", f"out={out}", *TINY)
    assert rc == 2 and "different config" in err and "render" in err


def test_without_the_flags_nothing_extra_is_written(dms_cli, tmp_path):
    out = tmp_path / "ds"
    rc, _, err = dms_cli("simulate", f"out={out}", *TINY)
    assert rc == 0, err
    seq = next(open_dataset(out).sequences())
    assert seq.parts(0) is None and seq.depth(0) is None and not (seq.path / "parts").exists()
    assert "aux" not in json.loads((out / "dataset.json").read_text())
    assert all(c.parts() is None for c in open_dataset(out).crops(kind="frame"))
