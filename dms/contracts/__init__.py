"""Typed records that cross stage boundaries.

Owns: frame records, per-frame ground-truth labels and events, per-frame perception, vehicle signals, driver
state and alerts, model manifests. May import: stdlib and numpy only (a test enforces it), so that an ECU
vendor can embed `dms.contracts` + `dms.fusion` without torch, onnxruntime, OpenCV or Blender.

Every record is a dataclass with a schema id (``dms.<name>``) and an integer schema version. ``to_dict()``
writes ``{"schema": "dms.<name>/<version>", ...}``; ``from_dict()`` refuses another schema or a newer version
with :class:`SchemaError`.

Conventions (documented once, here):
  * time: ``t_ns`` is a monotonic capture timestamp in integer nanoseconds (never wall clock).
  * angles: degrees in records (``yaw_deg``), radians only inside math code (``_rad`` suffix).
  * camera frame: OpenCV convention, x right, y down, z forward (into the scene). Image pixel (0, 0) is the
    centre of the top-left pixel; ``u`` right, ``v`` down.
  * head pose and gaze share one convention, in the camera frame: yaw > 0 = the face/eye turns toward the
    image's right side (the driver's left for a camera facing the driver), pitch > 0 = up, (0, 0) = facing
    the camera; head roll > 0 = the head tilts clockwise as seen in the image.
  * eye openness: 0 = closed ... 1 = fully open (the subject's neutral open eye), per eye; "left"/"right" are
    the driver's own left and right (the driver's left eye appears on the image's right).
"""
from dms.contracts.base import Record, SchemaError, dumps, loads, record_from_dict
from dms.contracts.enums import (AlertLevel, AlertType, FaultCode, GazeZone, HandState, PixelFormat,
                                 RunningMode)
from dms.contracts.frame import CameraInfo, Frame
from dms.contracts.labels import CropLabel, Event, FrameLabel
from dms.contracts.manifest import ModelManifest, TensorSpec
from dms.contracts.perception import HeadPose, Perception
from dms.contracts.state import Alert, DriverState
from dms.contracts.vehicle import VehicleSignals

__all__ = [
    "Record", "SchemaError", "dumps", "loads", "record_from_dict",
    "AlertLevel", "AlertType", "FaultCode", "GazeZone", "HandState", "PixelFormat", "RunningMode",
    "CameraInfo", "Frame", "CropLabel", "Event", "FrameLabel", "ModelManifest", "TensorSpec", "HeadPose", "Perception",
    "Alert", "DriverState", "VehicleSignals",
]
