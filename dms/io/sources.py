"""Frame sources. A source yields :class:`dms.contracts.Frame` records and nothing else.

* ``CameraSource``  — OpenCV camera index or device path (V4L2). NIR cameras delivering GREY/Y8 or Y16 are read
  raw (``CAP_PROP_CONVERT_RGB`` off) and converted by :func:`raw_to_frame_image` — never assumed BGR.
  Timestamps: the monotonic clock at capture (cameras are live).
* ``VideoFileSource`` — video files; t_ns from the container position (falls back to index / fps). A decode
  failure mid-file (truncated/corrupt) ends the stream with a logged warning.
* ``ImageFolderSource`` — sorted images of a folder at a nominal fps; unreadable files are skipped and logged.
* ``SequenceSource`` — a simulator sequence (``dms.data.dataset.Sequence``); t_ns from the frame labels.
* ``ReconnectingSource`` — wraps a camera factory: on disconnect yields :class:`SourceFault` items while
  reconnecting with back-off (the sleep function and clock are injectable for tests).

``open_source(spec, cfg)`` picks the right one from a string (``0``, ``/dev/video0``, ``clip.mp4``, ``folder/``,
dataset dir or sequence dir).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence, Union

import numpy as np

from dms.contracts import FaultCode, Frame, PixelFormat
from dms.errors import DataError

log = logging.getLogger(__name__)

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".tif", ".tiff")
VIDEO_EXTS = (".mp4", ".avi", ".mkv", ".mov", ".m4v", ".webm", ".mjpg", ".mjpeg")


class SourceError(DataError):
    """The source cannot deliver frames (open failed, device gone)."""


@dataclass(frozen=True)
class SourceFault:
    """Yielded instead of a frame while a live source is unavailable."""
    t_ns: int
    fault: FaultCode = FaultCode.CAMERA_FAULT
    reason: str = ""


Item = Union[Frame, SourceFault]


def raw_to_frame_image(raw: np.ndarray, pixel_format: PixelFormat, width: Optional[int] = None,
                       height: Optional[int] = None) -> np.ndarray:
    """Convert a raw V4L2 buffer as OpenCV returns it with CONVERT_RGB off to the frame image for the format.

    * NIR8/GRAY8 (GREY/Y8): uint8 HxW (a 1xN or HxWx1 buffer is reshaped to HxW).
    * NIR16/GRAY16 (Y16): uint16 HxW, little-endian; OpenCV may hand it over as uint8 with 2 bytes per pixel
      (HxWx2 or 1x(2HW)) — reinterpreted, not scaled or colour-converted.
    * BGR8: a 3-channel buffer is passed through; a single-channel one is replicated.
    """
    pf = PixelFormat(pixel_format)
    a = np.asarray(raw)
    if pf.dtype == "uint16":
        if a.dtype == np.uint16:
            img = a.reshape(a.shape[0], a.shape[1]) if a.ndim == 3 else a
        elif a.dtype == np.uint8:
            buf = np.ascontiguousarray(a).reshape(-1)
            if width is None or height is None:
                if a.ndim == 3 and a.shape[2] == 2:
                    height, width = a.shape[:2]
                else:
                    raise ValueError("Y16 buffer delivered as bytes: width and height are needed to reshape it")
            if buf.size != width * height * 2:
                raise ValueError(f"Y16 buffer has {buf.size} bytes, expected {width * height * 2}")
            img = buf.view("<u2").reshape(height, width)
        else:
            raise ValueError(f"cannot read {pf.value} from a {a.dtype} buffer")
        return np.ascontiguousarray(img.astype(np.uint16, copy=False))
    if pf.channels == 1:
        if a.dtype != np.uint8:
            raise ValueError(f"{pf.value} expects 8-bit data, got {a.dtype}")
        if a.ndim == 3:
            a = a[:, :, 0]
        elif a.ndim == 2 and a.shape[0] == 1 and width and height and a.size == width * height:
            a = a.reshape(height, width)
        return np.ascontiguousarray(a)
    if a.ndim == 2:
        return np.repeat(a[:, :, None], 3, axis=2)
    return a


class FrameSource:
    """Iterate to get frames. ``live`` sources may drop frames; file sources are deterministic."""
    source_id: str = ""
    live: bool = False
    fps: Optional[float] = None

    def frames(self) -> Iterator[Item]:
        raise NotImplementedError

    def __iter__(self) -> Iterator[Item]:
        return self.frames()

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class VideoFileSource(FrameSource):
    def __init__(self, path: str | Path, loop: bool = False):
        import cv2
        self.path = Path(path)
        if not self.path.is_file():
            raise SourceError(f"video file not found: {self.path}")
        self.source_id = str(self.path)
        self.loop = loop
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            raise SourceError(f"cannot open video {self.path} (unsupported or corrupt)")
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and 1.0 <= fps <= 1000.0 else 30.0
        self.n_frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        cap.release()

    def frames(self) -> Iterator[Frame]:
        import cv2
        frame_id, t_offset_ns, last_t = 0, 0, -1
        while True:
            cap = cv2.VideoCapture(str(self.path))
            i = 0
            while True:
                try:
                    ok, img = cap.read()
                except cv2.error as e:
                    log.warning("%s: decode error at frame %d: %s (stopping)", self.path, i, e)
                    ok = False
                if not ok or img is None:
                    if self.n_frames and i < self.n_frames - 1:
                        log.warning("%s: stream ended at frame %d of %d (truncated or corrupt)", self.path, i,
                                    self.n_frames)
                    break
                t_ns = t_offset_ns + int(round(i * 1e9 / self.fps))
                if t_ns <= last_t:
                    t_ns = last_t + 1
                last_t = t_ns
                pf = PixelFormat.BGR8 if img.ndim == 3 else PixelFormat.GRAY8
                yield Frame(image=img, t_ns=t_ns, frame_id=frame_id, source_id=self.source_id, pixel_format=pf)
                frame_id += 1
                i += 1
            cap.release()
            if not self.loop or i == 0:
                return
            t_offset_ns = last_t + int(round(1e9 / self.fps))


class ImageFolderSource(FrameSource):
    def __init__(self, folder: str | Path, fps: float = 30.0, pixel_format: Optional[str] = None,
                 loop: bool = False):
        self.folder = Path(folder)
        self.files = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_EXTS) \
            if self.folder.is_dir() else []
        if not self.files:
            raise SourceError(f"no images ({', '.join(IMAGE_EXTS)}) in {self.folder}")
        self.fps = float(fps)
        self.source_id = str(self.folder)
        self.pixel_format = pixel_format
        self.loop = loop
        self.times_s: Optional[Sequence[float]] = None

    def frames(self) -> Iterator[Frame]:
        import cv2
        frame_id, t_offset_ns, last_t = 0, 0, -1
        while True:
            for i, p in enumerate(self.files):
                img = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
                if img is None:
                    log.warning("unreadable image %s (skipped)", p)
                    continue
                if img.ndim == 3 and img.shape[2] == 4:
                    img = img[:, :, :3]
                if img.ndim == 3:
                    pf = PixelFormat.BGR8
                elif self.pixel_format in ("NIR8", "NIR16", "GRAY8", "GRAY16"):
                    pf = PixelFormat(self.pixel_format)
                else:
                    pf = PixelFormat.GRAY16 if img.dtype == np.uint16 else PixelFormat.GRAY8
                if pf.dtype == "uint8" and img.dtype == np.uint16:
                    pf = PixelFormat.NIR16 if pf.is_nir else PixelFormat.GRAY16
                t_s = self.times_s[i] if self.times_s is not None and i < len(self.times_s) else i / self.fps
                t_ns = t_offset_ns + int(round(t_s * 1e9))
                if t_ns <= last_t:
                    t_ns = last_t + 1
                last_t = t_ns
                yield Frame(image=img, t_ns=t_ns, frame_id=frame_id, source_id=self.source_id, pixel_format=pf)
                frame_id += 1
            if not self.loop:
                return
            t_offset_ns = last_t + int(round(1e9 / self.fps))


class SequenceSource(ImageFolderSource):
    """A simulator sequence: frames ``<seq>/<modality>/NNNNNN.png`` timed by the sequence's labels."""

    def __init__(self, sequence, modality: str = "rgb", fps: float = 30.0):
        folder = Path(sequence.path) / modality
        super().__init__(folder, fps=fps, pixel_format="NIR8" if modality == "nir" else None)
        self.sequence = sequence
        self.source_id = str(sequence.path)
        if sequence.labels:
            by_index = {lab.frame_index: lab.t_s for lab in sequence.labels}
            self.times_s = [by_index.get(int(p.stem), int(p.stem) / fps) if p.stem.isdigit() else i / fps
                            for i, p in enumerate(self.files)]


