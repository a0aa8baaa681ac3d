"""`EcuLink`: the DMS end of the serial link to the vehicle ECU (any pyserial URL).

One background thread owns the port: it reads and decodes frames, answers version negotiation, sends heartbeats,
transmits the newest driver state at a fixed rate, watches the ECU's heartbeats and reconnects with back-off when
the port fails. The caller's loop (fusion) only calls non-blocking methods that never raise:

    with EcuLink("/dev/ttyUSB0") as link:            # or "loop://", "socket://host:port", "/dev/pts/7"
        while running:
            vehicle = link.vehicle_at(perception.t_ns)   # VehicleSignals | None (unknown / stale / link down),
            out = engine.step(perception, vehicle)       #   re-stamped to the frame time for fusion
            state = link.annotate(out.state)             # fault=ECU_LINK_LOST while the link is down
            link.send_state(state)

Timing uses the injectable ``clock`` (seconds, monotonic), never the wall clock. For deterministic tests, construct
with ``start=False`` and call :meth:`poll` yourself.
"""
from __future__ import annotations

import dataclasses
import logging
import threading
import time
from typing import Any, Callable, Optional

from dms.bridge import codec
from dms.bridge.codec import ENUMS, MsgType, ROLE_DMS, ROLE_ECU, CodecError, Frame, FrameDecoder
from dms.bridge.mapping import driver_state_to_fields, fields_to_vehicle
from dms.contracts import DriverState, FaultCode, VehicleSignals

log = logging.getLogger(__name__)

# status()["fault"] values (None = link healthy)
FAULT_NOT_CONNECTED = "NOT_CONNECTED"          # port cannot be opened / failed; reconnecting
FAULT_ECU_SILENT = "ECU_SILENT"                # port open, no ECU heartbeat within the timeout (or none yet)
FAULT_NOT_NEGOTIATED = "NOT_NEGOTIATED"        # ECU alive but no version agreed yet
FAULT_VERSION_MISMATCH = "VERSION_MISMATCH"    # no common protocol version: permanent until the peer changes
FAULT_LOOPBACK = "LOOPBACK"                    # our own frames come back (TX wired to RX, loop://)

_HB_STATUS = codec.BITS["heartbeat_status"]
_ERR = ENUMS["error_code"]
_HELLO_OK = ENUMS["hello_result"]["ok"]
_HELLO_NO_COMMON = ENUMS["hello_result"]["no_common_version"]
_DATA_TYPES = {MsgType.DRIVER_STATE, MsgType.VEHICLE_SIGNALS}


def _open_serial(url: str, baudrate: int, read_timeout_s: float, write_timeout_s: float):
    import serial  # pyserial: only imported when a port is opened
    return serial.serial_for_url(url, baudrate=baudrate, timeout=read_timeout_s, write_timeout=write_timeout_s)


