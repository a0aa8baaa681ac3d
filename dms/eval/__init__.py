"""Evaluation of models on real labelled data: ``dms eval eye-state|yawn|gaze|hands`` (``alerts`` is dispatched
to :mod:`dms.runtime.evaluate_alerts`).

Owns: metrics (:mod:`dms.eval.metrics`), running an exported model on real folders (:mod:`dms.eval.models`) and
the ``dms eval`` JSON report. Folder readers live in :mod:`dms.data.realdata`.
May import: numpy, onnxruntime (via dms.export.validate), OpenCV, dms.data, dms.contracts, dms.train.taskdefs
(torch-free). Must not import torch.
"""
