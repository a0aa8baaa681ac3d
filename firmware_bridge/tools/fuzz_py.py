#!/usr/bin/env python3
"""Fuzz the Python decoders of the DMS <-> ECU link (dms.bridge.codec) with mutated and random inputs.

Inputs are built like the C fuzz driver's (fuzz/fuzz_decoder.c): valid frames (golden vectors and random messages)
glued together with garbage, long runs without delimiter, frames whose length field lies under a valid CRC, then
bit flips, byte drops/inserts, truncation and overwrites; one input in eight is pure random bytes. Invariants per
input (any violation is printed and the exit code is 1):
  1. FrameDecoder.feed and decode_frame raise nothing but CodecError (decode_frame) / nothing at all (feed);
  2. every delivered frame has a payload <= MAX_PAYLOAD and re-encodes to bytes that decode to the same frame;
  3. feeding the input in random chunks gives exactly the same frames and counters as feeding it at once;
  4. after the input, one 0x00 and a good frame, the good frame is delivered (resynchronisation);
  5. counters add up: bytes_in == len(input), frames + errors <= delimiters.

    python firmware_bridge/tools/fuzz_py.py --n 1000000 --seed 1
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from dms.bridge import codec  # noqa: E402

GOLDEN = json.loads((REPO / "firmware_bridge" / "golden" / "vectors.json").read_text())
GOLDEN_FRAMES = [bytes.fromhex(v["frame_hex"]) for v in GOLDEN["vectors"]]
MAX_INPUT = 1024


class Violation(AssertionError):
    pass


def _random_frame(rng: np.random.Generator) -> bytes:
    if rng.integers(2) == 0:
        return GOLDEN_FRAMES[int(rng.integers(len(GOLDEN_FRAMES)))]
    n = int(rng.integers(codec.MAX_PAYLOAD + 1))
    payload = rng.integers(0, 256, n, dtype=np.uint8)
    payload[rng.random(n) < 1 / 3] = 0
    return codec.encode_frame(int(rng.integers(256)), int(rng.integers(65536)), payload.tobytes(),
                              version=int(rng.integers(256)))


def _lying_length_frame(rng: np.random.Generator) -> bytes:
    actual = int(rng.integers(300))
    claimed = int(rng.integers(256)) if rng.integers(2) else actual & 0xFF
    body = bytes([1, int(rng.integers(256)), int(rng.integers(256)), int(rng.integers(256)), claimed])
    body += rng.integers(0, 256, actual, dtype=np.uint8).tobytes()
    body += codec.crc16(body).to_bytes(2, "little")
    return codec.cobs_encode(body) + b"\x00"


def make_input(rng: np.random.Generator, i: int) -> bytes:
    if i % 8 == 7:
        return rng.integers(0, 256, int(rng.integers(MAX_INPUT)), dtype=np.uint8).tobytes()
    buf = bytearray()
    for _ in range(1 + int(rng.integers(4))):
        k = int(rng.integers(6))
        if k < 3:
            buf += _random_frame(rng)
        elif k == 3:
            buf += _lying_length_frame(rng)
        elif k == 4:
            buf += rng.integers(0, 256, int(rng.integers(80)), dtype=np.uint8).tobytes()
        else:
            buf += bytes([int(rng.integers(1, 256))]) * int(rng.integers(400))
    for _ in range(int(rng.integers(5))):
        if not buf:
            break
        pos = int(rng.integers(len(buf)))
        m = int(rng.integers(5))
        if m == 0:
            buf[pos] ^= 1 << int(rng.integers(8))
        elif m == 1:
            del buf[pos]
        elif m == 2:
            buf.insert(pos, int(rng.integers(256)))
        elif m == 3:
            del buf[pos:]
        else:
            buf[pos] = int(rng.integers(256))
    return bytes(buf[:MAX_INPUT * 2])


def _frame_key(f: codec.Frame) -> tuple:
    return (f.version, f.msg_type, f.seq, f.payload)


def check_input(data: bytes, rng: np.random.Generator, good: bytes = GOLDEN_FRAMES[-1]) -> int:
    """Run every invariant on one input; returns the number of frames delivered. Raises Violation."""
    dec = codec.FrameDecoder()
    frames = dec.feed(data)
    for f in frames:
        if len(f.payload) > codec.MAX_PAYLOAD:
            raise Violation("payload longer than MAX_PAYLOAD")
        back = codec.decode_frame(codec.encode_frame(f.msg_type, f.seq, f.payload, f.version))
        if _frame_key(back) != _frame_key(f):
            raise Violation("re-encoded frame does not decode to itself")
        spec = codec.MESSAGES.get(f.msg_type)
        if spec is not None:
            try:
                spec.unpack(f.payload)
            except codec.CodecError:
                pass
    st = dec.stats
    if st.bytes_in != len(data) or st.frames + st.resyncs > data.count(0):
        raise Violation(f"inconsistent counters {st.as_dict()}")
    # chunking invariance
    dec2 = codec.FrameDecoder()
    got2: list[codec.Frame] = []
    pos = 0
    while pos < len(data):
        step = int(rng.integers(1, 64))
        got2 += dec2.feed(data[pos:pos + step])
        pos += step
    if [_frame_key(f) for f in got2] != [_frame_key(f) for f in frames] or dec2.stats != dec.stats:
        raise Violation("chunked feeding differs from one-shot feeding")
    # resync
    after = dec.feed(b"\x00" + good)
    if not after or _frame_key(after[-1]) != _frame_key(codec.decode_frame(good)):
        raise Violation("no resync on the next good frame")
    # one-shot decoder
    try:
        codec.decode_frame(data)
    except codec.CodecError:
        pass
    try:
        codec.cobs_decode(data)
    except codec.CodecError:
        pass
    return len(frames)


def run(n: int, seed: int = 1) -> dict:
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    frames = 0
    for i in range(n):
        data = make_input(rng, i)
        try:
            frames += check_input(data, rng)
        except Violation as e:
            raise Violation(f"input {i} ({data.hex()}): {e}") from None
    return {"decoder": "python", "inputs": n, "frames_delivered": frames, "violations": 0, "seed": seed,
            "seconds": round(time.perf_counter() - t0, 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10000, help="number of inputs (default 10000)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    try:
        result = run(args.n, args.seed)
    except Violation as e:
        sys.stderr.write(f"VIOLATION: {e}\n")
        return 1
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
