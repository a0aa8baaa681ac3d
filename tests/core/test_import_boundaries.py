"""contracts and fusion must be embeddable: importing them loads no heavy dependency."""
import subprocess
import sys

import pytest

HEAVY = ["torch", "onnxruntime", "cv2", "bpy", "mediapipe", "serial", "matplotlib"]


@pytest.mark.parametrize("module", ["dms.contracts", "dms.fusion", "dms.config", "dms.data.crops",
                                    "dms.bridge.codec"])
def test_light_modules_do_not_import_heavy_dependencies(module):
    code = (f"import sys, importlib; importlib.import_module({module!r}); "
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"{module} imported {out.stdout.strip()}"


def test_cli_parser_is_light():
    """`dms --help` must be instant: building the parser imports no heavy dependency."""
    code = ("import sys; from dms.cli.main import build_parser; build_parser(); "
            f"print(','.join(m for m in {HEAVY + ['numpy', 'pydantic']!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
