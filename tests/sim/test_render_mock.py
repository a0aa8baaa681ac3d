"""Renderer facade without Blender: MockRenderer contract, sensor model, lazy bpy import."""
import subprocess
import sys

import numpy as np
import pytest

from dms.errors import DmsError
from dms.sim.pose import DriverPose
from dms.sim.render import MockRenderer, RenderSettings, apply_sensor, overscan_camera
from dms.sim.spec import SamplingRanges, sample_scene


@pytest.fixture(scope="module")
def spec():
    return sample_scene(np.random.default_rng(5), SamplingRanges(resolutions=[(320, 240)]))


def test_render_module_imports_without_bpy():
    code = "import sys, dms.sim.render, dms.sim.labels; print('bpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_renderer_without_bpy_raises_clear_error(monkeypatch):
    from dms.sim import render
    monkeypatch.setitem(sys.modules, "bpy", None)          # makes `import bpy` raise ImportError
    monkeypatch.delitem(sys.modules, "dms.sim.blender.scene", raising=False)
    with pytest.raises(DmsError, match="bpy"):
        render.Renderer(RenderSettings(samples=1))


def test_mock_frame_contract(spec):
    r = MockRenderer()
    out = r.render_frame(spec, DriverPose(), modalities=("rgb", "nir"))
    assert out["rgb"].shape == (240, 320, 3) and out["rgb"].dtype == np.uint8
    assert out["nir"].shape == (240, 320) and out["nir"].dtype == np.uint8
    again = r.render_frame(spec, DriverPose(), modalities=("rgb", "nir"))
    assert np.array_equal(out["rgb"], again["rgb"])         # noise seeded by scene + pose
    with pytest.raises(ValueError):
        r.render_frame(spec, DriverPose(), modalities=("thermal",))


def test_mock_crops_contract_and_eye_closure(spec):
    r = MockRenderer(RenderSettings(sensor=False, auto_exposure=False))
    crops = r.render_crops(spec, DriverPose(), ("eye_left", "eye_right", "mouth"), ("rgb", "nir"))
    assert [(c[0], c[1]) for c in crops] == [("eye_left", "rgb"), ("eye_right", "rgb"), ("mouth", "rgb"),
                                             ("eye_left", "nir"), ("eye_right", "nir"), ("mouth", "nir")]
    assert crops[0][2].shape == (64, 64, 3) and crops[3][2].shape == (64, 64)
    closed = r.render_crops(spec, DriverPose(eye_openness_left=0.0), ("eye_left", "eye_right"), ("nir",))
    opened = r.render_crops(spec, DriverPose(), ("eye_left", "eye_right"), ("nir",))
    d_left = np.abs(closed[0][2].astype(int) - opened[0][2]).mean()
    d_right = np.abs(closed[1][2].astype(int) - opened[1][2]).mean()
    assert d_left > 3 and d_right < 0.5
    sized = r.render_crops(spec, DriverPose(), ("face",), ("rgb",), size=96)
    assert sized[0][2].shape == (96, 96, 3)


def test_sensor_model_noise_scales_and_is_seeded(spec):
    img = np.full((64, 64), 0.5, np.float32)
    a = apply_sensor(img, spec, np.random.default_rng(1), "nir")
    b = apply_sensor(img, spec, np.random.default_rng(1), "nir")
    assert np.array_equal(a, b) and a.dtype == np.uint8 and a.std() > 0.3
    small = apply_sensor(img, spec, np.random.default_rng(1), "nir", scale=0.25)
    assert small.std() < a.std()


def test_overscan_covers_distorted_frame(spec):
    import dataclasses
    s = dataclasses.replace(spec, camera=dataclasses.replace(spec.camera, dist=(-0.2, 0.02, 0, 0, 0)))
    cam = s.camera_model()
    pin = overscan_camera(cam)
    corners = np.array([[0, 0], [cam.width - 1, 0], [0, cam.height - 1], [cam.width - 1, cam.height - 1]], float)
    und = cam.undistort_pixels(corners) - [cam.cx, cam.cy] + [pin.cx, pin.cy]
    assert (und >= 0).all() and (und[:, 0] <= pin.width - 1).all() and (und[:, 1] <= pin.height - 1).all()
    out = MockRenderer().render_frame(s, DriverPose(), ("nir",))
    assert out["nir"].shape == (cam.height, cam.width)


def test_auto_exposure_meters_the_face_box():
    from dms.sim.render import AE_TARGET, auto_expose
    img = np.full((40, 40), 0.05, np.float32)
    img[10:20, 10:20] = 0.1
    out = auto_expose(img, (10, 10, 20, 20))
    assert np.isclose(np.percentile(out[10:20, 10:20], 60), AE_TARGET)
    assert np.isclose(auto_expose(np.zeros((4, 4), np.float32)).max(), 0.0)   # black stays black (gain clamped)
