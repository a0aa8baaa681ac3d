"""Codec: CRC, COBS, frames, messages, golden vectors, generated files in sync with protocol.json."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dms.bridge import codec
from dms.bridge.codec import CodecError, FrameDecoder, MsgType
from dms.contracts import AlertLevel, AlertType, FaultCode, GazeZone, HandState
from dms.contracts.vehicle import Gear, Indicator

from .conftest import FW, REPO, load_tool


def test_crc_is_ccitt_false():
    assert codec.crc16(b"123456789") == 0x29B1
    assert codec.crc16(b"") == 0xFFFF
    assert codec.crc16(b"6789", codec.crc16(b"12345")) == 0x29B1


@pytest.mark.parametrize("raw,enc", [
    (b"", "01"), (b"\x00", "0101"), (b"\x00\x00", "010101"), (b"\x11\x22\x00\x33", "0311220233"),
    (b"\x11\x22\x33\x44", "0511223344"), (b"\x11\x00\x00\x00", "0211010101"),
])
def test_cobs_reference_vectors(raw, enc):
    assert codec.cobs_encode(raw).hex() == enc
    assert codec.cobs_decode(bytes.fromhex(enc)) == raw


def test_cobs_254_byte_blocks_match_reference_encoder():
    assert codec.cobs_encode(bytes(range(1, 255))) == b"\xff" + bytes(range(1, 255))
    assert codec.cobs_encode(bytes(range(1, 256))) == b"\xff" + bytes(range(1, 255)) + b"\x02\xff"


@pytest.mark.parametrize("bad", [b"\x05\x11\x22", b"\x03\x11\x00", b"\x00", b"\x02"])
def test_cobs_rejects_malformed(bad):
    with pytest.raises(CodecError) as e:
        codec.cobs_decode(bad)
    assert e.value.reason == "cobs"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=700))
def test_cobs_round_trip(data):
    enc = codec.cobs_encode(data)
    assert 0 not in enc
    assert len(enc) <= len(data) + len(data) // 254 + 1
    assert codec.cobs_decode(enc) == data


def _field_strategy(spec: codec.MessageSpec):
    return st.fixed_dictionaries({n: st.integers(*codec._TYPE_RANGES[t]) for n, t in spec.fields})


@pytest.mark.parametrize("name", sorted(codec.MESSAGES_BY_NAME))
def test_every_message_round_trips(name):
    spec = codec.MESSAGES_BY_NAME[name]

    @settings(max_examples=60, deadline=None)
    @given(_field_strategy(spec), st.integers(0, 0xFFFF), st.integers(1, 255))
    def check(fields, seq, version):
        frame = codec.encode_message(name, fields, seq=seq, version=version)
        assert frame.endswith(b"\x00") and 0 not in frame[:-1]
        assert len(frame) - 1 <= codec.MAX_ENCODED_FRAME
        got = codec.decode_frame(frame)
        assert (got.version, got.msg_type, got.seq) == (version, spec.id, seq)
        assert got.message() == fields
        assert FrameDecoder().feed(frame) == [got]

    check()


def test_pack_refuses_out_of_range_missing_and_unknown_fields():
    spec = codec.MESSAGES_BY_NAME["HEARTBEAT"]
    good = {"uptime_ms": 1, "role": 1, "status": 0, "rx_errors": 0}
    for bad in ({**good, "rx_errors": 70000}, {**good, "role": -1}, {**good, "status": 1.5},
                {**good, "status": True}, {k: v for k, v in good.items() if k != "role"}, {**good, "extra": 1}):
        with pytest.raises(CodecError):
            spec.pack(bad)
    with pytest.raises(CodecError):
        codec.spec_of("NOPE")
    with pytest.raises(CodecError):
        codec.encode_frame(1, 0, bytes(codec.MAX_PAYLOAD + 1))
    with pytest.raises(CodecError):
        spec.unpack(bytes(spec.size + 1))


def test_decode_frame_rejects_each_error_kind():
    frame = codec.encode_message("HEARTBEAT", {"uptime_ms": 5, "role": 2, "status": 1, "rx_errors": 0}, seq=1)
    bad_crc = codec.cobs_decode(frame[:-1])
    bad_crc = bad_crc[:-1] + bytes([bad_crc[-1] ^ 1])
    reasons = {}
    for name, data in [("crc", codec.cobs_encode(bad_crc)), ("oversize", b"\x01" * (codec.MAX_ENCODED_FRAME + 1)),
                       ("length", codec.cobs_encode(b"\x01\x03\x00")), ("cobs", b"\x09\x01")]:
        with pytest.raises(CodecError) as e:
            codec.decode_frame(data)
        reasons[name] = e.value.reason
    assert reasons == {"crc": "crc", "oversize": "oversize", "length": "length", "cobs": "cobs"}


# ----------------------------------------------------------------------------------------------- golden
def test_python_codec_reproduces_golden_vectors(golden):
    assert golden["crc_check"] == "0x29B1"
    assert len(golden["vectors"]) >= 10
    for v in golden["vectors"]:
        spec = codec.spec_of(v["msg_type"])
        payload = spec.pack(v["fields"])
        assert payload.hex() == v["payload_hex"], v["name"]
        assert codec.encode_frame(spec.id, v["seq"], payload, v["version"]).hex() == v["frame_hex"], v["name"]
        frame = codec.decode_frame(bytes.fromhex(v["frame_hex"]))
        assert (frame.version, frame.msg_type, frame.seq) == (v["version"], v["msg_id"], v["seq"])
        assert frame.message() == v["fields"], v["name"]
    for c in golden["cobs"]:
        assert codec.cobs_encode(bytes.fromhex(c["raw_hex"])).hex() == c["encoded_hex"]


def test_golden_covers_every_message_type(golden):
    assert {v["msg_type"] for v in golden["vectors"]} == set(codec.MESSAGES_BY_NAME)


def test_python_decoder_reproduces_golden_streams(golden):
    assert len(golden["streams"]) >= 8
    for s in golden["streams"]:
        data = bytes.fromhex(s["stream_hex"])
        for chunk in (len(data), 1, 7):            # chunking must not matter
            dec = FrameDecoder()
            frames = [f for i in range(0, len(data), chunk) for f in dec.feed(data[i:i + chunk])]
            assert [{"version": f.version, "msg_type": f.msg_type, "seq": f.seq, "payload_hex": f.payload.hex()}
                    for f in frames] == s["frames"], s["name"]
            stats = dec.stats.as_dict()
            stats.pop("resyncs")
            assert stats == s["stats"], s["name"]


def test_every_damaged_stream_still_delivers_the_following_good_frame(golden):
    damaged = [s for s in golden["streams"] if sum(v for k, v in s["stats"].items() if k.endswith(("errors", "oversize")))]
    assert len(damaged) >= 6
    assert all(len(s["frames"]) >= 1 for s in damaged)


def test_committed_golden_vectors_are_up_to_date():
    assert load_tool("gen_golden").check() == []


def test_generated_protocol_files_are_up_to_date():
    assert load_tool("gen_protocol").check() == []


def test_gen_check_mode_detects_a_stale_file():
    gen = load_tool("gen_protocol")
    proto = gen.load_protocol()
    proto["messages"][0]["meaning"] += " (edited)"
    stale = gen.check(proto)
    assert "firmware_bridge/PROTOCOL.md" in stale and "dms/bridge/_protocol.py" in stale


def test_protocol_validation_rejects_bad_definitions():
    gen = load_tool("gen_protocol")
    proto = gen.load_protocol()
    bad = json.loads(json.dumps(proto))
    bad["messages"][1]["id"] = bad["messages"][0]["id"]
    with pytest.raises(ValueError, match="duplicate"):
        gen.validate(bad)
    bad = json.loads(json.dumps(proto))
    bad["messages"][0]["fields"][0]["type"] = "f32"
    with pytest.raises(ValueError, match="unknown type"):
        gen.validate(bad)
    bad = json.loads(json.dumps(proto))
    bad["messages"][0]["fields"] *= 20
    with pytest.raises(ValueError):
        gen.validate(bad)


def test_protocol_doc_documents_every_field():
    doc = (FW / "PROTOCOL.md").read_text()
    for m in codec.PROTOCOL["messages"]:
        assert f"### {m['name']} (id {m['id']}" in doc
        for f in m["fields"]:
            assert f"`{f['name']}`" in doc
    assert "CRC-16/CCITT-FALSE" in doc and "0x1021" in doc and "COBS" in doc
    for v in json.loads((FW / "golden" / "vectors.json").read_text())["vectors"]:
        assert v["frame_hex"] in doc


# ----------------------------------------------------------------------------------------------- contracts
def test_protocol_enums_match_contracts():
    E = codec.ENUMS
    assert E["alert_level"] == {lv.name.lower(): int(lv) for lv in AlertLevel}
    assert E["fault_code"] == {fc.name.lower(): int(fc) for fc in FaultCode}
    assert E["alert_type"] == {a.value: a.bit for a in AlertType}
    assert set(E["gaze_zone"]) == {z.value for z in GazeZone}
    assert set(E["hand_state"]) == {h.value for h in HandState}
    assert E["gear"] == {g.name.lower(): int(g) for g in Gear}
    assert E["indicator"] == {i.name.lower(): int(i) for i in Indicator}
    flags = next(f for f in codec.MESSAGES_BY_NAME["DRIVER_STATE"].fields if f[0] == "alert_flags")
    assert len(AlertType) <= {"u8": 8, "u16": 16, "u32": 32}[flags[1]]


def test_codec_imports_without_pyserial_or_numpy():
    code = ("import sys; sys.modules['serial'] = None; sys.modules['numpy'] = None\n"
            "import dms.bridge.codec as c; assert c.crc16(b'123456789') == 0x29B1\n"
            "import dms.bridge; assert 'dms.bridge.link' not in sys.modules")
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_msgtype_ids():
    assert int(MsgType.DRIVER_STATE) == 0x10 and int(MsgType.VEHICLE_SIGNALS) == 0x20
    assert int(MsgType.HELLO) == 1 and int(MsgType.HEARTBEAT) == 3


@pytest.mark.parametrize("mine,peer,expected", [((1, 1), (1, 1), 1), ((1, 3), (2, 5), 3), ((1, 1), (2, 3), 0),
                                                ((2, 4), (1, 2), 2), ((0, 0), (0, 0), 0)])
def test_select_version(mine, peer, expected):
    assert codec.select_version(*mine, *peer) == expected
