"""The Blender view of a scene: the only package in dms that imports ``bpy``.

Owns: building one Cycles scene per process from a :class:`dms.sim.spec.SceneSpec` (head mesh with the numpy head
model's shape keys, eyeballs, hair, accessories, body, wheel, cabin, lights, RGB/NIR material responses) and
rendering full frames or render-border regions. ``textures`` is pure numpy/OpenCV (procedural skin/brow/makeup
albedo in the canonical face UV space) and may be used without Blender.

May import: bpy (``scene`` only), numpy, OpenCV, dms.sim (spec, head, camera, labels). Nothing else in dms
imports this package except :mod:`dms.sim.render`.
"""
