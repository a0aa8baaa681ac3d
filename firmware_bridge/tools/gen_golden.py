#!/usr/bin/env python3
"""Regenerate the golden byte vectors of the DMS <-> ECU link from the Python codec.

Writes ``firmware_bridge/golden/vectors.json`` (the reference: message fields, payload and full frame bytes, COBS
vectors, decoder stream vectors) and ``firmware_bridge/tests/golden_vectors.h`` (the same vectors as C data for
the C unit tests). ``--check`` writes nothing and exits 1 if the committed files differ (a pytest test runs it).

The vectors are *defined* here (names, field values, streams); their bytes come from ``dms.bridge.codec``.
Changing the codec's output for an existing vector is a wire-protocol change: bump the protocol version.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

FW_DIR = Path(__file__).resolve().parents[1]
REPO = FW_DIR.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from dms.bridge import codec  # noqa: E402
from dms.bridge.mapping import driver_state_to_fields, vehicle_to_fields  # noqa: E402
from dms.contracts import (AlertLevel, AlertType, DriverState, FaultCode, GazeZone, HandState,  # noqa: E402
                           VehicleSignals)
from dms.contracts.vehicle import Gear, Indicator  # noqa: E402

GOLDEN_JSON = FW_DIR / "golden" / "vectors.json"
GOLDEN_H = FW_DIR / "tests" / "golden_vectors.h"


def _states() -> list[tuple[str, DriverState]]:
    return [
        ("driver_state_nominal", DriverState(
            t_ns=12_345_678_901, valid=True, eye_openness=0.9, perclos=0.042, drowsiness_kss=3.0,
            gaze_zone=GazeZone.ROAD, hand_left=HandState.ON_WHEEL, hand_right=HandState.ON_WHEEL,
            calibrated=True)),
        ("driver_state_distracted_caution", DriverState(
            t_ns=60_000_000_000, valid=True, perclos=0.11, drowsiness_kss=4.5, gaze_zone=GazeZone.INFOTAINMENT,
            eyes_off_road_s=3.25, hand_left=HandState.ON_WHEEL, hand_right=HandState.TEXTING, phone_use=True,
            alert_level=AlertLevel.CAUTION, active_alerts=(AlertType.DISTRACTION_LONG, AlertType.PHONE_USE),
            calibrated=True)),
        ("driver_state_microsleep_critical", DriverState(
            t_ns=3_600_000_000_000, valid=True, eyes_closed=True, closure_duration_s=2.5, perclos=0.35,
            drowsiness_kss=8.5, gaze_zone=GazeZone.UNKNOWN, hand_left=HandState.LAP, hand_right=HandState.ON_WHEEL,
            hands_off_s=0.0, alert_level=AlertLevel.CRITICAL,
            active_alerts=(AlertType.DROWSINESS, AlertType.MICROSLEEP, AlertType.SLEEP, AlertType.YAWNING),
            calibrated=True)),
        ("driver_state_invalid_no_face", DriverState(
            t_ns=1_000_000, valid=False, fault=FaultCode.NO_FACE, alert_level=AlertLevel.CAUTION,
            active_alerts=(AlertType.MONITORING_UNAVAILABLE,))),
        ("driver_state_saturated", DriverState(
            t_ns=(2**32 + 17) * 1_000_000, valid=True, closure_duration_s=100.0, eyes_off_road_s=70.0,
            hands_off_s=65.535, perclos=1.0, drowsiness_kss=9.0, gaze_zone=GazeZone.OTHER,
            hand_left=HandState.OTHER, hand_right=HandState.DRINKING, alert_level=AlertLevel.WARNING,
            active_alerts=tuple(AlertType), fault=FaultCode.ECU_LINK_LOST, calibrated=True)),
    ]


def _vehicles() -> list[tuple[str, VehicleSignals, int]]:
    return [
        ("vehicle_signals_80kph", VehicleSignals(t_ns=0, speed_kph=80.0, gear=Gear.DRIVE, indicator=Indicator.OFF,
                                                 wheel_touch=True, wheel_torque_nm=0.35), 5000),
        ("vehicle_signals_left_turn_neg_torque", VehicleSignals(
            t_ns=0, speed_kph=23.45, gear=Gear.DRIVE, indicator=Indicator.LEFT, wheel_touch=False,
            wheel_torque_nm=-2.56), 0xFFFFFFF0),
        ("vehicle_signals_parked_no_sensors", VehicleSignals(t_ns=0, speed_kph=0.0, gear=Gear.PARK), 256),
        ("vehicle_signals_speed_unknown", VehicleSignals(t_ns=0, speed_kph=None, gear=Gear.UNKNOWN,
                                                         indicator=Indicator.HAZARD), 1),
    ]


def message_vectors() -> list[dict]:
    """(name, msg_type, version, seq, fields[, record]) of every golden message."""
    v = codec.VERSION_MAX
    vecs = [
        dict(name="hello_dms", msg_type="HELLO", version=v, seq=0,
             fields=dict(min_version=1, max_version=1, role=codec.ROLE_DMS, sw_major=0, sw_minor=1,
                         heartbeat_period_ms=200, heartbeat_timeout_ms=1000)),
        dict(name="hello_ecu_future_range", msg_type="HELLO", version=3, seq=0x1234,
             fields=dict(min_version=2, max_version=3, role=codec.ROLE_ECU, sw_major=4, sw_minor=2,
                         heartbeat_period_ms=100, heartbeat_timeout_ms=500)),
        dict(name="hello_ack_ok", msg_type="HELLO_ACK", version=v, seq=1,
             fields=dict(selected_version=1, result=codec.ENUMS["hello_result"]["ok"], role=codec.ROLE_ECU,
                         min_version=1, max_version=1)),
        dict(name="hello_ack_no_common_version", msg_type="HELLO_ACK", version=v, seq=2,
             fields=dict(selected_version=0, result=codec.ENUMS["hello_result"]["no_common_version"],
                         role=codec.ROLE_DMS, min_version=1, max_version=1)),
        dict(name="heartbeat_dms", msg_type="HEARTBEAT", version=v, seq=3,
             fields=dict(uptime_ms=1234, role=codec.ROLE_DMS, status=0b011, rx_errors=0)),
        dict(name="heartbeat_ecu_faulted", msg_type="HEARTBEAT", version=v, seq=0xFFFF,
             fields=dict(uptime_ms=0xFFFFFFFF, role=codec.ROLE_ECU, status=0b101, rx_errors=65535)),
        dict(name="error_unknown_type", msg_type="ERROR", version=v, seq=9,
             fields=dict(code=codec.ENUMS["error_code"]["unknown_type"], ref_type=0x55, ref_seq=0x0100)),
    ]
    for i, (name, st) in enumerate(_states()):
        vecs.append(dict(name=name, msg_type="DRIVER_STATE", version=v, seq=100 + i,
                         fields=driver_state_to_fields(st), record=st.to_dict()))
    for i, (name, vs, t_ms) in enumerate(_vehicles()):
        vecs.append(dict(name=name, msg_type="VEHICLE_SIGNALS", version=v, seq=200 + i,
                         fields=vehicle_to_fields(vs, t_ms=t_ms), record=vs.to_dict(), record_t_ms=t_ms))
    return vecs


COBS_RAW = [b"", b"\x00", b"\x00\x00", b"\x11\x22\x00\x33", b"\x11\x22\x33\x44", b"\x11\x00\x00\x00",
            bytes(range(1, 255)), bytes(range(0, 255)), bytes(range(1, 256)), bytes(range(2, 256)) + b"\x00",
            bytes(range(3, 256)) + b"\x00\x01"]


def stream_vectors(frames: dict[str, bytes]) -> list[dict]:
    """Byte streams with damage, and what a receiver must get out of them (both decoders replay them)."""
    hb, st, vs = frames["heartbeat_dms"], frames["driver_state_nominal"], frames["vehicle_signals_80kph"]
    flipped = bytearray(st)
    flipped[7] ^= 0x10
    return [
        ("clean_pair", b"\x00" + hb + b"\x00" + vs),
        ("garbage_then_delimited_frame", b"\x13\x37\xff\xfe" * 5 + b"\x00" + st),
        ("garbage_glued_to_frame_then_good", b"\xaa\xbb" + st + hb),
        ("bit_flip_then_good", bytes(flipped) + vs),
        ("truncated_then_good", st[: len(st) // 2] + b"\x00" + hb),
        ("dropped_byte_then_good", st[:5] + st[6:] + vs),
        ("oversize_then_good", b"\x01" * 300 + b"\x00" + hb),
        ("idle_delimiters", b"\x00\x00\x00" + hb + b"\x00\x00"),
        ("bad_length_field", codec.cobs_encode(_bad_length_raw()) + b"\x00" + hb),
        ("short_frame_then_good", codec.cobs_encode(b"\x01\x03\x00") + b"\x00" + st),
        ("back_to_back_frames", hb + st),
    ]


def _bad_length_raw() -> bytes:
    body = codec.HEADER.pack(1, codec.MsgType.HEARTBEAT, 5, 9) + bytes(8)   # says 9, carries 8
    return body + codec.crc16(body).to_bytes(2, "little")


def build() -> dict:
    vectors, frames = [], {}
    for vec in message_vectors():
        spec = codec.spec_of(vec["msg_type"])
        payload = spec.pack(vec["fields"])
        frame = codec.encode_frame(spec.id, vec["seq"], payload, vec["version"])
        frames[vec["name"]] = frame
        out = {"name": vec["name"], "msg_type": spec.name, "msg_id": spec.id, "version": vec["version"],
               "seq": vec["seq"], "fields": vec["fields"], "payload_hex": payload.hex(), "frame_hex": frame.hex()}
        for k in ("record", "record_t_ms"):
            if k in vec:
                out[k] = vec[k]
        vectors.append(out)
    streams = []
    for name, data in stream_vectors(frames):
        dec = codec.FrameDecoder()
        got = dec.feed(data)
        streams.append({"name": name, "stream_hex": data.hex(),
                        "frames": [{"version": f.version, "msg_type": f.msg_type, "seq": f.seq,
                                    "payload_hex": f.payload.hex()} for f in got],
                        "stats": {k: v for k, v in dec.stats.as_dict().items() if k != "resyncs"}})
    return {
        "generator": "firmware_bridge/tools/gen_golden.py (from dms.bridge.codec)",
        "protocol_versions": [codec.VERSION_MIN, codec.VERSION_MAX],
        "crc_check": f"0x{codec.crc16(b'123456789'):04X}",
        "cobs": [{"raw_hex": r.hex(), "encoded_hex": codec.cobs_encode(r).hex()} for r in COBS_RAW],
        "vectors": vectors,
        "streams": streams,
    }


# ----------------------------------------------------------------------------------------------- C header
def _c_bytes(name: str, data: bytes) -> str:
    if not data:
        return f"static const uint8_t {name}[1] = {{0}};  /* empty */"
    rows = [", ".join(f"0x{b:02X}" for b in data[i:i + 16]) for i in range(0, len(data), 16)]
    return f"static const uint8_t {name}[{len(data)}] = {{\n    " + ",\n    ".join(rows) + "\n};"


def gen_c_header(g: dict) -> str:
    L = ["/* GENERATED by firmware_bridge/tools/gen_golden.py from golden/vectors.json. Do not edit. */",
         "#ifndef GOLDEN_VECTORS_H", "#define GOLDEN_VECTORS_H", "", "#include <stddef.h>", "#include <stdint.h>",
         '#include "dms_link.h"', "",
         "typedef struct {", "    const char *name;", "    uint8_t version;", "    uint8_t msg_type;",
         "    uint16_t seq;", "    const uint8_t *payload;", "    size_t payload_len;", "    const uint8_t *frame;",
         "    size_t frame_len;", "} golden_vector_t;", "",
         "typedef struct { const uint8_t *raw; size_t raw_len; const uint8_t *enc; size_t enc_len; } golden_cobs_t;",
         "",
         "typedef struct { uint8_t version; uint8_t msg_type; uint16_t seq; const uint8_t *payload; size_t payload_len; }"
         " golden_frame_t;",
         "typedef struct {", "    const char *name;", "    const uint8_t *stream;", "    size_t stream_len;",
         "    const golden_frame_t *frames;", "    size_t n_frames;", "    dms_decoder_stats_t stats;",
         "} golden_stream_t;", ""]
    for i, c in enumerate(g["cobs"]):
        L.append(_c_bytes(f"gc_{i}_raw", bytes.fromhex(c["raw_hex"])))
        L.append(_c_bytes(f"gc_{i}_enc", bytes.fromhex(c["encoded_hex"])))
    L.append("static const golden_cobs_t GOLDEN_COBS[] = {")
    for i, c in enumerate(g["cobs"]):
        L.append(f"    {{gc_{i}_raw, {len(c['raw_hex']) // 2}u, gc_{i}_enc, {len(c['encoded_hex']) // 2}u}},")
    L += ["};", f"#define GOLDEN_N_COBS {len(g['cobs'])}u", ""]
    for i, v in enumerate(g["vectors"]):
        L.append(f"/* {v['name']} */")
        L.append(_c_bytes(f"gv_{i}_payload", bytes.fromhex(v["payload_hex"])))
        L.append(_c_bytes(f"gv_{i}_frame", bytes.fromhex(v["frame_hex"])))
        lname = v["msg_type"].lower()
        inits = ", ".join(f".{k} = {_c_int(val)}" for k, val in v["fields"].items())
        L.append(f"static const dms_{lname}_t gv_{i}_msg = {{{inits}}};")
    L.append("static const golden_vector_t GOLDEN_VECTORS[] = {")
    for i, v in enumerate(g["vectors"]):
        L.append(f'    {{"{v["name"]}", {v["version"]}u, {v["msg_id"]}u, {v["seq"]}u, gv_{i}_payload, '
                 f'{len(v["payload_hex"]) // 2}u, gv_{i}_frame, {len(v["frame_hex"]) // 2}u}},')
    L += ["};", f"#define GOLDEN_N_VECTORS {len(g['vectors'])}u", ""]
    # typed pack / unpack-compare dispatch
    L += ["/* Pack vector idx's typed message with the C library; returns bytes written (0 = failure). */",
          "static inline size_t golden_pack(size_t idx, uint8_t *out, size_t cap)", "{", "    switch (idx) {"]
    for i, v in enumerate(g["vectors"]):
        L.append(f"    case {i}: return dms_pack_{v['msg_type'].lower()}(&gv_{i}_msg, out, cap);")
    L += ["    default: return 0;", "    }", "}", "",
          "/* Unpack payload as vector idx's message type; 1 if every field equals the golden value. */",
          "static inline int golden_unpack_matches(size_t idx, const uint8_t *payload, size_t len)", "{",
          "    switch (idx) {"]
    for i, v in enumerate(g["vectors"]):
        lname = v["msg_type"].lower()
        cmp = " && ".join(f"m.{k} == gv_{i}_msg.{k}" for k in v["fields"])
        L.append(f"    case {i}: {{ dms_{lname}_t m; if (dms_unpack_{lname}(payload, len, &m) != 0) return 0; "
                 f"return {cmp}; }}")
    L += ["    default: return 0;", "    }", "}", ""]
    for i, s in enumerate(g["streams"]):
        L.append(f"/* stream {s['name']} */")
        L.append(_c_bytes(f"gs_{i}_stream", bytes.fromhex(s["stream_hex"])))
        for j, f in enumerate(s["frames"]):
            L.append(_c_bytes(f"gs_{i}_f{j}_payload", bytes.fromhex(f["payload_hex"])))
        if s["frames"]:
            L.append(f"static const golden_frame_t gs_{i}_frames[] = {{")
            for j, f in enumerate(s["frames"]):
                L.append(f"    {{{f['version']}u, {f['msg_type']}u, {f['seq']}u, gs_{i}_f{j}_payload, "
                         f"{len(f['payload_hex']) // 2}u}},")
            L.append("};")
    L.append("static const golden_stream_t GOLDEN_STREAMS[] = {")
    for i, s in enumerate(g["streams"]):
        st = s["stats"]
        frames = f"gs_{i}_frames" if s["frames"] else "NULL"
        L.append(f'    {{"{s["name"]}", gs_{i}_stream, {len(s["stream_hex"]) // 2}u, {frames}, {len(s["frames"])}u, '
                 f'{{{st["bytes_in"]}u, {st["frames"]}u, {st["cobs_errors"]}u, {st["crc_errors"]}u, '
                 f'{st["length_errors"]}u, {st["oversize"]}u}}}},')
    L += ["};", f"#define GOLDEN_N_STREAMS {len(g['streams'])}u", "", "#endif /* GOLDEN_VECTORS_H */", ""]
    return "\n".join(L)


def _c_int(v: int) -> str:
    if v < 0:
        return f"({v})"
    return f"{v}u" if v <= 0xFFFFFFFF else str(v)


def outputs() -> dict[Path, str]:
    g = build()
    return {GOLDEN_JSON: json.dumps(g, indent=1) + "\n", GOLDEN_H: gen_c_header(g)}


def check() -> list[str]:
    return [str(p.relative_to(REPO)) for p, text in outputs().items() if not p.exists() or p.read_text() != text]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="do not write; exit 1 if committed vectors differ")
    args = ap.parse_args(argv)
    if args.check:
        stale = check()
        for s in stale:
            sys.stderr.write(f"stale: {s} (run firmware_bridge/tools/gen_golden.py)\n")
        return 1 if stale else 0
    for path, text in outputs().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            sys.stderr.write(f"wrote {path.relative_to(REPO)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
