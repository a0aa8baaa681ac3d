"""Shipped models on the real dev folders (skipped when the folder or the shipped models are absent)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "realdata-dev"
MODELS = Path(__file__).resolve().parents[2] / "models"

CASES = [("eye-state", "eye_state", "eye_state_gray_small"), ("yawn", "yawn", "mouth_open_crops"),
         ("gaze", "gaze", "gaze_columbia/gaze.csv"), ("hands", "hands", "driver_statefarm_small")]


@pytest.mark.realdata
@pytest.mark.parametrize("cli_task,task,rel", CASES)
def test_shipped_model_on_dev_folder_prints_contract_json(cli_task, task, rel):
    if not (REAL / rel).exists():
        pytest.skip(f"{REAL / rel} absent")
    if not (MODELS / task / "model.onnx").is_file():
        pytest.skip(f"no shipped {task} model")
    r = subprocess.run([sys.executable, "-m", "dms", "eval", cli_task, str(REAL / rel), "--json", "--max-items",
                        "200"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout.strip().splitlines()[-1])
    assert rep["task"] == cli_task and "@" in rep["model"] and rep["n"] > 0
    if task == "gaze":
        assert rep["mean_angular_error_deg"] >= 0 and rep["median_angular_error_deg"] >= 0
    else:
        assert 0 <= rep["balanced_accuracy"] <= 1 and set(rep["recall"]) == set(rep["counts"])
