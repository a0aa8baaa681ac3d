"""The numpy head model: one closed head mesh built on MediaPipe's canonical face (vertex i = landmark i).

The same arrays feed the labels (pure numpy) and the Blender mesh (``dms.sim.blender``), so landmark labels are
exact by construction. Head-local frame = MediaPipe canonical: x = subject's left, y = up, z = out of the face,
**metres** (the asset is in cm). Built from ``cabin_assets/head/canonical_face.npz`` (see
``tools/build_head_asset.py``):

* the 468 face vertices, the eye openings and the mouth opened (their fill triangles removed), the lips closed;
* a skull shell from the face oval back to an occipital pole; ears;
* per eye a socket wall from the lid ring into the eyeball (a ~1 mm pink lid-margin band, then white-pink
  conjunctiva filling the canthi), and upper eyelashes; the eyeball sits as far forward as the lids allow, so the
  lid margins ride on the globe (:func:`globe_radius`, cornea bulge included) and the fissure shows the sclera,
  iris and cornea across the whole landmark eye contour; closing lids slide over the cornea, never through it;
* a mouth cavity bag behind the inner lips (red inner-lip mucosa ballooning toward the gums, then the oral
  cavity narrowing to the pharynx), arched upper/lower teeth rows and a tongue; the jaw opens the lower lip on an
  elliptical profile (a rounded opening), the upper lip lifts and the lower lip everts so teeth show in a yawn;
* identity variation: named face-shape coefficients (displacement fields around landmarks), in [-1, 1].

Shape keys (linear deltas, piecewise-linear in the control value, identical in Blender):
``eyeR_<o>`` / ``eyeL_<o>`` for eye openness levels :data:`EYE_LEVELS` (the upper lid rotates about the eyeball
centre down onto the lower lid, which rises slightly; crease/lashes follow), ``mouth_<m>`` for mouth openness
levels :data:`MOUTH_LEVELS` (the jaw, lower lip, lower teeth and tongue rotate about the jaw pivot; the corners
drop to mid-opening and draw in, the upper lip lifts in an arch: closed -> talking slit -> round/oval yawn) and
``smile`` (corners up/out, cheeks up; with an open mouth a laugh). Eyeballs are separate rigid bodies (centre +
radius per eye) that rotate for gaze.

May import numpy, stdlib, dms.sim.camera (no bpy).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from dms.errors import DmsError

ASSET_DIR = Path(__file__).resolve().parents[2] / "cabin_assets"
HEAD_ASSET = ASSET_DIR / "head" / "canonical_face.npz"

# MediaPipe eye contours (driver's right eye; the left eye is found by mirror symmetry of the canonical mesh).
R_UPPER0 = (246, 161, 160, 159, 158, 157, 173)
R_UPPER1 = (247, 30, 29, 27, 28, 56, 190)
R_UPPER2 = (113, 225, 224, 223, 222, 221, 189)
R_LOWER0 = (33, 7, 163, 144, 145, 153, 154, 155, 133)
R_LOWER1 = (130, 25, 110, 24, 23, 22, 26, 112, 243)
INNER_LIP_UPPER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
INNER_LIP_LOWER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
MOUTH_CORNERS = (61, 291)

EYE_LEVELS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.3)      # 1.0 = basis (the identity's neutral open eye)
MOUTH_LEVELS = (0.0, 0.35, 0.7, 1.0)               # 0.0 = basis (lips closed)
JAW_OPEN_MAX_DEG = 16.0
MOUTH_CORNER_JAW = 0.45                             # jaw share of the mouth corners (they drop to mid-opening)
UPPER_LIP_LIFT_M = 0.0055                           # upper inner lip lift at the centre in a full yawn
CORNER_PULL_M = 0.005                               # each mouth corner draws in by this much in a full yawn
EYE_BASIS_OPEN_DEG = (9.0, 3.0)                     # upper / lower lid rotation added to the canonical eye
EYE_SCLERA_RADIUS_M = 0.0115
CORNEA_RADIUS_M = 0.0078
CORNEA_OFFSET_M = 0.0052                            # cornea sphere centre ahead of the eyeball centre
LID_GAP_M = 0.0006                                  # lid margin rides this far above the globe (cornea/sclera)
LID_MARGIN_BAND_M = 0.0011                          # width of the pink lid-margin band inside the lid ring

#: anatomical eye corners (``Identity.canthus_depth``, 0 = the canonical mesh as is, 1 = full): the canonical lid
#: ring is nearly flat on the nasal side, and with the globe placed behind the lid centres the medial canthus sits
#: 0.8 mm behind the corneal apex, the lateral one 6.6 mm: the eyeball centre lies 9.3 mm behind the midpoint of the
#: corners. Real canthi sit far behind the apex (lateral ~11 mm, medial ~8 mm): the centre lies ~3-5 mm behind the
#: corner midpoint (measured on Columbia Gaze eye patches: the iris moves 0.34x as far across the eye per degree of
#: head turn as per degree of gaze; by the labels of these renders 0.81x, at depth 1 0.37x). That depth is what a
#: head turn does to an eye crop.
#: At depth d the globe moves forward by d x CANTHUS_GLOBE_FORWARD_M; lid-ring vertices it would touch ride forward
#: on it (LID_HUG_CLEARANCE_M above), the corners stay, and the skin around follows smoothly (pushing the corners
#: back instead dug a shadowed pit beside the medial canthus). Measured (gaze 0.4.0, tools/train_models.py): an
#: eye-in-head gaze model trained on the twin of eye set 1 with depth 0.7-1.1 reads vertical gaze on real eyes
#: (Columbia pitch correlation ~0.3 vs ~0) and errs 0.6 deg less (three training seeds); eye_state did not gain.
CANTHUS_GLOBE_FORWARD_M = 0.0053
LID_HUG_CLEARANCE_M = 0.0004
CANTHUS_SKIN_SIGMA_M = 0.004

# materials (per-triangle index)
MAT_SKIN, MAT_MOUTH, MAT_TEETH, MAT_LASH, MAT_TONGUE, MAT_LIDMARGIN, MAT_CONJUNCTIVA, MAT_LIPIN = range(8)
MATERIAL_NAMES = ("skin", "mouth", "teeth", "lash", "tongue", "lid_margin", "conjunctiva", "lip_inner")

IDENTITY_COEFFS = ("face_width", "face_height", "face_depth", "jaw_width", "chin_length", "nose_length",
                   "nose_width", "eye_size", "eye_spacing", "brow_height", "lip_fullness", "cheek_fullness",
                   "forehead_slope", "head_size")


def globe_radius(theta: np.ndarray) -> np.ndarray:
    """Distance from the eyeball centre to its outer surface (cornea bulge or sclera) at angle ``theta`` (rad)
    from the optical axis, eye in primary gaze."""
    th = np.asarray(theta, np.float64)
    s, c = np.sin(th), np.cos(th)
    rc = CORNEA_OFFSET_M * c + np.sqrt(np.maximum(CORNEA_RADIUS_M ** 2 - (CORNEA_OFFSET_M * s) ** 2, 0.0))
    return np.maximum(rc, EYE_SCLERA_RADIUS_M)


def _globe_clearance(q: np.ndarray) -> np.ndarray:
    """Signed clearance (m) of points ``q`` (relative to the eyeball centre) above the globe + lid gap."""
    d = np.linalg.norm(q, axis=-1)
    th = np.arccos(np.clip(q[..., 2] / np.maximum(d, 1e-12), -1, 1))
    return d - globe_radius(th) - LID_GAP_M


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


@functools.lru_cache(maxsize=1)
def load_canonical() -> dict[str, np.ndarray]:
    if not HEAD_ASSET.exists():
        raise DmsError(f"head asset missing: {HEAD_ASSET} (rebuild with tools/build_head_asset.py)")
    with np.load(HEAD_ASSET) as z:
        return {k: z[k].copy() for k in z.files}


@functools.lru_cache(maxsize=1)
def mirror_index() -> np.ndarray:
    """mirror[i] = the canonical vertex at (-x, y, z) of vertex i (the mesh is symmetric)."""
    v = load_canonical()["vertices_cm"]
    m = v * np.array([-1.0, 1.0, 1.0])
    d = ((v[:, None, :] - m[None, :, :]) ** 2).sum(-1)
    return d.argmin(axis=1)


def _mir(ids: Sequence[int]) -> tuple[int, ...]:
    mi = mirror_index()
    return tuple(int(mi[i]) for i in ids)


def _boundary_loop(tris: np.ndarray) -> list[int]:
    from collections import Counter, defaultdict
    cnt: Counter = Counter()
    directed = {}
    for t in tris:
        for a, b in ((t[0], t[1]), (t[1], t[2]), (t[2], t[0])):
            cnt[tuple(sorted((int(a), int(b))))] += 1
            directed[(int(a), int(b))] = True
    nxt: dict[int, int] = {}
    for (a, b), c in cnt.items():
        if c == 1:  # boundary edge; follow the mesh orientation (a->b present as a directed edge)
            if (a, b) in directed:
                nxt[a] = b
            else:
                nxt[b] = a
    start = min(nxt)
    loop = [start]
    while nxt[loop[-1]] != start:
        loop.append(nxt[loop[-1]])
    return loop


@dataclass
class HeadGeometry:
    """One identity's head: base vertices (head-local metres), topology, shape keys, eyeballs."""
    vertices: np.ndarray                 # V x 3 basis (eyes open at 1.0, mouth closed)
    triangles: np.ndarray                # T x 3 int32
    tri_material: np.ndarray             # T int8 (MAT_*)
    uv: np.ndarray                       # V x 2 (canonical UV; non-face vertices get nearby face UVs)
    keys: dict[str, np.ndarray]          # name -> V x 3 delta
    eye_centers: dict[str, np.ndarray]   # "left"/"right" -> 3 (head-local metres)
    eye_radius_m: float
    jaw_pivot: np.ndarray
    hair_vertices: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    hair_triangles: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.int32))

    @property
    def n_vertices(self) -> int:
        return int(self.vertices.shape[0])

    def deform(self, weights: Mapping[str, float]) -> np.ndarray:
        v = self.vertices.copy()
        for name, w in weights.items():
            if w:
                v += w * self.keys[name]
        return v


