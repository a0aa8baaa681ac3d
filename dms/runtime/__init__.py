"""The streaming runtime.

Owns: face front ends (detection + landmarks behind one interface), head pose, model sessions built from
manifests, per-frame perception, the embeddable Monitor API that `dms run` uses. May import: numpy, OpenCV,
onnxruntime, mediapipe (only inside its front end), dms.contracts, dms.data, dms.fusion, dms.io. Never torch or bpy.
"""
