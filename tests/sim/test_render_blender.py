"""One tiny real Cycles render: invariants only (never golden pixels)."""
import dataclasses

import numpy as np
import pytest

from dms.data.crops import crop_bbox, crop_transform, get_crop
from dms.sim.labels import project_landmarks
from dms.sim.pose import DriverPose
from dms.sim.spec import SamplingRanges, sample_scene

pytestmark = pytest.mark.blender


@pytest.fixture(scope="module")
def renderer():
    pytest.importorskip("bpy")
    from dms.sim.render import Renderer, RenderSettings
    return Renderer(RenderSettings(samples=4, sensor=False, auto_exposure=False))


@pytest.fixture(scope="module")
def spec():
    r = SamplingRanges(resolutions=[(96, 72)], mounts=["steering_column"], p_day=0, p_dusk=0, p_night=1,
                       p_glasses_clear=0, p_sunglasses=0, p_cap=0, p_mask=0, k1=(0.0, 0.0), hfov_deg=(30, 30))
    return sample_scene(np.random.default_rng(3), r)


def test_tiny_render_invariants(renderer, spec):
    out = renderer.render_frame(spec, DriverPose(), modalities=("rgb", "nir"))
    rgb, nir = out["rgb"], out["nir"]
    assert rgb.shape == (72, 96, 3) and rgb.dtype == np.uint8
    assert nir.shape == (72, 96) and nir.dtype == np.uint8           # NIR is single channel
    # night + active illuminator: the face is brighter than the rest of the frame
    uv, _ = project_landmarks(spec, DriverPose(), distort=False)
    x0, y0 = np.floor(uv.min(0)).astype(int)
    x1, y1 = np.ceil(uv.max(0)).astype(int)
    face = np.zeros_like(nir, bool)
    face[max(y0, 0):y1, max(x0, 0):x1] = True
    assert nir[face].mean() > nir[~face].mean() + 15


def test_closing_eyes_changes_pixels_only_in_eye_boxes(renderer, spec):
    s = spec.with_resolution(192, 144)
    a = renderer.render_frame(s, DriverPose(), modalities=("nir",))["nir"].astype(int)
    b = renderer.render_frame(s, DriverPose(eye_openness_left=0.0, eye_openness_right=0.0),
                              modalities=("nir",))["nir"].astype(int)
    uv, _ = project_landmarks(s, DriverPose(), distort=False)
    inside = np.zeros(a.shape, bool)
    for name in ("eye_left", "eye_right"):
        cd = get_crop(name)
        x0, y0, x1, y1 = crop_bbox(crop_transform(uv, cd), cd.out_size, (192, 144))
        inside[y0:y1, x0:x1] = True
    d = np.abs(a - b)
    assert d[inside].max() > 30 and d[inside].mean() > 0.5            # the lids really moved
    assert d[inside].sum() > 0.85 * d.sum()                           # and almost nothing else changed
    assert d[~inside].mean() < 0.2


def test_crops_render_with_border(renderer, spec):
    s = spec.with_resolution(640, 480)
    crops = renderer.render_crops(s, DriverPose(mouth_openness=0.8), ("eye_left", "mouth"), ("rgb", "nir"))
    assert [(c[0], c[1], c[2].shape) for c in crops] == [("eye_left", "rgb", (64, 64, 3)),
                                                         ("mouth", "rgb", (64, 64, 3)),
                                                         ("eye_left", "nir", (64, 64)), ("mouth", "nir", (64, 64))]
    mouth_nir = crops[3][2].astype(float)
    # the open mouth cavity is the darkest part of the mouth crop, near its centre
    c = mouth_nir[24:44, 20:44].min()
    assert c < np.percentile(mouth_nir, 20)


