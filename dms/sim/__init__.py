"""The simulator: scene description, seeded sampling, behaviour timelines, camera geometry, labels, dataset jobs.

Owns: everything about *what* is rendered and its exact labels, in pure Python + numpy (Kubric-style: the scene is a
pure-Python model, Blender is only a view of it). May import: numpy, stdlib, dms.contracts, dms.data, dms.config.
``dms.sim.blender`` is the only package in dms that imports ``bpy``.
"""
