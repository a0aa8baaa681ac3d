"""Model manifest: the preprocessing contract that travels with the weights ("no manifest, no model")."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from dms.contracts.base import Record

TASKS = ("eye_state", "yawn", "gaze", "hands")


@dataclass(frozen=True)
class TensorSpec(Record):
    """Name, shape (``-1`` or a string = dynamic) and dtype of a model input or output."""
    SCHEMA_ID = "dms.tensor"
    name: str
    shape: tuple
    dtype: str = "float32"
    description: str = ""


@dataclass(frozen=True)
class ModelManifest(Record):
    """Everything the runtime needs to run a model correctly, validated against the ONNX session before the
    first frame. ``sha256`` is the hash of the ONNX file's bytes, carried by the sidecar manifest; the copy embedded
    in the file's metadata (``dms.manifest``) has ``sha256`` blank, as a file cannot contain its own hash."""
    SCHEMA_ID = "dms.model_manifest"
    name: str
    version: str
    task: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    pixel_format: str = "GRAY8"               # what the model expects after preprocessing
    preprocessing: dict = field(default_factory=dict)   # e.g. {"size": [32, 32], "scale": 1/255, "mean":..}
    crop: dict = field(default_factory=dict)            # crop definition (name + params) from dms.data.crops
    labels: tuple[str, ...] = ()
    output_semantics: dict = field(default_factory=dict)
    sha256: str = ""
    precision: str = "fp32"                   # fp32 | int8
    training: dict = field(default_factory=dict)        # data provenance, config, seed, git rev
    metrics: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; known: {TASKS}")

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @staticmethod
    def file_sha256(path: str | Path) -> str:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()
