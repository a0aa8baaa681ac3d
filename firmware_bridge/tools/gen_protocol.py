#!/usr/bin/env python3
"""Generate every derived artefact of the DMS <-> ECU link protocol from ``firmware_bridge/protocol.json``.

Outputs (all committed; ``--check`` exits 1 if any differs from what this script would write):
  dms/bridge/_protocol.py          the protocol definition as a Python literal (the host codec's tables)
  firmware_bridge/src/dms_link_msgs.h / .c   C99 message structs + pack/unpack (no malloc, no OS)
  firmware_bridge/PROTOCOL.md      the human-readable protocol, field by field, with the golden vectors
                                   (read from firmware_bridge/golden/vectors.json, made by gen_golden.py)

Stdlib only. Run after editing protocol.json:  python firmware_bridge/tools/gen_protocol.py && \
python firmware_bridge/tools/gen_golden.py && python firmware_bridge/tools/gen_protocol.py
(or ``make -C firmware_bridge gen``).
"""
from __future__ import annotations

import argparse
import json
import pprint
import sys
from pathlib import Path

FW_DIR = Path(__file__).resolve().parents[1]
REPO = FW_DIR.parent
PROTOCOL_JSON = FW_DIR / "protocol.json"
GOLDEN_JSON = FW_DIR / "golden" / "vectors.json"

TYPES = {  # protocol type -> (struct char, size, C type, min, max)
    "u8": ("B", 1, "uint8_t", 0, 0xFF),
    "u16": ("H", 2, "uint16_t", 0, 0xFFFF),
    "u32": ("I", 4, "uint32_t", 0, 0xFFFFFFFF),
    "i8": ("b", 1, "int8_t", -0x80, 0x7F),
    "i16": ("h", 2, "int16_t", -0x8000, 0x7FFF),
    "i32": ("i", 4, "int32_t", -0x80000000, 0x7FFFFFFF),
}
HEADER_SIZE = 5
CRC_SIZE = 2

GENERATED_NOTE = "GENERATED from firmware_bridge/protocol.json by firmware_bridge/tools/gen_protocol.py. Do not edit."


def load_protocol(path: Path = PROTOCOL_JSON) -> dict:
    proto = json.loads(path.read_text())
    validate(proto)
    return proto


def validate(proto: dict) -> None:
    """Structural checks so that a bad edit of protocol.json fails loudly here, not in a decoder."""
    ids, names = set(), set()
    max_payload = proto["framing"]["max_payload"]
    for m in proto["messages"]:
        if m["id"] in ids or m["name"] in names:
            raise ValueError(f"duplicate message {m['name']} / id {m['id']}")
        if not 1 <= m["id"] <= 255:
            raise ValueError(f"message {m['name']}: id must be 1..255")
        ids.add(m["id"])
        names.add(m["name"])
        size = 0
        fnames = set()
        for f in m["fields"]:
            if f["type"] not in TYPES:
                raise ValueError(f"{m['name']}.{f['name']}: unknown type {f['type']}")
            if f["name"] in fnames:
                raise ValueError(f"{m['name']}: duplicate field {f['name']}")
            fnames.add(f["name"])
            for ref_key, table in (("enum", "enums"), ("bitfield_enum", "enums"), ("bitfield", "bitfields")):
                if ref_key in f and f[ref_key] not in proto[table]:
                    raise ValueError(f"{m['name']}.{f['name']}: unknown {ref_key} {f[ref_key]}")
            size += TYPES[f["type"]][1]
        if size > max_payload:
            raise ValueError(f"message {m['name']}: payload {size} > max_payload {max_payload}")
    for name, e in proto["enums"].items():
        vids = [v["id"] for v in e["values"]]
        if len(set(vids)) != len(vids):
            raise ValueError(f"enum {name}: duplicate ids")


def payload_size(msg: dict) -> int:
    return sum(TYPES[f["type"]][1] for f in msg["fields"])


