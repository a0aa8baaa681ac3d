#!/usr/bin/env python
"""Build the committed head asset ``cabin_assets/head/canonical_face.npz`` from MediaPipe's canonical face mesh.

Run once by a developer (never at run time). Source: the npm package ``@mediapipe/face_mesh`` (Apache-2.0), whose
``face_mesh_solution_packed_assets.data`` bundles
``/third_party/mediapipe/modules/face_geometry/data/geometry_pipeline_metadata_landmarks.binarypb`` — the
face-geometry pipeline metadata, whose ``canonical_mesh`` is the 468-vertex canonical face (vertex index =
FaceMesh landmark id, units cm, x = subject's left, y = up, z = out of the face) with UVs and 898 triangles. It is
parsed with the protobuf module shipped in the ``mediapipe`` pip wheel.

Usage::

    cd /tmp && npm pack @mediapipe/face_mesh          # -> mediapipe-face_mesh-<ver>.tgz
    python tools/build_head_asset.py --npm-tgz /tmp/mediapipe-face_mesh-<ver>.tgz
    # or, with the extracted geometry file:
    python tools/build_head_asset.py --binarypb geometry_pipeline_metadata_landmarks.binarypb

Writes ``canonical_face.npz`` (vertices_cm float64 468x3, uv float64 468x2, triangles int32 898x3,
procrustes_ids int32, procrustes_weights float64) and updates the entry in ``cabin_assets/manifest.json``.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import re
import sys
import tarfile
from pathlib import Path

import numpy as np

LOG = logging.getLogger("build_head_asset")
GEOMETRY_NAME = "geometry_pipeline_metadata_landmarks.binarypb"
REPO = Path(__file__).resolve().parents[1]


def _binarypb_from_tgz(tgz: Path) -> tuple[bytes, str]:
    with tarfile.open(tgz, "r:gz") as tf:
        names = tf.getnames()
        loader = tf.extractfile(next(n for n in names if n.endswith("face_mesh_solution_packed_assets_loader.js")))
        data = tf.extractfile(next(n for n in names if n.endswith("face_mesh_solution_packed_assets.data")))
        pkg = json.load(tf.extractfile(next(n for n in names if n.endswith("package.json"))))
        js = loader.read().decode("utf-8", "replace")
        blob = data.read()
    m = re.search(r'"filename":\s*"[^"]*' + re.escape(GEOMETRY_NAME) + r'",\s*"start":\s*(\d+),\s*"end":\s*(\d+)', js)
    if not m:
        raise SystemExit(f"{GEOMETRY_NAME} not listed in the package's asset loader")
    start, end = int(m.group(1)), int(m.group(2))
    return blob[start:end], f"npm {pkg['name']}@{pkg['version']} ({pkg.get('license', '?')})"


def parse_geometry(raw: bytes) -> dict[str, np.ndarray]:
    from mediapipe.modules.face_geometry.protos import geometry_pipeline_metadata_pb2 as gpm
    meta = gpm.GeometryPipelineMetadata()
    meta.ParseFromString(raw)
    mesh = meta.canonical_mesh
    vb = np.asarray(mesh.vertex_buffer, dtype=np.float64).reshape(-1, 5)   # VERTEX_PT: x y z u v
    tris = np.asarray(mesh.index_buffer, dtype=np.int32).reshape(-1, 3)
    if vb.shape[0] != 468:
        raise SystemExit(f"expected 468 canonical vertices, got {vb.shape[0]}")
    ids = np.asarray([p.landmark_id for p in meta.procrustes_landmark_basis], dtype=np.int32)
    w = np.asarray([p.weight for p in meta.procrustes_landmark_basis], dtype=np.float64)
    return {"vertices_cm": vb[:, :3].copy(), "uv": vb[:, 3:5].copy(), "triangles": tris,
            "procrustes_ids": ids, "procrustes_weights": w}


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--npm-tgz", type=Path, help="tarball from `npm pack @mediapipe/face_mesh`")
    src.add_argument("--binarypb", type=Path, help=f"an extracted {GEOMETRY_NAME}")
    ap.add_argument("--out", type=Path, default=REPO / "cabin_assets" / "head" / "canonical_face.npz")
    args = ap.parse_args(argv)
    if args.npm_tgz:
        raw, origin = _binarypb_from_tgz(args.npm_tgz)
    else:
        raw, origin = args.binarypb.read_bytes(), f"file {args.binarypb.name}"
    arrays = parse_geometry(raw)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(buf.getvalue())
    sha = hashlib.sha256(buf.getvalue()).hexdigest()
    LOG.info("wrote %s (%d bytes, sha256 %s) from %s", args.out, len(buf.getvalue()), sha[:16], origin)
    manifest_path = args.out.parents[1] / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {"schema": "dms.assets/1",
                                                                                      "assets": []}
    entry = {"id": "head/canonical_face", "file": str(args.out.relative_to(args.out.parents[1])),
             "sha256": sha, "licence": "Apache-2.0", "source": f"MediaPipe canonical face mesh, {origin}",
             "units": "cm (vertices_cm); uv in [0,1]", "axes": "x = subject's left, y = up, z = out of the face",
             "built_by": "tools/build_head_asset.py"}
    manifest["assets"] = [a for a in manifest["assets"] if a.get("id") != entry["id"]] + [entry]
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
