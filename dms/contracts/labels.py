"""Ground truth written by the simulator: per-frame labels and per-sequence events."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from dms.contracts.base import Record
from dms.contracts.enums import GazeZone, HandState

EVENT_TYPES = (
    "blink", "drowsy_droop", "microsleep", "sleep", "yawn", "yawn_covered", "talking", "glance",
    "texting", "phone_call", "hands_off", "drinking", "distraction",
)


@dataclass(frozen=True)
class Event(Record):
    """A ground-truth behaviour interval in a sequence. Times in seconds from the sequence start; ``end_s`` is
    exclusive. ``target`` is e.g. a gaze zone for glances or a hand ("left"/"right"/"both") for hands_off."""
    SCHEMA_ID = "dms.event"
    type: str
    start_s: float
    end_s: float
    target: str = ""
    attrs: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {self.type!r}; known: {EVENT_TYPES}")
        if not (self.end_s >= self.start_s >= 0):
            raise ValueError(f"event {self.type}: need 0 <= start_s <= end_s, got {self.start_s}, {self.end_s}")

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class FrameLabel(Record):
    """Exact per-frame ground truth, computed from the scene description by projection (never from pixels).

    Eye/mouth openness: 0 closed ... 1 open (mouth: 1 = full yawn). Gaze vectors: unit vectors in the OpenCV
    camera frame (x right, y down, z forward), pointing from the eye to the target. Gaze yaw/pitch follow the
    convention of ``dms.contracts`` (yaw > 0 toward the image's right, pitch > 0 up, (0, 0) = into the camera).
    ``landmarks_px``: 468 x 2 pixel coordinates in MediaPipe FaceMesh indexing; ``landmarks_visible``: 468 flags.
    """
    SCHEMA_ID = "dms.frame_label"
    frame_index: int
    t_s: float
    eye_openness_left: float
    eye_openness_right: float
    eyes_closed: bool
    mouth_openness: float
    yawn: bool
    gaze_zone: GazeZone = GazeZone.ROAD
    gaze_vec_left_cam: tuple[float, float, float] = (0.0, 0.0, -1.0)
    gaze_vec_right_cam: tuple[float, float, float] = (0.0, 0.0, -1.0)
    gaze_yaw_deg: float = 0.0
    gaze_pitch_deg: float = 0.0
    head_yaw_deg: float = 0.0
    head_pitch_deg: float = 0.0
    head_roll_deg: float = 0.0
    hand_left: HandState = HandState.ON_WHEEL
    hand_right: HandState = HandState.ON_WHEEL
    phone_present: bool = False
    accessories: tuple[str, ...] = ()
    face_box_xyxy_px: Optional[tuple[float, float, float, float]] = None
    landmarks_px: Optional[tuple[tuple[float, float], ...]] = None
    landmarks_visible: Optional[tuple[bool, ...]] = None
    events: tuple[str, ...] = ()          # event types active at this frame

    def __post_init__(self) -> None:
        for name in ("eye_openness_left", "eye_openness_right", "mouth_openness"):
            v = getattr(self, name)
            if not (0.0 <= v <= 1.0):
                raise ValueError(f"{name} must be in [0, 1], got {v}")

    @property
    def hands_on_wheel(self) -> bool:
        return self.hand_left is HandState.ON_WHEEL and self.hand_right is HandState.ON_WHEEL


@dataclass(frozen=True)
class CropLabel(Record):
    """Ground truth of one training crop (eye / mouth / face / cabin frame) written by the simulator.

    ``file`` is relative to the shard folder. ``crop`` names the crop definition (dms.data.crops) used to cut it.
    ``side`` is the driver's eye side for eye crops ("left"/"right"), else "". ``modality`` is "rgb" or "nir".
    Fields that do not apply to the crop kind are None.
    """
    SCHEMA_ID = "dms.crop_label"
    file: str
    kind: str                                   # "eye" | "mouth" | "face" | "frame"
    crop: str                                   # crop definition name, e.g. "eye_left", "mouth", "frame"
    modality: str                               # "rgb" | "nir"
    side: str = ""
    scene_id: str = ""
    eye_openness: Optional[float] = None
    eye_closed: Optional[bool] = None
    mouth_openness: Optional[float] = None
    yawn: Optional[bool] = None
    gaze_yaw_deg: Optional[float] = None        # this eye's gaze, camera frame convention of dms.contracts
    gaze_pitch_deg: Optional[float] = None
    head_yaw_deg: Optional[float] = None
    head_pitch_deg: Optional[float] = None
    head_roll_deg: Optional[float] = None
    hand_left: Optional[HandState] = None
    hand_right: Optional[HandState] = None
    phone_present: Optional[bool] = None
    accessories: tuple[str, ...] = ()
    camera_mount: str = ""
    landmarks_crop_px: Optional[tuple[tuple[float, float], ...]] = None   # relevant landmarks in crop pixels
    attrs: dict = field(default_factory=dict)