def max_encoded(proto: dict) -> int:
    raw = HEADER_SIZE + proto["framing"]["max_payload"] + CRC_SIZE
    return raw + (raw + 253) // 254  # COBS overhead: one code byte per started 254-byte block


# ----------------------------------------------------------------------------------------------- Python
def gen_python(proto: dict) -> str:
    body = pprint.pformat(proto, width=116, sort_dicts=False)
    return (f'"""{GENERATED_NOTE}\n\nThe DMS <-> ECU link protocol definition as plain data; `dms.bridge.codec` builds its tables '
            f'from it.\n"""\n\nPROTOCOL: dict = {body}\n')


# ----------------------------------------------------------------------------------------------- C
def c_ident(*parts: str) -> str:
    return "_".join(p.upper() for p in parts).replace("-", "_")


def gen_c_header(proto: dict) -> str:
    fr = proto["framing"]
    out = [f"/* {GENERATED_NOTE} */",
           "/* DMS <-> ECU link: message ids, enums, bit masks, payload structs and pack/unpack (C99, no malloc). */",
           "#ifndef DMS_LINK_MSGS_H", "#define DMS_LINK_MSGS_H", "", "#include <stddef.h>", "#include <stdint.h>",
           "", "#ifdef __cplusplus", 'extern "C" {', "#endif", "",
           f"#define DMS_PROTO_VERSION_MIN {proto['versions']['min']}u",
           f"#define DMS_PROTO_VERSION_MAX {proto['versions']['max']}u",
           f"#define DMS_HEADER_SIZE {HEADER_SIZE}u",
           f"#define DMS_CRC_SIZE {CRC_SIZE}u",
           f"#define DMS_MAX_PAYLOAD {fr['max_payload']}u",
           f"#define DMS_MAX_RAW_FRAME {HEADER_SIZE + fr['max_payload'] + CRC_SIZE}u  /* header+payload+crc */",
           f"#define DMS_MAX_ENCODED_FRAME {max_encoded(proto)}u  /* COBS-encoded, without the 0x00 delimiter */",
           ""]
    for k, v in proto["link"].items():
        out.append(f"#define DMS_LINK_{k.upper()} {v}u")
    out += ["", "/* Message type ids */"]
    for m in proto["messages"]:
        out.append(f"#define DMS_MSG_{m['name']} {m['id']}u")
    for name, e in proto["enums"].items():
        out += ["", f"/* enum {name}: {e['meaning']} */"]
        for v in e["values"]:
            out.append(f"#define DMS_{c_ident(name, v['name'])} {v['id']}u")
    for name, bits in proto["bitfields"].items():
        out += ["", f"/* bitfield {name} */"]
        for b in bits:
            out.append(f"#define DMS_{c_ident(name, b['name'])} (1u << {b['bit']})")
    for m in proto["messages"]:
        lname = m["name"].lower()
        out += ["", f"/* {m['name']} (id {m['id']}, {m['direction']}): {payload_size(m)} payload bytes */",
                f"#define DMS_{m['name']}_SIZE {payload_size(m)}u", "typedef struct {"]
        for f in m["fields"]:
            unit = f" [{f['unit']}]" if f.get("unit") else ""
            out.append(f"    {TYPES[f['type']][2]} {f['name']};  /*{unit} {f['meaning']} */")
        out += [f"}} dms_{lname}_t;",
                f"/* Writes DMS_{m['name']}_SIZE bytes; returns that size, or 0 if cap is too small. */",
                f"size_t dms_pack_{lname}(const dms_{lname}_t *msg, uint8_t *buf, size_t cap);",
                f"/* Returns 0, or -1 if len != DMS_{m['name']}_SIZE (msg untouched). */",
                f"int dms_unpack_{lname}(const uint8_t *buf, size_t len, dms_{lname}_t *msg);"]
    out += ["", "/* Payload size of a message type, or -1 if the type is unknown. */",
            "int dms_msg_payload_size(uint8_t msg_type);",
            "/* Name of a message type (\"?\" if unknown). */",
            "const char *dms_msg_name(uint8_t msg_type);", "",
            "#ifdef __cplusplus", "}", "#endif", "#endif /* DMS_LINK_MSGS_H */", ""]
    return "\n".join(out)