class EcuLink:
    """DMS side of the ECU link. See the module docstring and ``firmware_bridge/README.md``.

    Args:
        url: pyserial URL or device path.
        state_rate_hz: DRIVER_STATE transmit rate (newest state per tick; nothing sent if no new state).
        heartbeat_timeout_s: no ECU HEARTBEAT for this long -> fault ECU_SILENT (FaultCode.ECU_LINK_LOST).
        heartbeat_period_s: our HEARTBEAT period.
        vehicle_timeout_s: vehicle signals older than this are stale (default: heartbeat_timeout_s).
        hello_retry_s: HELLO repeat period while not negotiated or the ECU is silent.
        reconnect_min_s, reconnect_max_s: exponential back-off between failed opens.
        versions: (min, max) protocol versions offered.
        clock: monotonic seconds; also stamps received vehicle signals (t_ns = clock() * 1e9).
        serial_factory: ``f(url) -> port`` (pyserial-like: read, write, in_waiting, close); default pyserial.
        start: start the I/O thread now (False: call :meth:`poll` yourself).
    """

    def __init__(self, url: str, *, state_rate_hz: float = 10.0, heartbeat_timeout_s: float = 1.0,
                 heartbeat_period_s: float = 0.2, vehicle_timeout_s: Optional[float] = None,
                 hello_retry_s: float = 0.5, reconnect_min_s: float = 0.1, reconnect_max_s: float = 2.0,
                 versions: tuple[int, int] = (codec.VERSION_MIN, codec.VERSION_MAX), baudrate: int = 115200,
                 sw_version: tuple[int, int] = (0, 1), clock: Callable[[], float] = time.monotonic,
                 serial_factory: Optional[Callable[[str], Any]] = None, read_timeout_s: float = 0.01,
                 write_timeout_s: float = 0.1, start: bool = True):
        if state_rate_hz <= 0 or heartbeat_timeout_s <= 0 or heartbeat_period_s <= 0:
            raise ValueError("rates and timeouts must be > 0")
        if heartbeat_period_s >= heartbeat_timeout_s:
            raise ValueError("heartbeat_period_s must be shorter than heartbeat_timeout_s")
        if not 1 <= versions[0] <= versions[1] <= 255:
            raise ValueError(f"bad version range {versions}")
        self.url = url
        self.state_period_s = 1.0 / state_rate_hz
        self.heartbeat_timeout_s = heartbeat_timeout_s
        self.heartbeat_period_s = heartbeat_period_s
        self.vehicle_timeout_s = heartbeat_timeout_s if vehicle_timeout_s is None else vehicle_timeout_s
        self.hello_retry_s = hello_retry_s
        self.reconnect_min_s, self.reconnect_max_s = reconnect_min_s, reconnect_max_s
        self.versions = (int(versions[0]), int(versions[1]))
        self.sw_version = sw_version
        self._clock = clock
        self._factory = serial_factory or (lambda u: _open_serial(u, baudrate, read_timeout_s, write_timeout_s))
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._port: Any = None
        self._decoder = FrameDecoder()
        self._t0 = clock()
        # link state (guarded by _lock)
        self._opened_once = False
        self._next_open_t = self._t0
        self._backoff_s = reconnect_min_s
        self._negotiated: Optional[int] = None
        self._version_mismatch = False
        self._loopback = False
        self._last_hb_rx_t: Optional[float] = None
        self._ecu_alive = False
        self._next_hb_t = self._t0
        self._next_hello_t = self._t0
        self._next_state_t = float("-inf")       # first state goes out at once, then every state_period_s
        self._last_error_tx_t = -1e18
        self._pending_state: Optional[DriverState] = None
        self._pending_fields: dict[str, int] = {}
        self._last_sent_valid = True
        self._vehicle: Optional[VehicleSignals] = None
        self._vehicle_rx_t: Optional[float] = None
        self._tx_seq = 0
        self._last_rx_seq: Optional[int] = None
        self._counts = {k: 0 for k in (
            "tx_frames", "tx_bytes", "tx_errors", "rx_frames", "rx_rejected", "seq_gaps", "reconnects",
            "open_failures", "states_sent", "states_superseded", "state_errors", "vehicle_rx", "errors_rx",
            "heartbeats_rx", "internal_errors", "ecu_link_lost_events")}
        self._last_fault: Optional[str] = None
        self._last_peer_error: Optional[dict] = None
        self._ecu_info: dict[str, Any] = {}
        if start:
            self.start()

    # ------------------------------------------------------------------------------------------- public API
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"EcuLink({self.url})", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the thread and close the port (idempotent)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
        self._thread = None
        with self._lock:
            self._close_port()

    def __enter__(self) -> "EcuLink":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def send_state(self, state: DriverState) -> None:
        """Queue the newest driver state (non-blocking, never raises). The I/O thread sends the newest queued
        state every 1/state_rate_hz once the version is negotiated; older unsent states are superseded, but their
        alerts are latched: the frame carries every alert flag active in any state of the tick and the highest
        alert level, so an alert raised and cleared between two ticks still reaches the ECU."""
        try:
            fields = driver_state_to_fields(state)
        except Exception as e:  # noqa: BLE001 — a bad record must not break the caller's loop
            with self._lock:
                self._counts["state_errors"] += 1
            log.warning("ECU link: cannot encode driver state: %s", e)
            return
        with self._lock:
            if self._pending_state is not None:
                self._counts["states_superseded"] += 1
                prev = self._pending_fields
                fields["alert_flags"] |= prev["alert_flags"]
                fields["alert_level"] = max(fields["alert_level"], prev["alert_level"])
            self._pending_state = state
            self._pending_fields = fields

    def latest_vehicle(self) -> Optional[VehicleSignals]:
        """Newest vehicle signals, or None if none arrived, they are older than vehicle_timeout_s, or the ECU is
        not alive (unknown speed: fusion applies its unknown-speed policy)."""
        with self._lock:
            now = self._clock()
            self._update_liveness(now)
            if self._vehicle is None or self._vehicle_rx_t is None or not self._ecu_alive:
                return None
            if now - self._vehicle_rx_t > self.vehicle_timeout_s:
                return None
            return self._vehicle

    def vehicle_at(self, t_ns: int) -> Optional[VehicleSignals]:
        """:meth:`latest_vehicle` re-stamped with the caller's frame time ``t_ns``. Use this to feed fusion, whose
        staleness check compares vehicle ``t_ns`` with perception ``t_ns``: frame timestamps of a video file do
        not share the link's monotonic clock. Staleness is decided here, in the link's clock."""
        v = self.latest_vehicle()
        return None if v is None else dataclasses.replace(v, t_ns=int(t_ns))

    def annotate(self, state: DriverState) -> DriverState:
        """The state with ``fault = ECU_LINK_LOST`` when the link is unhealthy and the state has no fault of its
        own (``valid`` is left alone: monitoring still works, only the vehicle link is down)."""
        if state.fault is not FaultCode.OK or self.fault is None:
            return state
        return dataclasses.replace(state, fault=FaultCode.ECU_LINK_LOST)

    @property
    def fault(self) -> Optional[str]:
        """None when healthy, else one of the FAULT_* strings."""
        with self._lock:
            now = self._clock()
            self._update_liveness(now)
            return self._fault(now)

    @property
    def fault_code(self) -> FaultCode:
        """FaultCode.OK, or FaultCode.ECU_LINK_LOST whenever the link is not healthy."""
        return FaultCode.OK if self.fault is None else FaultCode.ECU_LINK_LOST

    def status(self) -> dict[str, Any]:
        """Snapshot: connected, ecu_alive, negotiated_version, fault, last_fault, counters, decoder stats."""
        with self._lock:
            now = self._clock()
            self._update_liveness(now)
            out: dict[str, Any] = {
                "url": self.url,
                "connected": self._port is not None,
                "ecu_alive": self._ecu_alive,
                "negotiated_version": self._negotiated,
                "versions": list(self.versions),
                "fault": self._fault(now),
                "fault_code": int(FaultCode.OK if self._fault(now) is None else FaultCode.ECU_LINK_LOST),
                "last_fault": self._last_fault,
                "last_heartbeat_age_s": None if self._last_hb_rx_t is None else round(now - self._last_hb_rx_t, 3),
                "vehicle_age_s": None if self._vehicle_rx_t is None else round(now - self._vehicle_rx_t, 3),
                "last_peer_error": self._last_peer_error,
                "ecu": dict(self._ecu_info),
            }
            out.update(self._counts)
            out.update(self._decoder.stats.as_dict())
            return out

    # ------------------------------------------------------------------------------------------- I/O loop
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                idle_s = self.poll()
            except Exception:  # noqa: BLE001 — the link thread must survive anything
                log.exception("ECU link: internal error (continuing)")
                with self._lock:
                    self._counts["internal_errors"] += 1
                    self._close_port()
                idle_s = 0.05
            if idle_s > 0:
                self._stop.wait(idle_s)

    def poll(self) -> float:
        """One I/O step: (re)open, read + handle frames, periodic transmissions, liveness. Returns a suggested
        sleep (seconds) before the next call (0 when the port's read timeout already paced us)."""
        with self._lock:
            now = self._clock()
            if self._port is None:
                if now < self._next_open_t:
                    return min(0.05, self._next_open_t - now)
                self._open(now)
                if self._port is None:
                    return min(0.05, max(0.0, self._next_open_t - now))
            port = self._port
        try:
            n = port.in_waiting
            data = port.read(n if n > 0 else 1)
        except Exception as e:  # noqa: BLE001 — SerialException, OSError, anything a driver throws
            with self._lock:
                self._lost(f"read failed: {e}")
            return 0.0
        with self._lock:
            now = self._clock()
            if data:
                for frame in self._decoder.feed(data):
                    self._handle(frame, now)
            if self._port is not None:
                self._periodic(now)
            self._update_liveness(now)
        return 0.0

    def _open(self, now: float) -> None:
        try:
            self._port = self._factory(self.url)
        except Exception as e:  # noqa: BLE001
            self._counts["open_failures"] += 1
            self._next_open_t = now + self._backoff_s
            if self._counts["open_failures"] == 1 or self._backoff_s >= self.reconnect_max_s:
                log.warning("ECU link: cannot open %s: %s (retrying every <= %.1f s)", self.url, e,
                            self.reconnect_max_s)
            self._backoff_s = min(self._backoff_s * 2.0, self.reconnect_max_s)
            self._set_last_fault(FAULT_NOT_CONNECTED)
            return
        if self._opened_once:
            self._counts["reconnects"] += 1
            log.info("ECU link: reconnected to %s", self.url)
        else:
            log.info("ECU link: opened %s", self.url)
        self._opened_once = True
        self._backoff_s = self.reconnect_min_s
        self._decoder.reset()
        self._negotiated = None
        self._loopback = False
        self._last_rx_seq = None
        self._next_hello_t = now
        self._next_hb_t = now
        self._write(b"")  # a lone delimiter flushes whatever partial frame the ECU's receiver holds

    def _close_port(self) -> None:
        if self._port is not None:
            try:
                self._port.close()
            except Exception:  # noqa: BLE001
                pass
        self._port = None

    def _lost(self, why: str) -> None:
        log.warning("ECU link: %s; reconnecting", why)
        self._close_port()
        self._negotiated = None
        self._next_open_t = self._clock() + self._backoff_s
        self._set_last_fault(FAULT_NOT_CONNECTED)

    def _write(self, frame: bytes) -> None:
        if self._port is None:
            return
        data = b"\x00" + frame
        try:
            self._port.write(data)
        except Exception as e:  # noqa: BLE001
            if type(e).__name__ == "SerialTimeoutException":   # peer not reading: drop this frame, keep the port
                self._counts["tx_errors"] += 1
                return
            self._lost(f"write failed: {e}")
            return
        if frame:
            self._counts["tx_frames"] += 1
        self._counts["tx_bytes"] += len(data)

    def _send(self, msg_type: int, fields: dict[str, int]) -> None:
        control = codec.MESSAGES[int(msg_type)].control
        version = self._negotiated if self._negotiated else self.versions[1]
        if not control and not self._negotiated:
            return
        frame = codec.encode_message(int(msg_type), fields, seq=self._tx_seq, version=version)
        self._tx_seq = (self._tx_seq + 1) & 0xFFFF
        self._write(frame)

    def _send_hello(self) -> None:
        self._send(MsgType.HELLO, {
            "min_version": self.versions[0], "max_version": self.versions[1], "role": ROLE_DMS,
            "sw_major": self.sw_version[0] & 0xFF, "sw_minor": self.sw_version[1] & 0xFF,
            "heartbeat_period_ms": min(int(round(self.heartbeat_period_s * 1000)), 0xFFFF),
            "heartbeat_timeout_ms": min(int(round(self.heartbeat_timeout_s * 1000)), 0xFFFF)})

    def _send_error(self, code: str, frame: Frame, now: float) -> None:
        self._counts["rx_rejected"] += 1
        if frame.msg_type == MsgType.ERROR or now - self._last_error_tx_t < 0.2:   # no storms, no ping-pong
            return
        self._last_error_tx_t = now
        self._send(MsgType.ERROR, {"code": _ERR[code], "ref_type": frame.msg_type, "ref_seq": frame.seq})

    def _periodic(self, now: float) -> None:
        if now >= self._next_hb_t:
            self._next_hb_t = max(self._next_hb_t + self.heartbeat_period_s, now)
            status = 0
            if self._negotiated:
                status |= _HB_STATUS["negotiated"]
            if self._ecu_alive:
                status |= _HB_STATUS["peer_alive"]
            if not self._last_sent_valid:
                status |= _HB_STATUS["fault"]
            self._send(MsgType.HEARTBEAT, {"uptime_ms": int((now - self._t0) * 1000) & 0xFFFFFFFF,
                                           "role": ROLE_DMS, "status": status,
                                           "rx_errors": min(self._decoder.stats.resyncs
                                                            + self._counts["rx_rejected"], 0xFFFF)})
        if (not self._negotiated or not self._ecu_alive) and now >= self._next_hello_t:
            self._next_hello_t = now + self.hello_retry_s
            self._send_hello()
        if self._negotiated and self._pending_state is not None and now >= self._next_state_t:
            behind = now - self._next_state_t
            self._next_state_t = (self._next_state_t + self.state_period_s if behind < self.state_period_s
                                  else now + self.state_period_s)
            state, fields = self._pending_state, self._pending_fields
            self._pending_state = None
            self._send(MsgType.DRIVER_STATE, fields)
            self._counts["states_sent"] += 1
            self._last_sent_valid = bool(state.valid)

    # ------------------------------------------------------------------------------------------- receive
    def _handle(self, frame: Frame, now: float) -> None:
        self._counts["rx_frames"] += 1
        if self._last_rx_seq is not None:
            gap = (frame.seq - self._last_rx_seq - 1) & 0xFFFF
            if 0 < gap < 1024:
                self._counts["seq_gaps"] += gap
        self._last_rx_seq = frame.seq
        spec = codec.MESSAGES.get(frame.msg_type)
        if spec is None:
            self._send_error("unknown_type", frame, now)
            return
        try:
            fields = spec.unpack(frame.payload)
        except CodecError:
            self._send_error("bad_length", frame, now)
            return
        mt = MsgType(frame.msg_type)
        if mt in _DATA_TYPES:
            if not self._negotiated:
                self._send_error("not_negotiated", frame, now)
                return
            if frame.version != self._negotiated:
                self._send_error("unsupported_version", frame, now)
                return
        if mt in (MsgType.HELLO, MsgType.HELLO_ACK, MsgType.HEARTBEAT) and fields["role"] == ROLE_DMS:
            if not self._loopback:
                log.error("ECU link: received our own frames back (%s): TX looped to RX?", spec.name)
            self._loopback = True
            self._counts["rx_rejected"] += 1
            return
        if mt == MsgType.HELLO:
            self._ecu_info.update(sw=f"{fields['sw_major']}.{fields['sw_minor']}",
                                  versions=[fields["min_version"], fields["max_version"]],
                                  heartbeat_period_ms=fields["heartbeat_period_ms"],
                                  heartbeat_timeout_ms=fields["heartbeat_timeout_ms"])
            v = codec.select_version(self.versions[0], self.versions[1], fields["min_version"], fields["max_version"])
            self._send(MsgType.HELLO_ACK, {"selected_version": v, "result": _HELLO_OK if v else _HELLO_NO_COMMON,
                                           "role": ROLE_DMS, "min_version": self.versions[0],
                                           "max_version": self.versions[1]})
            self._adopt_version(v, fields["min_version"], fields["max_version"])
        elif mt == MsgType.HELLO_ACK:
            v = fields["selected_version"]
            ok = fields["result"] == _HELLO_OK and self.versions[0] <= v <= self.versions[1]
            self._adopt_version(v if ok else 0, fields["min_version"], fields["max_version"])
        elif mt == MsgType.HEARTBEAT:
            if fields["role"] == ROLE_ECU:
                self._counts["heartbeats_rx"] += 1
                self._last_hb_rx_t = now
                self._ecu_info["rx_errors"] = fields["rx_errors"]
                self._ecu_info["status"] = fields["status"]
        elif mt == MsgType.ERROR:
            self._counts["errors_rx"] += 1
            code = {v: k for k, v in _ERR.items()}.get(fields["code"], str(fields["code"]))
            self._last_peer_error = {"code": code, "ref_type": fields["ref_type"], "ref_seq": fields["ref_seq"]}
            log.debug("ECU link: ECU rejected frame type %d seq %d: %s", fields["ref_type"], fields["ref_seq"], code)
        elif mt == MsgType.VEHICLE_SIGNALS:
            self._vehicle = fields_to_vehicle(fields, t_ns=int(now * 1e9))
            self._vehicle_rx_t = now
            self._counts["vehicle_rx"] += 1
        else:  # DRIVER_STATE is DMS -> ECU only
            self._counts["rx_rejected"] += 1

    def _adopt_version(self, v: int, peer_min: int, peer_max: int) -> None:
        if v:
            if self._negotiated != v:
                log.info("ECU link: protocol version %d negotiated (ECU supports %d..%d)", v, peer_min, peer_max)
            self._negotiated = v
            self._version_mismatch = False
        else:
            if not self._version_mismatch:
                log.error("ECU link: no common protocol version: DMS supports %d..%d, ECU %d..%d",
                          self.versions[0], self.versions[1], peer_min, peer_max)
            self._negotiated = None
            self._version_mismatch = True
            # keep re-announcing (the ECU may be re-flashed), but slowly
            self._next_hello_t = self._clock() + max(self.hello_retry_s, 2.0)

    # ------------------------------------------------------------------------------------------- liveness
    def _update_liveness(self, now: float) -> None:
        alive = self._port is not None and self._last_hb_rx_t is not None \
            and now - self._last_hb_rx_t <= self.heartbeat_timeout_s
        if alive != self._ecu_alive:
            if alive:
                log.info("ECU link: ECU alive")
            elif self._last_hb_rx_t is not None:
                self._counts["ecu_link_lost_events"] += 1
                log.warning("ECU link: no ECU heartbeat for %.2f s: ECU_LINK_LOST", now - self._last_hb_rx_t)
            self._ecu_alive = alive
        fault = self._fault(now)
        if fault is not None:
            self._set_last_fault(fault)

    def _fault(self, now: float) -> Optional[str]:
        if self._port is None:
            return FAULT_NOT_CONNECTED
        if self._loopback:
            return FAULT_LOOPBACK
        if self._version_mismatch:
            return FAULT_VERSION_MISMATCH
        if not self._ecu_alive:
            return FAULT_ECU_SILENT
        if not self._negotiated:
            return FAULT_NOT_NEGOTIATED
        return None

    def _set_last_fault(self, fault: str) -> None:
        self._last_fault = fault
