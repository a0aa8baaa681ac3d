"""Export: trained checkpoint -> ONNX (opset >= 17) with its manifest, parity check against torch, optional INT8
static quantisation calibrated on renders (with the accuracy delta), and the validation the runtime reuses.

Owns: ``models/<task>/`` artefact layout (``model.onnx``, ``model.int8.onnx``, ``manifest.json``,
``manifest.int8.json``), the manifest embedding (ONNX ``metadata_props["dms.manifest"]``) and sha256 scheme.
May import: onnx, onnxruntime, numpy, dms.contracts, dms.data, dms.train (torch) — except
:mod:`dms.export.validate` and :mod:`dms.export.manifest`, which must not import torch or onnx (runtime side).
"""