class CameraSource(FrameSource):
    """An OpenCV camera (index or device path). Raises SourceError when it cannot open or a read fails."""
    live = True

    def __init__(self, device: Union[int, str], pixel_format: str = "auto", width: Optional[int] = None,
                 height: Optional[int] = None, clock: Callable[[], int] = time.monotonic_ns):
        import cv2
        self.device = device
        self.source_id = f"camera:{device}"
        self.clock = clock
        self.cap = cv2.VideoCapture(device)
        if not self.cap.isOpened():
            raise SourceError(f"cannot open camera {device!r}")
        if width:
            self.cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        if height:
            self.cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        fourcc = int(self.cap.get(cv2.CAP_PROP_FOURCC) or 0)
        code = "".join(chr((fourcc >> (8 * i)) & 0xFF) for i in range(4)).strip("\x00 ")
        if pixel_format == "auto":
            pixel_format = {"GREY": "NIR8", "Y8": "NIR8", "Y800": "NIR8", "Y16": "NIR16", "Y16 ": "NIR16"}.get(
                code, "BGR8")
        self.pixel_format = PixelFormat(pixel_format)
        if self.pixel_format is not PixelFormat.BGR8:
            self.cap.set(cv2.CAP_PROP_CONVERT_RGB, 0)     # deliver the raw buffer, converted below
        self.width = int(self.cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0) or None
        self.height = int(self.cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0) or None
        fps = self.cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and fps > 0 else None
        log.info("camera %s opened: fourcc %r -> %s, %sx%s", device, code, self.pixel_format.value, self.width,
                 self.height)
        self._frame_id = 0

    def frames(self) -> Iterator[Frame]:
        while True:
            ok, raw = self.cap.read()
            t_ns = self.clock()
            if not ok or raw is None:
                raise SourceError(f"camera {self.device!r}: read failed (unplugged?)")
            img = raw_to_frame_image(raw, self.pixel_format, self.width, self.height)
            yield Frame(image=img, t_ns=t_ns, frame_id=self._frame_id, source_id=self.source_id,
                        pixel_format=self.pixel_format)
            self._frame_id += 1

    def close(self) -> None:
        self.cap.release()