def test_crop_render_settings_and_fast_prefilter_keeps_the_look(renderer, spec):
    """Speed settings (issue #3) are applied, and OIDN's FAST guide prefilter gives the ACCURATE look."""
    cy = renderer.view.scene.cycles
    assert cy.denoising_prefilter == "FAST" and not cy.use_light_tree and not cy.use_adaptive_sampling
    assert renderer.view.scene.render.use_persistent_data
    s = spec.with_resolution(640, 480)
    pose = DriverPose(eye_openness_left=0.6)
    fast = renderer.render_crops(s, pose, ("eye_left",), ("nir",))[0][2].astype(float)
    cy.denoising_prefilter = "ACCURATE"
    try:
        accurate = renderer.render_crops(s, pose, ("eye_left",), ("nir",))[0][2].astype(float)
    finally:
        cy.denoising_prefilter = "FAST"
    again = renderer.render_crops(s, pose, ("eye_left",), ("nir",))[0][2].astype(float)
    assert np.array_equal(fast, again)                                 # deterministic after the switch back
    assert 0 < np.abs(fast - accurate).mean() < 3.0                    # a different filter, noise-level change
    assert abs(fast.mean() - accurate.mean()) < 1.5                    # same brightness


def test_crop_samples_apply_to_crop_renders_only(renderer, spec):
    import dataclasses
    s = spec.with_resolution(640, 480)
    base = renderer.settings
    renderer.settings = dataclasses.replace(base, crop_samples=2)
    try:
        renderer.render_crops(s, DriverPose(), ("eye_left",), ("nir",))
        assert renderer.view.scene.cycles.samples == 2
    finally:
        renderer.settings = base
    renderer.render_crops(s, DriverPose(), ("eye_left",), ("nir",))
    assert renderer.view.scene.cycles.samples == base.samples == 4


def test_render_settings_reject_unknown_prefilter():
    from dms.sim.render import RenderSettings
    with pytest.raises(ValueError, match="denoise_prefilter"):
        RenderSettings(denoise_prefilter="fast")


def test_tongue_out_changes_only_the_mouth(renderer, spec):
    s = spec.with_resolution(192, 144)
    pose = DriverPose(mouth_openness=0.6, yawn=True)
    a = renderer.render_frame(s, pose, modalities=("rgb",))["rgb"].astype(int)
    b = renderer.render_frame(s, dataclasses.replace(pose, extra={"tongue": 1.0}), modalities=("rgb",))["rgb"]
    uv, _ = project_landmarks(s, pose, distort=False)
    cd = get_crop("mouth")
    x0, y0, x1, y1 = crop_bbox(crop_transform(uv, cd), cd.out_size, (192, 144))
    inside = np.zeros(a.shape[:2], bool)
    inside[y0:y1, x0:x1] = True
    d = np.abs(a - b.astype(int)).sum(2)
    assert d[inside].max() > 30                                        # the tongue shows
    assert d[inside].sum() > 0.9 * d.sum()


def test_camera_fill_light_is_per_scene_and_lights_the_face(renderer, spec, monkeypatch):
    import dms.sim.blender.scene as bs
    ws = [bs.camera_fill_w(k) for k in range(400)]
    assert ws == [bs.camera_fill_w(k) for k in range(400)]            # deterministic per texture seed
    on = [w for w in ws if w > 0]
    assert 0.35 < len(on) / 400 < 0.65 and min(on) >= bs.CAM_FILL_W[0] and max(on) <= bs.CAM_FILL_W[1]
    assert not any(bs.camera_fill_w(k, 0.0) for k in range(400))     # render.camera_fill_p=0: never
    # a higher share keeps the scenes that had a light and their power (only adds scenes)
    assert all(bs.camera_fill_w(k, 0.8) == w for k, w in enumerate(ws) if w > 0)
    s = spec.with_resolution(96, 72)
    uv, _ = project_landmarks(s, DriverPose(), distort=False)
    x0, y0 = np.floor(uv.min(0)).astype(int)
    x1, y1 = np.ceil(uv.max(0)).astype(int)
    means = []
    for w in (0.0, 6.0):
        monkeypatch.setattr(bs, "camera_fill_w", lambda seed, p, w=w: w)
        renderer.view._spec_key = renderer.view._modality = None          # re-apply the scene
        img = renderer.render_frame(s, DriverPose(), modalities=("rgb", "nir"))
        means.append((img["rgb"][max(y0, 0):y1, max(x0, 0):x1].mean(), img["nir"].astype(int)))
    assert means[1][0] > means[0][0] + 5                               # RGB face brighter with the fill
    assert np.abs(means[1][1] - means[0][1]).max() <= 2                # NIR has no visible-light fill
    renderer.view._spec_key = renderer.view._modality = None