def gen_c_source(proto: dict) -> str:
    out = [f"/* {GENERATED_NOTE} */", '#include "dms_link_msgs.h"', "",
           "static void put_u8(uint8_t *p, uint8_t v) { p[0] = v; }",
           "static void put_u16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v & 0xFFu); p[1] = (uint8_t)(v >> 8); }",
           "static void put_u32(uint8_t *p, uint32_t v) {",
           "    p[0] = (uint8_t)(v & 0xFFu); p[1] = (uint8_t)((v >> 8) & 0xFFu);",
           "    p[2] = (uint8_t)((v >> 16) & 0xFFu); p[3] = (uint8_t)(v >> 24);", "}",
           "static uint8_t get_u8(const uint8_t *p) { return p[0]; }",
           "static uint16_t get_u16(const uint8_t *p) { return (uint16_t)(p[0] | ((uint16_t)p[1] << 8)); }",
           "static uint32_t get_u32(const uint8_t *p) {",
           "    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);", "}",
           "/* Two's complement conversions without implementation-defined behaviour. */",
           "static uint8_t from_i8(int8_t v) { return (uint8_t)v; }",
           "static uint16_t from_i16(int16_t v) { return (uint16_t)v; }",
           "static uint32_t from_i32(int32_t v) { return (uint32_t)v; }",
           "static int8_t to_i8(uint8_t v) { return v < 0x80u ? (int8_t)v : (int8_t)((int)v - 0x100); }",
           "static int16_t to_i16(uint16_t v) { return v < 0x8000u ? (int16_t)v : (int16_t)((long)v - 0x10000L); }",
           "static int32_t to_i32(uint32_t v) {",
           "    return v < 0x80000000u ? (int32_t)v : (int32_t)(-(int32_t)(0xFFFFFFFFu - v) - 1);", "}", ""]
    used = {"i8": False, "i16": False, "i32": False, "u8": False}
    for m in proto["messages"]:
        lname = m["name"].lower()
        size = payload_size(m)
        pack = [f"size_t dms_pack_{lname}(const dms_{lname}_t *msg, uint8_t *buf, size_t cap)", "{",
                f"    if (msg == NULL || buf == NULL || cap < DMS_{m['name']}_SIZE) return 0;"]
        unpack = [f"int dms_unpack_{lname}(const uint8_t *buf, size_t len, dms_{lname}_t *msg)", "{",
                  f"    if (buf == NULL || msg == NULL || len != DMS_{m['name']}_SIZE) return -1;"]
        off = 0
        for f in m["fields"]:
            t = f["type"]
            bits = {"u8": "8", "i8": "8", "u16": "16", "i16": "16", "u32": "32", "i32": "32"}[t]
            if t.startswith("i"):
                used[t] = True
                pack.append(f"    put_u{bits}(buf + {off}, from_{t}(msg->{f['name']}));")
                unpack.append(f"    msg->{f['name']} = to_{t}(get_u{bits}(buf + {off}));")
            else:
                pack.append(f"    put_u{bits}(buf + {off}, msg->{f['name']});")
                unpack.append(f"    msg->{f['name']} = get_u{bits}(buf + {off});")
            off += TYPES[t][1]
        assert off == size
        pack += [f"    return DMS_{m['name']}_SIZE;", "}", ""]
        unpack += ["    return 0;", "}", ""]
        out += pack + unpack
    # silence unused-function warnings for helpers no message uses (kept so new fields just work)
    out.append("/* Reference every helper once so -Wunused-function stays quiet whatever the field types. */")
    out.append("void dms_link_msgs_helpers_used_(void);")
    out.append("void dms_link_msgs_helpers_used_(void)")
    out.append("{")
    out.append("    uint8_t b[4] = {0, 0, 0, 0};")
    out.append("    put_u8(b, get_u8(b)); put_u16(b, get_u16(b)); put_u32(b, get_u32(b));")
    out.append("    (void)from_i8(to_i8(b[0])); (void)from_i16(to_i16(get_u16(b))); (void)from_i32(to_i32(get_u32(b)));")
    out.append("}")
    out += ["", "int dms_msg_payload_size(uint8_t msg_type)", "{", "    switch (msg_type) {"]
    for m in proto["messages"]:
        out.append(f"    case DMS_MSG_{m['name']}: return (int)DMS_{m['name']}_SIZE;")
    out += ["    default: return -1;", "    }", "}", "",
            "const char *dms_msg_name(uint8_t msg_type)", "{", "    switch (msg_type) {"]
    for m in proto["messages"]:
        out.append(f'    case DMS_MSG_{m["name"]}: return "{m["name"]}";')
    out += ['    default: return "?";', "    }", "}", ""]
    return "\n".join(out)