class ReconnectingSource(FrameSource):
    """Wraps a live source factory: on SourceError yields SourceFault items and reopens with back-off.

    ``frame_id`` keeps counting across reconnects (a gap means frames were lost)."""
    live = True

    def __init__(self, factory: Callable[[], FrameSource], backoff_s: Sequence[float] = (0.5, 1.0, 2.0, 4.0),
                 max_reconnects: int = 0, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], int] = time.monotonic_ns):
        self.factory = factory
        self.backoff_s = list(backoff_s) or [1.0]
        self.max_reconnects = max_reconnects
        self.sleep = sleep
        self.clock = clock
        self.n_reconnects = 0
        self._src: Optional[FrameSource] = None
        self._stop = False

    def frames(self) -> Iterator[Item]:
        frame_id = 0
        failures = 0
        last_t = -1
        while not self._stop:
            try:
                if self._src is None:
                    self._src = self.factory()
                    self.source_id = self._src.source_id
                    self.fps = self._src.fps
                    if failures:
                        self.n_reconnects += 1
                        log.info("source %s reconnected after %d attempt(s)", self.source_id, failures)
                    failures = 0
                for fr in self._src.frames():
                    if fr.t_ns <= last_t:
                        fr = fr.replace(t_ns=last_t + 1)
                    last_t = fr.t_ns
                    yield fr.replace(frame_id=frame_id)
                    frame_id += 1
                return    # a live source that ends without error: done
            except SourceError as e:
                if self._src is not None:
                    self._src.close()
                    self._src = None
                failures += 1
                if self.max_reconnects and failures > self.max_reconnects:
                    raise SourceError(f"giving up after {failures - 1} reconnect attempts: {e}") from e
                delay = self.backoff_s[min(failures - 1, len(self.backoff_s) - 1)]
                log.warning("source fault: %s; retrying in %.1f s", e, delay)
                t = max(self.clock(), last_t + 1)
                last_t = t
                yield SourceFault(t_ns=t, fault=FaultCode.CAMERA_FAULT, reason=str(e))
                self.sleep(delay)

    def close(self) -> None:
        self._stop = True
        if self._src is not None:
            self._src.close()
            self._src = None