def _interp_weights(levels: Sequence[float], value: float, basis: float, prefix: str) -> dict[str, float]:
    lv = list(levels)
    value = float(np.clip(value, lv[0], lv[-1]))
    i = int(np.searchsorted(lv, value, side="right") - 1)
    i = min(max(i, 0), len(lv) - 2)
    a, b = lv[i], lv[i + 1]
    t = (value - a) / (b - a)
    out = {f"{prefix}{x:.2f}": 0.0 for x in lv if x != basis}
    if a != basis:
        out[f"{prefix}{a:.2f}"] += 1 - t
    if b != basis:
        out[f"{prefix}{b:.2f}"] += t
    return out


def key_weights(eye_openness_left: float, eye_openness_right: float, mouth_openness: float,
                smile: float = 0.0, tongue: float = 0.0) -> dict[str, float]:
    """Shape-key weights for a pose (same function drives Blender's key blocks). ``smile``, ``tongue`` (tongue out)
    0..1 (linear keys)."""
    if not (0.0 <= smile <= 1.0):
        raise ValueError(f"smile must be in [0, 1], got {smile}")
    if not (0.0 <= tongue <= 1.0):
        raise ValueError(f"tongue must be in [0, 1], got {tongue}")
    w = _interp_weights(EYE_LEVELS, eye_openness_left, 1.0, "eyeL_")
    w.update(_interp_weights(EYE_LEVELS, eye_openness_right, 1.0, "eyeR_"))
    w.update(_interp_weights(MOUTH_LEVELS, mouth_openness, 0.0, "mouth_"))
    w["smile"] = float(smile)
    w["tongue"] = float(tongue)
    return w


def pose_smile(pose) -> float:
    """A DriverPose's smile amount (``pose.extra["smile"]``, 0 when absent)."""
    return float((getattr(pose, "extra", None) or {}).get("smile", 0.0))


def pose_tongue(pose) -> float:
    """A DriverPose's tongue-out amount (``pose.extra["tongue"]``, 0 when absent)."""
    return float((getattr(pose, "extra", None) or {}).get("tongue", 0.0))


