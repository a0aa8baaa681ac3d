"""ECU simulator: plays the vehicle ECU on a pseudo-terminal pair (or any pyserial URL).

It answers version negotiation, sends HEARTBEATs and VEHICLE_SIGNALS from a speed profile, receives and logs the
DMS's DRIVER_STATE frames as JSONL, and injects faults on demand or on a schedule: garbage bytes, dropped bytes,
bit flips and silence. ``tools/ecu_sim.py`` is its command line; tests drive :class:`EcuSimulator` directly.

Speed profiles (``SpeedProfile.parse``):
  ``constant:80``                 80 km/h forever
  ``ramp:0:120:30``               0 -> 120 km/h linearly over 30 s, then hold
  ``steps:0@0,50@5,100@10``       piecewise constant: speed@t_s
  ``path/to/profile.csv``         columns t_s,speed_kph[,gear,indicator,wheel_touch] (speed linear, rest stepped)
  ``path/to/profile.yaml``        a list of {t_s, speed_kph[, gear, indicator, wheel_touch]}
Fault specs (``FaultEvent.parse``): ``T:garbage:N``, ``T:drop:N``, ``T:flip:N``, ``T:silence:S`` (T = seconds
since start).
"""
from __future__ import annotations

import bisect
import csv
import errno
import json
import logging
import os
import select
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable, Optional

import numpy as np

from dms.bridge import codec
from dms.bridge.codec import ENUMS, MsgType, ROLE_DMS, ROLE_ECU, CodecError, Frame, FrameDecoder
from dms.bridge.mapping import describe_driver_state, vehicle_to_fields
from dms.contracts import VehicleSignals
from dms.contracts.vehicle import Gear, Indicator

log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------------------------- profiles
@dataclass(frozen=True)
class ProfilePoint:
    t_s: float
    speed_kph: float
    gear: Gear = Gear.DRIVE
    indicator: Indicator = Indicator.OFF
    wheel_touch: Optional[bool] = None


class SpeedProfile:
    """Vehicle signals as a function of simulator time: speed interpolated linearly (``hold`` = piecewise
    constant), gear/indicator/wheel touch stepped."""

    def __init__(self, points: list[ProfilePoint], *, hold: bool = False, spec: str = ""):
        if not points:
            raise ValueError("a speed profile needs at least one point")
        self.points = sorted(points, key=lambda p: p.t_s)
        self.hold = hold
        self.spec = spec
        self._ts = [p.t_s for p in self.points]

    def at(self, t_s: float) -> ProfilePoint:
        i = bisect.bisect_right(self._ts, t_s) - 1
        if i < 0:
            return self.points[0]
        p = self.points[i]
        if self.hold or i + 1 >= len(self.points):
            return p
        q = self.points[i + 1]
        a = (t_s - p.t_s) / (q.t_s - p.t_s) if q.t_s > p.t_s else 1.0
        return ProfilePoint(t_s, p.speed_kph + a * (q.speed_kph - p.speed_kph), p.gear, p.indicator, p.wheel_touch)

    def vehicle(self, t_s: float) -> VehicleSignals:
        p = self.at(t_s)
        return VehicleSignals(t_ns=int(t_s * 1e9), speed_kph=max(0.0, p.speed_kph), gear=p.gear,
                              indicator=p.indicator, wheel_touch=p.wheel_touch)

    @classmethod
    def parse(cls, spec: str) -> "SpeedProfile":
        kind, _, rest = spec.partition(":")
        try:
            if kind == "constant":
                return cls([ProfilePoint(0.0, float(rest))], spec=spec)
            if kind == "ramp":
                a, b, dur = (float(x) for x in rest.split(":"))
                if dur <= 0:
                    raise ValueError("ramp duration must be > 0")
                return cls([ProfilePoint(0.0, a), ProfilePoint(dur, b)], spec=spec)
            if kind == "steps":
                pts = []
                for item in rest.split(","):
                    v, _, t = item.partition("@")
                    pts.append(ProfilePoint(float(t), float(v)))
                return cls(pts, hold=True, spec=spec)
        except ValueError as e:
            raise ValueError(f"bad speed profile {spec!r}: {e}") from None
        path = Path(spec)
        if path.suffix.lower() == ".csv" and path.exists():
            with path.open(newline="") as fh:
                return cls([_point(row) for row in csv.DictReader(fh)], spec=spec)
        if path.suffix.lower() in (".yaml", ".yml") and path.exists():
            import yaml
            rows = yaml.safe_load(path.read_text())
            if not isinstance(rows, list):
                raise ValueError(f"{spec}: expected a list of points")
            return cls([_point(r) for r in rows], spec=spec)
        raise ValueError(f"bad speed profile {spec!r}: use constant:KPH, ramp:FROM:TO:SECONDS, "
                         "steps:KPH@T,..., or an existing .csv/.yaml file")