def _is_dataset(p: Path) -> bool:
    return (p / "dataset.json").is_file()


def open_source(spec: str, fps: float = 30.0, pixel_format: str = "auto", width: Optional[int] = None,
                height: Optional[int] = None, modality: str = "rgb", loop: bool = False,
                backoff_s: Sequence[float] = (0.5, 1.0, 2.0, 4.0), max_reconnects: int = 0) -> FrameSource:
    """Source from a string: camera index / device path, video file, image folder, dataset or sequence dir."""
    s = str(spec)
    if s.isdigit() or s.startswith("/dev/video"):
        dev: Union[int, str] = int(s) if s.isdigit() else s
        return ReconnectingSource(lambda: CameraSource(dev, pixel_format, width, height), backoff_s=backoff_s,
                                  max_reconnects=max_reconnects)
    p = Path(s)
    if p.is_file():
        if p.suffix.lower() in VIDEO_EXTS or p.suffix.lower() not in IMAGE_EXTS:
            return VideoFileSource(p, loop=loop)
        src = ImageFolderSource(p.parent, fps=fps)
        src.files, src.source_id = [p], str(p)
        return src
    if p.is_dir():
        if _is_dataset(p):
            return DatasetSource(p, modality=modality, fps=fps)
        if (p / "labels.jsonl").is_file() and (p / modality).is_dir():
            from dms.data.dataset import Sequence as Seq
            import json
            from dms.contracts import Event, FrameLabel
            labels = [FrameLabel.from_dict(json.loads(x)) for x in (p / "labels.jsonl").read_text().splitlines()
                      if x.strip()]
            ev = p / "events.json"
            events = [Event.from_dict(e) for e in json.loads(ev.read_text())] if ev.is_file() else []
            return SequenceSource(Seq(p, {}, labels, events), modality=modality, fps=fps)
        return ImageFolderSource(p, fps=fps, pixel_format=None if pixel_format == "auto" else pixel_format,
                                 loop=loop)
    raise SourceError(f"source {spec!r} is not a camera index, device, video file or folder")


class DatasetSource(FrameSource):
    """All sequences of a dataset, played back to back with continuous timestamps."""

    def __init__(self, root: str | Path, modality: str = "rgb", fps: float = 30.0):
        from dms.data.dataset import open_dataset
        self.root = Path(root)
        self.sequences = [s for s in open_dataset(self.root).sequences() if (s.path / modality).is_dir()]
        if not self.sequences:
            raise SourceError(f"dataset {self.root} has no sequences with {modality} frames")
        self.modality, self.fps, self.source_id = modality, fps, str(self.root)

    def frames(self) -> Iterator[Frame]:
        offset, frame_id, last = 0, 0, -1
        for seq in self.sequences:
            for fr in SequenceSource(seq, self.modality, self.fps).frames():
                t = max(offset + fr.t_ns, last + 1)
                last = t
                yield fr.replace(t_ns=t, frame_id=frame_id, source_id=self.source_id)
                frame_id += 1
            offset = last + int(1e9 / self.fps)