# ----------------------------------------------------------------------------------------------- Markdown
def _md_escape(s: str) -> str:
    return str(s).replace("|", "\\|")


def gen_markdown(proto: dict, golden: dict | None) -> str:
    fr, link = proto["framing"], proto["link"]
    crc = fr["crc"]
    v = proto["versions"]
    L: list[str] = []
    a = L.append
    a(f"# DMS <-> ECU link protocol (versions {v['min']}..{v['max']})")
    a("")
    a(f"<!-- {GENERATED_NOTE} -->")
    a("")
    a(proto["description"] + " The machine-readable definition is `protocol.json`; this document, the host codec "
      "tables (`dms/bridge/_protocol.py`) and the C message code (`src/dms_link_msgs.{h,c}`) are generated from it, "
      "and `golden/vectors.json` holds byte vectors that the Python codec and the C library must both reproduce.")
    a("")
    a("## 1. Framing")
    a("")
    a(f"All multi-byte fields are **{fr['byte_order']}**, fixed width. A frame on the wire is")
    a("")
    a("```")
    a("COBS( version:u8 | msg_type:u8 | seq:u16 | length:u8 | payload[length] | crc:u16 )  0x00")
    a("```")
    a("")
    a(f"* **Stuffing**: {fr['stuffing']}. The encoded bytes contain no 0x00, so 0x00 only ever marks the end of a "
      "frame and a receiver can always re-find a frame boundary after garbage, a dropped byte or a bit flip.")
    a("* Transmitters of this implementation also send one 0x00 *before* every frame, so garbage received before "
      "a frame is flushed by that delimiter and the frame itself survives. Receivers ignore empty frames "
      "(consecutive 0x00).")
    a(f"* **Header** ({HEADER_SIZE} bytes):")
    a("")
    a("| offset | field | type | meaning |")
    a("|---|---|---|---|")
    off = 0
    for h in fr["header"]:
        a(f"| {off} | `{h['name']}` | {h['type']} | {_md_escape(h['meaning'])} |")
        off += TYPES[h["type"]][1]
    a("")
    a(f"* **CRC**: {crc['name']} — width {crc['width']}, poly {crc['poly']}, init {crc['init']}, refin "
      f"{str(crc['refin']).lower()}, refout {str(crc['refout']).lower()}, xorout {crc['xorout']}, check "
      f"(CRC of ASCII `123456789`) = {crc['check']}. It covers {crc['covers']}, and is sent {crc['byte_order']}. "
      f"Python: `{crc['python']}`.")
    a(f"* **Sizes**: payload <= {fr['max_payload']} bytes; raw frame <= {HEADER_SIZE + fr['max_payload'] + CRC_SIZE} "
      f"bytes; COBS-encoded frame <= {max_encoded(proto)} bytes (+1 delimiter).")
    a("")
    a("### Receiver rules (identical in the Python `FrameDecoder` and the C `dms_decoder_t`)")
    a("")
    a("Bytes are accumulated until a 0x00. Then, in this order:")
    a("")
    a("1. empty buffer: ignored (idle delimiter);")
    a(f"2. more than {max_encoded(proto)} encoded bytes arrived before the 0x00: dropped, counted as **oversize** "
      "(the decoder stops buffering as soon as the limit is passed, so memory is bounded);")
    a("3. malformed COBS (a code byte pointing past the end): dropped, counted as **cobs** error;")
    a(f"4. decoded frame shorter than {HEADER_SIZE + CRC_SIZE} bytes: dropped, counted as **length** error;")
    a("5. CRC mismatch: dropped, counted as **crc** error;")
    a("6. `length` field different from the actual payload length: dropped, counted as **length** error;")
    a("7. otherwise a frame is delivered (version, msg_type, seq, payload). Each drop is a *resync*.")
    a("")
    a("Message-level checks come after framing: a frame whose payload size does not match its `msg_type` is "
      "rejected (ERROR `bad_length`), an unknown `msg_type` is rejected (ERROR `unknown_type`).")
    a("")
    a("## 2. Link behaviour")
    a("")
    a(f"* **Version negotiation.** On (re)connect the DMS sends HELLO (its `min_version`..`max_version`) every "
      f"{link['hello_retry_ms']} ms until it receives HELLO_ACK. The receiver of a HELLO answers HELLO_ACK with the "
      "highest version in both ranges, or `selected_version = 0`, `result = no_common_version` if the ranges do not "
      "overlap (a clear, permanent fault: no data messages are exchanged and the DMS reports it). An ECU that "
      "resets sends HELLO itself; the DMS answers with HELLO_ACK. HELLO, HELLO_ACK, HEARTBEAT and ERROR are "
      "*control* messages whose layout is frozen for all versions; before negotiation they carry the sender's "
      "highest version in the header.")
    a("* **Data messages** (DRIVER_STATE, VEHICLE_SIGNALS) are only sent after negotiation, with the negotiated "
      "version in the header; a receiver drops data frames of another version (ERROR `unsupported_version`) or "
      "received before negotiation (ERROR `not_negotiated`).")
    a(f"* **Heartbeats** both ways every {link['heartbeat_period_ms']} ms. No HEARTBEAT for "
      f"{link['heartbeat_timeout_ms']} ms = peer lost: the DMS raises fault `ecu_link_lost` (FaultCode 10), keeps "
      "monitoring, treats vehicle signals as unknown and re-sends HELLO; the ECU should treat the DMS as "
      "unavailable. Only HEARTBEAT proves liveness (a stuck ECU that still replays stale VEHICLE_SIGNALS is lost).")
    a(f"* **Rates**: DRIVER_STATE {link['driver_state_rate_hz']} Hz (newest state per tick), VEHICLE_SIGNALS "
      f"{link['vehicle_signals_rate_hz']} Hz (recommended). The DMS treats vehicle signals older than the heartbeat "
      "timeout as unknown.")
    a("* **seq** counts every frame a side sends; a receiver counts gaps as lost frames (statistics only, no "
      "retransmission: every message is a full snapshot).")
    a("")
    a("## 3. Messages")
    a("")
    a("| id | name | direction | payload bytes | meaning |")
    a("|---|---|---|---|---|")
    for m in proto["messages"]:
        a(f"| {m['id']} (0x{m['id']:02X}) | {m['name']} | {m['direction']} | {payload_size(m)} | "
          f"{_md_escape(m['meaning'])} |")
    for m in proto["messages"]:
        a("")
        a(f"### {m['name']} (id {m['id']}, {m['direction']}{', control' if m.get('control') else ''})")
        a("")
        a(m["meaning"])
        a("")
        a("| offset | field | type | unit | scale | meaning |")
        a("|---|---|---|---|---|---|")
        off = 0
        for f in m["fields"]:
            extra = []
            if "enum" in f:
                extra.append(f"enum `{f['enum']}`")
            if "bitfield" in f:
                extra.append(f"bitfield `{f['bitfield']}`")
            if "bitfield_enum" in f:
                extra.append(f"bit n = `{f['bitfield_enum']}` id n")
            if "unknown" in f:
                extra.append(f"unknown = {f['unknown']}")
            meaning = _md_escape(f["meaning"]) + (f" ({'; '.join(extra)})" if extra else "")
            a(f"| {off} | `{f['name']}` | {f['type']} | {f.get('unit') or '-'} | {f.get('scale', 1)} | {meaning} |")
            off += TYPES[f["type"]][1]
    a("")
    a("## 4. Enumerations")
    for name, e in proto["enums"].items():
        a("")
        contract = f" Mirrors `{e['contract']}` (a test checks they agree)." if e.get("contract") else ""
        a(f"### `{name}`")
        a("")
        a(e["meaning"] + contract)
        a("")
        a("| id | name | meaning |")
        a("|---|---|---|")
        for val in e["values"]:
            a(f"| {val['id']} | `{val['name']}` | {_md_escape(val['meaning'])} |")
        a("")
        a("Values not listed are decoded as the enum's unknown/none value by the DMS.")
    a("")
    a("## 5. Bit fields")
    for name, bits in proto["bitfields"].items():
        a("")
        a(f"### `{name}`")
        a("")
        a("| bit | name | meaning |")
        a("|---|---|---|")
        for b in bits:
            a(f"| {b['bit']} | `{b['name']}` | {_md_escape(b['meaning'])} |")
        a("")
        a("Undefined bits are sent as 0 and ignored on receipt.")
    a("")
    a("## 6. Golden vectors")
    a("")
    if golden is None:
        a("(not generated yet: run `firmware_bridge/tools/gen_golden.py`)")
    else:
        a("`golden/vectors.json` (generated by `tools/gen_golden.py` from the Python codec; the C unit tests read the "
          "same vectors from `tests/golden_vectors.h`). `frame` is the complete wire frame including the trailing "
          "0x00 delimiter (without the optional leading one).")
        a("")
        a("| name | version | type | seq | fields | frame (hex) |")
        a("|---|---|---|---|---|---|")
        for vec in golden["vectors"]:
            fields = ", ".join(f"{k}={val}" for k, val in vec["fields"].items())
            a(f"| `{vec['name']}` | {vec['version']} | {vec['msg_type']} | {vec['seq']} | {_md_escape(fields)} | "
              f"`{vec['frame_hex']}` |")
        a("")
        a(f"CRC check vector: CRC-16/CCITT-FALSE(`123456789`) = {golden['crc_check']}.")
        a("")
        a("COBS vectors (raw -> encoded, without delimiter):")
        a("")
        for c in golden["cobs"]:
            a(f"* `{c['raw_hex'] or '(empty)'}` -> `{c['encoded_hex']}`")
    a("")
    return "\n".join(L)


