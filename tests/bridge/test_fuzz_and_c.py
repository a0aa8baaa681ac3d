"""Robustness: property tests of the Python decoder, the C library under sanitizers (make test), and the C and
Python decoders agreeing frame for frame and counter for counter on damaged streams."""
from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dms.bridge import codec
from dms.bridge.codec import FrameDecoder

from .conftest import FW, load_tool

GOOD = [bytes.fromhex(v["frame_hex"]) for v in json.loads((FW / "golden" / "vectors.json").read_text())["vectors"]]
needs_cc = pytest.mark.skipif(shutil.which("make") is None or shutil.which("cc") is None, reason="no C toolchain")


def _keys(frames):
    return [(f.version, f.msg_type, f.seq, f.payload) for f in frames]


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=600), st.sampled_from(GOOD))
def test_random_bytes_never_raise_and_resync_on_next_frame(garbage, good):
    dec = FrameDecoder()
    dec.feed(garbage)
    out = dec.feed(b"\x00" + good)
    assert _keys(out[-1:]) == _keys([codec.decode_frame(good)])
    assert dec.stats.bytes_in == len(garbage) + 1 + len(good)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(GOOD), st.data())
def test_bit_flips_never_deliver_a_wrong_frame(good, data):
    pos = data.draw(st.integers(0, len(good) - 2))
    bit = data.draw(st.integers(0, 7))
    bad = bytearray(good)
    bad[pos] ^= 1 << bit
    dec = FrameDecoder()
    got = dec.feed(bytes(bad))
    assert got == []                       # CRC-16 catches every single-bit error
    assert dec.stats.resyncs >= 1
    assert _keys(dec.feed(good)) == _keys([codec.decode_frame(good)])


def test_truncation_and_dropped_bytes_resync_exhaustively():
    """Every truncation point and every dropped byte of every golden frame: the damaged frame is dropped, the next
    delimited good frame is delivered. Without a leading delimiter the truncated frame swallows the next one
    (which is why transmitters send 0x00 before every frame)."""
    n_cases = 0
    for good in GOOD:
        want = _keys([codec.decode_frame(good)])
        for cut in range(1, len(good) - 1):
            dec = FrameDecoder()
            assert dec.feed(good[:cut] + good) == []
            assert _keys(dec.feed(b"\x00" + good[:cut] + b"\x00" + good)) == want
            dropped = good[:cut] + good[cut + 1:]
            dec = FrameDecoder()
            assert _keys(dec.feed(dropped + b"\x00" + good)) == want, (good.hex(), cut)
            n_cases += 1
    assert n_cases > 300


@settings(max_examples=100, deadline=None)
@given(st.integers(codec.MAX_ENCODED_FRAME + 1, 5000), st.integers(1, 255), st.sampled_from(GOOD))
def test_oversized_input_is_bounded_and_recovers(n, byte, good):
    dec = FrameDecoder()
    assert dec.feed(bytes([byte]) * n + b"\x00") == []
    assert dec.stats.oversize == 1 and len(dec._buf) == 0
    assert len(dec.feed(good)) == 1


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 255), st.integers(0, 300), st.sampled_from(GOOD))
def test_lying_length_field_under_valid_crc_is_rejected(claimed, actual, good):
    body = bytes([1, 3, 0, 0, claimed]) + bytes(range(1, 256))[:actual] + bytes(max(0, actual - 255))
    body += codec.crc16(body).to_bytes(2, "little")
    dec = FrameDecoder()
    frames = dec.feed(codec.cobs_encode(body) + b"\x00" + good)
    if claimed == actual and actual <= codec.MAX_PAYLOAD:
        assert len(frames) == 2
    else:
        assert len(frames) == 1 and dec.stats.resyncs == 1


def test_python_fuzz_tool_10k_inputs():
    result = load_tool("fuzz_py").run(10_000, seed=7)
    assert result["inputs"] == 10_000 and result["violations"] == 0
    assert result["frames_delivered"] > 1000      # the generator really produces decodable frames


def test_fuzz_tool_detects_a_broken_decoder(monkeypatch):
    fuzz = load_tool("fuzz_py")
    real = codec.FrameDecoder.feed

    def broken(self, data):                       # forgets to reset after garbage: must be caught
        frames = real(self, data)
        return frames[:1]

    monkeypatch.setattr(fuzz.codec.FrameDecoder, "feed", broken)
    with pytest.raises(fuzz.Violation):
        fuzz.run(300, seed=3)


@pytest.mark.slow
def test_python_fuzz_one_million_inputs():
    assert load_tool("fuzz_py").run(1_000_000, seed=1)["violations"] == 0


# ----------------------------------------------------------------------------------------------- C side
@pytest.fixture(scope="module")
def c_build():
    r = subprocess.run(["make", "-C", str(FW), "test"], capture_output=True, text=True, timeout=600)
    return r


@needs_cc
def test_make_firmware_bridge_test_passes(c_build):
    assert c_build.returncode == 0, c_build.stdout[-3000:] + c_build.stderr[-3000:]
    assert "0 failures" in c_build.stdout and "0 violations" in c_build.stdout
    assert "ASan on" in c_build.stdout         # the unit tests really ran under the sanitizers


@pytest.mark.slow
@needs_cc
def test_c_fuzz_one_million_inputs():
    r = subprocess.run(["make", "-C", str(FW), "fuzz", "FUZZ_N=1000000"], capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "1000000 inputs" in r.stdout and "0 violations" in r.stdout


@needs_cc
def test_c_and_python_decoders_agree_on_damaged_streams(c_build):
    assert c_build.returncode == 0
    fuzz = load_tool("fuzz_py")
    rng = np.random.default_rng(11)
    stream = b"".join(fuzz.make_input(rng, i) for i in range(3000))
    r = subprocess.run([str(FW / "build" / "decode_stream")], input=stream, capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    dec = FrameDecoder()
    frames = dec.feed(stream)
    expected = [f"F {f.version} {f.msg_type} {f.seq} {f.payload.hex() or '-'}" for f in frames]
    s = dec.stats
    expected.append(f"S {s.bytes_in} {s.frames} {s.cobs_errors} {s.crc_errors} {s.length_errors} {s.oversize}")
    assert len(frames) > 500 and s.resyncs > 500
    assert lines == expected


@needs_cc
def test_make_test_fails_when_a_golden_vector_is_wrong(tmp_path):
    """The C test really compares bytes: a copy of the tree with one flipped golden byte must fail."""
    work = tmp_path / "fw"
    shutil.copytree(FW, work, ignore=shutil.ignore_patterns("build"))
    h = work / "tests" / "golden_vectors.h"
    text = h.read_text()
    i = text.index("static const uint8_t gv_0_frame")
    j = text.index("0x", i + 40)
    h.write_text(text[:j] + ("0x7E" if text[j:j + 4] != "0x7E" else "0x7D") + text[j + 4:])
    r = subprocess.run(["make", "-C", str(work), "build/test_dms_link"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([str(work / "build" / "test_dms_link")], capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "FAIL" in r.stderr