# ------------------------------------------------------------------------------------------------------------
class HeadModel:
    """Builds :class:`HeadGeometry` for identity coefficients (cached per identity)."""

    def __init__(self) -> None:
        c = load_canonical()
        self.v0 = c["vertices_cm"] * 0.01
        self.uv0 = c["uv"]
        tris = c["triangles"].astype(np.int32)
        self.eye_rings = {"right": R_LOWER0 + tuple(reversed(R_UPPER0)), "left": _mir(R_LOWER0) + tuple(
            reversed(_mir(R_UPPER0)))}
        inner = set(INNER_LIP_UPPER) | set(INNER_LIP_LOWER)
        drop = np.zeros(len(tris), bool)
        for ring in (set(self.eye_rings["right"]), set(self.eye_rings["left"]), inner):
            drop |= np.isin(tris, list(ring)).all(axis=1)
        self.face_tris = tris[~drop]
        self.oval = _boundary_loop(tris)
        self._cache: dict[tuple, HeadGeometry] = {}

    # --- identity ---------------------------------------------------------------------------------------
    def _identity_face(self, coeffs: Mapping[str, float]) -> np.ndarray:
        unknown = set(coeffs) - set(IDENTITY_COEFFS)
        if unknown:
            raise ValueError(f"unknown identity coefficients {sorted(unknown)}; known: {IDENTITY_COEFFS}")
        c = {k: float(np.clip(coeffs.get(k, 0.0), -1.5, 1.5)) for k in IDENTITY_COEFFS}
        v = self.v0.copy()
        x, y, z = v[:, 0], v[:, 1], v[:, 2]

        def g(center_ids, radius_m):
            ctr = self.v0[list(center_ids)].mean(axis=0)
            d2 = ((self.v0 - ctr) ** 2).sum(-1)
            return np.exp(-d2 / (2 * radius_m ** 2))

        # close the lips: the canonical mouth is slightly parted
        mid = 0.5 * (self.v0[13, 1] + self.v0[14, 1])
        for upper, lower in zip(INNER_LIP_UPPER[1:-1], INNER_LIP_LOWER[1:-1]):
            for idx in (upper, _mir([upper])[0]):
                v[idx, 1] = mid + 0.0003
            for idx in (lower, _mir([lower])[0]):
                v[idx, 1] = mid - 0.0003
        v[[61, 291], 1] += 0.0
        x, y, z = v[:, 0], v[:, 1], v[:, 2]
        v[:, 0] *= 1 + 0.06 * c["face_width"]
        v[:, 1] *= 1 + 0.05 * c["face_height"]
        v[:, 2] = (z + 0.02) * (1 + 0.07 * c["face_depth"]) - 0.02
        jaw = _smoothstep((-0.03 - y) / 0.05)
        v[:, 0] *= 1 + 0.09 * c["jaw_width"] * jaw
        chin = _smoothstep((-0.055 - y) / 0.035)
        v[:, 1] -= 0.006 * c["chin_length"] * chin
        v[:, 2] += 0.004 * c["nose_length"] * g([1, 4], 0.012)
        v[:, 1] -= 0.002 * c["nose_length"] * g([1, 2], 0.012)
        nw = g([2, 98, 327], 0.012)
        v[:, 0] *= 1 + 0.15 * c["nose_width"] * nw
        for side, ring in (("right", R_LOWER0 + R_UPPER0), ("left", _mir(R_LOWER0 + R_UPPER0))):
            ge = g(ring, 0.011)
            ctr = self.v0[list(ring)].mean(axis=0)
            v += (0.09 * c["eye_size"] * ge)[:, None] * (self.v0 - ctr)
            v[:, 0] += np.sign(ctr[0]) * 0.002 * c["eye_spacing"] * ge
        gb = g([105, 66, 107, 334, 296, 336], 0.02) * (y > 0.02)
        v[:, 1] += 0.003 * c["brow_height"] * gb
        gl = g([0, 17, 61, 291], 0.012)
        v[:, 1] += np.sign(y - mid) * 0.0012 * c["lip_fullness"] * gl * (np.abs(y - mid) > 0.0008)
        v[:, 2] += 0.001 * c["lip_fullness"] * gl
        gc = g([205], 0.022) + g([425], 0.022)
        v[:, 2] += 0.003 * c["cheek_fullness"] * gc
        v[:, 0] += np.sign(x) * 0.002 * c["cheek_fullness"] * gc
        v[:, 2] -= 0.004 * c["forehead_slope"] * _smoothstep((y - 0.04) / 0.045)
        v *= 1 + 0.04 * c["head_size"]
        return v

    # --- topology around the face --------------------------------------------------------------------------
    def geometry(self, coeffs: Mapping[str, float] | None = None, hair_length: float = 0.5,
                 hair_volume_m: float = 0.008, hairline: float = 0.5, canthus_depth: float = 0.0) -> HeadGeometry:
        key = (tuple(sorted((coeffs or {}).items())), round(hair_length, 4), round(hair_volume_m, 5),
               round(hairline, 4), round(float(canthus_depth), 4))
        if key not in self._cache:
            if len(self._cache) > 8:
                self._cache.clear()
            self._cache[key] = self._build(coeffs or {}, hair_length, hair_volume_m, hairline, canthus_depth)
        return self._cache[key]

    def _canthus_depth(self, face: np.ndarray, eye_centers: dict[str, np.ndarray], depth: float) -> None:
        """Bring the globes forward of the eye corners (in place: ``face`` and ``eye_centers``; see
        CANTHUS_GLOBE_FORWARD_M)."""
        if depth <= 0.0:
            return
        base = face.copy()
        old_centers = {side: c.copy() for side, c in eye_centers.items()}
        dz = np.zeros(len(face))
        ring_all: list[int] = []
        for side, ring in self.eye_rings.items():
            ctr = eye_centers[side].copy()
            ctr[2] += depth * CANTHUS_GLOBE_FORWARD_M
            eye_centers[side] = ctr
            ids = np.asarray(ring)
            q = base[ids] - ctr
            # the smallest z >= current with clearance LID_HUG_CLEARANCE_M (bisection)
            lo, hi = q[:, 2].copy(), q[:, 2] + 0.02
            for _ in range(40):
                mid = 0.5 * (lo + hi)
                ok = _globe_clearance(np.stack([q[:, 0], q[:, 1], mid], axis=1)) >= LID_HUG_CLEARANCE_M
                hi = np.where(ok, mid, hi)
                lo = np.where(ok, lo, mid)
            ok0 = _globe_clearance(q) >= LID_HUG_CLEARANCE_M
            dz[ids] = np.where(ok0, 0.0, hi - q[:, 2])
            ring_all += list(ring)
        ring_ids = np.asarray(ring_all)
        # the skin around follows: normalised Gaussian interpolation of the ring's moves, fading with distance
        others = np.setdiff1d(np.arange(len(face)), ring_ids)
        d = np.linalg.norm(base[others][:, None, :] - base[ring_ids][None, :, :], axis=2)
        near = d.min(axis=1) < 4 * CANTHUS_SKIN_SIGMA_M
        o, d = others[near], d[near]
        w = np.exp(-d ** 2 / (2 * CANTHUS_SKIN_SIGMA_M ** 2))
        fade = np.exp(-d.min(axis=1) ** 2 / (2 * CANTHUS_SKIN_SIGMA_M ** 2))
        dz[o] = (w @ dz[ring_ids]) / np.maximum(w.sum(axis=1), 1e-12) * fade
        face[:, 2] += dz
        # no skin inside a globe: lift any vertex now closer to the moved globe than 0.3 mm (or than it was to the
        # globe before the move) straight forward
        for side in self.eye_rings:
            ctr = eye_centers[side]
            c0 = np.minimum(_globe_clearance(base[o] - old_centers[side]), 0.0003)
            for _ in range(60):
                bad = _globe_clearance(face[o] - ctr) < c0
                if not bad.any():
                    break
                face[o[bad], 2] += 0.0002

    def _build(self, coeffs: Mapping[str, float], hair_length: float, hair_volume_m: float,
               hairline: float, canthus_depth: float = 0.0) -> HeadGeometry:
        face = self._identity_face(coeffs)
        verts: list[np.ndarray] = [face]
        uvs: list[np.ndarray] = [self.uv0.copy()]
        tris: list[np.ndarray] = [self.face_tris]
        mats: list[np.ndarray] = [np.full(len(self.face_tris), MAT_SKIN, np.int8)]
        n = [face.shape[0]]
        # per-vertex roles for shape keys
        lid_role: list[tuple[int, str, str, float, float]] = []   # (vertex, side, upper|lower, column pos, w)

        def add(v: np.ndarray, uv: np.ndarray) -> np.ndarray:
            idx = np.arange(n[0], n[0] + len(v))
            verts.append(v)
            uvs.append(uv)
            n[0] += len(v)
            return idx

        def add_tris(t, mat):
            t = np.asarray(t, np.int32).reshape(-1, 3)
            tris.append(t)
            mats.append(np.full(len(t), mat, np.int8))

        # eyeballs
        eye_centers: dict[str, np.ndarray] = {}
        for side, ring in self.eye_rings.items():
            rp = face[list(ring)]
            ctr = np.array([rp[:, 0].mean(), 0.5 * (face[ring[4], 1] + face[ring[-5], 1]) + 0.0010, 0.0])
            zc = rp[:, 2].mean() - 0.0060
            for _ in range(200):  # push back until every lid vertex rides on (just above) the cornea/sclera
                ctr[2] = zc
                if _globe_clearance(rp - ctr).min() >= 0.0:
                    break
                zc -= 0.0001
            eye_centers[side] = ctr.copy()
        self._canthus_depth(face, eye_centers, float(canthus_depth))
        # eye sockets: lid margin from the ring into the eyeball (a narrow pink margin band, then conjunctiva)
        sock_of: dict[str, np.ndarray] = {}
        sock_pos: dict[str, np.ndarray] = {}
        derived: list[tuple[int, int, int, float]] = []     # (vertex, a, b, t): v = (1-t) a + t b, in every key
        for side, ring in self.eye_rings.items():
            ctr = eye_centers[side]
            rp = face[list(ring)]
            d = rp - ctr
            sock = ctr + d / np.linalg.norm(d, axis=1, keepdims=True) * (EYE_SCLERA_RADIUS_M - 0.0012)
            si = add(sock, self.uv0[list(ring)])
            sock_of[side] = si
            sock_pos[side] = sock
        for side, ring in self.eye_rings.items():
            si = sock_of[side]
            rp = face[list(ring)]
            sp = sock_pos[side]
            tt = np.clip(LID_MARGIN_BAND_M / np.maximum(np.linalg.norm(sp - rp, axis=1), 1e-6), 0.05, 0.6)
            mi = add(rp + tt[:, None] * (sp - rp), self.uv0[list(ring)])
            derived += [(int(mi[k]), int(ring[k]), int(si[k]), float(tt[k])) for k in range(len(ring))]
            m = len(ring)
            band, conj = [], []
            for k in range(m):
                a, b = ring[k], ring[(k + 1) % m]
                ma, mb = mi[k], mi[(k + 1) % m]
                sa, sb = si[k], si[(k + 1) % m]
                band += [(a, ma, mb), (a, mb, b)]   # orient toward the eyeball (checked by rendering)
                conj += [(ma, sa, sb), (ma, sb, mb)]
            add_tris(band, MAT_LIDMARGIN)
            add_tris(conj, MAT_CONJUNCTIVA)
        # skull shell from the face oval to an occipital pole
        oval = np.array(self.oval)
        b = face[oval]
        hs = 1 + 0.04 * float(coeffs.get("head_size", 0.0))
        c = np.array([0.0, 0.012, -0.048]) * hs
        rad = np.array([max(np.abs(b[:, 0]).max() * 1.01, 0.07), 0.112 * hs, 0.102 * hs])
        q = b - c
        r0 = np.linalg.norm(q, axis=1)
        th0 = np.arccos(np.clip(q[:, 2] / r0, -1, 1))
        ph = np.arctan2(q[:, 1], q[:, 0])
        K = 8
        rings = [oval]
        for k in range(1, K + 1):
            s = k / (K + 1)
            th = th0 + (np.pi - th0) * s
            dvec = np.stack([np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph), np.cos(th)], axis=1)
            re = 1.0 / np.sqrt(((dvec / rad) ** 2).sum(1))
            blend = _smoothstep(np.full_like(re, s * 3.0))
            p = c + dvec * ((1 - blend) * r0 + blend * re)[:, None]
            rings.append(add(p, self.uv0[oval]))
        pole = add(c[None] + np.array([[0.0, 0.0, -rad[2]]]), np.array([[0.5, 0.5]]))[0]
        m = len(oval)
        shell = []
        for k in range(K):
            r_a, r_b = rings[k], rings[k + 1]
            for i in range(m):
                j = (i + 1) % m
                # the oval loop runs with the face orientation; the shell continues outward-facing
                shell += [(r_a[j], r_a[i], r_b[i]), (r_a[j], r_b[i], r_b[j])]
        for i in range(m):
            shell.append((rings[-1][(i + 1) % m], rings[-1][i], pole))
        add_tris(shell, MAT_SKIN)
        shell_first = int(rings[1][0])
        # ears: flattened ellipsoids at the sides
        for sgn in (-1.0, 1.0):
            ec = np.array([sgn * (rad[0] * 0.93), -0.004, -0.058])
            uu, vv = np.meshgrid(np.linspace(0, np.pi, 7), np.linspace(0, 2 * np.pi, 11)[:-1], indexing="ij")
            pts = np.stack([np.sin(uu) * np.cos(vv) * 0.011 + sgn * 0.006 * np.sin(uu),
                            np.cos(uu) * 0.031, np.sin(uu) * np.sin(vv) * 0.018], -1).reshape(-1, 3) + ec
            ei = add(pts, np.tile(self.uv0[[234 if sgn < 0 else 454]], (len(pts), 1))).reshape(7, 10)
            et = []
            for a in range(6):
                for bb in range(10):
                    p00, p01 = ei[a, bb], ei[a, (bb + 1) % 10]
                    p10, p11 = ei[a + 1, bb], ei[a + 1, (bb + 1) % 10]
                    et += [(p00, p10, p11), (p00, p11, p01)] if sgn > 0 else [(p00, p11, p10), (p00, p01, p11)]
            add_tris(et, MAT_SKIN)
        # mouth cavity: rings behind the inner lips + pole; lower half belongs to the jaw. The first segment is
        # the lips' inner (wet, red) mucosa ballooning up/down behind the lips toward the gums, then the oral
        # cavity narrowing into a dark pharynx. Teeth and tongue sit inside the balloon.
        lip_loop = list(INNER_LIP_UPPER) + list(reversed(INNER_LIP_LOWER[1:-1]))
        lp = face[lip_loop]
        mc = lp.mean(axis=0)
        half_w = 0.5 * float(np.ptp(lp[:, 0]))
        xprof = np.sqrt(np.clip(1 - (lp[:, 0] - mc[0]) ** 2 / half_w ** 2, 0, 1))
        cav_rings = [np.array(lip_loop)]
        cav_spec = [(0.0025, 0.97, 0.005), (0.009, 1.0, 0.011), (0.024, 0.85, 0.011), (0.036, 0.55, 0.007)]
        for depth, sx, dy in cav_spec:
            p = mc + (lp - mc) * np.array([sx, 1.0, 1.0])
            p[:, 1] = lp[:, 1] + np.sign(lp[:, 1] - mc[1]) * dy * (0.35 + 0.65 * xprof)
            p[:, 2] = lp[:, 2] - depth
            cav_rings.append(add(p, self.uv0[lip_loop]))
        cav_pole = add((mc + np.array([0.0, 0.0, -0.045]))[None], self.uv0[[13]])[0]
        mm = len(lip_loop)
        for k in range(len(cav_rings) - 1):
            ra, rb = cav_rings[k], cav_rings[k + 1]
            cav = []
            for i in range(mm):
                j = (i + 1) % mm
                cav += [(ra[i], ra[j], rb[j]), (ra[i], rb[j], rb[i])]
            add_tris(cav, MAT_LIPIN if k == 0 else MAT_MOUTH)
        add_tris([(cav_rings[-1][i], cav_rings[-1][(i + 1) % mm], cav_pole) for i in range(mm)], MAT_MOUTH)
        lower_set = set(INNER_LIP_LOWER[1:-1])
        upper_set = set(INNER_LIP_UPPER[1:-1])
        # tongue: a bump on the cavity floor behind the lower teeth (moves with the jaw)
        tc = mc + np.array([0.0, -0.008, -0.016])
        uu, vv = np.meshgrid(np.linspace(0, np.pi / 2, 5), np.linspace(0, 2 * np.pi, 17)[:-1], indexing="ij")
        tp = np.stack([np.sin(uu) * np.cos(vv) * 0.017, np.cos(uu) * 0.0115, np.sin(uu) * np.sin(vv) * 0.0105],
                      -1).reshape(-1, 3) + tc
        ti = add(tp, np.tile(self.uv0[[14]], (len(tp), 1))).reshape(5, 16)
        tt = []
        for a in range(4):
            for bb in range(16):
                p00, p01 = ti[a, bb], ti[a, (bb + 1) % 16]
                p10, p11 = ti[a + 1, bb], ti[a + 1, (bb + 1) % 16]
                tt += [(p00, p11, p10), (p00, p01, p11)]
        add_tris(tt, MAT_TONGUE)
        tongue_ids = ti.ravel().tolist()
        # teeth: arched rows behind the lips (upper incisors overlap the lower ones, ~2 mm overjet)
        teeth_ids = {}
        zl = face[13, 2]
        xs = np.linspace(-0.019, 0.019, 15)
        for part, (top, bot, dz) in (("upper", (0.0042, -0.0028, 0.0045)), ("lower", (-0.0008, -0.0095, 0.0062))):
            zz = zl - dz - 0.55 * (xs / 0.019) ** 2 * 0.013
            rows = []
            for yy in (top, bot):
                rows.append(np.stack([xs, np.full_like(xs, mc[1] + yy), zz], 1))
            ti2 = add(np.concatenate(rows), np.tile(self.uv0[[13]], (2 * len(xs), 1))).reshape(2, -1)
            tt = []
            for i in range(len(xs) - 1):
                tt += [(ti2[0, i], ti2[1, i], ti2[1, i + 1]), (ti2[0, i], ti2[1, i + 1], ti2[0, i + 1])]
            add_tris(tt, MAT_TEETH)
            teeth_ids[part] = ti2.ravel().tolist()
        # upper eyelashes
        lash_roots: dict[str, list[int]] = {}
        lash_cols: dict[str, np.ndarray] = {}
        for side, (lower0, upper0) in (("right", (R_LOWER0, R_UPPER0)), ("left", (_mir(R_LOWER0),
                                                                               _mir(R_UPPER0)))):
            poly_ids = (lower0[0],) + upper0 + (lower0[-1],)
            poly = face[list(poly_ids)]
            seg = np.linalg.norm(np.diff(poly, axis=0), axis=1)
            cum = np.concatenate([[0], np.cumsum(seg)]) / seg.sum()
            ts = np.linspace(0.05, 0.92, 40)   # dense enough to read as a dark fringe (closed eyes!) at 64 px
            lat = np.sign(poly[0, 0] - poly[-1, 0])        # outward (temporal) direction along x
            ids_all = []
            cols = []
            for li_, t in enumerate(ts):
                k = min(int(np.searchsorted(cum, t, side="right") - 1), len(poly) - 2)
                f = (t - cum[k]) / (cum[k + 1] - cum[k])
                root = poly[k] * (1 - f) + poly[k + 1] * f
                tang = poly[k + 1] - poly[k]
                tang /= np.linalg.norm(tang)
                # real lashes point mostly forward and curl up: seen from the front they are a dark fringe at the
                # lid margin with short tips, not a comb (deterministic per-lash jitter, no regular fence).
                # Tried: 72 longer, thicker lashes, and lashes that droop below the lid line of a closed eye (as
                # in CEW's closed close-ups), on the same scenes (seed 61): MRL 0.69 / 0.83 / 0.74 vs 0.93 for
                # these lashes; the eye-state model leans on the lash fringe, so these stay. Also tried: 30 % of
                # identities with 1.4-1.9x longer, thicker, darker lashes (seed 61, crop_samples 2, two training
                # seeds): MRL 0.893 / 0.900, CEW 0.812 / 0.795 vs 0.888 / 0.934, 0.816 / 0.766 without (same
                # renders otherwise): -2.8 points MRL for +2 CEW on average, not adopted.
                jit = (np.sin((li_ + 1) * 12.9898 + (side == "left") * 4.1) * 43758.5453) % 1.0
                length = (0.0055 + 0.002 * np.sin(np.pi * t)) * (0.8 + 0.4 * jit)
                d = np.array([0.22 * lat * (1 - t) - 0.03 + 0.08 * (jit - 0.5), 0.22, 0.97])
                d /= np.linalg.norm(d)
                up = np.array([0.0, 1.0, 0.0])
                mid = root + d * length * 0.55 + up * length * 0.04
                tip = root + d * length * 0.85 + up * length * 0.32
                w0, w1 = 0.0003, 0.00013
                pts = np.array([root - tang * w0, root + tang * w0, mid - tang * w1, mid + tang * w1, tip])
                li = add(pts, np.tile(self.uv0[[poly_ids[k]]], (5, 1)))
                add_tris([(li[0], li[1], li[3]), (li[0], li[3], li[2]), (li[2], li[3], li[4])], MAT_LASH)
                ids_all.append(li)
                cols.append(k - 1 + f)                    # fractional column along upper0 (-1 .. 7)
            lash_roots[side] = ids_all
            lash_cols[side] = np.array(cols)

        V = np.concatenate(verts)
        UV = np.concatenate(uvs)
        T = np.concatenate(tris)
        M = np.concatenate(mats)
        # the canonical eyes are narrow: open the basis lids (upper up, lower down) about the eyeball centres
        for side, (lower0, upper0, upper1, lower1) in (
                ("right", (R_LOWER0, R_UPPER0, R_UPPER1, R_LOWER1)),
                ("left", (_mir(R_LOWER0), _mir(R_UPPER0), _mir(R_UPPER1), _mir(R_LOWER1)))):
            ctr = eye_centers[side]
            ring = self.eye_rings[side]
            base = 468 + (0 if side == "right" else len(self.eye_rings["right"]))
            sock = {int(v): base + k for k, v in enumerate(ring)}
            prof = np.sin(np.linspace(0, np.pi, 9))[1:-1] ** 0.5  # 0 at the corners, 1 mid-lid
            rot = []
            for ci in range(7):
                rot += [([upper0[ci], sock[upper0[ci]]], EYE_BASIS_OPEN_DEG[0] * prof[ci]),
                        ([upper1[ci]], 0.5 * EYE_BASIS_OPEN_DEG[0] * prof[ci]),
                        ([lower0[ci + 1], sock[lower0[ci + 1]]], -EYE_BASIS_OPEN_DEG[1] * prof[ci]),
                        ([lower1[ci + 1]], -0.4 * EYE_BASIS_OPEN_DEG[1] * prof[ci])]
            lash_ids = np.concatenate(lash_roots[side])
            lash_col = np.repeat(lash_cols[side], 5)
            for ids, deg in rot + [(list(lash_ids), None)]:
                ids = np.asarray(ids)
                if deg is None:
                    deg = EYE_BASIS_OPEN_DEG[0] * np.interp(lash_col + 1, np.arange(9),
                                                            np.sin(np.linspace(0, np.pi, 9)) ** 0.5)
                q = V[ids] - ctr
                a = np.arctan2(q[:, 1], q[:, 2]) + np.radians(deg)
                rr = np.hypot(q[:, 1], q[:, 2])
                V[ids] = np.stack([q[:, 0], rr * np.sin(a), rr * np.cos(a)], 1) + ctr
        # ---------------- shape keys ----------------
        keys: dict[str, np.ndarray] = {}
        for side, (lower0, upper0, upper1, upper2, lower1) in (
                ("right", (R_LOWER0, R_UPPER0, R_UPPER1, R_UPPER2, R_LOWER1)),
                ("left", (_mir(R_LOWER0), _mir(R_UPPER0), _mir(R_UPPER1), _mir(R_UPPER2), _mir(R_LOWER1)))):
            ctr = eye_centers[side]
            ring = self.eye_rings[side]
            sock_ids = {int(ring[k]): None for k in range(len(ring))}
            # socket vertices were added in ring order right after the face (right eye first)
            base = 468 + (0 if side == "right" else len(self.eye_rings["right"]))
            for k, vid in enumerate(ring):
                sock_ids[int(vid)] = base + k

            def ang(p):
                q = p - ctr
                return np.arctan2(q[..., 1], q[..., 2]), np.hypot(q[..., 1], q[..., 2])

            au, ru = ang(V[list(upper0)])
            al, rl = ang(V[list(lower0[1:-1])])
            am = al + 0.22 * (au - al)
            r_meet = 0.5 * (ru + rl)
            movers: list[tuple[np.ndarray, float, float, str]] = []   # (ids, col, weight, part)
            for ci in range(7):
                movers.append((np.array([upper0[ci], sock_ids[upper0[ci]]]), ci, 1.0, "u0"))
                movers.append((np.array([upper1[ci]]), ci, 0.55, "u"))
                movers.append((np.array([upper2[ci]]), ci, 0.18, "u"))
                movers.append((np.array([lower0[ci + 1], sock_ids[lower0[ci + 1]]]), ci, 1.0, "l0"))
                movers.append((np.array([lower1[ci + 1]]), ci, 0.35, "l"))
            for li, col in zip(lash_roots[side], lash_cols[side]):
                movers.append((np.asarray(li), float(col), 1.0, "lash"))

            def col_interp(arr, col):
                cc = np.clip(col, -1, 7)
                ext = np.concatenate([[0.0], arr, [0.0]])     # corners (cols -1, 7) do not move
                return float(np.interp(cc + 1, np.arange(len(ext)), ext))

            for level in EYE_LEVELS:
                if level == 1.0:
                    continue
                delta = np.zeros_like(V)
                for ids, col, w, part in movers:
                    upper = part[0] == "u" or part == "lash"
                    if upper:
                        dang = col_interp((level - 1.0) * (au - am), col) * w
                        dr = (col_interp(r_meet - ru, col) * w * (1 - min(level, 1.0))) if part == "u0" else 0.0
                    else:
                        dang = col_interp((1 - min(level, 1.0)) * (am - al), col) * w
                        dr = (col_interp(r_meet - rl, col) * w * (1 - min(level, 1.0))) if part == "l0" else 0.0
                    q = V[ids] - ctr
                    a0 = np.arctan2(q[:, 1], q[:, 2])
                    rr = np.hypot(q[:, 1], q[:, 2])
                    a1 = a0 + dang
                    r1 = np.maximum(rr + dr * (rr / max(float(np.mean(rr)), 1e-9)), 0.0)
                    if part in ("u0", "l0"):
                        r1[1:] = rr[1:]  # socket vertex keeps its radius (inside the eyeball)
                        for _ in range(3):  # the lid margin slides over the corneal bulge, never through it
                            p0 = np.array([q[0, 0], r1[0] * np.sin(a1[0]), r1[0] * np.cos(a1[0])])
                            th = np.arccos(np.clip(p0[2] / np.linalg.norm(p0), -1, 1))
                            need = float(globe_radius(th)) + LID_GAP_M
                            if np.linalg.norm(p0) >= need:
                                break
                            r1[0] = np.sqrt(max(need ** 2 - p0[0] ** 2, 0.0)) + 1e-5
                    newp = np.stack([q[:, 0], r1 * np.sin(a1), r1 * np.cos(a1)], axis=1) + ctr
                    delta[ids] = newp - V[ids]
                keys[f"eye{'L' if side == 'left' else 'R'}_{level:.2f}"] = delta
        # mouth: jaw rotation about the pivot (x axis) plus lip shaping toward a rounded, oval opening: the mouth
        # corners drop with the jaw to about mid-height of the opening, the upper lip lifts in an arch, the lower
        # lip drops in a U, the corners draw in as the opening grows (a yawn is taller than a talking mouth).
        pivot = np.array([0.0, -0.006, -0.062]) * hs
        mid_y = 0.5 * (V[13, 1] + V[14, 1])
        jw = np.zeros(len(V))
        face_y = V[:468, 1]
        yline = mid_y + 0.45 * np.maximum(0.0, np.abs(V[:468, 0]) - 0.02)
        jw[:468] = _smoothstep((yline - face_y) / 0.009)
        xw = max(abs(V[78, 0]), abs(V[308, 0]))
        arch = lambda x, p: np.clip(1 - (np.asarray(x) / xw) ** 2, 0, 1) ** p
        prof = lambda x: MOUTH_CORNER_JAW + (1 - MOUTH_CORNER_JAW) * arch(x, 0.4)
        below = _smoothstep((mid_y - face_y - 0.002) / 0.022)
        pf = prof(V[:468, 0])
        jw[:468] *= np.where(face_y < mid_y + 0.001, pf + (1 - pf) * below, 1.0)
        for vid in INNER_LIP_LOWER[1:-1]:
            for v2 in (vid, _mir([vid])[0]):
                jw[v2] = prof(V[v2, 0])
        # the upper lip's sides follow the corners down (the opening's top is an arch, not a flat lid)
        up_band = (face_y > mid_y - 0.0005) & (face_y < mid_y + 0.014)
        side = MOUTH_CORNER_JAW * (1 - arch(V[:468, 0], 0.5)) * _smoothstep((mid_y + 0.014 - face_y) / 0.012)
        jw[:468] = np.where(up_band, np.maximum(jw[:468], side), jw[:468])
        for vid in INNER_LIP_UPPER[1:-1]:
            jw[[vid, _mir([vid])[0]]] = MOUTH_CORNER_JAW * (1 - arch(V[vid, 0], 0.5))
        jw[[78, 308]] = MOUTH_CORNER_JAW
        jw[[61, 291]] = MOUTH_CORNER_JAW * 0.85
        near_mouth = _smoothstep((0.02 - np.abs(V[:468, 1] - mid_y)) / 0.01)
        jw[:468] *= 1 - 0.3 * near_mouth * _smoothstep((np.abs(V[:468, 0]) - 0.004) / 0.018)
        sh = np.arange(shell_first, pole + 1)
        jw[sh] = _smoothstep((mid_y - 0.01 - V[sh, 1]) / 0.02) * _smoothstep((V[sh, 2] + 0.075) / 0.04)
        # lower lip eversion (the lower lip rolls out a little; it stays a thick band)
        evert = np.zeros(len(V))
        evert[:468] = np.where(face_y < mid_y, arch(V[:468, 0], 0.5), 0.0) * \
            np.exp(-(((face_y - (mid_y - 0.004)) / 0.007) ** 2))
        # upper lip lift: an arch (most at the centre, nothing at the corners), the whole lip band up to the nose
        upper_lip = np.zeros(len(V))
        ul = arch(V[:, 0] / 1.08, 0.5) * _smoothstep((V[:, 1] - mid_y + 0.001) / 0.002) * \
            _smoothstep((0.02 - (V[:, 1] - mid_y)) / 0.012)
        upper_lip[:468] = ul[:468]
        evert[list(upper_set)] = 0.0
        for vid in upper_set:       # the inner upper lip lifts fully (upper teeth show in a yawn)
            upper_lip[vid] = arch(V[vid, 0], 0.55)
        for k, ring_ids in enumerate(cav_rings[1:], start=1):
            for i, vid in enumerate(lip_loop):
                cid = int(ring_ids[i])
                if vid in lower_set:
                    jw[cid] = jw[vid] if k == 1 else 1.0
                    evert[cid] = evert[vid] if k == 1 else 0.0
                elif vid in upper_set:
                    upper_lip[cid] = upper_lip[vid] * (0.85 if k == 1 else 0.4 if k == 2 else 0.0)
                else:
                    jw[cid] = jw[vid]
        # seen from the steering column (below), a tongue/lower teeth swinging with the whole jaw hide behind the
        # rolled lower lip: the tongue stays high and forward, the lower incisors lag the lip
        jw[tongue_ids] = 0.55
        jw[teeth_ids["lower"]] = 0.85
        jw[cav_pole] = 0.5
        corner_pull = np.exp(-(((V[:, 1] - mid_y) / 0.012) ** 2)) * _smoothstep((np.abs(V[:, 0]) - 0.008) / 0.015)
        corner_pull[468:] = 0.0
        for k, ring_ids in enumerate(cav_rings[1:3], start=1):      # the lips' inner mucosa follows the corners
            corner_pull[ring_ids] = corner_pull[lip_loop] * (1.0 if k == 1 else 0.6)
        for level in MOUTH_LEVELS:
            if level == 0.0:
                continue
            a = np.radians(JAW_OPEN_MAX_DEG * level) * jw
            q = V - pivot
            ca, sa = np.cos(a), np.sin(a)
            # rotate about +x by angle a (positive = chin down/back)
            ny = q[:, 1] * ca - q[:, 2] * sa
            nz = q[:, 1] * sa + q[:, 2] * ca
            newp = np.stack([q[:, 0], ny, nz], axis=1) + pivot
            newp[:, 1] += UPPER_LIP_LIFT_M * level * upper_lip
            newp[:, 1] -= 0.004 * level * evert       # lower lip rolls down and out (shows the lower teeth)
            newp[:, 2] += 0.0025 * level * evert
            # corners draw in as the opening grows (little while talking, most in a wide yawn)
            newp[:, 0] -= np.sign(V[:, 0]) * CORNER_PULL_M * level ** 1.5 * corner_pull
            keys[f"mouth_{level:.2f}"] = newp - V
        # smile: the mouth corners pull up, out and back, the cheeks rise (a closed smile keeps the lips together;
        # with the mouth open it is a laugh: a wide opening showing the teeth)
        sm = np.zeros_like(V)
        for cid in MOUTH_CORNERS:
            d2 = ((V[:468] - V[cid]) ** 2).sum(1)
            gc = np.exp(-d2 / (2 * 0.011 ** 2))
            sgn = np.sign(V[cid, 0])
            sm[:468] += gc[:, None] * np.array([sgn * 0.003, 0.005, -0.002])
        for cid in (205, 425):
            gk = np.exp(-((V[:468] - V[cid]) ** 2).sum(1) / (2 * 0.014 ** 2))
            sm[:468] += gk[:, None] * np.array([0.0, 0.0022, 0.0012])
        for k, ring_ids in enumerate(cav_rings[1:3], start=1):
            sm[ring_ids] = sm[lip_loop] * (1.0 if k == 1 else 0.6)
        keys["smile"] = sm
        # tongue out (laughing, licking, pulling a face: real "mouth open" photos often show it): the tongue slides
        # forward past the lower teeth and lip and drops a little; only drawn with the mouth open (jobs.py)
        tg = np.zeros_like(V)
        tv = np.asarray(tongue_ids)
        fwd = np.clip((V[tv, 2] - V[tv, 2].min()) / max(float(np.ptp(V[tv, 2])), 1e-9), 0, 1)  # front moves most
        tg[tv] = np.stack([np.zeros(len(tv)), -0.004 - 0.003 * fwd, 0.012 + 0.008 * fwd], 1)
        keys["tongue"] = tg
        # derived vertices (lid-margin band) stay fixed blends of their two parents in the basis and every key
        for vid, a, b, t in derived:
            V[vid] = (1 - t) * V[a] + t * V[b]
            for d in keys.values():
                d[vid] = (1 - t) * d[a] + t * d[b]
        hair_v, hair_t = self._hair(V, T, M, shell_first, pole, face, hair_length, hair_volume_m, hairline)
        return HeadGeometry(vertices=V, triangles=T, tri_material=M, uv=UV, keys=keys, eye_centers=eye_centers,
                            eye_radius_m=EYE_SCLERA_RADIUS_M, jaw_pivot=pivot, hair_vertices=hair_v,
                            hair_triangles=hair_t)

    @staticmethod
    def _hair(V, T, M, shell_first, pole, face, hair_length, volume, hairline):
        """Hair cap: skin triangles above the hairline (and down the back to ``hair_length``), offset outward."""
        if volume <= 0:
            return np.zeros((0, 3)), np.zeros((0, 3), np.int32)
        forehead_y = face[10, 1]
        y_front = forehead_y - 0.006 - 0.02 * hairline      # front hairline height
        y_back = -0.02 - 0.08 * hair_length                  # how far down the back the hair reaches
        vid = np.arange(len(V))
        is_shell = (vid >= shell_first) & (vid <= pole)
        is_face = vid < 468
        y, z = V[:, 1], V[:, 2]
        # keep the temples/ears free in front; below ear-top level only the back of the head carries hair
        side_ok = ((z < -0.03) & (y > 0.015)) | (z < -0.075) | (y > 0.035)
        mask = (is_face & (y > y_front)) | (is_shell & (((y > y_back) & side_ok) | (y > y_front - 0.01)))
        sel = (M == MAT_SKIN) & mask[T].all(axis=1)
        tri = T[sel]
        used = np.unique(tri)
        remap = -np.ones(len(V), np.int64)
        remap[used] = np.arange(len(used))
        # vertex normals
        n = np.zeros_like(V)
        fn = np.cross(V[T[:, 1]] - V[T[:, 0]], V[T[:, 2]] - V[T[:, 0]])
        for k in range(3):
            np.add.at(n, T[:, k], fn)
        n /= np.linalg.norm(n, axis=1, keepdims=True) + 1e-12
        hv = V[used] + n[used] * (0.0015 + volume * _smoothstep((V[used, 1] - y_back) / 0.04))[:, None]
        return hv, remap[tri].astype(np.int32)


@functools.lru_cache(maxsize=1)
def head_model() -> HeadModel:
    return HeadModel()
