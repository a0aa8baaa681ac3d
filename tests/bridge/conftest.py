"""Shared helpers for the ECU-link tests: repo paths, a fake clock, an in-memory serial pair."""
from __future__ import annotations

import importlib.util
import json
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FW = REPO / "firmware_bridge"


def load_tool(name: str):
    """Import a firmware_bridge/tools/<name>.py script as a module."""
    spec = importlib.util.spec_from_file_location(f"fw_tool_{name}", FW / "tools" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="session")
def golden() -> dict:
    return json.loads((FW / "golden" / "vectors.json").read_text())


class FakeClock:
    def __init__(self, t: float = 100.0):
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, dt: float) -> None:
        self.t += dt


class _End:
    """One end of an in-memory full-duplex byte pipe with a pyserial-like API (read/write/in_waiting/close)
    and the EcuSimulator transport API (read(timeout_s), write, close)."""

    def __init__(self, rx: bytearray, tx: bytearray, lock: threading.Lock, pair: "MemoryPair", side: str):
        self._rx, self._tx, self._lock, self._pair, self._side = rx, tx, lock, pair, side
        self.name = "memory"
        self.closed = False

    @property
    def in_waiting(self) -> int:
        self._check()
        with self._lock:
            return len(self._rx)

    def read(self, n_or_timeout=1) -> bytes:
        self._check()
        with self._lock:
            n = len(self._rx) if isinstance(n_or_timeout, float) else int(n_or_timeout)
            data = bytes(self._rx[:n])
            del self._rx[:n]
            return data

    def write(self, data: bytes) -> int:
        self._check()
        with self._lock:
            self._tx += data
        return len(data)

    def close(self) -> None:
        self.closed = True

    def _check(self) -> None:
        if self._pair.broken and self._side == "dms":
            raise OSError(5, "Input/output error (simulated)")


class MemoryPair:
    """Two connected ends: ``dms`` (give ``lambda url: pair.dms`` as EcuLink serial_factory) and ``ecu``."""

    def __init__(self):
        self._a, self._b, self._lock = bytearray(), bytearray(), threading.Lock()
        self.broken = False          # the DMS end's reads/writes raise OSError (USB adapter pulled)
        self.dms = _End(self._a, self._b, self._lock, self, "dms")
        self.ecu = _End(self._b, self._a, self._lock, self, "ecu")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
