"""The numpy head model: canonical landmarks, lids that close, a mouth that opens, identity variation."""
import numpy as np
import pytest

from dms.sim.head import (EYE_LEVELS, IDENTITY_COEFFS, MAT_LASH, MAT_MOUTH, MAT_TEETH, MAT_TONGUE, head_model,
                          key_weights, load_canonical)


@pytest.fixture(scope="module")
def geo():
    return head_model().geometry({})


def test_asset_is_the_canonical_face():
    c = load_canonical()
    assert c["vertices_cm"].shape == (468, 3) and c["uv"].shape == (468, 2)
    v = c["vertices_cm"]
    # subject's right eye outer corner (33) at -x, left (263) at +x, nose tip (1) most forward, chin (152) lowest
    assert v[33, 0] < 0 < v[263, 0] and v[[1, 4], 2].max() == v[:, 2].max() and v[152, 1] == v[:, 1].min()


def test_face_vertices_are_landmarks_and_topology_has_parts(geo):
    assert geo.n_vertices > 468 and np.allclose(geo.vertices[1], head_model().v0[1], atol=1e-3)
    for mat in (MAT_MOUTH, MAT_TEETH, MAT_LASH):
        assert (geo.tri_material == mat).sum() > 10
    assert geo.triangles.max() < geo.n_vertices


@pytest.mark.parametrize("upper,lower", [(159, 145), (386, 374)])
def test_eyelids_meet_when_closed_and_gap_grows_with_openness(geo, upper, lower):
    gaps = []
    for o in (0.0, 0.25, 0.5, 0.75, 1.0, 1.3):
        v = geo.deform(key_weights(o, o, 0.0))
        gaps.append(np.linalg.norm(v[upper] - v[lower]))
    assert gaps[0] < 0.0006                                  # closed: lid landmarks meet (< 0.6 mm)
    assert 0.007 < gaps[4] < 0.013                            # neutral open eye: 7..13 mm aperture
    assert all(b > a for a, b in zip(gaps, gaps[1:]))        # monotonic


def test_one_eye_closing_does_not_move_the_other(geo):
    v0 = geo.deform(key_weights(1.0, 1.0, 0.0))
    v1 = geo.deform(key_weights(0.0, 1.0, 0.0))               # left eye closed
    moved = np.linalg.norm(v1 - v0, axis=1) > 1e-7
    assert moved[386] and not moved[159]
    assert (geo.vertices[moved, 0] > 0).all()                 # only the subject's left side (+x) moves


def test_closed_lid_stays_outside_the_eyeball(geo):
    for side in ("left", "right"):
        ctr = geo.eye_centers[side]
        for o in EYE_LEVELS:
            v = geo.deform(key_weights(o, o, 0.0))[:468]
            ids = (159, 158, 160, 145) if side == "right" else (386, 385, 387, 374)
            assert (np.linalg.norm(v[list(ids)] - ctr, axis=1) > geo.eye_radius_m).all()


def test_mouth_opens_downward(geo):
    v0 = geo.deform(key_weights(1, 1, 0.0))
    v1 = geo.deform(key_weights(1, 1, 1.0))
    assert abs(v0[13, 1] - v0[14, 1]) < 0.001                 # lips closed at 0 (vertical gap < 1 mm)
    gap = v1[13, 1] - v1[14, 1]
    assert 0.03 < gap < 0.07                                  # a full yawn: 3..7 cm lip gap
    assert v1[152, 1] < v0[152, 1] - 0.02                     # the chin drops
    assert np.allclose(v1[10], v0[10])                        # the forehead does not move


def test_identity_changes_shape_but_keeps_topology():
    hm = head_model()
    a = hm.geometry({})
    b = hm.geometry({"face_width": 1.0, "nose_length": 1.0, "eye_size": -1.0})
    assert a.triangles.shape == b.triangles.shape and np.array_equal(a.triangles, b.triangles)
    assert np.ptp(b.vertices[:468, 0]) > np.ptp(a.vertices[:468, 0]) * 1.03
    assert b.vertices[1, 2] > a.vertices[1, 2]
    with pytest.raises(ValueError):
        hm.geometry({"not_a_coeff": 1.0})
    assert "face_width" in IDENTITY_COEFFS


