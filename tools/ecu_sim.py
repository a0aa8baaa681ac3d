#!/usr/bin/env python3
"""Simulated vehicle ECU for the DMS serial link (thin wrapper; the logic is dms.bridge.ecu_sim).

    python tools/ecu_sim.py --profile ramp:0:120:30 --log out/ecu.jsonl --fault 10:silence:2
    -> prints "PTY /dev/pts/N"; then: dms run --ecu /dev/pts/N ...
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dms.bridge.ecu_sim import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
