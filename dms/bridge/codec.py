"""Pure codec of the DMS <-> ECU link: CRC, COBS, frames, messages and a streaming, resynchronising decoder.

Stdlib only (``binascii.crc_hqx`` is the CRC); no I/O, no clock, no pyserial. The tables come from
``dms.bridge._protocol`` (generated from ``firmware_bridge/protocol.json``). Wire values are plain integers;
the mapping to ``dms.contracts`` records (units, enums) lives in :mod:`dms.bridge.mapping`.

Wire frame: ``COBS(version:u8 | msg_type:u8 | seq:u16 | length:u8 | payload | crc16:u16) + 0x00``, little-endian,
CRC-16/CCITT-FALSE over header+payload.
"""
from __future__ import annotations

import binascii
import enum
import struct
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from dms.bridge._protocol import PROTOCOL

VERSION_MIN: int = PROTOCOL["versions"]["min"]
VERSION_MAX: int = PROTOCOL["versions"]["max"]
DELIMITER = b"\x00"
HEADER = struct.Struct("<BBHB")
HEADER_SIZE = HEADER.size  # 5
CRC_SIZE = 2
MAX_PAYLOAD: int = PROTOCOL["framing"]["max_payload"]
MAX_RAW_FRAME = HEADER_SIZE + MAX_PAYLOAD + CRC_SIZE
MAX_ENCODED_FRAME = MAX_RAW_FRAME + (MAX_RAW_FRAME + 253) // 254  # COBS bytes, without the delimiter
LINK: dict = dict(PROTOCOL["link"])

_TYPE_CHARS = {"u8": "B", "u16": "H", "u32": "I", "i8": "b", "i16": "h", "i32": "i"}
_TYPE_RANGES = {"u8": (0, 0xFF), "u16": (0, 0xFFFF), "u32": (0, 0xFFFFFFFF), "i8": (-0x80, 0x7F),
                "i16": (-0x8000, 0x7FFF), "i32": (-0x80000000, 0x7FFFFFFF)}


class CodecError(ValueError):
    """A frame or payload could not be encoded/decoded. ``reason`` is one of: cobs, crc, length, oversize,
    unknown_type, bad_length, range."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


MsgType = enum.IntEnum("MsgType", {m["name"]: m["id"] for m in PROTOCOL["messages"]})  # type: ignore[misc]
MsgType.__doc__ = "Message type ids (from protocol.json)."


def _enum_ids(name: str) -> dict[str, int]:
    return {v["name"]: v["id"] for v in PROTOCOL["enums"][name]["values"]}


def _bits(name: str) -> dict[str, int]:
    return {b["name"]: 1 << b["bit"] for b in PROTOCOL["bitfields"][name]}


ENUMS: dict[str, dict[str, int]] = {name: _enum_ids(name) for name in PROTOCOL["enums"]}
BITS: dict[str, dict[str, int]] = {name: _bits(name) for name in PROTOCOL["bitfields"]}
ROLE_DMS = ENUMS["role"]["dms"]
ROLE_ECU = ENUMS["role"]["ecu"]


@dataclass(frozen=True)
class MessageSpec:
    """One message type: field names/types in wire order and the struct that packs them."""
    name: str
    id: int
    control: bool
    fields: tuple[tuple[str, str], ...]     # (name, protocol type)
    struct: struct.Struct

    @property
    def size(self) -> int:
        return self.struct.size

    def pack(self, values: Mapping[str, int]) -> bytes:
        """Payload bytes. Every field must be given, as an int within its type's range (no silent clipping)."""
        missing = [n for n, _ in self.fields if n not in values]
        extra = sorted(set(values) - {n for n, _ in self.fields})
        if missing or extra:
            raise CodecError("range", f"{self.name}: missing fields {missing}, unknown fields {extra}")
        out = []
        for n, t in self.fields:
            v = values[n]
            if isinstance(v, bool) or not isinstance(v, int):
                raise CodecError("range", f"{self.name}.{n}: expected int, got {type(v).__name__}")
            lo, hi = _TYPE_RANGES[t]
            if not lo <= v <= hi:
                raise CodecError("range", f"{self.name}.{n}={v} outside {t} range {lo}..{hi}")
            out.append(v)
        return self.struct.pack(*out)

    def unpack(self, payload: bytes) -> dict[str, int]:
        if len(payload) != self.size:
            raise CodecError("bad_length", f"{self.name}: payload of {len(payload)} bytes, expected {self.size}")
        return dict(zip((n for n, _ in self.fields), self.struct.unpack(payload)))


