"""Procedural face textures in MediaPipe's canonical UV space (pure numpy + OpenCV, no bpy).

One RGB albedo (linear) and one NIR albedo per identity: skin tone and mottling, redness, pores, lips, brows
drawn hair by hair, freckles, stubble, make-up, under-eye shading. NIR (850/940 nm) flattens melanin contrast:
skin is bright and uniform, lips nearly vanish, hair/brows stay mid-dark, carbon eyeliner stays dark.
Image rows run top-down (v down, as in the canonical UVs); the Blender side flips them.
"""
from __future__ import annotations

import numpy as np

from dms.sim.head import R_LOWER0, R_LOWER1, R_UPPER0, R_UPPER1, R_UPPER2, _mir, load_canonical
from dms.sim.spec import SceneSpec, skin_albedo_rgb

OUTER_LIPS = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146)
BROW_UPPER_R = (70, 63, 105, 66, 107)
BROW_LOWER_R = (46, 53, 52, 65, 55)
BEARD_IDS = (2, 164, 0, 17, 18, 200, 199, 175, 152, 148, 176, 149, 150, 136, 172, 58, 132, 377, 400, 378, 379,
             365, 397, 288, 361, 92, 322, 57, 287, 43, 273, 106, 335, 182, 406, 83, 313, 201, 421, 208, 428,
             32, 262, 140, 369, 171, 396, 210, 430, 211, 431, 212, 432, 214, 434, 135, 364)


def _smooth_noise(rng: np.random.Generator, size: int, sigma: float) -> np.ndarray:
    import cv2
    n = rng.standard_normal((size, size)).astype(np.float32)
    n = cv2.GaussianBlur(n, (0, 0), sigma)
    return n / (n.std() + 1e-6)


def _crease_mask(uv: np.ndarray, size: int) -> np.ndarray:
    """Upper-lid crease (supratarsal fold) line, 0..~1, between lid ring 1 and the orbit ring 2."""
    import cv2
    crease = np.zeros((size, size), np.float32)
    for u1, u2 in ((R_UPPER1, R_UPPER2), (_mir(R_UPPER1), _mir(R_UPPER2))):
        pts = 0.6 * uv[list(u1)] + 0.4 * uv[list(u2)]
        cv2.polylines(crease, [np.round(pts * 16).astype(np.int32)], False, 1.0, max(1, int(size * 0.005)),
                      lineType=cv2.LINE_AA, shift=4)
    return cv2.GaussianBlur(crease, (0, 0), size * 0.003)


def face_height(size: int = 512) -> np.ndarray:
    """Skin relief (HxW, 0..1, 1 = flat) for the bump node: the lid crease as a groove, so it shades in 3D."""
    uv = load_canonical()["uv"] * size
    return np.clip(1.0 - 1.5 * _crease_mask(uv, size), 0, 1).astype(np.float32)


