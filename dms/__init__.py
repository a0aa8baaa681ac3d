"""dms — driver-monitoring SDK.

Packages (one heavy dependency per room):
  contracts/  typed records crossing stage boundaries (stdlib + numpy)
  config/     typed, strict configuration (pydantic + yaml)
  sim/        scene spec, sampling, behaviour timelines, labels (pure Python); sim/blender is the only bpy user
  data/       dataset readers, shared crop function, augmentation
  train/      model registry, tasks, trainer, domain adaptation (torch)
  export/     ONNX export, parity check, INT8 quantization, manifests
  runtime/    face front ends, model sessions, per-frame perception, the Monitor API (onnxruntime, cv2)
  fusion/     temporal signals and regulation-timed alerts (stdlib + numpy only)
  io/         frame sources and sinks
  bridge/     host side of the ECU serial link
  cli/        the `dms` command, thin
"""
__version__ = "0.1.0"
