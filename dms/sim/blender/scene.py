"""BlenderView: one Cycles scene per process, rebuilt cheaply per SceneSpec and posed per DriverPose.

Build once (objects, materials, lights); per spec only data changes (head basis + shape keys via foreach_set,
textures, colours, light strengths, camera); per pose only transforms and shape-key values; per modality only
material mix factors and light strengths. Geometry comes from :func:`dms.sim.labels.posed_head`, so the rendered
landmarks are exactly the labelled ones.
"""
from __future__ import annotations

import logging
import math
import os
import tempfile
from pathlib import Path
from typing import Optional

import bpy
import numpy as np
from mathutils import Matrix

from dms.sim import head as headmod
from dms.sim.camera import MOUNTS, CameraModel
from dms.sim.labels import head_geometry, posed_head
from dms.sim.pose import DriverPose
from dms.sim.spec import SceneSpec, skin_albedo_rgb
from dms.contracts import HandState

LOG = logging.getLogger(__name__)
#: RGB camera-side fill light power range (W, 0.2 m area light); the share of scenes is render.camera_fill_p
CAM_FILL_W = (1.0, 6.0)
AUX_MATERIAL = "dms_aux"          # override material of the part/depth pass
PART_ATTRIBUTE = "dms_part"        # per-face part id (dms.sim.parts) read by it


def camera_fill_w(texture_seed: int, p: float = 0.5) -> float:
    """Power (W) of a scene's RGB camera-side fill light, 0 = none (probability ``1 - p``): drawn from the scene's
    texture seed (its own stream), so every sampled scene value stays as it was."""
    rng = np.random.default_rng(int(texture_seed) + 3)
    u, w = rng.random(), float(rng.uniform(*CAM_FILL_W))
    return w if u < p else 0.0


def _aimed(p, target) -> Matrix:
    """World matrix of a light at ``p`` whose -z axis points at ``target`` (x kept horizontal)."""
    z = np.asarray(p, float) - target
    z /= np.linalg.norm(z)
    x = np.cross([0, 0, 1.0], z)
    x /= np.linalg.norm(x) + 1e-9
    return _mat4(np.stack([x, np.cross(z, x), z], 1), p)


def _mat4(R: np.ndarray, t) -> Matrix:
    M = np.eye(4)
    M[:3, :3] = R
    M[:3, 3] = t
    return Matrix(M.tolist())


def _frame_z(z: np.ndarray) -> np.ndarray:
    """A rotation whose local +Z is ``z``."""
    z = z / np.linalg.norm(z)
    x = np.cross(z, [0.0, 0.0, 1.0] if abs(z[2]) < 0.9 else [1.0, 0.0, 0.0])
    x /= np.linalg.norm(x)
    return np.stack([x, np.cross(z, x), z], 1)


class _Mat:
    """A Principled material whose colour/roughness switch between RGB and NIR responses."""

    def __init__(self, name: str, rgb=(0.5, 0.5, 0.5), nir=0.5, roughness=0.5, specular=0.5, view=None):
        self.m = bpy.data.materials.new(name)
        if not self.m.node_tree:
            self.m.use_nodes = True
        nt = self.m.node_tree
        self.nt = nt
        self.bsdf = nt.nodes["Principled BSDF"]
        self.bsdf.inputs["Roughness"].default_value = roughness
        self.bsdf.inputs["Specular IOR Level"].default_value = specular
        self.mix = nt.nodes.new("ShaderNodeMix")
        self.mix.data_type = "RGBA"
        self.mix.inputs["Factor"].default_value = 0.0
        nt.links.new(self.mix.outputs["Result"], self.bsdf.inputs["Base Color"])
        self.set_colors(rgb, nir)
        if view is not None:
            view._mats.append(self)

    def set_colors(self, rgb, nir: float) -> None:
        self.mix.inputs["A"].default_value = (*rgb, 1.0)
        self.mix.inputs["B"].default_value = (nir, nir, nir, 1.0)

    def set_modality(self, nir: bool) -> None:
        self.mix.inputs["Factor"].default_value = 1.0 if nir else 0.0


