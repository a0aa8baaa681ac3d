"""Sources (video file, image folder, NIR Y16, reconnect) and sinks (JSONL, timeline, video, isolation)."""
from __future__ import annotations

import json
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from dms.contracts import Alert, AlertLevel, AlertType, DriverState, FaultCode, Frame, PixelFormat
from dms.contracts import Perception
from dms.io.sinks import JsonlSink, Sink, SinkGroup, TimelineSink, VideoSink
from dms.io.sources import (FrameSource, ImageFolderSource, ReconnectingSource, SourceError, SourceFault,
                            VideoFileSource, open_source, raw_to_frame_image)


def _write_clip(path, n=12, fps=25.0):
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (64, 48))
    for i in range(n):
        img = np.full((48, 64, 3), 10 * i, np.uint8)
        w.write(img)
    w.release()


def test_video_file_source(tmp_path):
    p = tmp_path / "clip.avi"
    _write_clip(p)
    src = open_source(str(p))
    assert isinstance(src, VideoFileSource) and not src.live
    frames = list(src)
    assert len(frames) == 12
    assert [f.frame_id for f in frames] == list(range(12))
    ts = [f.t_ns for f in frames]
    assert ts[0] == 0 and all(b - a == pytest.approx(40_000_000, abs=2) for a, b in zip(ts, ts[1:]))
    assert frames[5].image.mean() == pytest.approx(50, abs=3)


def test_truncated_video_ends_cleanly(tmp_path):
    p = tmp_path / "clip.avi"
    _write_clip(p, n=30)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    frames = list(VideoFileSource(p))
    assert 0 < len(frames) < 30


def test_image_folder_source(tmp_path):
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i:03d}.png"), np.full((20, 30), 40 * i, np.uint8))
    (tmp_path / "003.png").write_bytes(b"not a png")
    frames = list(open_source(str(tmp_path), fps=10))
    assert len(frames) == 3
    assert frames[1].pixel_format is PixelFormat.GRAY8 and frames[1].t_ns == 100_000_000
    assert int(frames[2].image[0, 0]) == 80


def test_y16_bytes_are_reinterpreted_not_colour_converted():
    vals = np.array([[0, 256, 4095], [65535, 1000, 2]], dtype="<u2")
    raw = np.frombuffer(vals.tobytes(), np.uint8).reshape(1, -1)     # how V4L2 Y16 arrives with CONVERT_RGB off
    img = raw_to_frame_image(raw, PixelFormat.NIR16, width=3, height=2)
    assert img.dtype == np.uint16 and img.shape == (2, 3)
    np.testing.assert_array_equal(img, vals)
    Frame(image=img, t_ns=0, pixel_format=PixelFormat.NIR16)          # valid frame
    grey = raw_to_frame_image(np.arange(6, dtype=np.uint8).reshape(1, 6), PixelFormat.NIR8, width=3, height=2)
    assert grey.shape == (2, 3) and grey[1, 2] == 5


class _FlakyCamera(FrameSource):
    live = True

    def __init__(self, n_ok, clock):
        self.n_ok, self.clock, self.source_id, self.fps = n_ok, clock, "fake", 30.0

    def frames(self):
        for i in range(self.n_ok):
            yield Frame(image=np.zeros((8, 8, 3), np.uint8), t_ns=self.clock(), frame_id=i)
        raise SourceError("unplugged")


def test_reconnect_with_backoff_yields_faults():
    t = [0]

    def clock():
        t[0] += 1000
        return t[0]
    attempts = []

    def factory():
        attempts.append(1)
        if len(attempts) not in (1, 3):      # comes back once, then stays unplugged
            raise SourceError("device busy")
        return _FlakyCamera(3, clock)
    sleeps = []
    src = ReconnectingSource(factory, backoff_s=[0.5, 1.0], max_reconnects=3, sleep=sleeps.append, clock=clock)
    items = []
    with pytest.raises(SourceError, match="giving up"):
        for it in src:
            items.append(it)
    kinds = ["F" if isinstance(i, SourceFault) else "f" for i in items]
    assert kinds[:3] == ["f"] * 3 and kinds[3] == "F" and kinds[4] == "F" and kinds[5:8] == ["f"] * 3
    assert sleeps[:2] == [0.5, 1.0]
    ts = [i.t_ns for i in items]
    assert ts == sorted(ts) and len(set(ts)) == len(ts)
    frames = [i for i in items if not isinstance(i, SourceFault)]
    assert [f.frame_id for f in frames] == list(range(len(frames)))
    assert all(i.fault is FaultCode.CAMERA_FAULT for i in items if isinstance(i, SourceFault))


def _result(t_ns, valid=True, events=()):
    p = Perception(t_ns=t_ns, valid=valid, eye_openness_left=0.8, eye_openness_right=0.6)
    s = DriverState(t_ns=t_ns, valid=valid, perclos=0.1, eye_openness=0.7)
    return SimpleNamespace(perception=p, state=s, events=list(events), detail=None, latency_ms={"total": 1.0})


def test_jsonl_sink_writes_and_flushes_each_line(tmp_path):
    s = JsonlSink(tmp_path)
    alert = Alert(t_ns=2, type=AlertType.MICROSLEEP, level=AlertLevel.WARNING, active=True)
    s.write(_result(1))
    s.write(_result(2, events=[alert]))
    # readable before close: flushed per line
    states = [json.loads(x) for x in (tmp_path / "states.jsonl").read_text().splitlines()]
    events = [json.loads(x) for x in (tmp_path / "events.jsonl").read_text().splitlines()]
    s.close()
    assert [d["t_ns"] for d in states] == [1, 2] and states[0]["schema"].startswith("dms.driver_state")
    assert events == [alert.to_dict()]


def test_timeline_and_video_sinks(tmp_path):
    tl = TimelineSink(tmp_path / "timeline.png")
    vid = VideoSink(tmp_path / "a.mp4", fps=10)
    alert = Alert(t_ns=5 * 10**8, type=AlertType.SLEEP, level=AlertLevel.CRITICAL, active=True)
    for i in range(10):
        r = _result(i * 10**8, valid=i != 3, events=[alert] if i == 5 else [])
        f = Frame(image=np.full((48, 64, 3), 100, np.uint8), t_ns=i * 10**8, frame_id=i)
        tl.write(r, f)
        vid.write(r, f)
    vid.write(_result(10**9, valid=False), None)       # fault step: repeats the last frame
    tl.close()
    vid.close()
    img = cv2.imread(str(tmp_path / "timeline.png"))
    assert img is not None and img.shape[0] > 200
    cap = cv2.VideoCapture(str(tmp_path / "a.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 11
    assert tl.alerts == [(0.5, "sleep", True)]


class _Boom(Sink):
    name = "boom"

    def __init__(self):
        self.calls = 0

    def write(self, result, frame=None):
        self.calls += 1
        raise OSError("disk full")


class _Count(Sink):
    name = "count"

    def __init__(self):
        self.n = 0

    def write(self, result, frame=None):
        self.n += 1


def test_failing_sink_is_isolated_retried_and_disabled():
    boom, count = _Boom(), _Count()
    g = SinkGroup([boom, count], max_failures=3)
    for i in range(30):
        g.write(_result(i))
    assert count.n == 30
    assert boom.calls == 3 and g.disabled == ["boom"]
