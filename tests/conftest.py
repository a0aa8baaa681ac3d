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
