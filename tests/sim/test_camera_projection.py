"""Camera geometry: the project's projection equals Blender's own world_to_camera_view; conventions hold."""
import numpy as np
import pytest

from dms.sim.camera import (MOUNTS, CameraModel, distort_normalized, gaze_angles_from_vector, look_at,
                            matrix_to_ypr, undistort_normalized, ypr_to_matrix)


def _random_camera(rng, width=None, height=None, principal=True):
    w = int(width or rng.integers(64, 1600))
    h = int(height or rng.integers(48, 1200))
    pos = rng.uniform(-1, 1, 3)
    tgt = pos + rng.normal(0, 1, 3)
    off = rng.uniform(-0.1, 0.1, 2) * [w, h] if principal else (0, 0)
    return CameraModel.create(w, h, float(rng.uniform(25, 100)), pos, tgt, float(rng.uniform(-30, 30)),
                              principal_offset_px=off)


def test_look_at_points_optical_axis_at_target():
    cam = CameraModel.create(640, 480, 50, (0.5, 0.0, 0.4), (-0.1, 0.0, 0.66))
    uv, z = cam.project(np.array([[-0.1, 0.0, 0.66]]))
    assert np.allclose(uv[0], [cam.cx, cam.cy], atol=1e-9) and z[0] > 0
    # cabin up (+z) appears up in the image (smaller v); the driver's left (+y) appears on the image's right
    uv2, _ = cam.project(np.array([[-0.1, 0.0, 0.76], [-0.1, 0.1, 0.66]]))
    assert uv2[0, 1] < cam.cy and uv2[1, 0] > cam.cx
    R = look_at((0, 0, 0), (1, 0, 0))
    assert np.allclose(R.T @ R, np.eye(3)) and np.isclose(np.linalg.det(R), 1.0)


def test_distortion_roundtrip():
    rng = np.random.default_rng(0)
    xy = rng.uniform(-0.5, 0.5, (200, 2))
    dist = (-0.15, 0.03, 4e-4, -3e-4, 0.0)
    assert np.allclose(undistort_normalized(distort_normalized(xy, dist), dist), xy, atol=1e-9)


def test_euler_conventions_roundtrip_and_signs():
    rng = np.random.default_rng(1)
    for _ in range(50):
        ypr = rng.uniform([-80, -60, -40], [80, 60, 40])
        assert np.allclose(matrix_to_ypr(ypr_to_matrix(*ypr)), ypr, atol=1e-9)
    fwd = np.array([0.0, 0.0, 1.0])                # head forward (canonical +z)
    assert (ypr_to_matrix(20, 0, 0) @ fwd)[0] > 0   # yaw > 0: toward the subject's left (+x canonical)
    assert (ypr_to_matrix(0, 20, 0) @ fwd)[1] > 0   # pitch > 0: up
    # gaze angles: into the camera = (0, 0); toward image right = yaw > 0; up (-y) = pitch > 0
    assert np.allclose(gaze_angles_from_vector([0, 0, -1]), (0, 0))
    assert gaze_angles_from_vector([0.3, 0, -1])[0] > 0 and gaze_angles_from_vector([0, -0.3, -1])[1] > 0


def test_camera_info_matches_model():
    cam = CameraModel.create(1280, 800, 52, MOUNTS["steering_column"].position_m, (-0.1, 0, 0.66),
                             dist=(-0.1, 0.01, 0, 0, 0))
    info = cam.to_camera_info()
    T = np.asarray(info.T_cam_from_world)
    p = np.array([-0.1, 0.02, 0.7])
    pc = T[:3, :3] @ p + T[:3, 3]
    assert np.allclose(pc, cam.world_to_cam(p[None])[0])
    assert info.width == 1280 and np.allclose(info.K_array, cam.K)


@pytest.mark.blender
def test_projection_equals_blender_world_to_camera_view():
    bpy = pytest.importorskip("bpy")
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Matrix, Vector

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    cd = bpy.data.cameras.new("c")
    ob = bpy.data.objects.new("c", cd)
    scene.collection.objects.link(ob)
    scene.camera = ob
    rng = np.random.default_rng(42)
    for trial in range(12):
        cam = _random_camera(rng)
        p = cam.blender_params()
        cd.sensor_fit = p["sensor_fit"]
        cd.sensor_width = p["sensor_width_mm"]
        cd.lens = p["lens_mm"]
        cd.shift_x, cd.shift_y = p["shift_x"], p["shift_y"]
        ob.matrix_world = Matrix(p["matrix_world"].tolist())
        scene.render.resolution_x, scene.render.resolution_y = p["resolution"]
        scene.render.resolution_percentage = 100
        bpy.context.view_layer.update()
        # random points in front of the camera
        d = rng.normal(0, 1, (40, 3)) * [0.4, 0.4, 0] + [0, 0, 1]
        pts_cam = d * rng.uniform(0.2, 3.0, (40, 1))
        pts = np.asarray(cam.position_m) + pts_cam @ cam.R.T
        ours = cam.blender_ndc(pts)
        theirs = np.array([tuple(world_to_camera_view(scene, ob, Vector(tuple(q)))) for q in pts])
        # Blender computes in float32: agree to 1e-5 of the frame (0.01 px on a 1 MP sensor)
        np.testing.assert_allclose(ours, theirs, atol=1e-5, err_msg=f"trial {trial}")