def _point(row: dict) -> ProfilePoint:
    def enum_of(cls, v, default):
        if v in (None, ""):
            return default
        return cls[str(v).upper()] if not str(v).lstrip("-").isdigit() else cls(int(v))
    touch = row.get("wheel_touch")
    return ProfilePoint(float(row["t_s"]), float(row["speed_kph"]), enum_of(Gear, row.get("gear"), Gear.DRIVE),
                        enum_of(Indicator, row.get("indicator"), Indicator.OFF),
                        None if touch in (None, "") else str(touch).lower() in ("1", "true", "yes"))


@dataclass(frozen=True)
class FaultEvent:
    t_s: float
    kind: str        # garbage | drop | flip | silence
    amount: float    # bytes, bytes, bits, seconds

    KINDS = ("garbage", "drop", "flip", "silence")

    @classmethod
    def parse(cls, spec: str) -> "FaultEvent":
        try:
            t, kind, amount = spec.split(":")
            ev = cls(float(t), kind, float(amount))
        except ValueError:
            raise ValueError(f"bad fault {spec!r}: expected T:KIND:AMOUNT, e.g. 5:garbage:64") from None
        if ev.kind not in cls.KINDS:
            raise ValueError(f"bad fault kind {kind!r}: one of {', '.join(cls.KINDS)}")
        return ev


# ----------------------------------------------------------------------------------------------- transports
class PtyTransport:
    """Master side of a fresh pty pair; the DMS opens :attr:`slave_path`. The slave fd stays open here so the
    master never sees EIO while the DMS reconnects."""

    def __init__(self) -> None:
        import tty
        self.master_fd, self._slave_fd = os.openpty()
        tty.setraw(self._slave_fd)           # no echo, no CR/LF translation before the DMS configures it
        os.set_blocking(self.master_fd, False)
        self.slave_path = os.ttyname(self._slave_fd)
        self.name = self.slave_path

    def read(self, timeout_s: float) -> bytes:
        r, _, _ = select.select([self.master_fd], [], [], max(0.0, timeout_s))
        if not r:
            return b""
        try:
            return os.read(self.master_fd, 4096)
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.EIO):
                return b""
            raise

    def write(self, data: bytes) -> int:
        """Non-blocking: bytes that do not fit in the pty buffer (DMS not reading) are dropped and counted."""
        try:
            return os.write(self.master_fd, data)
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.EIO):
                return 0
            raise

    def close(self) -> None:
        for fd in (self.master_fd, self._slave_fd):
            try:
                os.close(fd)
            except OSError:
                pass


class SerialTransport:
    """Any pyserial URL (a real UART wired to the DMS, ``socket://``, ...)."""

    def __init__(self, url: str, baudrate: int = 115200):
        import serial
        self.port = serial.serial_for_url(url, baudrate=baudrate, timeout=0, write_timeout=0.1)
        self.name = url

    def read(self, timeout_s: float) -> bytes:
        deadline = time.monotonic() + timeout_s
        while True:
            n = self.port.in_waiting
            if n:
                return self.port.read(n)
            if time.monotonic() >= deadline:
                return b""
            time.sleep(min(0.005, max(0.0, deadline - time.monotonic())))

    def write(self, data: bytes) -> int:
        try:
            return self.port.write(data) or 0
        except Exception as e:  # noqa: BLE001 — SerialTimeoutException: DMS not reading
            log.debug("ECU sim: write failed: %s", e)
            return 0

    def close(self) -> None:
        self.port.close()