def test_key_weights_are_piecewise_linear():
    w = key_weights(0.125, 1.0, 0.5)
    assert w["eyeL_0.00"] == pytest.approx(0.5) and w["eyeL_0.25"] == pytest.approx(0.5)
    assert all(v == 0 for k, v in w.items() if k.startswith("eyeR_"))
    assert sum(v for k, v in w.items() if k.startswith("mouth_")) == pytest.approx(1.0)


@pytest.mark.parametrize("side,upper,lower,corners", [("right", 159, 145, (33, 133)), ("left", 386, 374, (362, 263))])
def test_open_eye_spans_the_landmark_contour_and_shows_the_iris(geo, side, upper, lower, corners):
    """Realism: the open fissure opens >= 0.25 x the corner distance; the lids sit on the globe (not recessed in
    a socket), frame the iris and meet when closed; the lid margin never cuts through the cornea."""
    from dms.sim.head import CORNEA_OFFSET_M, CORNEA_RADIUS_M, EYE_SCLERA_RADIUS_M, globe_radius
    ctr = geo.eye_centers[side]
    v1 = geo.deform(key_weights(1.0, 1.0, 0.0))
    corner_d = np.linalg.norm(v1[corners[0]] - v1[corners[1]])
    assert np.linalg.norm(v1[upper] - v1[lower]) >= 0.25 * corner_d
    iris_r = 0.49 * EYE_SCLERA_RADIUS_M                       # iris edge (as in the eye material)
    assert v1[lower, 1] - ctr[1] < -0.6 * iris_r < 0.3 * iris_r < v1[upper, 1] - ctr[1]   # iris visible between
    apex_z = ctr[2] + CORNEA_OFFSET_M + CORNEA_RADIUS_M
    assert v1[[upper, lower], 2].max() - apex_z < 0.0015     # corneal apex within 1.5 mm of the lid plane
    ring = head_model().eye_rings[side]
    for o in EYE_LEVELS:
        v = geo.deform(key_weights(o, o, 0.0))
        q = v[list(ring)] - ctr
        d = np.linalg.norm(q, axis=1)
        th = np.arccos(np.clip(q[:, 2] / d, -1, 1))
        assert (d >= globe_radius(th) - 1e-4).all(), o
    v0 = geo.deform(key_weights(0.0, 0.0, 0.0))
    assert np.linalg.norm(v0[upper] - v0[lower]) < 0.02 * corner_d


def test_yawn_is_a_rounded_opening_with_teeth_behind_the_lips(geo):
    v0 = geo.deform(key_weights(1, 1, 0.0))
    v1 = geo.deform(key_weights(1, 1, 1.0))
    width = np.linalg.norm(v1[61] - v1[291])
    assert v1[13, 1] - v1[14, 1] >= 0.5 * width               # full yawn: opening >= half the mouth width
    # rounded, not a triangle: half-way to the corner the lower inner lip has dropped most of the way
    lower = (88, 178, 87, 14)                                 # corner side -> centre
    drop = np.array([v0[i, 1] - v1[i, 1] for i in lower])
    assert drop[-1] > drop[0] > 0 and drop[1] > 0.6 * drop[-1]
    # the upper lip lifts, uncovering the upper incisors: their edge lies inside the opening
    assert v1[13, 1] > v0[13, 1] + 0.003
    teeth = np.unique(geo.triangles[geo.tri_material == MAT_TEETH])
    up = teeth[geo.vertices[teeth, 1] > geo.vertices[13, 1] - 0.004]
    edge_y = v1[up, 1].min()
    assert v1[14, 1] < edge_y < v1[13, 1] - 0.002
    assert (v0[up, 2] < v0[13, 2]).all()                      # behind the lips


