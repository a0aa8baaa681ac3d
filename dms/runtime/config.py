"""`dms run` configuration (`dms cfg show run`): source, models, face front end, perception, sinks, ECU.

Pure pydantic (no cv2/onnxruntime import) so `dms cfg` stays instant.
"""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field

from dms.config import ConfigModel


class GazeZoneConfig(ConfigModel):
    """Where the road is for this camera mount. The zone map itself is the fusion profile's (``dms.fusion``
    ``Profile.zone_map``, boxes relative to the road direction): one table for the per-frame zone and for fusion,
    which replaces this nominal road direction by the driver's calibrated one once calibration completes."""
    road_yaw_deg: float = Field(0.0, description="camera-frame yaw of the road direction for this camera mount")
    road_pitch_deg: float = Field(5.0, description="camera-frame pitch of the road direction (column camera looks up)")


class PerceptionConfig(ConfigModel):
    """Per-frame perception settings.

    Tried (session 15), not adopted: the gaze model in a worker thread overlapping eye_state and yawn on the
    calling thread. onnxruntime releases the GIL, but the numpy crop/preprocess steps of both threads and
    MediaPipe's Python callbacks contend for it: eye_state's stage rose from 2.5 to 4.2-4.6 ms, pipelined
    throughput fell from 130 to 81-108 fps, and a 30 fps camera's p50 latency gained only ~0.8 ms."""
    min_face_score: float = Field(0.5, ge=0.0, le=1.0, description="face presence below this -> NO_FACE")
    eye_batch: bool = Field(True, description="run both eyes in one batch (eye_state and gaze)")
    hands_every_n: int = Field(3, ge=1, description="run the hands model every N frames (hands change slowly; "
                                                    "3 at 30 fps = 10 Hz, saves ~1.2 ms/frame)")
    gaze_every_n: int = Field(1, ge=1, description="run the gaze model every N face frames, reusing its last "
                                                  "output in between (2: saves ~0.4 ms/frame, but glance edges move "
                                                  "by a frame: the demo clip's distraction then clears late)")
    yawn_every_n: int = Field(2, ge=1, description="run the yawn model every N face frames, reusing its last output "
                                                  "in between (yawns last seconds: 15 Hz at 30 fps; saves ~0.2 "
                                                  "ms/frame; same alerts on the demo clip)")
    defer_hands_live: bool = Field(True, description="LIVE mode: run the hands model in the idle time after a "
                                                     "frame's result is published, its output used from the next "
                                                     "frame on (hands run every hands_every_n frames anyway), so no "
                                                     "frame's latency carries it; VIDEO and IMAGE run it in the frame")
    hands_prescale: bool = Field(True, description="area-downscale the frame to the hands input size before "
                                                   "preprocessing (same result up to rounding, ~10x cheaper)")
    head_pose: bool = Field(True, description="estimate head pose with solvePnP")
    use_landmark_fallback: bool = Field(True, description="when no eye_state/yawn model is loaded, measure eye and "
                                                          "mouth openness from landmark geometry")
    gaze: GazeZoneConfig = Field(default_factory=GazeZoneConfig, description="gaze zone mapping")


class OrtConfig(ConfigModel):
    providers: list[str] = Field(default_factory=lambda: ["CPUExecutionProvider"],
                                 description="onnxruntime execution providers, in order")
    intra_op_threads: int = Field(1, ge=1, description="threads per model (1: the models are tiny)")
    inter_op_threads: int = Field(1, ge=1, description="inter-op threads per model")
    prefer_int8: bool = Field(True, description="use model.int8.onnx when present (measured: ~25 % faster "
                                                 "end to end, accuracy delta <= 0.013 on held-out renders)")


class SinkConfig(ConfigModel):
    video: bool = Field(True, description="headless: write the annotated video (annotated.mp4)")
    video_fps: float = Field(30.0, gt=0, description="fps written into the annotated video when the source has none")
    jsonl: bool = Field(True, description="write states.jsonl and events.jsonl (flushed per line)")
    jsonl_perception: bool = Field(False, description="also write per-frame perception records into states.jsonl")
    timeline: bool = Field(True, description="write timeline.png at the end of the session")
    max_failures: int = Field(5, ge=1, description="a sink failing this many times in a row is disabled")


class SourceConfig(ConfigModel):
    fps: float = Field(30.0, gt=0, description="timestamps for image folders / sequences without times")
    width: Optional[int] = Field(None, description="requested camera width (cameras only)")
    height: Optional[int] = Field(None, description="requested camera height (cameras only)")
    pixel_format: Literal["auto", "BGR8", "GRAY8", "NIR8", "NIR16", "GRAY16"] = Field(
        "auto", description="camera pixel format; NIR cameras: NIR8 (V4L2 GREY/Y8) or NIR16 (Y16)")
    modality: Literal["rgb", "nir"] = Field("rgb", description="which frames of a simulator sequence to play")
    reconnect_backoff_s: list[float] = Field(default_factory=lambda: [0.5, 1.0, 2.0, 4.0],
                                             description="camera reconnect back-off schedule (last value repeats)")
    max_reconnects: int = Field(0, ge=0, description="give up after N failed reconnects (0 = never)")
    loop: bool = Field(False, description="replay a file source forever (demos)")
    max_frames: int = Field(0, ge=0, description="stop after N frames (0 = all)")


class RunConfig(ConfigModel):
    """Configuration of `dms run` and of the embeddable Monitor."""
    source: str = Field("0", description="camera index, /dev/videoN, video file, image folder or dataset dir")
    models: str = Field("models", description="model set directory (models/<task>/model.onnx + manifest.json)")
    tasks: list[str] = Field(default_factory=lambda: ["eye_state", "yawn", "gaze", "hands"],
                             description="which models to load if present")
    frontend: Literal["mediapipe", "onnx"] = Field("mediapipe", description="face front end")
    profile: str = Field("euro_ncap_2026", description="fusion regulation profile")
    headless: bool = Field(False, description="no window; write the annotated video instead")
    out: str = Field("out/run", description="output directory (video, JSONL, timeline, summary)")
    ecu: Optional[str] = Field(None, description="ECU link URL (e.g. /dev/ttyUSB0, loop://, socket://host:port)")
    live: Optional[bool] = Field(None, description="live mode (newest frame wins); default: cameras live, files not")
    pipelined: bool = Field(True, description="overlap the face front end of the next frame with the models of the "
                                              "current one (two cores on one stream; same results, in order)")
    gc_freeze: bool = Field(True, description="after loading, freeze the loaded objects out of Python's cyclic "
                                              "garbage collector (its full collections otherwise stall a frame "
                                              "by 20-50 ms now and then)")
    source_cfg: SourceConfig = Field(default_factory=SourceConfig, description="source settings")
    perception: PerceptionConfig = Field(default_factory=PerceptionConfig, description="perception settings")
    ort: OrtConfig = Field(default_factory=OrtConfig, description="onnxruntime settings")
    sinks: SinkConfig = Field(default_factory=SinkConfig, description="outputs")