# ----------------------------------------------------------------------------------------------- main
def outputs(proto: dict) -> dict[Path, str]:
    golden = json.loads(GOLDEN_JSON.read_text()) if GOLDEN_JSON.exists() else None
    return {
        REPO / "dms" / "bridge" / "_protocol.py": gen_python(proto),
        FW_DIR / "src" / "dms_link_msgs.h": gen_c_header(proto),
        FW_DIR / "src" / "dms_link_msgs.c": gen_c_source(proto),
        FW_DIR / "PROTOCOL.md": gen_markdown(proto, golden),
    }


def check(proto: dict | None = None) -> list[str]:
    """Names of generated files that are missing or out of date (empty list = in sync)."""
    proto = proto or load_protocol()
    return [str(p.relative_to(REPO)) for p, text in outputs(proto).items()
            if not p.exists() or p.read_text() != text]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="do not write; exit 1 if a generated file is stale")
    args = ap.parse_args(argv)
    proto = load_protocol()
    if args.check:
        stale = check(proto)
        for s in stale:
            sys.stderr.write(f"stale: {s} (run firmware_bridge/tools/gen_protocol.py)\n")
        return 1 if stale else 0
    for path, text in outputs(proto).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            sys.stderr.write(f"wrote {path.relative_to(REPO)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