def test_part_mask_and_depth_agree_with_the_projected_labels(renderer, spec):
    """render.part_masks / render.depth (issue #3): the aux pass sees what the labels say, where they say it."""
    from dms.sim.labels import posed_head
    from dms.sim.parts import PART_IDS, PARTS, UNKNOWN_PART, part_of
    s = spec.with_resolution(192, 144)
    pose = DriverPose(mouth_openness=0.7, yawn=True)
    before = renderer.render_frame(s, pose, modalities=("nir",))["nir"]
    out = renderer.render_frame(s, pose, modalities=("nir",), aux=("parts", "depth"))
    parts, depth = out["parts"], out["depth"]
    assert parts.shape == depth.shape == (144, 192) and parts.dtype == np.uint8 and depth.dtype == np.float32
    # the extra pass leaves the image's content as it was (its render noise may differ: Cycles re-syncs the scene
    # after the override; a reseed changes these frames by ~4 gray levels on average)
    assert np.abs(out["nir"].astype(int) - before.astype(int)).mean() < 1.5
    assert set(np.unique(parts)) <= set(PARTS)                         # every surface is in the legend
    for name in ("face_skin", "eye", "mouth_interior", "seat"):
        assert (parts == PART_IDS[name]).any(), name
    cam = s.camera_model()
    ph = posed_head(s, pose)
    px, z = cam.project(ph.vertices_world[:468], distort=False)
    for i in (1, 4, 151, 205, 425):                                    # nose tip, nose, forehead, cheeks
        x, y = np.round(px[i]).astype(int)
        assert parts[y, x] == PART_IDS["face_skin"], i
        assert abs(depth[y, x] - z[i]) < 0.01, (i, depth[y, x], z[i])   # metres along the camera axis
    for side in ("left", "right"):                                     # the pupils are eye pixels
        x, y = np.round(cam.project(ph.eye_centers_world[side][None] + 0.013 * ph.gaze_world[side][None],
                                    distort=False)[0][0]).astype(int)
        assert parts[y, x] == PART_IDS["eye"], side
    assert np.nanmax(depth) > np.nanmax(z) + 0.1                        # the cabin behind the driver
    closed = renderer.render_frame(s, DriverPose(eye_openness_left=0.0, eye_openness_right=0.0),
                                   modalities=("nir",), aux=("parts",))["parts"]
    assert (closed == PART_IDS["eye"]).sum() < 0.2 * (parts == PART_IDS["eye"]).sum()
    assert "depth" not in renderer.render_frame(s, pose, modalities=("nir",), aux=("parts",))
    # every mesh of the scene has a legend entry (a new object must be added to dms.sim.parts)
    for ob in renderer.view.scene.objects:
        if ob.type == "MESH":
            for sl in ob.material_slots or [None]:
                mat = sl.material.name if sl and sl.material else None
                assert part_of(ob.name, mat) != UNKNOWN_PART, (ob.name, mat)


def test_aux_outputs_are_validated(renderer, spec):
    from dms.errors import DmsError
    with pytest.raises(DmsError, match="unknown aux"):
        renderer.render_frame(spec, DriverPose(), modalities=("nir",), aux=("normals",))