def test_yawn_shows_tongue_and_lower_teeth_above_the_rolled_lower_lip(geo):
    """From a camera below the face the mouth floor hides behind the lower lip unless the tongue and the lower
    incisors stay high: at a full yawn their tops must rise above the lower inner lip, inside the opening."""
    v1 = geo.deform(key_weights(1, 1, 1.0))
    tongue = np.unique(geo.triangles[geo.tri_material == MAT_TONGUE])
    teeth = np.unique(geo.triangles[geo.tri_material == MAT_TEETH])
    lower_teeth = teeth[geo.vertices[teeth, 1] < geo.vertices[14, 1] - 0.0005]
    lip_y, top_y = v1[14, 1], v1[13, 1]
    assert lip_y + 0.004 < v1[tongue, 1].max() < top_y         # tongue top visible in the opening
    assert lip_y < v1[lower_teeth, 1].max() < top_y            # lower incisor edge above the lower lip
    # still inside the mouth: behind the chord between the upper and the lower inner lip at every tongue height
    f = np.clip((v1[tongue, 1] - lip_y) / (top_y - lip_y), 0, 1)
    assert (v1[tongue, 2] < v1[14, 2] + f * (v1[13, 2] - v1[14, 2])).all()
    v0 = geo.deform(key_weights(1, 1, 0.0))
    assert (v0[tongue, 2] < v0[13, 2] - 0.005).all()           # closed mouth: tongue well behind the lips


def test_lid_crease_is_a_subtle_dark_groove():
    from dms.sim.blender.textures import face_height, face_textures
    from dms.sim.head import R_UPPER1, R_UPPER2
    from dms.sim.spec import SamplingRanges, sample_scene
    spec = sample_scene(np.random.default_rng(3), SamplingRanges())
    rgb, nir = face_textures(spec, 256)
    h = face_height(256)
    uv = load_canonical()["uv"] * 256
    mid = np.round(0.6 * uv[R_UPPER1[3]] + 0.4 * uv[R_UPPER2[3]]).astype(int)
    ref = np.round(uv[R_UPPER2[3]] + 0.6 * (uv[R_UPPER2[3]] - uv[R_UPPER1[3]])).astype(int)   # brow-side skin
    assert h[mid[1], mid[0]] < 0.6 and h[ref[1], ref[0]] > 0.95
    # visibly darker, but subtle: a strongly painted crease makes a closed eye read as an outlined (open) almond
    assert 0.6 * rgb[ref[1], ref[0]].mean() < rgb[mid[1], mid[0]].mean() < 0.92 * rgb[ref[1], ref[0]].mean()
    assert 0.7 * nir[ref[1], ref[0]] < nir[mid[1], mid[0]] < 0.95 * nir[ref[1], ref[0]]


def test_mouth_opening_rounds_out_with_openness(geo):
    """Closed -> talking slit -> round yawn: the lip gap (13/14) over the corner width grows monotonically, the
    corners draw in, and at a wide yawn they sit near mid-height of the opening (an oval, not a lid over a V)."""
    ratios, widths = [], []
    for o in (0.0, 0.15, 0.35, 0.5, 0.7, 1.0):
        v = geo.deform(key_weights(1, 1, o))
        w = v[308, 0] - v[78, 0]
        ratios.append((v[13, 1] - v[14, 1]) / w)
        widths.append(v[291, 0] - v[61, 0])
    assert ratios[0] < 0.05 and all(b > a + 0.05 for a, b in zip(ratios[1:], ratios[2:]))
    assert 0.1 < ratios[1] < 0.3 and 0.7 < ratios[-1] < 1.4                 # a talking slit; a round wide yawn
    assert all(b < a for a, b in zip(widths, widths[1:])) and widths[-1] < widths[0] - 0.006   # corners draw in
    v = geo.deform(key_weights(1, 1, 1.0))
    for c in (78, 308):
        f = (v[13, 1] - v[c, 1]) / (v[13, 1] - v[14, 1])                    # 0 = at the upper lip, 1 = lower
        assert 0.2 < f < 0.6
    # the upper inner lip is an arch: its sides lie lower than its centre
    assert v[191, 1] < v[13, 1] - 0.002 and v[415, 1] < v[13, 1] - 0.002