def _spec(m: dict) -> MessageSpec:
    fields = tuple((f["name"], f["type"]) for f in m["fields"])
    fmt = "<" + "".join(_TYPE_CHARS[t] for _, t in fields)
    return MessageSpec(m["name"], m["id"], bool(m.get("control")), fields, struct.Struct(fmt))


MESSAGES: dict[int, MessageSpec] = {m["id"]: _spec(m) for m in PROTOCOL["messages"]}
MESSAGES_BY_NAME: dict[str, MessageSpec] = {s.name: s for s in MESSAGES.values()}


def spec_of(msg_type: int | str) -> MessageSpec:
    try:
        return MESSAGES_BY_NAME[msg_type] if isinstance(msg_type, str) else MESSAGES[int(msg_type)]
    except KeyError:
        raise CodecError("unknown_type", f"unknown message type {msg_type!r}") from None


# ----------------------------------------------------------------------------------------------- CRC + COBS
def crc16(data: bytes, crc: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor); check('123456789') = 0x29B1."""
    return binascii.crc_hqx(data, crc)


def cobs_encode(data: bytes) -> bytes:
    """COBS-encode ``data`` (the result contains no 0x00; the delimiter is not appended). Like the reference
    encoder, no final code byte is written when the input ends exactly with a full 254-byte block."""
    out = bytearray()
    block = bytearray()
    ended_full = False
    for b in data:
        ended_full = False
        if b == 0:
            out.append(len(block) + 1)
            out += block
            block.clear()
        else:
            block.append(b)
            if len(block) == 254:
                out.append(255)
                out += block
                block.clear()
                ended_full = True
    if not ended_full:
        out.append(len(block) + 1)
        out += block
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    """Strict COBS decode (``data`` without the delimiter). Raises CodecError('cobs') on malformed input."""
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        code = data[i]
        if code == 0:
            raise CodecError("cobs", f"COBS: zero code byte at {i}")
        end = i + code
        if end > n:
            raise CodecError("cobs", f"COBS: block at {i} runs {end - n} bytes past the end")
        block = data[i + 1:end]
        if 0 in block:
            raise CodecError("cobs", "COBS: zero byte inside a block")
        out += block
        i = end
        if code != 0xFF and i < n:
            out.append(0)
    return bytes(out)


# ----------------------------------------------------------------------------------------------- frames
@dataclass(frozen=True)
class Frame:
    """A frame that passed COBS, CRC and length checks (payload not yet interpreted)."""
    version: int
    msg_type: int
    seq: int
    payload: bytes

    def message(self) -> dict[str, int]:
        """Decode the payload with the message spec of ``msg_type`` (CodecError on unknown type / bad length)."""
        return spec_of(self.msg_type).unpack(self.payload)

    @property
    def type_name(self) -> str:
        spec = MESSAGES.get(self.msg_type)
        return spec.name if spec else f"0x{self.msg_type:02X}"


def encode_raw(msg_type: int, seq: int, payload: bytes, version: int = VERSION_MAX) -> bytes:
    """header + payload + CRC (before COBS)."""
    if len(payload) > MAX_PAYLOAD:
        raise CodecError("oversize", f"payload of {len(payload)} bytes > {MAX_PAYLOAD}")
    for name, v, hi in (("version", version, 0xFF), ("msg_type", msg_type, 0xFF), ("seq", seq, 0xFFFF)):
        if not 0 <= int(v) <= hi:
            raise CodecError("range", f"{name}={v} outside 0..{hi}")
    body = HEADER.pack(version, int(msg_type), seq, len(payload)) + bytes(payload)
    return body + struct.pack("<H", crc16(body))


def encode_frame(msg_type: int, seq: int, payload: bytes, version: int = VERSION_MAX) -> bytes:
    """Complete wire frame: COBS(header + payload + CRC) + 0x00."""
    return cobs_encode(encode_raw(msg_type, seq, payload, version)) + DELIMITER


def encode_message(msg_type: int | str, fields: Mapping[str, int], *, seq: int,
                   version: int = VERSION_MAX) -> bytes:
    """Pack ``fields`` for ``msg_type`` and frame them."""
    spec = spec_of(msg_type)
    return encode_frame(spec.id, seq, spec.pack(fields), version)


def decode_raw(raw: bytes) -> Frame:
    """Check CRC and length of a COBS-decoded frame."""
    if len(raw) < HEADER_SIZE + CRC_SIZE:
        raise CodecError("length", f"frame of {len(raw)} bytes is shorter than header+CRC")
    (crc_rx,) = struct.unpack_from("<H", raw, len(raw) - CRC_SIZE)
    if crc16(raw[:-CRC_SIZE]) != crc_rx:
        raise CodecError("crc", "CRC mismatch")
    version, msg_type, seq, length = HEADER.unpack_from(raw)
    if length != len(raw) - HEADER_SIZE - CRC_SIZE:
        raise CodecError("length", f"length field {length} != payload of {len(raw) - HEADER_SIZE - CRC_SIZE} bytes")
    return Frame(version, msg_type, seq, bytes(raw[HEADER_SIZE:-CRC_SIZE]))


def decode_frame(encoded: bytes) -> Frame:
    """Decode one COBS-encoded frame (with or without its trailing delimiter)."""
    if encoded.endswith(DELIMITER):
        encoded = encoded[:-1]
    if len(encoded) > MAX_ENCODED_FRAME:
        raise CodecError("oversize", f"encoded frame of {len(encoded)} bytes > {MAX_ENCODED_FRAME}")
    return decode_raw(cobs_decode(encoded))


# ----------------------------------------------------------------------------------------------- stream
@dataclass
class DecoderStats:
    """Counters of a FrameDecoder; ``resyncs`` = chunks dropped between two delimiters."""
    bytes_in: int = 0
    frames: int = 0
    cobs_errors: int = 0
    crc_errors: int = 0
    length_errors: int = 0
    oversize: int = 0

    @property
    def resyncs(self) -> int:
        return self.cobs_errors + self.crc_errors + self.length_errors + self.oversize

    def as_dict(self) -> dict[str, int]:
        return {"bytes_in": self.bytes_in, "frames": self.frames, "cobs_errors": self.cobs_errors,
                "crc_errors": self.crc_errors, "length_errors": self.length_errors, "oversize": self.oversize,
                "resyncs": self.resyncs}


@dataclass
class FrameDecoder:
    """Streaming decoder: feed arbitrary byte chunks, get the good frames; bad data is dropped up to the next
    0x00 and counted. Memory is bounded by MAX_ENCODED_FRAME; never raises on any input."""
    max_encoded: int = MAX_ENCODED_FRAME
    stats: DecoderStats = field(default_factory=DecoderStats)
    _buf: bytearray = field(default_factory=bytearray, repr=False)
    _overflow: bool = field(default=False, repr=False)

    def reset(self) -> None:
        """Forget a partial frame (e.g. after reconnecting); counters are kept."""
        self._buf.clear()
        self._overflow = False

    def feed(self, data: bytes | bytearray | memoryview) -> list[Frame]:
        data = bytes(data)
        self.stats.bytes_in += len(data)
        frames: list[Frame] = []
        start, n = 0, len(data)
        while start < n:
            end = data.find(0, start)
            chunk_end = n if end < 0 else end
            if not self._overflow:
                room = self.max_encoded - len(self._buf)
                take = chunk_end - start
                if take > room:
                    self._overflow = True
                    self._buf.clear()
                else:
                    self._buf += data[start:chunk_end]
            if end < 0:
                break
            frame = self._finish()
            if frame is not None:
                frames.append(frame)
            start = end + 1
        return frames

    def _finish(self) -> Frame | None:
        buf, overflow = bytes(self._buf), self._overflow
        self._buf.clear()
        self._overflow = False
        if overflow:
            self.stats.oversize += 1
            return None
        if not buf:
            return None
        try:
            frame = decode_raw(cobs_decode(buf))
        except CodecError as e:
            if e.reason == "cobs":
                self.stats.cobs_errors += 1
            elif e.reason == "crc":
                self.stats.crc_errors += 1
            else:
                self.stats.length_errors += 1
            return None
        self.stats.frames += 1
        return frame


def iter_frames(stream: Iterable[bytes]) -> Iterable[Frame]:
    """Decode an iterable of byte chunks into frames (convenience for logs and tools)."""
    dec = FrameDecoder()
    for chunk in stream:
        yield from dec.feed(chunk)


def select_version(my_min: int, my_max: int, peer_min: int, peer_max: int) -> int:
    """Highest version in both ranges, 0 if they do not overlap (or a range is empty / contains 0)."""
    lo, hi = max(my_min, peer_min, 1), min(my_max, peer_max)
    return hi if hi >= lo else 0


def describe(values: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in values.items())
