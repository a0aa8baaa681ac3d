import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REALDATA = ROOT.parent / "shared" / "realdata-dev"

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def dms_cli():
    """Run the real `dms` command in a subprocess: returns (returncode, stdout, stderr)."""
    import subprocess

    def run(*args, timeout=300, **kw):
        p = subprocess.run([sys.executable, "-m", "dms", *map(str, args)], capture_output=True, text=True,
                           timeout=timeout, cwd=kw.pop("cwd", ROOT), **kw)
        return p.returncode, p.stdout, p.stderr
    return run


@pytest.fixture(scope="session")
def toy_root(tmp_path_factory):
    """A tiny drawn dataset in the simulator's exact on-disk format + real-layout folders (test data only;
    shared by tests/train, tests/export and tests/eval, built once per session)."""
    import numpy as np

    from dms.train.toydata import write_toy_dataset, write_toy_real
    root = tmp_path_factory.mktemp("toy")
    write_toy_dataset(root / "ds", n_per_kind=64, rng=np.random.default_rng(0))
    for task in ("eye_state", "yawn", "hands", "gaze"):
        write_toy_real(root / f"real_{task}", task, n_per_class=12, rng=np.random.default_rng(1))
    return root