def test_smile_lifts_the_corners_and_keeps_a_closed_mouth_closed(geo):
    v0 = geo.deform(key_weights(1, 1, 0.0))
    v1 = geo.deform(key_weights(1, 1, 0.0, smile=1.0))
    for c in (61, 291, 78, 308):
        assert v1[c, 1] > v0[c, 1] + 0.003                                  # corners up
    assert (v1[291, 0] - v1[61, 0]) > (v0[291, 0] - v0[61, 0]) + 0.003      # and out
    assert abs(v1[13, 1] - v1[14, 1]) < 0.001                               # lips still together
    assert np.allclose(v1[10], v0[10])                                      # the forehead does not move
    w = key_weights(1, 1, 0.6, smile=0.5)
    assert w["smile"] == 0.5 and key_weights(1, 1, 0.6)["smile"] == 0.0
    with pytest.raises(ValueError):
        key_weights(1, 1, 0.0, smile=1.5)


def test_tongue_out_slides_the_tongue_past_the_lower_lip_of_an_open_mouth(geo):
    """The tongue key (DriverPose.extra["tongue"]): with the mouth open the tongue's tip comes out in front of the
    lower lip and below the upper one; the lips and every landmark stay where the mouth key put them."""
    tongue = np.unique(geo.triangles[geo.tri_material == MAT_TONGUE])
    v0 = geo.deform(key_weights(1, 1, 0.6))
    v1 = geo.deform(key_weights(1, 1, 0.6, tongue=1.0))
    assert v0[tongue, 2].max() < v0[14, 2] - 0.003                      # in the mouth without the key
    assert v1[tongue, 2].max() > v1[14, 2] + 0.002                      # tip out past the lower lip
    tip = tongue[np.argmax(v1[tongue, 2])]
    assert v1[tip, 1] < v1[13, 1]                                       # below the upper lip
    assert np.allclose(v1[:468], v0[:468])                              # landmarks (labels) unchanged
    assert key_weights(1, 1, 0.6, tongue=0.5)["tongue"] == 0.5 and key_weights(1, 1, 0.6)["tongue"] == 0.0
    with pytest.raises(ValueError):
        key_weights(1, 1, 0.6, tongue=-0.1)


def test_some_men_have_beards_that_darken_the_chin_not_the_lips():
    """Facial hair (beard / moustache / goatee) comes from the texture seed alone (no sampled value changes) and
    darkens the skin around the mouth while the lips stay bare; identities without it are untouched."""
    import dataclasses

    from dms.sim.blender.textures import beard_style, face_textures
    from dms.sim.spec import sample_scene
    rng = np.random.default_rng(11)
    specs = [sample_scene(rng) for _ in range(120)]
    styles = [beard_style(s) for s in specs]
    assert all(st is None for s, st in zip(specs, styles) if s.identity.sex != "male")
    bearded = [s for s, st in zip(specs, styles) if st == "full"]
    assert bearded and 0.05 < sum(st is not None for st in styles) / len(specs) < 0.5
    s = bearded[0]
    assert beard_style(s) == "full" and beard_style(dataclasses.replace(s)) == "full"      # deterministic
    shaved = dataclasses.replace(s, identity=dataclasses.replace(s.identity, sex="female"))
    assert beard_style(shaved) is None
    uv = load_canonical()["uv"] * 256
    rgb_b, nir_b = face_textures(s, 256)
    rgb_s, nir_s = face_textures(shaved, 256)
    chin = np.round(0.5 * uv[17] + 0.5 * uv[152]).astype(int)      # between the lower lip and the chin tip
    lip = np.round(0.5 * uv[13] + 0.5 * uv[0]).astype(int)           # upper lip
    assert rgb_b[chin[1], chin[0]].mean() < 0.85 * rgb_s[chin[1], chin[0]].mean()
    assert nir_b[chin[1], chin[0]] < 0.9 * nir_s[chin[1], chin[0]]
    assert abs(rgb_b[lip[1], lip[0]].mean() - rgb_s[lip[1], lip[0]].mean()) < 0.02