class BlenderView:
    def __init__(self, settings) -> None:
        self.settings = settings
        bpy.ops.wm.read_factory_settings(use_empty=True)
        self.scene = bpy.context.scene
        self._mats: list[_Mat] = []
        self._spec_key: Optional[str] = None
        self._pose_key = None
        self._modality: Optional[str] = None
        self._tmp = Path(tempfile.mkdtemp(prefix="dms-render-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
        import shutil
        import weakref
        weakref.finalize(self, shutil.rmtree, str(self._tmp), True)
        self._setup_render()
        self._build()

    # ----------------------------------------------------------------------------------------------- setup
    def _setup_render(self) -> None:
        sc, s = self.scene, self.settings
        sc.render.engine = "CYCLES"
        cy = sc.cycles
        cy.device = "GPU" if s.device.upper() != "CPU" else "CPU"
        if cy.device == "GPU":
            prefs = bpy.context.preferences.addons["cycles"].preferences
            prefs.compute_device_type = s.device.upper()
            prefs.get_devices()
            for d in prefs.devices:
                d.use = True
        cy.samples = int(s.samples)
        cy.use_adaptive_sampling = False
        cy.use_denoising = bool(s.denoise)
        # FAST: OIDN denoises colour + albedo/normal guides in one filter; ACCURATE prefilters the guides with two
        # more OIDN filters, which cost ~half of a 4-sample crop render for no visible gain (guides of a 4-sample
        # render are nearly clean): mean abs diff to ACCURATE 0.7 gray levels, below the 1.3 of a Cycles reseed
        cy.denoising_prefilter = s.denoise_prefilter
        # few lights: the light tree costs ~15% of the path-tracing time and only changes the noise (unbiased
        # either way; diff to the light tree 0.9 gray levels after denoising, below the reseed's 1.3)
        cy.use_light_tree = bool(s.light_tree)
        cy.max_bounces = int(s.max_bounces)
        cy.diffuse_bounces = 1
        cy.glossy_bounces = 1
        cy.transmission_bounces = 1
        cy.transparent_max_bounces = 6
        cy.volume_bounces = 0
        cy.caustics_reflective = False
        cy.caustics_refractive = False
        cy.sample_clamp_indirect = 2.0
        cy.sample_clamp_direct = 20.0
        cy.seed = 0
        if s.threads > 0:
            sc.render.threads_mode = "FIXED"
            sc.render.threads = int(s.threads)
        sc.render.use_persistent_data = True
        sc.render.film_transparent = False
        sc.render.image_settings.file_format = "PNG"
        sc.render.image_settings.color_depth = "16"
        sc.render.image_settings.compression = 0      # the render PNG only goes through /dev/shm: no zlib
        sc.render.image_settings.color_mode = "RGB"
        sc.view_settings.view_transform = "Standard"
        sc.view_settings.look = "None"
        sc.render.resolution_percentage = 100
        sc.render.use_crop_to_border = True

    def _obj(self, name, mesh, parent=None, mats=()):
        ob = bpy.data.objects.new(name, mesh)
        self.scene.collection.objects.link(ob)
        for m in mats:
            mesh.materials.append(m.m if isinstance(m, _Mat) else m)
        if parent is not None:
            ob.parent = parent
        return ob

    @staticmethod
    def _mesh(name, verts, tris, uv=None, smooth=True):
        me = bpy.data.meshes.new(name)
        me.from_pydata([tuple(v) for v in np.asarray(verts, float)], [], [tuple(int(i) for i in t) for t in tris])
        if uv is not None:
            layer = me.uv_layers.new(name="UVMap")
            loops = np.zeros(len(me.loops), np.int64)
            me.loops.foreach_get("vertex_index", loops)
            uvl = np.asarray(uv, np.float64)[loops]
            uvl[:, 1] = 1.0 - uvl[:, 1]
            layer.data.foreach_set("uv", uvl.astype(np.float32).ravel())
        me.polygons.foreach_set("use_smooth", [bool(smooth)] * len(me.polygons))
        me.update()
        return me

    def _uv_sphere(self, name, radius, seg=24, rings=12, z_offset=0.0, scale=(1, 1, 1)):
        uu, vv = np.meshgrid(np.linspace(0, np.pi, rings + 1), np.linspace(0, 2 * np.pi, seg + 1)[:-1],
                             indexing="ij")
        pts = np.stack([np.sin(uu) * np.cos(vv), np.sin(uu) * np.sin(vv), np.cos(uu)], -1).reshape(-1, 3)
        pts = pts * radius * np.asarray(scale) + [0, 0, z_offset]
        idx = np.arange(len(pts)).reshape(rings + 1, seg)
        tris = []
        for a in range(rings):
            for b in range(seg):
                p00, p01 = idx[a, b], idx[a, (b + 1) % seg]
                p10, p11 = idx[a + 1, b], idx[a + 1, (b + 1) % seg]
                if a > 0:
                    tris.append((p00, p10, p01))
                if a < rings - 1:
                    tris.append((p01, p10, p11))
        return self._mesh(name, pts, tris)

    def _box(self, name, size, center, rot=None, mats=(), parent=None, bevel=0.0):
        sx, sy, sz = (s / 2 for s in size)
        v = np.array([[x, y, z] for x in (-sx, sx) for y in (-sy, sy) for z in (-sz, sz)])
        f = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
        me = bpy.data.meshes.new(name)
        me.from_pydata([tuple(x) for x in v], [], f)
        me.update()
        ob = self._obj(name, me, parent, mats)
        ob.location = center
        if rot is not None:
            ob.rotation_euler = rot
        if bevel > 0:
            md = ob.modifiers.new("bevel", "BEVEL")
            md.width = bevel
            md.segments = 3
        return ob

    def _cylinder(self, name, r0, r1, length, seg=16, mats=(), parent=None, closed=True):
        """Along local +Z from 0 to ``length``; radius r0 -> r1."""
        ang = np.linspace(0, 2 * np.pi, seg + 1)[:-1]
        ring0 = np.stack([np.cos(ang) * r0, np.sin(ang) * r0, np.zeros(seg)], 1)
        ring1 = np.stack([np.cos(ang) * r1, np.sin(ang) * r1, np.full(seg, length)], 1)
        v = np.concatenate([ring0, ring1, [[0, 0, 0], [0, 0, length]]])
        f = []
        for i in range(seg):
            j = (i + 1) % seg
            f += [(i, j, seg + j), (i, seg + j, seg + i)]
            if closed:
                f += [(2 * seg, j, i), (2 * seg + 1, seg + i, seg + j)]
        return self._obj(name, self._mesh(name, v, f), parent, mats)

    # ----------------------------------------------------------------------------------------------- build
    def _build(self) -> None:
        sc = self.scene
        V = self
        # world
        world = bpy.data.worlds.new("world")
        sc.world = world
        if not world.node_tree:
            world.use_nodes = True
        self.bg = world.node_tree.nodes["Background"]
        # camera
        cd = bpy.data.cameras.new("cam")
        self.cam = bpy.data.objects.new("cam", cd)
        sc.collection.objects.link(self.cam)
        sc.camera = self.cam
        cd.clip_start = 0.02
        cd.clip_end = 200.0
        # materials
        self.m_skin = _Mat("skin", roughness=0.45, specular=0.45, view=V)
        self._skin_textures()
        self.m_mouth = _Mat("mouth", (0.3, 0.05, 0.05), 0.42, 0.5, view=V)
        self.m_teeth = _Mat("teeth", (0.8, 0.77, 0.68), 0.75, 0.3, view=V)
        self.m_lash = _Mat("lash", (0.02, 0.015, 0.01), 0.1, 0.6, view=V)
        self.m_tongue = _Mat("tongue", (0.68, 0.33, 0.33), 0.55, 0.35, view=V)
        self.m_margin = _Mat("lid_margin", (0.55, 0.28, 0.25), 0.5, 0.25, view=V)
        self.m_conj = _Mat("conjunctiva", (0.72, 0.6, 0.56), 0.62, 0.12, specular=0.7, view=V)
        self.m_lipin = _Mat("lip_inner", (0.5, 0.16, 0.15), 0.42, 0.3, specular=0.6, view=V)
        self._mouth_gradient()
        self._teeth_gaps()
        self.m_hair = _Mat("hair", (0.05, 0.04, 0.03), 0.2, 0.45, view=V)
        self._hair_strands()
        self.m_cloth = _Mat("cloth", (0.2, 0.25, 0.35), 0.4, 0.8, specular=0.2, view=V)
        self.m_frame = _Mat("glasses_frame", (0.05, 0.05, 0.05), 0.08, 0.25, view=V)
        self.m_cap = _Mat("cap", (0.1, 0.1, 0.3), 0.3, 0.8, view=V)
        self.m_mask = _Mat("face_mask", (0.8, 0.85, 0.9), 0.7, 0.9, view=V)
        self.m_wheel = _Mat("wheel", (0.02, 0.02, 0.02), 0.1, 0.5, view=V)
        self.m_dash = _Mat("dash", (0.05, 0.05, 0.05), 0.15, 0.7, view=V)
        self.m_seat = _Mat("seat", (0.08, 0.08, 0.08), 0.15, 0.7, view=V)
        self.m_headliner = _Mat("headliner", (0.55, 0.53, 0.5), 0.5, 0.9, view=V)
        self.m_trim = _Mat("trim", (0.2, 0.2, 0.2), 0.25, 0.6, view=V)
        self.m_phone = _Mat("phone", (0.02, 0.02, 0.025), 0.05, 0.15, view=V)
        self.m_outside = _Mat("outside", (0.3, 0.32, 0.3), 0.3, 0.9, view=V)
        self.m_eye = self._eye_material()
        self.m_cornea = self._glass_material("cornea", 1.376, 0.0)
        self.m_lens = self._glass_material("lens", 1.5, 0.0)
        # head (topology fixed across identities)
        g0 = headmod.head_model().geometry({})
        self.head_root = bpy.data.objects.new("head_root", None)
        sc.collection.objects.link(self.head_root)
        me = self._mesh("head", g0.vertices, g0.triangles, g0.uv)
        me.polygons.foreach_set("material_index", g0.tri_material.astype(np.int32))
        self.head = self._obj("head", me, self.head_root,
                              [self.m_skin, self.m_mouth, self.m_teeth, self.m_lash, self.m_tongue, self.m_margin,
                               self.m_conj, self.m_lipin])
        assert len(self.head.data.materials) == len(headmod.MATERIAL_NAMES)
        self.head.shape_key_add(name="Basis", from_mix=False)
        for name in g0.keys:
            self.head.shape_key_add(name=name, from_mix=False)
        self._nv = g0.n_vertices
        self.hair = None
        # eyeballs: pivot empties (rotate for gaze) with sclera+iris sphere and cornea
        self.eye_pivots = {}
        for side in ("left", "right"):
            piv = bpy.data.objects.new(f"eye_{side}", None)
            sc.collection.objects.link(piv)
            piv.parent = self.head_root
            sclera = self._obj(f"sclera_{side}", self._uv_sphere(f"sclera_{side}", headmod.EYE_SCLERA_RADIUS_M, 32, 16),
                               piv, [self.m_eye])
            cornea = self._obj(f"cornea_{side}", self._uv_sphere(f"cornea_{side}", headmod.CORNEA_RADIUS_M, 24, 12,
                                                                 z_offset=headmod.CORNEA_OFFSET_M), piv,
                               [self.m_cornea])
            self.eye_pivots[side] = piv
        self._build_accessories()
        self._build_body()
        self._build_cabin()
        self._build_lights()

    def _hair_strands(self) -> None:
        """Strand look: anisotropic wave/noise streaks modulate colour and bump along the hair direction."""
        nt = self.m_hair.nt
        tc = nt.nodes.new("ShaderNodeTexCoord")
        mp = nt.nodes.new("ShaderNodeMapping")
        mp.inputs["Scale"].default_value = (900.0, 40.0, 900.0)     # fine across strands, long along them (y)
        nt.links.new(tc.outputs["Object"], mp.inputs["Vector"])
        noise = nt.nodes.new("ShaderNodeTexNoise")
        noise.inputs["Scale"].default_value = 1.0
        noise.inputs["Detail"].default_value = 4.0
        nt.links.new(mp.outputs["Vector"], noise.inputs["Vector"])
        ramp = nt.nodes.new("ShaderNodeMath")
        ramp.operation = "MULTIPLY_ADD"
        ramp.inputs[1].default_value = 1.2
        ramp.inputs[2].default_value = 0.3
        nt.links.new(noise.outputs["Fac"], ramp.inputs[0])
        mul = nt.nodes.new("ShaderNodeMix")
        mul.data_type = "RGBA"
        mul.blend_type = "MULTIPLY"
        mul.inputs["Factor"].default_value = 1.0
        nt.links.new(self.m_hair.mix.outputs["Result"], mul.inputs["A"])
        nt.links.new(ramp.outputs[0], mul.inputs["B"])
        nt.links.new(mul.outputs["Result"], self.m_hair.bsdf.inputs["Base Color"])
        bump = nt.nodes.new("ShaderNodeBump")
        bump.inputs["Strength"].default_value = 0.6
        bump.inputs["Distance"].default_value = 0.001
        self._add_skin_relief(nt, noise, bump)
        nt.links.new(bump.outputs["Normal"], self.m_hair.bsdf.inputs["Normal"])
        self.m_hair.bsdf.inputs["Coat Weight"].default_value = 0.0
        self.m_hair.bsdf.inputs["Anisotropic"].default_value = 0.6

    def _add_skin_relief(self, nt, noise, bump) -> None:
        """Identity-independent relief (lid crease groove) in UV space, added to the pore noise -> bump height.
        Shared by the skin and the brow/hair-on-skin materials so both fold the same way."""
        from dms.sim.blender.textures import face_height
        img_h = bpy.data.images.get("skin_height")
        if img_h is None:                                   # one image for every material that needs it
            h = face_height(512)
            img_h = bpy.data.images.new("skin_height", 512, 512, alpha=False, float_buffer=True)
            img_h.colorspace_settings.name = "Non-Color"
            rgba = np.ones((512, 512, 4), np.float32)
            rgba[..., :3] = h[::-1, :, None]
            img_h.pixels.foreach_set(rgba.ravel())
            img_h.update()
        t_h = nt.nodes.new("ShaderNodeTexImage")
        t_h.image = img_h
        t_h.extension = "EXTEND"
        t_h.interpolation = "Cubic"
        hsum = nt.nodes.new("ShaderNodeMath"); hsum.operation = "MULTIPLY_ADD"
        hsum.inputs[1].default_value = 1.2                  # crease groove ~1.2x the pore relief
        nt.links.new(t_h.outputs["Color"], hsum.inputs[0])
        nt.links.new(noise.outputs["Fac"], hsum.inputs[2])
        nt.links.new(hsum.outputs[0], bump.inputs["Height"])

    def _teeth_gaps(self) -> None:
        """Individual teeth: dark interdental gaps every ~7 mm along head-local x, greyer toward the sides."""
        nt = self.m_teeth.nt
        tc = nt.nodes.new("ShaderNodeTexCoord")
        sep = nt.nodes.new("ShaderNodeSeparateXYZ")
        nt.links.new(tc.outputs["Object"], sep.inputs["Vector"])
        ab = nt.nodes.new("ShaderNodeMath"); ab.operation = "ABSOLUTE"
        nt.links.new(sep.outputs["X"], ab.inputs[0])
        sc = nt.nodes.new("ShaderNodeMath"); sc.operation = "DIVIDE"; sc.inputs[1].default_value = 0.0072
        nt.links.new(ab.outputs[0], sc.inputs[0])
        ping = nt.nodes.new("ShaderNodeMath"); ping.operation = "PINGPONG"; ping.inputs[1].default_value = 0.5
        nt.links.new(sc.outputs[0], ping.inputs[0])             # 0 at a gap, 0.5 mid-tooth
        ramp = nt.nodes.new("ShaderNodeValToRGB")
        cr = ramp.color_ramp
        cr.elements[0].position, cr.elements[0].color = 0.0, (0.62, 0.58, 0.55, 1)   # subtle interdental lines
        cr.elements[1].position, cr.elements[1].color = 0.06, (1, 1, 1, 1)
        nt.links.new(ping.outputs[0], ramp.inputs["Fac"])
        side = nt.nodes.new("ShaderNodeMath"); side.operation = "MULTIPLY_ADD"
        side.inputs[1].default_value = -18.0; side.inputs[2].default_value = 1.0
        nt.links.new(ab.outputs[0], side.inputs[0])            # 1 at the centre, ~0.65 at the canines
        mul = nt.nodes.new("ShaderNodeMix"); mul.data_type = "RGBA"; mul.blend_type = "MULTIPLY"
        mul.inputs["Factor"].default_value = 1.0
        nt.links.new(self.m_teeth.mix.outputs["Result"], mul.inputs["A"])
        nt.links.new(ramp.outputs["Color"], mul.inputs["B"])
        mul2 = nt.nodes.new("ShaderNodeMath"); mul2.operation = "MAXIMUM"; mul2.inputs[1].default_value = 0.5
        nt.links.new(side.outputs[0], mul2.inputs[0])
        mul3 = nt.nodes.new("ShaderNodeMix"); mul3.data_type = "RGBA"; mul3.blend_type = "MULTIPLY"
        mul3.inputs["Factor"].default_value = 1.0
        nt.links.new(mul.outputs["Result"], mul3.inputs["A"])
        nt.links.new(mul2.outputs[0], mul3.inputs["B"])
        nt.links.new(mul3.outputs["Result"], self.m_teeth.bsdf.inputs["Base Color"])

    def _mouth_gradient(self) -> None:
        """Oral cavity: reddish near the lips, fading to a dark pharynx with depth (head-local z)."""
        nt = self.m_mouth.nt
        tc = nt.nodes.new("ShaderNodeTexCoord")
        sep = nt.nodes.new("ShaderNodeSeparateXYZ")
        nt.links.new(tc.outputs["Object"], sep.inputs["Vector"])
        mr = nt.nodes.new("ShaderNodeMapRange")
        mr.inputs["From Min"].default_value = 0.035      # head-local z of the lips ~0.05..0.06; deeper = darker
        mr.inputs["From Max"].default_value = 0.055
        mr.inputs["To Min"].default_value = 0.1
        mr.inputs["To Max"].default_value = 1.0
        nt.links.new(sep.outputs["Z"], mr.inputs["Value"])
        mul = nt.nodes.new("ShaderNodeMix"); mul.data_type = "RGBA"; mul.blend_type = "MULTIPLY"
        mul.inputs["Factor"].default_value = 1.0
        nt.links.new(self.m_mouth.mix.outputs["Result"], mul.inputs["A"])
        nt.links.new(mr.outputs["Result"], mul.inputs["B"])
        nt.links.new(mul.outputs["Result"], self.m_mouth.bsdf.inputs["Base Color"])

    def _skin_textures(self) -> None:
        nt = self.m_skin.nt
        self.img_rgb = bpy.data.images.new("skin_rgb", 512, 512, alpha=False, float_buffer=True)
        self.img_nir = bpy.data.images.new("skin_nir", 512, 512, alpha=False, float_buffer=True)
        for img in (self.img_rgb, self.img_nir):
            img.colorspace_settings.name = "Non-Color"
        t_rgb = nt.nodes.new("ShaderNodeTexImage")
        t_rgb.image = self.img_rgb
        t_nir = nt.nodes.new("ShaderNodeTexImage")
        t_nir.image = self.img_nir
        for t in (t_rgb, t_nir):
            t.extension = "EXTEND"
        nt.links.new(t_rgb.outputs["Color"], self.m_skin.mix.inputs["A"])
        nt.links.new(t_nir.outputs["Color"], self.m_skin.mix.inputs["B"])
        # pores / wrinkles bump
        tc = nt.nodes.new("ShaderNodeTexCoord")
        noise = nt.nodes.new("ShaderNodeTexNoise")
        noise.inputs["Scale"].default_value = 900.0
        noise.inputs["Detail"].default_value = 3.0
        nt.links.new(tc.outputs["Object"], noise.inputs["Vector"])
        bump = nt.nodes.new("ShaderNodeBump")
        bump.inputs["Distance"].default_value = 0.0004
        self.skin_bump = bump
        self._add_skin_relief(nt, noise, bump)
        nt.links.new(bump.outputs["Normal"], self.m_skin.bsdf.inputs["Normal"])
        b = self.m_skin.bsdf
        b.inputs["Subsurface Weight"].default_value = 0.12 if self.settings.subsurface else 0.0
        b.inputs["Subsurface Radius"].default_value = (0.006, 0.0025, 0.0015)
        b.inputs["Subsurface Scale"].default_value = 0.5

    def _eye_material(self):
        """Sclera/iris/pupil by the angle from the eyeball's optical axis (object +Z)."""
        m = bpy.data.materials.new("eye")
        if not m.node_tree:
            m.use_nodes = True
        nt = m.node_tree
        b = nt.nodes["Principled BSDF"]
        b.inputs["Roughness"].default_value = 0.15
        tc = nt.nodes.new("ShaderNodeTexCoord")
        sep = nt.nodes.new("ShaderNodeSeparateXYZ")
        nt.links.new(tc.outputs["Object"], sep.inputs["Vector"])
        # rho = sqrt(x^2+y^2)/R on the front hemisphere; back hemisphere -> sclera
        mx = nt.nodes.new("ShaderNodeMath"); mx.operation = "MULTIPLY"
        my = nt.nodes.new("ShaderNodeMath"); my.operation = "MULTIPLY"
        nt.links.new(sep.outputs["X"], mx.inputs[0]); nt.links.new(sep.outputs["X"], mx.inputs[1])
        nt.links.new(sep.outputs["Y"], my.inputs[0]); nt.links.new(sep.outputs["Y"], my.inputs[1])
        add = nt.nodes.new("ShaderNodeMath"); add.operation = "ADD"
        nt.links.new(mx.outputs[0], add.inputs[0]); nt.links.new(my.outputs[0], add.inputs[1])
        sq = nt.nodes.new("ShaderNodeMath"); sq.operation = "SQRT"
        nt.links.new(add.outputs[0], sq.inputs[0])
        div = nt.nodes.new("ShaderNodeMath"); div.operation = "DIVIDE"
        div.inputs[1].default_value = headmod.EYE_SCLERA_RADIUS_M
        nt.links.new(sq.outputs[0], div.inputs[0])
        back = nt.nodes.new("ShaderNodeMath"); back.operation = "LESS_THAN"; back.inputs[1].default_value = 0.0
        nt.links.new(sep.outputs["Z"], back.inputs[0])
        rho = nt.nodes.new("ShaderNodeMath"); rho.operation = "MAXIMUM"
        nt.links.new(div.outputs[0], rho.inputs[0]); nt.links.new(back.outputs[0], rho.inputs[1])
        # iris streaks: noise on the angle around the axis
        noise = nt.nodes.new("ShaderNodeTexNoise")
        noise.inputs["Scale"].default_value = 9000.0
        noise.inputs["Detail"].default_value = 2.0
        nt.links.new(tc.outputs["Object"], noise.inputs["Vector"])
        ramp = nt.nodes.new("ShaderNodeValToRGB")
        self.eye_ramp = ramp
        nt.links.new(rho.outputs[0], ramp.inputs["Fac"])
        mixn = nt.nodes.new("ShaderNodeMix"); mixn.data_type = "RGBA"; mixn.blend_type = "MULTIPLY"
        mixn.inputs["Factor"].default_value = 0.35
        nt.links.new(ramp.outputs["Color"], mixn.inputs["A"])
        nt.links.new(noise.outputs["Color"], mixn.inputs["B"])
        nt.links.new(mixn.outputs["Result"], b.inputs["Base Color"])
        # bright pupil (NIR retro-reflection): emission inside the pupil
        pup = nt.nodes.new("ShaderNodeMath"); pup.operation = "LESS_THAN"
        self.pupil_threshold = pup
        nt.links.new(rho.outputs[0], pup.inputs[0])
        em = nt.nodes.new("ShaderNodeMath"); em.operation = "MULTIPLY"; em.inputs[1].default_value = 0.0
        self.pupil_emission = em
        nt.links.new(pup.outputs[0], em.inputs[0])
        b.inputs["Emission Color"].default_value = (1, 1, 1, 1)
        nt.links.new(em.outputs[0], b.inputs["Emission Strength"])
        return m

    def _set_eye_colors(self, spec: SceneSpec, nir: bool) -> None:
        idn = spec.identity
        pr = idn.pupil_diameter_mm / 2000.0 / headmod.EYE_SCLERA_RADIUS_M
        ir = 0.49
        if nir:
            # 940/850 nm: melanin absorbs little, so even brown irises are mid-grey (lighter than in RGB)
            # (real NIR eye crops, e.g. MRL, still show a clearly darker iris disc against the sclera)
            iris = (0.26 + 0.3 * float(np.mean(idn.iris_rgb)),) * 3
            iris_dark = (0.17,) * 3
            sclera = (0.72,) * 3
        else:
            iris = tuple(idn.iris_rgb)
            iris_dark = tuple(0.45 * c for c in idn.iris_rgb)
            t = idn.sclera_tint
            sclera = (0.86, 0.83 - 0.1 * t, 0.79 - 0.2 * t)
        pupil = (0.01, 0.01, 0.01)
        cr = self.eye_ramp.color_ramp
        cr.interpolation = "LINEAR"
        stops = [(0.0, pupil), (pr - 0.01, pupil), (pr + 0.01, iris_dark), (pr + 0.12, iris), (ir - 0.06, iris),
                 (ir - 0.01, tuple(0.4 * c for c in iris)), (ir + 0.03, sclera), (1.0, sclera)]
        while len(cr.elements) < len(stops):
            cr.elements.new(0.5)
        for el, (pos, col) in zip(cr.elements, stops):
            el.position = float(np.clip(pos, 0, 1))
            el.color = (*col, 1.0)
        self.pupil_threshold.inputs[1].default_value = pr
        self.pupil_emission.inputs[1].default_value = (
            2.0 * spec.nir.illuminator_power if (nir and spec.nir.bright_pupil) else 0.0)

    def _glass_material(self, name, ior, roughness):
        """Thin clear surface: tinted straight-through transparency + Fresnel reflection (corneal/lens glints).

        No refraction, so it costs transparent bounces only (cheap, never black at low bounce limits)."""
        m = bpy.data.materials.new(name)
        if not m.node_tree:
            m.use_nodes = True
        nt = m.node_tree
        for n in list(nt.nodes):
            if n.type != "OUTPUT_MATERIAL":
                nt.nodes.remove(n)
        out = next(n for n in nt.nodes if n.type == "OUTPUT_MATERIAL")
        tr = nt.nodes.new("ShaderNodeBsdfTransparent")
        gl = nt.nodes.new("ShaderNodeBsdfGlossy")
        gl.inputs["Roughness"].default_value = roughness
        fr = nt.nodes.new("ShaderNodeFresnel")
        fr.inputs["IOR"].default_value = ior
        # exit surfaces (backfacing) of this non-refractive shell would see total internal reflection: no glint
        geo = nt.nodes.new("ShaderNodeNewGeometry")
        front = nt.nodes.new("ShaderNodeMath")
        front.operation = "SUBTRACT"
        front.inputs[0].default_value = 1.0
        nt.links.new(geo.outputs["Backfacing"], front.inputs[1])
        fac = nt.nodes.new("ShaderNodeMath")
        fac.operation = "MULTIPLY"
        nt.links.new(fr.outputs[0], fac.inputs[0])
        nt.links.new(front.outputs[0], fac.inputs[1])
        mix = nt.nodes.new("ShaderNodeMixShader")
        nt.links.new(fac.outputs[0], mix.inputs[0])
        nt.links.new(tr.outputs[0], mix.inputs[1])
        nt.links.new(gl.outputs[0], mix.inputs[2])
        nt.links.new(mix.outputs[0], out.inputs["Surface"])
        m["tint_node"] = tr.name
        return m

    def _set_lens_tint(self, rgb) -> None:
        nt = self.m_lens.node_tree
        nt.nodes[self.m_lens["tint_node"]].inputs["Color"].default_value = (*rgb, 1.0)

    def _build_accessories(self) -> None:
        hr = self.head_root
        # glasses: rims (torus-like rings), lenses (thin discs), bridge, temples; head-local coordinates
        self.glasses_parts = []
        for side, sgn in (("left", 1.0), ("right", -1.0)):
            ang = np.linspace(0, 2 * np.pi, 25)[:-1]
            rx, ry = 0.024, 0.0175
            ring = np.stack([np.cos(ang) * rx, np.sin(ang) * ry, np.zeros_like(ang)], 1)
            lens_v = np.concatenate([[[0, 0, 0.001]], ring + [0, 0, 0.0], [[0, 0, -0.001]]])
            n = len(ang)
            f = [(0, 1 + i, 1 + (i + 1) % n) for i in range(n)] + [(n + 1, 1 + (i + 1) % n, 1 + i) for i in range(n)]
            lens = self._obj(f"lens_{side}", self._mesh(f"lens_{side}", lens_v, f, smooth=False), hr,
                            [self.m_lens])   # flat: smooth normals across the thin rim would fake grazing Fresnel
            # rim: tube around the ring
            tube = []
            for a in ang:
                c = np.array([np.cos(a) * rx, np.sin(a) * ry, 0.0])
                nrm = np.array([np.cos(a) / rx, np.sin(a) / ry, 0.0]); nrm /= np.linalg.norm(nrm)
                for b in np.linspace(0, 2 * np.pi, 7)[:-1]:
                    tube.append(c + 0.0014 * (np.cos(b) * nrm + np.sin(b) * np.array([0, 0, 1.0])))
            tube = np.array(tube).reshape(n, 6, 3)
            tf = []
            for i in range(n):
                for k in range(6):
                    a0, a1 = i * 6 + k, i * 6 + (k + 1) % 6
                    b0, b1 = ((i + 1) % n) * 6 + k, ((i + 1) % n) * 6 + (k + 1) % 6
                    tf += [(a0, b0, b1), (a0, b1, a1)]
            rim = self._obj(f"rim_{side}", self._mesh(f"rim_{side}", tube.reshape(-1, 3), tf), hr, [self.m_frame])
            self.glasses_parts += [(lens, sgn, "lens"), (rim, sgn, "rim")]
        bridge = self._cylinder("bridge", 0.0018, 0.0018, 0.02, 8, [self.m_frame], hr)
        self.glasses_parts.append((bridge, 0.0, "bridge"))
        for side, sgn in (("left", 1.0), ("right", -1.0)):
            t = self._cylinder(f"temple_{side}", 0.0016, 0.0016, 0.11, 8, [self.m_frame], hr)
            self.glasses_parts.append((t, sgn, "temple"))
        # cap: dome + brim
        dome = self._uv_sphere("cap_dome", 1.0, 24, 12, scale=(0.083, 0.045, 0.1))
        self.cap = self._obj("cap", dome, hr, [self.m_cap])
        self.cap_brim = self._obj("cap_brim", self._uv_sphere("cap_brim", 1.0, 24, 4, scale=(0.09, 0.004, 0.075)),
                                  hr, [self.m_cap])
        self.mask_obj = None

    def _build_body(self) -> None:
        sc = self.scene
        self.torso = self._obj("torso", self._uv_sphere("torso", 1.0, 24, 12, scale=(0.12, 0.2, 0.3)), None,
                               [self.m_cloth])
        self.shoulders = [self._obj(f"shoulder{k}", self._uv_sphere(f"shoulder{k}", 0.062, 16, 8), None,
                                    [self.m_cloth]) for k in range(2)]
        self.neck = self._cylinder("neck", 0.055, 0.05, 0.14, 16, [self.m_skin])
        self.arm_parts = {}
        for side in ("left", "right"):
            up = self._cylinder(f"upperarm_{side}", 0.045, 0.04, 1.0, 12, [self.m_cloth])
            fo = self._cylinder(f"forearm_{side}", 0.037, 0.03, 1.0, 12, [self.m_cloth])
            hand = self._obj(f"hand_{side}", self._uv_sphere(f"hand_{side}", 1.0, 16, 8,
                                                             scale=(0.045, 0.03, 0.09)), None, [self.m_skin])
            self.arm_parts[side] = (up, fo, hand)
        self.phone = self._box("phone", (0.075, 0.008, 0.15), (0, 0, 0), mats=[self.m_phone], bevel=0.004)
        # side-view body: legs (thigh, shin, shoe), seat cushion, a cup for drinking, striped/plain clothing
        self.m_pants = _Mat("pants", (0.1, 0.12, 0.2), 0.3, 0.85, specular=0.2, view=self)
        self.m_shoe = _Mat("shoe", (0.05, 0.04, 0.04), 0.1, 0.5, view=self)
        self.m_cup = _Mat("cup", (0.8, 0.8, 0.8), 0.6, 0.4, view=self)
        self.leg_parts = {}
        for side in ("left", "right"):
            th = self._cylinder(f"thigh_{side}", 0.075, 0.06, 1.0, 14, [self.m_pants])
            sh = self._cylinder(f"shin_{side}", 0.05, 0.042, 1.0, 12, [self.m_pants])
            ft = self._box(f"shoe_{side}", (0.26, 0.1, 0.09), (0, 0, 0), mats=[self.m_shoe], bevel=0.02)
            self.leg_parts[side] = (th, sh, ft)
        self.hips = self._obj("hips", self._uv_sphere("hips", 1.0, 20, 10, scale=(0.16, 0.19, 0.11)), None,
                              [self.m_pants])
        self.seat_cushion = self._box("seat_cushion", (0.52, 0.52, 0.13), (0, 0, 0), mats=[self.m_seat], bevel=0.04)
        self.cup = self._cylinder("cup", 0.036, 0.03, 0.13, 16, [self.m_cup])
        # clothing pattern: horizontal stripes (object z) mixed into the RGB colour with a per-scene strength
        nt = self.m_cloth.nt
        wave = nt.nodes.new("ShaderNodeTexWave")
        wave.wave_type = "BANDS"
        wave.bands_direction = "Z"
        wave.inputs["Scale"].default_value = 2.0
        tc = nt.nodes.new("ShaderNodeTexCoord")
        nt.links.new(tc.outputs["Object"], wave.inputs["Vector"])
        ramp = nt.nodes.new("ShaderNodeMath")
        ramp.operation = "GREATER_THAN"
        ramp.inputs[1].default_value = 0.5
        nt.links.new(wave.outputs["Fac"], ramp.inputs[0])
        self.cloth_stripe = nt.nodes.new("ShaderNodeMix")
        self.cloth_stripe.data_type = "RGBA"
        nt.links.new(ramp.outputs["Value"], self.cloth_stripe.inputs["Factor"])
        nt.links.new(self.cloth_stripe.outputs["Result"], self.m_cloth.mix.inputs["A"])
        self.cloth_wave = wave

    def _build_cabin(self) -> None:
        # steering wheel: torus, hub, spokes (object at wheel centre, local Z = wheel axis)
        R, r = 1.0, 0.085
        u, v = np.meshgrid(np.linspace(0, 2 * np.pi, 49)[:-1], np.linspace(0, 2 * np.pi, 9)[:-1], indexing="ij")
        pts = np.stack([(R + r * np.cos(v)) * np.cos(u), (R + r * np.cos(v)) * np.sin(u), r * np.sin(v)],
                       -1).reshape(-1, 3)
        idx = np.arange(len(pts)).reshape(48, 8)
        f = []
        for a in range(48):
            for b in range(8):
                f += [(idx[a, b], idx[(a + 1) % 48, b], idx[(a + 1) % 48, (b + 1) % 8]),
                      (idx[a, b], idx[(a + 1) % 48, (b + 1) % 8], idx[a, (b + 1) % 8])]
        self.wheel = self._obj("wheel", self._mesh("wheel", pts, f), None, [self.m_wheel])
        hub = self._cylinder("hub", 0.35, 0.3, 0.25, 16, [self.m_wheel], self.wheel)
        hub.location = (0, 0, -0.1)
        for k, ang in enumerate((0.0, np.pi, -np.pi / 2)):
            sp = self._box(f"spoke{k}", (1.0, 0.12, 0.06), (0.5 * np.cos(ang), 0.5 * np.sin(ang), 0.0),
                           rot=(0, 0, ang), mats=[self.m_wheel], parent=self.wheel)
        self.column = self._cylinder("column", 0.035, 0.045, 0.35, 12, [self.m_dash])
        # cabin shell pieces (placed per spec)
        self.dash = self._box("dash", (0.5, 1.6, 0.25), (0, 0, 0), mats=[self.m_dash], bevel=0.03)
        self.roof = self._box("roof", (1.8, 1.6, 0.03), (0, 0, 0), mats=[self.m_headliner])
        self.floor = self._box("floor", (2.5, 1.6, 0.03), (0, 0, 0), mats=[self.m_trim])
        self.door = self._box("door", (1.4, 0.06, 0.72), (0, 0, 0), mats=[self.m_trim], bevel=0.01)
        self.pillar_a = self._box("a_pillar", (0.07, 0.07, 0.75), (0, 0, 0), mats=[self.m_trim])
        self.pillar_b = self._box("b_pillar", (0.12, 0.07, 0.75), (0, 0, 0), mats=[self.m_trim])
        self.seat_back = self._box("seat_back", (0.14, 0.52, 0.7), (0, 0, 0), mats=[self.m_seat], bevel=0.04)
        self.headrest = self._box("headrest", (0.1, 0.26, 0.2), (0, 0, 0), mats=[self.m_seat], bevel=0.03)
        self.rear_wall = self._box("rear", (0.05, 1.6, 1.2), (0, 0, 0), mats=[self.m_trim])
        # side views only: the blown-out driver's window and windscreen as camera-only emitters (they light nothing,
        # so the cabin's lighting is unchanged) and the dark (tinted) rear side window behind the B-pillar
        self.m_glow = bpy.data.materials.new("window_glow")
        self.m_glow.use_nodes = True
        gnt = self.m_glow.node_tree
        for n in list(gnt.nodes):
            gnt.nodes.remove(n)
        self.glow_emit = gnt.nodes.new("ShaderNodeEmission")
        gnt.links.new(self.glow_emit.outputs["Emission"], gnt.nodes.new("ShaderNodeOutputMaterial").inputs["Surface"])
        self.side_glow = self._box("side_window_glow", (1.7, 0.01, 0.9), (0, 0, 0), mats=[self.m_glow])
        self.front_glow = self._box("windscreen_glow", (0.01, 1.6, 0.8), (0, 0, 0), mats=[self.m_glow])
        for ob in (self.side_glow, self.front_glow):
            ob.visible_diffuse = ob.visible_glossy = ob.visible_transmission = False
            ob.visible_volume_scatter = ob.visible_shadow = False
        self.m_rear_glass = _Mat("rear_glass", (0.03, 0.03, 0.035), 0.05, 0.3, view=self)
        self.rear_quarter = self._box("rear_quarter", (0.75, 0.03, 1.1), (0, 0, 0), mats=[self.m_rear_glass])
        self.ground = self._box("ground", (200, 200, 0.01), (0, 0, -0.5), mats=[self.m_outside])
        self.scenery = []
        rng = np.random.default_rng(7)
        for k in range(14):
            b = self._box(f"scenery{k}", (4 + 6 * rng.random(), 3 + 6 * rng.random(), 2 + 12 * rng.random()),
                          (0, 0, 0), mats=[self.m_outside])
            self.scenery.append(b)

    def _build_lights(self) -> None:
        sc = self.scene
        sun_d = bpy.data.lights.new("sun", "SUN")
        sun_d.angle = np.radians(0.6)
        self.sun = bpy.data.objects.new("sun", sun_d)
        sc.collection.objects.link(self.sun)
        ill = bpy.data.lights.new("nir_illuminator", "SPOT")
        ill.spot_size = np.radians(70)
        ill.spot_blend = 0.6
        ill.shadow_soft_size = 0.012
        self.illum = bpy.data.objects.new("nir_illuminator", ill)
        sc.collection.objects.link(self.illum)
        fill = bpy.data.lights.new("cabin_fill", "AREA")
        fill.size = 0.6
        self.fill = bpy.data.objects.new("cabin_fill", fill)
        sc.collection.objects.link(self.fill)
        # daylight bounced off the dashboard/windscreen toward the face from below and in front: fills the
        # brow/lid shadow of the roof-mounted cabin light and the sun, so sclera and iris read as in real photos
        bounce = bpy.data.lights.new("dash_bounce", "AREA")
        bounce.shape = "RECTANGLE"
        bounce.size = 0.5
        bounce.size_y = 0.25
        self.bounce = bpy.data.objects.new("dash_bounce", bounce)
        sc.collection.objects.link(self.bounce)
        # visible light from the camera's side (a cabin/dome lamp behind the camera, a phone screen, a flash in real
        # photos): lights the face frontally and into an open mouth (tongue, teeth), which the roof fill and the
        # dashboard bounce leave dark. Random per scene (texture-seed stream: sampled scene values unchanged)
        cf = bpy.data.lights.new("camera_fill", "AREA")
        cf.size = 0.2
        self.cam_fill = bpy.data.objects.new("camera_fill", cf)
        sc.collection.objects.link(self.cam_fill)
        self.street = []
        for k in range(6):
            d = bpy.data.lights.new(f"street{k}", "POINT")
            d.shadow_soft_size = 0.3
            ob = bpy.data.objects.new(f"street{k}", d)
            sc.collection.objects.link(ob)
            self.street.append(ob)

    # ----------------------------------------------------------------------------------------------- per spec
    def set_scene(self, spec: SceneSpec) -> None:
        key = spec.to_json()
        if key == self._spec_key:
            return
        self._spec_key = key
        self._pose_key = None
        self._modality = None
        idn = spec.identity
        g = head_geometry(spec)
        # head basis + shape keys
        kb = self.head.data.shape_keys.key_blocks
        kb["Basis"].data.foreach_set("co", g.vertices.astype(np.float32).ravel())
        self.head.data.vertices.foreach_set("co", g.vertices.astype(np.float32).ravel())
        for name, d in g.keys.items():
            kb[name].data.foreach_set("co", (g.vertices + d).astype(np.float32).ravel())
        self.head.data.update()
        # textures
        from dms.sim.blender.textures import face_textures
        rgb, nir = face_textures(spec)
        rgba = np.ones((512, 512, 4), np.float32)
        rgba[..., :3] = rgb[::-1]
        self.img_rgb.pixels.foreach_set(rgba.ravel())
        rgba[..., :3] = nir[::-1, :, None]
        self.img_nir.pixels.foreach_set(rgba.ravel())
        self.img_rgb.update()
        self.img_nir.update()
        self.skin_bump.inputs["Strength"].default_value = float(0.15 + 0.35 * idn.pore_strength)
        self.m_skin.bsdf.inputs["Roughness"].default_value = float(idn.skin_roughness)
        skin = skin_albedo_rgb(idn.skin_tone, idn.skin_redness)
        self.m_margin.set_colors(tuple(np.array(skin) * np.array([0.95, 0.7, 0.65])), 0.6)
        t = idn.sclera_tint
        self.m_conj.set_colors((0.74, 0.62 - 0.06 * t, 0.58 - 0.1 * t), 0.6)
        self.m_lipin.set_colors(tuple(np.array(skin) * np.array([0.9, 0.42, 0.42]) + np.array([0.12, 0.02, 0.02])),
                                0.4)
        self.m_lash.set_colors(tuple(np.array(idn.brow_rgb) * 0.35), 0.05)
        self.m_hair.set_colors(tuple(idn.hair_rgb), float(0.12 + 0.55 * np.mean(idn.hair_rgb)))
        # hair mesh
        if self.hair is not None:
            old = self.hair.data
            bpy.data.objects.remove(self.hair)
            bpy.data.meshes.remove(old)
            self.hair = None
        if len(g.hair_triangles):
            self.hair = self._obj("hair", self._mesh("hair", g.hair_vertices, g.hair_triangles), self.head_root,
                                  [self.m_hair])
        # eyes
        for side, piv in self.eye_pivots.items():
            piv.location = tuple(g.eye_centers[side])
        # lashes length: scale is baked into geometry; nothing per spec
        self._set_accessories(spec, g)
        self._set_body_static(spec)
        self._set_cabin(spec)
        self._set_lights_static(spec)

    def _set_accessories(self, spec: SceneSpec, g) -> None:
        a = spec.accessories
        show_g = a.glasses != "none"
        ec = g.eye_centers
        front_z = float(max(ec["left"][2], ec["right"][2]) + 0.0245)
        for ob, sgn, kind in self.glasses_parts:
            ob.hide_render = not show_g
            c = ec["left"] if sgn > 0 else ec["right"]
            if kind in ("lens", "rim"):
                ob.location = (float(c[0]) + sgn * 0.002, float(c[1]) - 0.002, front_z)
                ob.rotation_euler = (np.radians(-8), sgn * np.radians(6), 0)
            elif kind == "bridge":
                ob.location = (-0.01, float(c[1]) + 0.004, front_z + 0.002)
                ob.rotation_euler = (0, np.pi / 2, 0)
            else:
                ob.location = (sgn * 0.071, float(c[1]) + 0.003, front_z - 0.004)
                ob.rotation_euler = (np.pi, 0, 0)
        self.m_frame.set_colors(tuple(a.frame_rgb), float(0.05 + 0.4 * np.mean(a.frame_rgb)))
        self._lens_rgb = tuple(a.lens_tint_rgb) if a.glasses == "sunglasses" else (1.0, 1.0, 1.0)
        self._lens_nir = float(a.lens_nir_transmission) if a.glasses == "sunglasses" else 1.0
        self._set_lens_tint(self._lens_rgb)
        self.cap.hide_render = self.cap_brim.hide_render = not a.cap
        top = g.vertices[:, 1].max()
        self.cap.location = (0, float(top) - 0.035, -0.04)
        self.cap_brim.location = (0, float(top) - 0.062, 0.055)
        self.cap_brim.rotation_euler = (np.radians(-12), 0, 0)
        self.m_cap.set_colors(tuple(a.cap_rgb), float(0.2 + 0.5 * np.mean(a.cap_rgb)))
        # face mask: lower-face skin triangles offset outward
        if self.mask_obj is not None:
            old = self.mask_obj.data
            bpy.data.objects.remove(self.mask_obj)
            bpy.data.meshes.remove(old)
            self.mask_obj = None
        if a.mask:
            V, T = g.vertices, g.triangles
            nose_y = V[5, 1]                      # masks cover the nose from its middle down
            sel = (g.tri_material == headmod.MAT_SKIN) & (T < 468).all(1) & (V[T][:, :, 1] < nose_y).all(1) & \
                (V[T][:, :, 2] > -0.01).all(1)
            tri = T[sel]
            used = np.unique(tri)
            remap = -np.ones(len(V), int)
            remap[used] = np.arange(len(used))
            nv = V[used] + np.array([0, 0, 0.008])
            self.mask_obj = self._obj("face_mask", self._mesh("face_mask", nv, remap[tri]), self.head_root,
                                      [self.m_mask])
            self.m_mask.set_colors(tuple(a.mask_rgb), float(0.55 + 0.3 * np.mean(a.mask_rgb)))

    def _set_body_static(self, spec: SceneSpec) -> None:
        b = spec.body
        rest = spec.head_rest_position_m()
        sh_z = rest[2] - 0.165
        self._shoulders = {"left": np.array([rest[0] - 0.07, b.shoulder_width_m / 2, sh_z]),
                           "right": np.array([rest[0] - 0.07, -b.shoulder_width_m / 2, sh_z])}
        self.torso.location = (rest[0] - 0.11, 0.0, sh_z - 0.20)
        self.torso.rotation_euler = (0, np.radians(-12), 0)
        self.torso.scale = (1.0, b.shoulder_width_m / 0.40, 1.0)
        for ob, side in zip(self.shoulders, ("left", "right")):
            ob.location = tuple(self._shoulders[side] + np.array([-0.01, -0.01 if side == "left" else 0.01, -0.01]))
        self.m_cloth.set_colors(tuple(b.shirt_rgb), float(0.2 + 0.6 * np.mean(b.shirt_rgb)))
        # clothing beyond the spec's shirt colour, derived from the texture seed (reproducible from the spec):
        # stripes (a third of the shirts), trousers colour (jeans / khaki / dark / random), sleeves
        rng = np.random.default_rng(spec.texture_seed + 11)
        shirt = np.asarray(b.shirt_rgb, float)
        striped = rng.random() < 0.35
        second = np.clip(shirt * rng.uniform(0.15, 0.5), 0, 1) if rng.random() < 0.5 else \
            np.clip(rng.uniform(0.6, 0.95) * np.ones(3), 0, 1)
        self.cloth_stripe.inputs["A"].default_value = (*shirt, 1.0)
        self.cloth_stripe.inputs["B"].default_value = (*(second if striped else shirt), 1.0)
        self.cloth_wave.inputs["Scale"].default_value = float(rng.uniform(6.0, 14.0))
        pants = [(0.08, 0.12, 0.25), (0.45, 0.36, 0.22), (0.04, 0.04, 0.045), (0.25, 0.25, 0.27)]
        pc = np.asarray(pants[int(rng.integers(len(pants)))]) * rng.uniform(0.7, 1.3) if rng.random() < 0.8 else \
            rng.uniform(0.03, 0.6, 3)
        pc = tuple(float(x) for x in np.clip(pc, 0, 1))
        self.m_pants.set_colors(pc, float(0.15 + 0.6 * np.mean(pc)))
        self.m_shoe.set_colors(tuple(float(x) for x in rng.uniform(0.02, 0.5) * np.ones(3)), 0.2)
        cup = tuple(float(x) for x in rng.uniform(0.1, 0.95, 3))
        self.m_cup.set_colors(cup, float(0.2 + 0.6 * np.mean(cup)))
        skin_forearm = b.sleeve == "short"
        for side, (up, fo, hand) in self.arm_parts.items():
            want = self.m_skin.m if skin_forearm else self.m_cloth.m
            if fo.data.materials[0] != want:
                fo.data.materials[0] = want
        # hips, thighs, shins on the seat; feet toward the pedals (static per scene)
        hz = 0.05 + b.seat_height_m * 0.5
        hx = -0.06 + b.seat_fore_aft_m
        self.hips.location = (hx, 0.0, hz)
        self.seat_cushion.location = (hx + 0.12, 0.0, hz - 0.13)
        self.seat_cushion.rotation_euler = (0, np.radians(-8), 0)
        spread = rng.uniform(0.08, 0.16)
        for side, (th, sh, ft) in self.leg_parts.items():
            sgn = 1.0 if side == "left" else -1.0
            hip = np.array([hx + 0.02, sgn * 0.09, hz])
            knee = np.array([hx + 0.40 + rng.uniform(-0.03, 0.05), sgn * spread, hz + rng.uniform(0.03, 0.12)])
            foot = np.array([knee[0] + rng.uniform(0.12, 0.26), sgn * (spread + 0.02), -0.30])
            self._place_segment(th, hip, knee)
            self._place_segment(sh, knee, foot)
            ft.location = tuple(foot + np.array([0.08, 0.0, -0.02]))

    def _set_cabin(self, spec: SceneSpec) -> None:
        c = spec.cabin
        wc = np.asarray(c.wheel_center_m)
        tilt = np.radians(c.wheel_tilt_deg)
        # wheel frame: local x = 3 o'clock (driver's right, -y), local y = 12 o'clock (up, leaning forward by the
        # tilt), local z = column axis pointing back/up toward the driver
        st, ct = np.sin(tilt), np.cos(tilt)
        Rw = np.array([[0.0, st, -ct], [-1.0, 0.0, 0.0], [0.0, ct, st]])
        self.wheel.matrix_world = _mat4(Rw * c.wheel_radius_m, wc)
        self._wheel_R = Rw
        self.column.matrix_world = _mat4(_frame_z(np.array([ct, 0.0, -st])), wc + np.array([0.03 * ct, 0, -0.03 * st]))
        hx = 0.78
        self.dash.location = (0.90, 0.0, 0.36)
        self.roof.location = (0.1, 0.0, c.roof_height_m)
        self.floor.location = (0.3, 0.0, -0.28)
        self.door.location = (0.3, 0.55, 0.08)       # sill at -0.28, window line at 0.44 (about the elbows)
        self.pillar_a.location = (hx, 0.62, 0.55 + (c.roof_height_m - 1.0) / 2)
        self.pillar_a.rotation_euler = (0, np.radians(-40), 0)
        self.pillar_b.location = (-0.45, 0.62, 0.55)
        self.seat_back.location = (-0.30, 0.0, 0.32)
        self.seat_back.rotation_euler = (0, np.radians(-20), 0)
        hr = spec.head_rest_position_m()
        self.headrest.location = (hr[0] - 0.17, 0.0, hr[2] + 0.02)
        self.rear_wall.location = (-1.2, 0.0, 0.4)
        rng = np.random.default_rng(spec.texture_seed + 1)
        for k, b in enumerate(self.scenery):
            ang = rng.uniform(-np.pi, np.pi)
            dist = rng.uniform(8, 40)
            x, y = dist * np.cos(ang) + 5, dist * np.sin(ang)
            hx, hy = 0.5 * b.dimensions[0], 0.5 * b.dimensions[1]
            while abs(x) < hx + 2.5 and abs(y) < hy + 2.5:    # never around the car (cameras inside = blank frames)
                x, y = x + np.cos(ang), y + np.sin(ang)
            b.location = (x, y, 0.5)
            b.hide_render = (c.scenery == "road" and k % 2 == 0)
        self.m_dash.set_colors(tuple(c.dash_rgb), float(0.08 + 0.5 * np.mean(c.dash_rgb)))
        self.m_seat.set_colors(tuple(c.seat_rgb), float(0.1 + 0.5 * np.mean(c.seat_rgb)))
        self.m_headliner.set_colors(tuple(c.headliner_rgb), float(0.3 + 0.5 * np.mean(c.headliner_rgb)))
        self.m_trim.set_colors(tuple(c.trim_rgb), float(0.1 + 0.5 * np.mean(c.trim_rgb)))
        col = {"road": (0.25, 0.25, 0.24), "city": (0.35, 0.33, 0.3), "trees": (0.12, 0.2, 0.08)}[c.scenery]
        if rng.random() < 0.5:     # bright surroundings (sunlit concrete, sky-lit facades): over-exposed windows
            col = tuple(float(x) for x in rng.uniform(0.35, 0.9) * rng.uniform(0.75, 1.0, 3))
        self.m_outside.set_colors(col, 0.45 if c.scenery == "trees" else 0.3)
        # side views (a camera that sees the driver's window) in daylight: the outside is far brighter than the
        # cabin, so the metered driver leaves the windows blown out (as in real side-view footage)
        mount = MOUNTS.get(spec.camera.mount)
        glow = (mount is not None and mount.target_m is not None and spec.lighting.time_of_day != "night"
                and rng.random() < 0.85)
        self.m_outside.bsdf.inputs["Emission Color"].default_value = (*col, 1.0)
        self.m_outside.bsdf.inputs["Emission Strength"].default_value = float(rng.uniform(1.0, 6.0) if glow else 0.0)
        # side views: blown-out windows above the door line and over the dash (most daylight frames), tinted rear
        # side window (dark) behind the B-pillar; hidden for the face mounts (their renders are unchanged)
        side = mount is not None and mount.target_m is not None
        rng2 = np.random.default_rng(spec.texture_seed + 5)
        bright = side and spec.lighting.time_of_day != "night" and rng2.random() < 0.85
        self.side_glow.hide_render = self.front_glow.hide_render = not bright
        tint = np.clip(np.array([0.85, 0.95, 1.0]) * rng2.uniform(0.85, 1.0, 3), 0, 1)
        self.glow_emit.inputs["Color"].default_value = (*tint, 1.0)
        self.glow_emit.inputs["Strength"].default_value = float(rng2.uniform(1.5, 8.0) *
                                                                (1.0 if spec.lighting.time_of_day == "day" else 0.3))
        self.side_glow.location = (0.2, 0.78, 0.44 + 0.45)
        self.front_glow.location = (1.16, 0.0, 0.47 + 0.4)
        self.rear_quarter.hide_render = not (side and rng2.random() < 0.8)
        self.rear_quarter.location = (-0.45 - 0.06 - 0.375, 0.63, 0.42)
        self.m_rear_glass.set_colors(tuple(float(x) for x in rng2.uniform(0.01, 0.08) * np.ones(3)), 0.1)

    def _set_lights_static(self, spec: SceneSpec) -> None:
        L = spec.lighting
        el, az = np.radians(L.sun_elevation_deg), np.radians(L.sun_azimuth_deg)
        d = np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])   # toward the sun
        # the sun object shines along its local -Z
        z = d / np.linalg.norm(d)
        x = np.cross([0, 0, 1.0], z)
        x = x / (np.linalg.norm(x) + 1e-9) if np.linalg.norm(x) > 1e-6 else np.array([1.0, 0, 0])
        y = np.cross(z, x)
        self.sun.matrix_world = _mat4(np.stack([x, y, z], 1), (0, 0, 10))
        cam = spec.camera_model()
        # NIR illuminator next to the camera, aimed at the head
        off = cam.R @ np.asarray(spec.nir.illuminator_offset_m)
        p = np.asarray(cam.position_m) + off
        tgt = spec.head_rest_position_m()
        self.illum.matrix_world = _aimed(p, tgt)
        self.fill.location = (0.1, 0.0, spec.cabin.roof_height_m - 0.05)
        # bounce panel: between the head and the camera, a little below the eyes, facing the face
        cp = np.asarray(cam.position_m, float)
        bp = tgt + 0.55 * (cp - tgt)
        bp[2] = tgt[2] - 0.12
        self.bounce.matrix_world = _aimed(bp, tgt)
        self.cam_fill.matrix_world = _aimed(cp + cam.R @ np.array([0.0, -0.05, 0.0]), tgt)
        self._cam_fill_energy = camera_fill_w(spec.texture_seed, self.settings.camera_fill_p)
        rng = np.random.default_rng(spec.texture_seed + 2)
        self._street_pos = []
        for k, ob in enumerate(self.street):
            ob.location = (float(rng.uniform(-6, 12)), float(rng.choice([-1, 1]) * rng.uniform(3, 7)),
                           float(rng.uniform(4, 7)))
            ob.data.color = (1.0, 0.75, 0.45) if rng.random() < 0.6 else (0.9, 0.95, 1.0)

    def _apply_modality(self, spec: SceneSpec, modality: str) -> None:
        key = (self._spec_key, modality)
        if self._modality == key:
            return
        self._modality = key
        nir = modality == "nir"
        L = spec.lighting
        for m in self._mats:
            m.set_modality(nir)
        self._set_eye_colors(spec, nir)
        sky = np.array(spec.cabin.window_sky_rgb) if L.time_of_day == "day" else (
            np.array([0.9, 0.55, 0.35]) if L.time_of_day == "dusk" else np.array([0.05, 0.06, 0.1]))
        if nir:
            amb = spec.nir.ambient_nir
            self.bg.inputs["Color"].default_value = (1, 1, 1, 1)
            self.bg.inputs["Strength"].default_value = float(L.sky_strength * amb * 0.6)
            self.sun.data.energy = float(L.sun_strength * amb)
            self.sun.data.color = (1, 1, 1)
            self.illum.data.energy = float(8.0 * spec.nir.illuminator_power)
            self.illum.hide_render = False
            self.fill.data.energy = 0.0
            self.cam_fill.hide_render = True
            self.bounce.hide_render = True
            for ob in self.street:
                ob.hide_render = True
            lens = self._lens_nir
            self._set_lens_tint((lens, lens, lens))
        else:
            self.bg.inputs["Color"].default_value = (*sky, 1.0)
            self.bg.inputs["Strength"].default_value = float(L.sky_strength)
            self.sun.data.energy = float(L.sun_strength)
            self.sun.data.color = (1.0, 0.95, 0.88) if L.time_of_day == "day" else (1.0, 0.6, 0.35)
            self.illum.hide_render = True
            self.fill.data.energy = float(L.cabin_ambient * 40)
            self.cam_fill.data.energy = self._cam_fill_energy
            self.cam_fill.hide_render = self._cam_fill_energy <= 0
            day = {"day": 1.0, "dusk": 0.35}.get(L.time_of_day, 0.0)
            self.bounce.data.energy = float(day * (1.2 * L.sky_strength + 0.25 * L.sun_strength) +
                                            L.cabin_ambient * 25)
            self.bounce.data.color = tuple(0.6 * sky / max(float(sky.max()), 1e-6) + 0.4)
            self.bounce.hide_render = self.bounce.data.energy <= 0
            for k, ob in enumerate(self.street):
                ob.hide_render = k >= L.street_lights
                ob.data.energy = 600.0
            self._set_lens_tint(self._lens_rgb)
        self.sun.hide_render = self.sun.data.energy <= 0

    # ----------------------------------------------------------------------------------------------- per pose
    def set_pose(self, spec: SceneSpec, pose: DriverPose) -> None:
        key = (self._spec_key, repr(pose))
        if key == self._pose_key:
            return
        self._pose_key = key
        ph = posed_head(spec, pose)
        self.head_root.matrix_world = _mat4(ph.R_head, ph.t_head)
        kb = self.head.data.shape_keys.key_blocks
        for name, w in ph.weights.items():
            kb[name].value = float(w)
        for side, piv in self.eye_pivots.items():
            piv.rotation_mode = "QUATERNION"
            piv.rotation_quaternion = Matrix(ph.eye_R_head[side].tolist()).to_quaternion()
        # neck from under the head to the torso
        neck_top = ph.to_world(np.array([0.0, -0.06, -0.045]))
        sh_mid = 0.5 * (self._shoulders["left"] + self._shoulders["right"]) + np.array([0.0, 0, 0.02])
        self._place_segment(self.neck, sh_mid, neck_top, fixed_length=0.14)
        self._pose_arms(spec, pose, ph)

    def _place_segment(self, ob, a, b, fixed_length=None) -> None:
        a, b = np.asarray(a, float), np.asarray(b, float)
        d = b - a
        L = float(np.linalg.norm(d))
        z = d / max(L, 1e-9)
        x = np.cross(z, [0.0, 0.0, 1.0] if abs(z[2]) < 0.9 else [1.0, 0, 0])
        x /= np.linalg.norm(x)
        y = np.cross(z, x)
        M = np.eye(4)
        M[:3, :3] = np.stack([x, y, z * (L / fixed_length if fixed_length else L)], 1)
        M[:3, 3] = a
        ob.matrix_world = Matrix(M.tolist())

    @staticmethod
    def _pose_variant(pose: DriverPose, side: str) -> np.random.Generator:
        """Deterministic per-pose randomness for hand-pose variants (same pose -> same render)."""
        import hashlib
        h = hashlib.sha256(f"{side}|{pose!r}".encode()).digest()
        return np.random.default_rng(int.from_bytes(h[:8], "big"))

    def _hand_target(self, spec: SceneSpec, pose: DriverPose, side: str, ph) -> np.ndarray:
        c = spec.cabin
        st = pose.hand_left if side == "left" else pose.hand_right
        if st is HandState.ON_WHEEL:
            clock = pose.wheel_clock_left if side == "left" else pose.wheel_clock_right
            ang = np.radians(90 - clock * 30)                # 12 o'clock = +90 deg in the wheel plane
            Rw = self._wheel_R
            return np.asarray(c.wheel_center_m) + Rw @ np.array([np.cos(ang), np.sin(ang), 0.0]) * c.wheel_radius_m \
                + Rw[:, 2] * 0.02
        sgn = 1.0 if side == "left" else -1.0
        v = self._pose_variant(pose, side)
        j = v.uniform(-1, 1, 3)
        b = spec.body
        seat = np.array([b.seat_fore_aft_m, 0.0, b.seat_height_m])
        if st is HandState.LAP:
            return np.array([0.15, sgn * 0.12, 0.08]) + seat + j * [0.08, 0.04, 0.03]
        if st is HandState.GEAR_LEVER:
            return np.array([0.25, -0.33, 0.12]) + j * [0.04, 0.03, 0.03]
        if pose.hand_over_mouth:
            return ph.to_world(np.array([sgn * 0.01, -0.05, 0.07]))
        if st is HandState.DRINKING:                         # cup at the mouth
            return ph.to_world(np.array([sgn * 0.02, -0.06, 0.10]) + j * [0.01, 0.01, 0.015])
        if st is HandState.FACE:                             # hair / make-up / chin / rubbing the eyes
            k = v.random()
            if k < 0.4:                                      # up at the sun-visor mirror
                return np.array([0.30, sgn * 0.10, 0.86]) + seat + j * [0.06, 0.05, 0.05]
            spots = ((0.075, 0.07, -0.04), (0.03, 0.13, 0.0), (0.01, -0.05, 0.07), (0.05, 0.03, 0.06),
                     (0.09, -0.02, -0.06), (0.02, 0.16, -0.03), (0.06, 0.10, -0.10))
            return ph.to_world(np.array(spots[int(v.integers(len(spots)))]) * [sgn, 1, 1] + j * 0.012)
        if st is HandState.PHONE_EAR:
            return ph.to_world(np.array([sgn * 0.085, -0.01, -0.03]) + j * [0.005, 0.01, 0.015])
        if st is HandState.TEXTING:                          # phone in front of the chest ... low over the lap
            k = v.random()
            if v.random() < 0.45:                            # held up in front of the chest / face (State Farm)
                return np.array([0.14 + 0.14 * k, sgn * 0.06, 0.46 + 0.14 * k]) + seat + j * [0.04, 0.04, 0.03]
            return np.array([0.16 + 0.12 * k, sgn * 0.08, 0.40 - 0.22 * k]) + seat + j * [0.04, 0.04, 0.03]
        # OTHER: the radio / centre console, or reaching behind the seat
        if v.random() < 0.6:
            return np.array([0.42, -0.26, 0.24]) + j * [0.05, 0.05, 0.07]
        return np.array([-0.40, sgn * 0.30, 0.42 - 0.25 * v.random()]) + seat + j * [0.06, 0.05, 0.08]

    def _pose_arms(self, spec: SceneSpec, pose: DriverPose, ph) -> None:
        b = spec.body
        la, lf = 0.5 * b.arm_length_m, 0.5 * b.arm_length_m
        phone_hand = None
        for side, (up, fo, hand) in self.arm_parts.items():
            s = self._shoulders[side]
            h = self._hand_target(spec, pose, side, ph)
            d = h - s
            L = float(np.linalg.norm(d))
            if L > la + lf - 0.01:
                h = s + d / L * (la + lf - 0.01)
                L = la + lf - 0.01
            # elbow: down and outward
            a = (la ** 2 - lf ** 2 + L ** 2) / (2 * L)
            hgt = np.sqrt(max(la ** 2 - a ** 2, 1e-6))
            dn = d / max(np.linalg.norm(d), 1e-9)
            st = pose.hand_left if side == "left" else pose.hand_right
            if st in (HandState.PHONE_EAR, HandState.DRINKING, HandState.FACE) or pose.hand_over_mouth and \
                    st is not HandState.ON_WHEEL:
                out = np.array([1.0, 0.2 if side == "left" else -0.2, -0.7])
            else:
                out = np.array([0.0, 1.0 if side == "left" else -1.0, -1.2])
            out -= dn * (out @ dn)
            out /= np.linalg.norm(out)
            e = s + dn * a + out * hgt
            self._place_segment(up, s, e)
            self._place_segment(fo, e, h)
            hd = (h - e) / np.linalg.norm(h - e)
            self._place_segment(hand, h - hd * 0.04, h + hd * 0.05, fixed_length=0.09 * 2)
            hand.matrix_world = hand.matrix_world @ Matrix.Translation((0, 0, 0.5))
            if pose.phone_in_hand == side:
                phone_hand = (h, hd)
        self.phone.hide_render = phone_hand is None
        if phone_hand is not None:
            h, hd = phone_hand
            self.phone.location = tuple(h + hd * 0.06)
        drink = [s for s in ("left", "right") if (pose.hand_left if s == "left" else pose.hand_right)
                 is HandState.DRINKING and not pose.hand_over_mouth]
        self.cup.hide_render = not drink
        if drink:
            h = self._hand_target(spec, pose, drink[0], ph)
            up, fo, hand = self.arm_parts[drink[0]]
            # cup held in the hand, tilted toward the mouth
            axis = np.array([0.35, 0.0, 1.0])
            self._place_segment(self.cup, h - axis / np.linalg.norm(axis) * 0.09, h + axis / np.linalg.norm(axis)
                                * 0.04, fixed_length=0.13)

    # ----------------------------------------------------------------------------------------------- render
    def _set_camera(self, cam: CameraModel) -> None:
        p = cam.blender_params()
        cd = self.cam.data
        cd.sensor_fit = p["sensor_fit"]
        cd.sensor_width = p["sensor_width_mm"]
        cd.lens = p["lens_mm"]
        cd.shift_x = p["shift_x"]
        cd.shift_y = p["shift_y"]
        self.cam.matrix_world = Matrix(p["matrix_world"].tolist())
        r = self.scene.render
        r.resolution_x, r.resolution_y = p["resolution"]
        r.pixel_aspect_x, r.pixel_aspect_y = 1.0, 1.0

    def _clear_line_of_sight(self, cam: CameraModel) -> None:
        """Hide cabin parts that contain the camera or block its view of the face (eyes, nose, mouth).

        Cabin layouts and mounts are sampled independently; a camera must never sit inside the dashboard or
        look at the face through the wheel hub. Hands, arms and accessories are never hidden."""
        key = (self._spec_key, self._pose_key, tuple(np.round(cam.position_m, 6)))
        if getattr(self, "_los_key", None) == key:
            return
        self._los_key = key
        cabin = [self.dash, self.roof, self.floor, self.door, self.pillar_a, self.pillar_b, self.seat_back,
                 self.headrest, self.rear_wall, self.column, self.wheel] + list(self.wheel.children)
        cabin_names = {ob.name for ob in cabin}
        dg = bpy.context.evaluated_depsgraph_get()
        origin = np.asarray(cam.position_m, dtype=np.float64)
        V = self.head.matrix_world
        targets = [np.asarray(V @ self.head.data.vertices[i].co) for i in (1, 159, 386, 13, 152, 234, 454)]
        blockers: set[str] = set()
        for t in targets:
            d = t - origin
            dist = float(np.linalg.norm(d))
            d /= dist
            o, travelled = origin.copy(), 0.0
            for _ in range(8):      # walk through every cabin part on the way (ray_cast sees hidden ones too)
                hit, loc, _n, _i, ob, _m = self.scene.ray_cast(dg, tuple(o), tuple(d),
                                                               distance=dist - travelled - 0.01)
                if not hit or ob is None or ob.name not in cabin_names:
                    break
                blockers.add(ob.name)
                travelled = float(np.dot(np.asarray(loc) - origin, d)) + 1e-4
                o = origin + d * travelled
        for ob in cabin:           # only touch changed flags: a change invalidates Cycles' persistent data
            want = ob.name in blockers
            if ob.hide_render != want:
                ob.hide_render = want
                if want:
                    LOG.debug("hiding %s: blocks the camera's view of the face", ob.name)

    def render(self, spec: SceneSpec, modality: str, cam: CameraModel,
               border: Optional[tuple[int, int, int, int]] = None, samples: Optional[int] = None) -> np.ndarray:
        """Render the current pose. Returns float32 HxWx3 display-referred [0, 1] (the border region only)."""
        import cv2
        self.set_scene(spec)
        self._apply_modality(spec, modality)
        self._set_camera(cam)
        self._clear_line_of_sight(cam)
        self.scene.cycles.samples = int(samples or self.settings.samples)
        r = self.scene.render
        self._set_border(cam, border)
        path = self._tmp / "render.png"
        r.filepath = str(path)
        bpy.ops.render.render(write_still=True)
        img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if img is None:
            raise RuntimeError(f"Blender wrote no image to {path}")
        img = img[..., ::-1].astype(np.float32) / 65535.0
        if border is not None:
            want = (border[3] - border[1], border[2] - border[0])
            if img.shape[:2] != want:
                img = cv2.resize(img, (want[1], want[0]), interpolation=cv2.INTER_LINEAR)
        return img

    def _set_border(self, cam: CameraModel, border: Optional[tuple[int, int, int, int]]) -> None:
        r = self.scene.render
        if border is not None:
            x0, y0, x1, y1 = border
            r.use_border = True
            r.border_min_x = x0 / cam.width
            r.border_max_x = x1 / cam.width
            r.border_min_y = 1.0 - y1 / cam.height
            r.border_max_y = 1.0 - y0 / cam.height
        else:
            r.use_border = False

    # ------------------------------------------------------------------------------- part masks and depth
    def _aux_material(self):
        """The override material of the aux pass: every surface emits (part id, camera-axis depth, 1)."""
        m = bpy.data.materials.get(AUX_MATERIAL)
        if m is not None:
            return m
        m = bpy.data.materials.new(AUX_MATERIAL)
        if not m.node_tree:
            m.use_nodes = True
        nt = m.node_tree
        for n in list(nt.nodes):
            nt.nodes.remove(n)
        out = nt.nodes.new("ShaderNodeOutputMaterial")
        em = nt.nodes.new("ShaderNodeEmission")
        attr = nt.nodes.new("ShaderNodeAttribute")
        attr.attribute_type = "GEOMETRY"
        attr.attribute_name = PART_ATTRIBUTE
        camd = nt.nodes.new("ShaderNodeCameraData")
        comb = nt.nodes.new("ShaderNodeCombineColor")
        nt.links.new(attr.outputs["Fac"], comb.inputs["Red"])
        nt.links.new(camd.outputs["View Z Depth"], comb.inputs["Green"])
        comb.inputs["Blue"].default_value = 1.0
        nt.links.new(comb.outputs["Color"], em.inputs["Color"])
        em.inputs["Strength"].default_value = 1.0
        nt.links.new(em.outputs["Emission"], out.inputs["Surface"])
        return m

    def _tag_parts(self) -> None:
        """Store each mesh face's part id (dms.sim.parts) as a face attribute, once per mesh topology/materials."""
        from dms.sim.parts import UNKNOWN_PART, part_of
        for ob in self.scene.objects:
            if ob.type != "MESH":
                continue
            me = ob.data
            mats = [s.material.name if s.material else "" for s in ob.material_slots]
            key = f"{ob.name}|{len(me.polygons)}|{'/'.join(mats)}"
            if me.get("dms_part_key") == key and PART_ATTRIBUTE in me.attributes:
                continue
            slot_part = np.array([part_of(ob.name, n) for n in mats] or [part_of(ob.name)], np.float32)
            if (slot_part == UNKNOWN_PART).any():
                LOG.warning("part legend has no entry for object %s (materials %s): id %d", ob.name, mats,
                            UNKNOWN_PART)
            idx = np.zeros(len(me.polygons), np.int32)
            me.polygons.foreach_get("material_index", idx)
            vals = slot_part[np.clip(idx, 0, len(slot_part) - 1)]
            a = me.attributes.get(PART_ATTRIBUTE)
            if a is None or a.domain != "FACE" or a.data_type != "FLOAT":
                if a is not None:
                    me.attributes.remove(a)
                a = me.attributes.new(PART_ATTRIBUTE, "FLOAT", "FACE")
            a.data.foreach_set("value", vals)
            me["dms_part_key"] = key

    def render_aux(self, spec: SceneSpec, cam: CameraModel,
                   border: Optional[tuple[int, int, int, int]] = None) -> tuple[np.ndarray, np.ndarray]:
        """Part mask (uint8 ids of dms.sim.parts) and depth (float32 metres along the camera axis, NaN = no
        surface) of the current pose, by one extra 1-sample pass in which every surface emits its part id and
        depth: no lighting, no denoising, no pixel filter (ids sampled at pixel centres, never blended)."""
        self.set_scene(spec)
        self._set_camera(cam)
        self._clear_line_of_sight(cam)
        self._tag_parts()
        sc, cy = self.scene, self.scene.cycles
        vl = sc.view_layers[0]
        ims = sc.render.image_settings
        saved = (cy.samples, cy.use_denoising, cy.filter_width, cy.max_bounces, sc.render.film_transparent,
                 ims.file_format, ims.color_depth, ims.color_mode, vl.material_override)
        path = self._tmp / "aux.exr"
        try:
            vl.material_override = self._aux_material()
            cy.samples = 1
            cy.use_denoising = False
            cy.filter_width = 0.01
            cy.max_bounces = 0
            sc.render.film_transparent = True
            ims.file_format = "OPEN_EXR"
            ims.color_depth = "32"
            ims.color_mode = "RGBA"
            self._set_border(cam, border)
            sc.render.filepath = str(path)
            bpy.ops.render.render(write_still=True)
        finally:
            (cy.samples, cy.use_denoising, cy.filter_width, cy.max_bounces, sc.render.film_transparent,
             ims.file_format, ims.color_depth, ims.color_mode, vl.material_override) = saved
        img = bpy.data.images.load(str(path), check_existing=False)
        try:
            w, h = img.size
            px = np.empty(w * h * 4, np.float32)
            img.pixels.foreach_get(px)
        finally:
            bpy.data.images.remove(img)
        px = px.reshape(h, w, 4)[::-1]
        hit = px[..., 2] > 0.5
        parts = np.where(hit, np.clip(np.round(px[..., 0]), 0, 255), 0).astype(np.uint8)
        depth = np.where(hit & (px[..., 1] > 0), px[..., 1], np.nan).astype(np.float32)
        if border is not None:
            want = (border[3] - border[1], border[2] - border[0])
            if parts.shape != want:
                raise RuntimeError(f"aux pass returned {parts.shape}, expected {want}")
        return parts, depth
