"""Face front ends: detection + 468/478 FaceMesh landmarks behind one interface.

* ``mediapipe``: mediapipe 0.10.21 ``solutions.face_mesh`` (bundled offline models).
* ``onnx``: the same detector and landmark networks converted from the bundled .tflite files to ONNX and run in
  onnxruntime, with anchors, decoding, NMS, rotated crop and tracking in numpy/OpenCV — for ECU images without
  mediapipe.
"""
from dms.runtime.face.base import FaceFrontEnd, FaceObservation, available_frontends, create_face_frontend

__all__ = ["FaceFrontEnd", "FaceObservation", "available_frontends", "create_face_frontend"]