def face_textures(spec: SceneSpec, size: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """(rgb HxWx3 float32 linear albedo, nir HxW float32 albedo) for the spec's identity."""
    import cv2
    idn = spec.identity
    rng = np.random.default_rng(spec.texture_seed)
    uv = load_canonical()["uv"] * size
    P = lambda ids: np.round(uv[list(ids)] * 16).astype(np.int32)
    sh = dict(lineType=cv2.LINE_AA, shift=4)
    base = np.array(skin_albedo_rgb(idn.skin_tone, idn.skin_redness), np.float32)
    low = _smooth_noise(rng, size, 24)
    mid = _smooth_noise(rng, size, 4)
    fine = rng.standard_normal((size, size)).astype(np.float32)
    var = 1 + 0.05 * low + 0.03 * mid + 0.025 * idn.pore_strength * fine
    rgb = base[None, None, :] * var[..., None]
    # redness on cheeks and nose, darker under the eyes with age
    red = np.zeros((size, size), np.float32)
    for c in (205, 425, 1, 4):
        cv2.circle(red, tuple(int(v) for v in uv[c]), int(size * 0.05), 1.0, -1)
    red = cv2.GaussianBlur(red, (0, 0), size * 0.03) * (0.3 + idn.skin_redness)
    rgb *= (1 + np.stack([0.10 * red, -0.06 * red, -0.05 * red], -1))
    under = np.zeros((size, size), np.float32)
    for ids in (R_LOWER1, _mir(R_LOWER1)):
        cv2.polylines(under, [P(ids)], False, 1.0, int(size * 0.012), **sh)
    under = cv2.GaussianBlur(under, (0, 0), size * 0.01) * (0.05 + 0.004 * max(idn.age_years - 25, 0))
    rgb *= (1 - np.clip(under, 0, 0.35))[..., None]
    # NIR: melanin barely absorbs, so skin is bright and flat whatever the visible tone
    nir = np.full((size, size), 0.68 - 0.06 * idn.skin_tone - (0.03 if spec.nir.wavelength_nm == 940 else 0.0),
                  np.float32) * (1 + 0.012 * low + 0.008 * mid + 0.015 * idn.pore_strength * fine)
    nir *= 1 - 0.5 * np.clip(under, 0, 0.35)
    # upper-lid crease (supratarsal fold) between the lid and the orbit rim: a soft dark curve that stays on the
    # skin when the lid closes, so a closed eye shows a lid, a crease and a lash line, not a blank patch
    # (subtle: a dark painted crease makes a closed eye read as an outlined almond, i.e. a narrow open eye)
    crease = _crease_mask(uv, size) * (0.3 + 0.006 * max(idn.age_years - 25, 0))
    rgb *= (1 - np.clip(crease, 0, 0.45))[..., None]
    nir *= 1 - 0.6 * np.clip(crease, 0, 0.45)
    # lower lashes: short sparse dark hairs hanging from the lower lid margin (outer two thirds)
    lashes = np.zeros((size, size), np.float32)
    for ids in (R_LOWER0, _mir(R_LOWER0)):
        pts = uv[list(ids)]
        ctr = pts.mean(axis=0)
        n_l = int(rng.integers(14, 22))
        for _ in range(n_l):
            t = rng.uniform(0.05, 0.8)
            k = min(int(t * (len(pts) - 1)), len(pts) - 2)
            f = t * (len(pts) - 1) - k
            p = pts[k] * (1 - f) + pts[k + 1] * f
            d = p - ctr
            d = d / (np.linalg.norm(d) + 1e-6) + np.array([0.0, 0.6])
            d = d / np.linalg.norm(d) * size * rng.uniform(0.004, 0.009)
            cv2.line(lashes, tuple(np.round(p * 16).astype(int)), tuple(np.round((p + d) * 16).astype(int)),
                     float(rng.uniform(0.4, 0.9)), 1, cv2.LINE_AA, 4)
    lashes = np.clip(lashes, 0, 1)
    lash_col = np.array(idn.brow_rgb, np.float32) * 0.5
    rgb = rgb * (1 - lashes[..., None]) + lash_col[None, None] * lashes[..., None]
    nir = nir * (1 - 0.8 * lashes) + 0.08 * 0.8 * lashes
    # lips
    lips = np.zeros((size, size), np.float32)
    cv2.fillPoly(lips, [P(OUTER_LIPS)], 1.0, **sh)
    # the vermilion border: a slightly darker rim where lip meets skin (a defined outline, also in gray)
    rim = cv2.GaussianBlur(lips, (0, 0), size * 0.002) - cv2.GaussianBlur(
        cv2.erode(lips, np.ones((3, 3), np.uint8), iterations=max(1, int(size * 0.004))), (0, 0), size * 0.002)
    lips = cv2.GaussianBlur(lips, (0, 0), size * 0.003)
    red = float(rng.uniform(0.0, 1.0))                  # lips clearly darker/redder than skin (varies per person)
    lip_rgb = base * np.array([0.8 - 0.1 * red, 0.45 - 0.12 * red, 0.47 - 0.1 * red]) if idn.makeup < 0.5 else \
        np.array([0.5, 0.06, 0.1]) * (0.6 + 0.4 * rng.random())
    rgb = rgb * (1 - lips[..., None]) + lips[..., None] * lip_rgb[None, None, :] * var[..., None]
    rgb *= (1 - 0.25 * np.clip(rim, 0, 1))[..., None]
    nir *= 1 - (0.1 + 0.08 * red) * lips - 0.12 * np.clip(rim, 0, 1)
    # freckles and stubble
    if idn.freckles > 0:
        n = int(400 * idn.freckles)
        ctr = uv[[205, 425, 4, 1]]
        for _ in range(n):
            p = ctr[rng.integers(len(ctr))] + rng.normal(0, size * 0.04, 2)
            cv2.circle(rgb, (int(p[0]), int(p[1])), int(rng.integers(1, 3)),
                       (base * np.array([0.7, 0.55, 0.45])).tolist(), -1, cv2.LINE_AA)
    if idn.stubble > 0:
        mask = np.zeros((size, size), np.uint8)
        hull = cv2.convexHull(uv[list(BEARD_IDS)].astype(np.float32)).astype(np.int32)
        cv2.fillPoly(mask, [hull], 255)
        cv2.fillPoly(mask, [np.round(uv[list(OUTER_LIPS)]).astype(np.int32)], 0)
        ys, xs = np.nonzero(mask)
        k = rng.choice(len(ys), size=min(len(ys), int(len(ys) * 0.25 * idn.stubble)), replace=False)
        dots = np.zeros((size, size), np.float32)
        dots[ys[k], xs[k]] = 1.0
        dots = cv2.GaussianBlur(dots, (0, 0), 0.6) * 2.0
        shade = np.clip(0.15 * idn.stubble * cv2.GaussianBlur(mask.astype(np.float32) / 255, (0, 0), 6), 0, 1)
        hair = np.array(idn.hair_rgb, np.float32)
        a = np.clip(dots * 0.8 * idn.stubble + shade, 0, 1)[..., None]
        rgb = rgb * (1 - a) + hair[None, None] * a
        nir = nir * (1 - 0.5 * a[..., 0])
    # brows, hair by hair
    brow_col = np.array(idn.brow_rgb, np.float32)
    brow_nir = float(0.18 + 0.5 * np.mean(idn.brow_rgb))
    brow_a = np.zeros((size, size), np.float32)
    for up_ids, lo_ids in ((BROW_UPPER_R, BROW_LOWER_R), (_mir(BROW_UPPER_R), _mir(BROW_LOWER_R))):
        up, lo = uv[list(up_ids)], uv[list(lo_ids)]
        thick = 0.45 + 0.55 * idn.brow_thickness
        n_hairs = int(500 * (0.5 + idn.brow_thickness))
        outward = np.sign(up[0, 0] - up[-1, 0])
        for _ in range(n_hairs):
            t = rng.random()
            s = rng.random() ** 0.8 * thick
            k = min(int(t * (len(up) - 1)), len(up) - 2)
            f = t * (len(up) - 1) - k
            a = up[k] * (1 - f) + up[k + 1] * f
            b = lo[k] * (1 - f) + lo[k + 1] * f
            p = b + (a - b) * (1 - s)
            ang = np.radians(rng.normal(-25 if t < 0.4 else -8, 12))
            d = np.array([outward * np.cos(ang), np.sin(ang)]) * size * rng.uniform(0.008, 0.016)
            q = p + d
            p1, q1 = tuple(np.round(p * 16).astype(int)), tuple(np.round(q * 16).astype(int))
            cv2.line(brow_a, p1, q1, float(rng.uniform(0.35, 0.8)), 1, cv2.LINE_AA, 4)
    brow_a = np.clip(brow_a, 0, 1)
    rgb = rgb * (1 - brow_a[..., None]) + brow_col[None, None] * brow_a[..., None]
    nir = nir * (1 - brow_a) + brow_nir * brow_a
    # make-up: eyeliner + eyeshadow
    if idn.makeup > 0:
        shadow = np.zeros((size, size), np.float32)
        for ids in (R_UPPER1, _mir(R_UPPER1)):
            cv2.polylines(shadow, [P(ids)], False, 1.0, int(size * 0.012), **sh)
        shadow = cv2.GaussianBlur(shadow, (0, 0), size * 0.006) * 0.5 * idn.makeup
        col = rng.uniform(0.05, 0.4, 3).astype(np.float32)
        rgb = rgb * (1 - shadow[..., None]) + col[None, None] * shadow[..., None]
        liner = np.zeros((size, size), np.float32)
        for ids in ((R_LOWER0[0],) + R_UPPER0 + (R_LOWER0[-1],), _mir((R_LOWER0[0],) + R_UPPER0 + (R_LOWER0[-1],))):
            cv2.polylines(liner, [P(ids)], False, 1.0, max(1, int(size * 0.004 * idn.makeup)), **sh)
        liner = cv2.GaussianBlur(liner, (0, 0), 0.7) * min(1.0, 1.2 * idn.makeup)
        rgb = rgb * (1 - liner[..., None]) + 0.02 * liner[..., None]
        nir = nir * (1 - liner) + 0.05 * liner
    rgb, nir = _facial_hair(spec, uv, size, rgb, nir)
    return np.clip(rgb, 0, 1).astype(np.float32), np.clip(nir, 0, 1).astype(np.float32)


UPPER_LIP_OUT = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
NOSE_BASE = (57, 92, 165, 167, 164, 393, 391, 322, 287)
LOWER_LIP_OUT = (291, 375, 321, 405, 314, 17, 84, 181, 91, 146, 61)
CHIN = (43, 106, 182, 83, 18, 313, 406, 335, 273, 422, 430, 394, 395, 369, 396, 175, 171, 140, 170, 169, 210, 202)
#: facial-hair styles of bearded identities and their weights (full beard, moustache, goatee, both)
BEARD_STYLES = (("full", 0.4), ("moustache", 0.25), ("goatee", 0.15), ("moustache+goatee", 0.2))
BEARD_SHARE = 0.35         # share of male identities that wear a beard / moustache


def beard_style(spec: SceneSpec) -> str | None:
    """The identity's facial-hair style (None = none), drawn from its texture seed alone: adding it leaves every
    sampled scene value (and so every label and the replay of older datasets) unchanged."""
    idn = spec.identity
    if idn.sex != "male":
        return None
    r = np.random.default_rng([int(spec.texture_seed), 0xBEA4D])
    if r.random() >= BEARD_SHARE:
        return None
    names, w = zip(*BEARD_STYLES)
    return str(names[int(r.choice(len(names), p=np.array(w) / sum(w)))])


def _facial_hair(spec: SceneSpec, uv: np.ndarray, size: int, rgb: np.ndarray, nir: np.ndarray):
    """Dense dark hair (beard / moustache / goatee) drawn strand by strand around the mouth: real mouth crops of
    bearded faces are a classic false "mouth open" (a dark mass under the lips), so the renders need them."""
    import cv2
    style = beard_style(spec)
    if style is None:
        return rgb, nir
    r = np.random.default_rng([int(spec.texture_seed), 0xBEA4E])
    mask = np.zeros((size, size), np.uint8)
    if style == "full":
        cv2.fillPoly(mask, [cv2.convexHull(uv[list(BEARD_IDS)].astype(np.float32)).astype(np.int32)], 255)
    if "moustache" in style:
        poly = np.concatenate([uv[list(UPPER_LIP_OUT)], uv[list(NOSE_BASE)][::-1]])
        cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 255)
    if "goatee" in style:
        poly = np.concatenate([uv[list(LOWER_LIP_OUT)], uv[list(CHIN)]])
        cv2.fillPoly(mask, [cv2.convexHull(np.round(poly).astype(np.float32)).astype(np.int32)], 255)
    cv2.fillPoly(mask, [np.round(uv[list(OUTER_LIPS)]).astype(np.int32)], 0)      # lips stay bare
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return rgb, nir
    density = float(r.uniform(0.5, 1.0))
    soft = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), size * 0.012)   # thinning edges
    strands = np.zeros((size, size), np.float32)
    n = int(len(ys) * 0.35 * density)
    k = r.choice(len(ys), size=n, replace=True)
    k = k[r.random(n) < soft[ys[k], xs[k]] ** 1.5]
    n = len(k)
    ang = np.radians(r.normal(90, 25, n))                 # hair grows mostly downward
    length = size * r.uniform(0.004, 0.010, n)
    for i in range(n):
        p = np.array([xs[k[i]], ys[k[i]]], np.float64)
        q = p + length[i] * np.array([np.cos(ang[i]), np.sin(ang[i])])
        cv2.line(strands, tuple(np.round(p * 16).astype(int)), tuple(np.round(q * 16).astype(int)),
                 float(r.uniform(0.5, 1.0)), 1, cv2.LINE_AA, 4)
    a = np.clip(np.maximum(strands, soft ** 2 * 0.55 * density), 0, 1)
    hair = np.array(spec.identity.hair_rgb, np.float32) * float(r.uniform(0.15, 0.5))
    rgb = rgb * (1 - a[..., None]) + hair[None, None] * a[..., None]
    nir = nir * (1 - 0.6 * a) + 0.12 * 0.6 * a          # hair stays mid-dark in NIR
    return rgb, nir
