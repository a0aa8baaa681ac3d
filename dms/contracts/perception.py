"""Per-frame perception: what the runtime's models see in one frame, before any temporal logic."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from dms.contracts.base import Record
from dms.contracts.enums import FaultCode, GazeZone


@dataclass(frozen=True)
class HeadPose(Record):
    """Head rotation in the camera frame, degrees (see the convention in ``dms.contracts``), and the head
    position in metres (camera frame) when known."""
    SCHEMA_ID = "dms.head_pose"
    yaw_deg: float
    pitch_deg: float
    roll_deg: float
    t_cam_m: Optional[tuple[float, float, float]] = None


@dataclass(frozen=True)
class Perception(Record):
    """Outputs of the face front end and the four models for one frame.

    ``valid`` is False when the frame could not be perceived; ``fault`` says why. Probabilities are in [0, 1];
    ``None`` means "not measured" (e.g. no hands model loaded) — never a default guess.
    """
    SCHEMA_ID = "dms.perception"
    t_ns: int
    frame_id: int = 0
    valid: bool = True
    fault: FaultCode = FaultCode.OK
    face_found: bool = False
    face_confidence: float = 0.0
    face_box_xyxy_px: Optional[tuple[float, float, float, float]] = None
    head_pose: Optional[HeadPose] = None
    eye_openness_left: Optional[float] = None
    eye_openness_right: Optional[float] = None
    eye_closed_prob_left: Optional[float] = None
    eye_closed_prob_right: Optional[float] = None
    eye_confidence: float = 1.0
    mouth_openness: Optional[float] = None
    yawn_prob: Optional[float] = None
    gaze_yaw_deg: Optional[float] = None       # combined (cyclopean) gaze, camera frame
    gaze_pitch_deg: Optional[float] = None
    gaze_zone: GazeZone = GazeZone.UNKNOWN
    hands_on_wheel_prob_left: Optional[float] = None
    hands_on_wheel_prob_right: Optional[float] = None
    phone_prob: Optional[float] = None
    sunglasses_prob: Optional[float] = None
    latency_ms: Optional[dict] = None          # stage -> milliseconds

    @property
    def eye_closed_prob(self) -> Optional[float]:
        """Both-eye closure probability (mean of the available eyes)."""
        vals = [v for v in (self.eye_closed_prob_left, self.eye_closed_prob_right) if v is not None]
        return sum(vals) / len(vals) if vals else None

    @property
    def eye_openness(self) -> Optional[float]:
        vals = [v for v in (self.eye_openness_left, self.eye_openness_right) if v is not None]
        return sum(vals) / len(vals) if vals else None
