"""The streaming runtime.

Owns: face front ends (detection + landmarks behind one interface), head pose, model sessions built from
manifests, per-frame perception, the embeddable Monitor API that `dms run` uses. May import: numpy, OpenCV,
onnxruntime, mediapipe (only inside its front end), dms.contracts, dms.data, dms.fusion, dms.io. Never torch or bpy.
"""

_LAZY = {
    "Monitor": "dms.runtime.monitor", "MonitorOptions": "dms.runtime.monitor", "MonitorResult": "dms.runtime.monitor",
    "TimestampError": "dms.runtime.monitor", "RunConfig": "dms.runtime.config",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dms.runtime' has no attribute {name!r}")


__all__ = sorted(_LAZY)
