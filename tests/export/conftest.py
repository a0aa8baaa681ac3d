"""Fixtures: a tiny drawn dataset in the simulator's exact on-disk format + real-layout folders (test data only)."""
from __future__ import annotations

import numpy as np
import pytest

from dms.train.toydata import write_toy_dataset, write_toy_real


@pytest.fixture(scope="session")
def toy_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("toy")
    write_toy_dataset(root / "ds", n_per_kind=64, rng=np.random.default_rng(0))
    for task in ("eye_state", "yawn", "hands", "gaze"):
        write_toy_real(root / f"real_{task}", task, n_per_class=12, rng=np.random.default_rng(1))
    return root
