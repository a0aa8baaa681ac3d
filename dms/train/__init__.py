"""Model training: task definitions, the model registry (with tiny ``test_*`` variants), dataset loading from
simulator renders and real labelled folders, the trainer, and the domain-adaptation options (synthetic only,
hybrid synthetic + real, synthetic pre-train -> real fine-tune, AdaBN batch-norm statistics on unlabelled real
images).

Owns: ``dms train``'s config (:mod:`dms.train.config`), checkpoints (``checkpoint.pt`` resumable, ``model.pt``
final), training curves / confusion-matrix / error-histogram PNGs.
May import: torch, numpy, matplotlib (Agg), rich, dms.contracts, dms.config, dms.data, dms.eval.metrics.
Must not import: onnxruntime at module top (export/eval own that), bpy, dms.runtime.
"""