# ----------------------------------------------------------------------------------------------- simulator
class EcuSimulator:
    """The ECU end of the link. Call :meth:`poll` in a loop (or :meth:`run`).

    Args:
        transport: PtyTransport / SerialTransport (read(timeout_s), write(bytes), close()).
        profile: the speed profile played from t = 0 (first poll).
        rng: randomness for fault injection (garbage bytes, flipped bit positions).
        log_file: JSONL sink: one line per received DRIVER_STATE and per link/fault event.
        faults: scheduled fault events.
        versions: (min, max) protocol versions the simulated ECU supports.
        send_vehicle: False simulates an ECU without vehicle signals (heartbeats only).
        clock: monotonic seconds.
    """

    def __init__(self, transport: Any, profile: SpeedProfile, *, rng: Optional[np.random.Generator] = None,
                 log_file: Optional[IO[str]] = None, faults: Optional[list[FaultEvent]] = None,
                 versions: tuple[int, int] = (codec.VERSION_MIN, codec.VERSION_MAX), vehicle_rate_hz: float = 20.0,
                 heartbeat_period_s: float = 0.2, heartbeat_timeout_s: float = 1.0, send_vehicle: bool = True,
                 announce: bool = True, clock: Callable[[], float] = time.monotonic):
        self.transport = transport
        self.profile = profile
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.log_file = log_file
        self.faults = sorted(faults or [], key=lambda f: f.t_s)
        self.versions = versions
        self.vehicle_period_s = 1.0 / vehicle_rate_hz
        self.heartbeat_period_s = heartbeat_period_s
        self.heartbeat_timeout_s = heartbeat_timeout_s
        self.send_vehicle = send_vehicle
        self._clock = clock
        self._t0: Optional[float] = None
        self._decoder = FrameDecoder()
        self._seq = 0
        self.negotiated: Optional[int] = None
        self._next_hb = 0.0
        self._next_vs = 0.0
        self._silent_until = -1.0
        self._drop_bytes = 0
        self._flip_bits = 0
        self._last_dms_hb: Optional[float] = None
        self._announce = announce
        self.states: list[dict] = []            # received DRIVER_STATEs (decoded), newest last
        self.counts = {k: 0 for k in ("tx_frames", "tx_bytes", "tx_bytes_lost", "rx_frames", "driver_states",
                                      "dms_heartbeats", "hellos_rx", "errors_rx", "garbage_bytes",
                                      "dropped_bytes", "flipped_bits", "silences", "vehicle_tx")}

    # ------------------------------------------------------------------------------------------- time
    def now_s(self) -> float:
        """Simulator time since the first poll."""
        return 0.0 if self._t0 is None else self._clock() - self._t0

    # ------------------------------------------------------------------------------------------- faults
    def inject_garbage(self, n: int) -> None:
        """Send n random bytes (0x00 excluded, so they glue onto the next frame unless it is delimited)."""
        data = self.rng.integers(1, 256, size=int(n), dtype=np.uint8).tobytes()
        self.counts["garbage_bytes"] += len(data)
        self._event("fault", kind="garbage", amount=len(data))
        self._raw_write(data)

    def drop_bytes(self, n: int) -> None:
        """Silently drop the next n outgoing bytes (cuts frames)."""
        self._drop_bytes += int(n)
        self._event("fault", kind="drop", amount=int(n))

    def flip_bits(self, n: int) -> None:
        """Flip one random bit in each of the next n outgoing frames."""
        self._flip_bits += int(n)
        self._event("fault", kind="flip", amount=int(n))

    def silence(self, seconds: float) -> None:
        """Send nothing at all (no heartbeats, no vehicle signals) for ``seconds``."""
        self._silent_until = max(self._silent_until, self.now_s() + seconds)
        self.counts["silences"] += 1
        self._event("fault", kind="silence", amount=seconds)

    def _apply(self, ev: FaultEvent) -> None:
        {"garbage": lambda: self.inject_garbage(int(ev.amount)), "drop": lambda: self.drop_bytes(int(ev.amount)),
         "flip": lambda: self.flip_bits(int(ev.amount)), "silence": lambda: self.silence(ev.amount)}[ev.kind]()

    @property
    def silent(self) -> bool:
        return self.now_s() < self._silent_until

    @property
    def dms_alive(self) -> bool:
        return self._last_dms_hb is not None and self.now_s() - self._last_dms_hb <= self.heartbeat_timeout_s

    # ------------------------------------------------------------------------------------------- I/O
    def _raw_write(self, data: bytes) -> None:
        if self._drop_bytes and data:
            k = min(self._drop_bytes, len(data))
            self._drop_bytes -= k
            self.counts["dropped_bytes"] += k
            # drop from the middle of the frame so both neighbours' delimiters survive: a damaged frame
            cut = max(1, len(data) // 2)
            data = data[:cut] + data[cut + k:] if len(data) > cut + k else data[:max(0, len(data) - k)]
        if not data:
            return
        n = self.transport.write(data)
        self.counts["tx_bytes"] += n
        self.counts["tx_bytes_lost"] += len(data) - n

    def _send(self, msg_type: int, fields: dict[str, int]) -> None:
        if self.silent:
            return
        version = self.negotiated or self.versions[1]
        frame = bytearray(codec.encode_message(int(msg_type), fields, seq=self._seq, version=version))
        self._seq = (self._seq + 1) & 0xFFFF
        if self._flip_bits:
            self._flip_bits -= 1
            pos = int(self.rng.integers(0, len(frame) - 1))      # not the trailing delimiter
            frame[pos] ^= 1 << int(self.rng.integers(0, 8))
            self.counts["flipped_bits"] += 1
        self.counts["tx_frames"] += 1
        self._raw_write(b"\x00" + bytes(frame))

    def _event(self, event: str, **kw: Any) -> None:
        if self.log_file is not None:
            rec = {"t_s": round(self.now_s(), 4), "event": event, **kw}
            self.log_file.write(json.dumps(rec, sort_keys=True) + "\n")
            self.log_file.flush()

    def poll(self, timeout_s: float = 0.01) -> None:
        """Read for up to timeout_s, handle frames, run due fault events and periodic transmissions."""
        if self._t0 is None:
            self._t0 = self._clock()
            if self._announce:
                self._send_hello()
        data = self.transport.read(timeout_s)
        if data:
            for frame in self._decoder.feed(data):
                self._handle(frame)
        t = self.now_s()
        while self.faults and self.faults[0].t_s <= t:
            self._apply(self.faults.pop(0))
        if t >= self._next_hb:
            self._next_hb = max(self._next_hb + self.heartbeat_period_s, t)
            status = (1 if self.negotiated else 0) | (2 if self.dms_alive else 0)
            self._send(MsgType.HEARTBEAT, {"uptime_ms": int(t * 1000) & 0xFFFFFFFF, "role": ROLE_ECU,
                                           "status": status, "rx_errors": min(self._decoder.stats.resyncs, 0xFFFF)})
        if self.send_vehicle and self.negotiated and t >= self._next_vs:
            self._next_vs = max(self._next_vs + self.vehicle_period_s, t)
            fields = vehicle_to_fields(self.profile.vehicle(t), t_ms=int(t * 1000))
            self._send(MsgType.VEHICLE_SIGNALS, fields)
            if not self.silent:
                self.counts["vehicle_tx"] += 1

    def run(self, duration_s: Optional[float] = None, stop: Optional[Callable[[], bool]] = None) -> None:
        while (duration_s is None or self.now_s() < duration_s) and not (stop and stop()):
            self.poll(0.01)

    def _send_hello(self) -> None:
        self._send(MsgType.HELLO, {"min_version": self.versions[0], "max_version": self.versions[1],
                                   "role": ROLE_ECU, "sw_major": 1, "sw_minor": 0,
                                   "heartbeat_period_ms": int(self.heartbeat_period_s * 1000),
                                   "heartbeat_timeout_ms": int(self.heartbeat_timeout_s * 1000)})

    def _handle(self, frame: Frame) -> None:
        self.counts["rx_frames"] += 1
        try:
            fields = frame.message()
        except CodecError as e:
            self._event("rx_rejected", msg_type=frame.msg_type, seq=frame.seq, reason=e.reason)
            return
        mt = frame.msg_type
        if mt == MsgType.HELLO and fields["role"] == ROLE_DMS:
            self.counts["hellos_rx"] += 1
            v = codec.select_version(self.versions[0], self.versions[1], fields["min_version"], fields["max_version"])
            self._send(MsgType.HELLO_ACK, {"selected_version": v,
                                           "result": ENUMS["hello_result"]["ok" if v else "no_common_version"],
                                           "role": ROLE_ECU, "min_version": self.versions[0],
                                           "max_version": self.versions[1]})
            if v != self.negotiated:
                self._event("negotiated", version=v, dms_versions=[fields["min_version"], fields["max_version"]])
            self.negotiated = v or None
        elif mt == MsgType.HELLO_ACK and fields["role"] == ROLE_DMS:
            v = fields["selected_version"]
            ok = fields["result"] == ENUMS["hello_result"]["ok"] and self.versions[0] <= v <= self.versions[1]
            if (v if ok else None) != self.negotiated:
                self._event("negotiated", version=v if ok else 0)
            self.negotiated = v if ok else None
        elif mt == MsgType.HEARTBEAT and fields["role"] == ROLE_DMS:
            self.counts["dms_heartbeats"] += 1
            self._last_dms_hb = self.now_s()
        elif mt == MsgType.ERROR:
            self.counts["errors_rx"] += 1
            self._event("peer_error", **fields)
        elif mt == MsgType.DRIVER_STATE:
            if not self.negotiated or frame.version != self.negotiated:
                self._event("rx_rejected", msg_type=mt, seq=frame.seq, reason="version")
                return
            self.counts["driver_states"] += 1
            rec = {"t_s": round(self.now_s(), 4), "event": "driver_state", "seq": frame.seq,
                   "version": frame.version, "fields": fields, "state": describe_driver_state(fields)}
            self.states.append(rec)
            if self.log_file is not None:
                self.log_file.write(json.dumps(rec, sort_keys=True) + "\n")
                self.log_file.flush()

    def stats(self) -> dict[str, Any]:
        return {**self.counts, **{f"rx_{k}": v for k, v in self._decoder.stats.as_dict().items()},
                "negotiated": self.negotiated, "dms_alive": self.dms_alive}

    def close(self) -> None:
        self.transport.close()


# ----------------------------------------------------------------------------------------------- CLI
def build_arg_parser():
    import argparse
    p = argparse.ArgumentParser(
        prog="ecu_sim", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Simulated vehicle ECU for the DMS link. Opens a pty pair (default) and prints\n"
                    "'PTY <slave path>' on the first stdout line: run `dms run --ecu <slave path>`.\n"
                    "The last stdout line is a JSON summary.",
        epilog=__doc__.split("Speed profiles", 1)[1] if "Speed profiles" in __doc__ else None)
    p.add_argument("--url", default=None, help="pyserial URL instead of a pty pair (e.g. /dev/ttyUSB1)")
    p.add_argument("--profile", default="constant:80", help="speed profile (default constant:80)")
    p.add_argument("--log", default=None, metavar="FILE.jsonl", help="log received states and events here")
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    p.add_argument("--fault", action="append", default=[], metavar="T:KIND:N",
                   help="scheduled fault: garbage|drop|flip (count) or silence (seconds), e.g. 5:silence:2")
    p.add_argument("--versions", default=f"{codec.VERSION_MIN}-{codec.VERSION_MAX}", metavar="MIN-MAX")
    p.add_argument("--vehicle-rate-hz", type=float, default=20.0)
    p.add_argument("--no-vehicle", action="store_true", help="heartbeats only, no vehicle signals")
    p.add_argument("--seed", type=int, default=0, help="seed of the fault-injection RNG")
    return p


def main(argv: Optional[list[str]] = None) -> int:
    import signal
    import sys
    args = build_arg_parser().parse_args(argv)
    try:
        profile = SpeedProfile.parse(args.profile)
        faults = [FaultEvent.parse(f) for f in args.fault]
        lo, _, hi = args.versions.partition("-")
        versions = (int(lo), int(hi or lo))
    except ValueError as e:
        sys.stderr.write(f"ecu_sim: {e}\n")
        return 2
    transport = SerialTransport(args.url) if args.url else PtyTransport()
    print(f"PTY {transport.name}", flush=True)
    log_fh = open(args.log, "a", encoding="utf-8") if args.log else None
    sim = EcuSimulator(transport, profile, rng=np.random.default_rng(args.seed), log_file=log_fh, faults=faults,
                       versions=versions, vehicle_rate_hz=args.vehicle_rate_hz, send_vehicle=not args.no_vehicle)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    try:
        sim.run(args.duration, stop=lambda: bool(stopping))
    except KeyboardInterrupt:
        pass
    finally:
        sim.close()
        if log_fh:
            log_fh.close()
    print(json.dumps(sim.stats(), sort_keys=True), flush=True)
    return 0
