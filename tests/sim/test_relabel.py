"""`dms simulate --relabel`: a rendered dataset's labels are recomputed by replaying its shards (no rendering),
new label fields appear, images are kept, and a replay that would change an existing label is refused."""
from __future__ import annotations

import json

from dms.data.dataset import SUCCESS, _sha256, open_dataset
from tests.sim.test_cli_simulate import TINY


def _strip_attr(path, key):
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for r in rows:
        r["attrs"].pop(key, None)
    path.write_text("\n".join(json.dumps(r, sort_keys=True, separators=(",", ":")) for r in rows) + "\n")


def test_relabel_adds_new_fields_keeps_images_and_refuses_divergence(dms_cli, tmp_path):
    root = tmp_path / "ds"
    rc, out, err = dms_cli("simulate", f"out={root}", *TINY)
    assert rc == 0, err
    eye = next(d for d in sorted((root / "shards").iterdir()) if d.name.startswith("eye"))
    before = (eye / "crops.jsonl").read_bytes()
    img = next((eye / "eye").rglob("*.png"))
    ino = img.stat().st_ino
    # an "old" dataset: labels written before gaze_view_deg existed
    _strip_attr(eye / "crops.jsonl", "gaze_view_deg")
    assert (eye / "crops.jsonl").read_bytes() != before

    rc, out, err = dms_cli("simulate", f"out={root}", "--relabel", "--json")
    assert rc == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["relabelled"] == 1 and summary["unchanged"] == summary["shards"] - 1
    assert (eye / "crops.jsonl").read_bytes() == before          # the field is back, byte for byte
    assert img.stat().st_ino == ino                               # images kept (hard links, not copies)
    files = json.loads((eye / SUCCESS).read_text())["files"]
    assert all(_sha256(eye / rel) == h for rel, h in files.items())          # shard hashes valid again
    crops = list(open_dataset(root).crops(kind="eye"))
    assert crops and all("gaze_view_deg" in c.label.attrs for c in crops)

    # a changed existing value means the sampling differs from the render: refused, nothing written
    rows = [json.loads(line) for line in (eye / "crops.jsonl").read_text().splitlines()]
    rows[0]["eye_openness"] = 0.123
    (eye / "crops.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    tampered = (eye / "crops.jsonl").read_bytes()
    rc, out, err = dms_cli("simulate", f"out={root}", "--relabel")
    assert rc != 0 and "changes an existing label" in err and "eye_openness" in err
    assert (eye / "crops.jsonl").read_bytes() == tampered

    rc, out, err = dms_cli("simulate", f"out={tmp_path / 'nothing'}", "--relabel")
    assert rc == 2 and "not a rendered dataset" in err
