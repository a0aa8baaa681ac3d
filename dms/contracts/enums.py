"""Enumerations shared by all stages. Values are stable strings/ints: they are serialised and sent to the ECU."""
from __future__ import annotations

import enum


class PixelFormat(str, enum.Enum):
    """Pixel layout of a frame. NIR images are single channel; they are not gray-converted RGB."""
    BGR8 = "BGR8"      # OpenCV default colour, uint8 HxWx3
    RGB8 = "RGB8"      # uint8 HxWx3
    GRAY8 = "GRAY8"    # uint8 HxW, visible-light mono
    GRAY16 = "GRAY16"  # uint16 HxW
    NIR8 = "NIR8"      # uint8 HxW, active near-infrared illumination (850/940 nm)
    NIR16 = "NIR16"    # uint16 HxW (e.g. V4L2 Y16)

    @property
    def channels(self) -> int:
        return 3 if self in (PixelFormat.BGR8, PixelFormat.RGB8) else 1

    @property
    def dtype(self) -> str:
        return "uint16" if self in (PixelFormat.GRAY16, PixelFormat.NIR16) else "uint8"

    @property
    def is_nir(self) -> bool:
        return self in (PixelFormat.NIR8, PixelFormat.NIR16)


class GazeZone(str, enum.Enum):
    ROAD = "road"
    LEFT_MIRROR = "left_mirror"
    RIGHT_MIRROR = "right_mirror"
    REARVIEW_MIRROR = "rearview_mirror"
    CLUSTER = "cluster"
    INFOTAINMENT = "infotainment"
    LAP_PHONE = "lap_phone"
    PASSENGER = "passenger"
    OTHER = "other"
    UNKNOWN = "unknown"

    @property
    def on_road(self) -> bool:
        return self is GazeZone.ROAD


class HandState(str, enum.Enum):
    ON_WHEEL = "on_wheel"
    LAP = "lap"
    GEAR_LEVER = "gear_lever"
    FACE = "face"
    PHONE_EAR = "phone_ear"
    TEXTING = "texting"
    DRINKING = "drinking"
    OTHER = "other"
    UNKNOWN = "unknown"

    @property
    def on_wheel(self) -> bool:
        return self is HandState.ON_WHEEL


class AlertLevel(enum.IntEnum):
    """Escalation ladder. Sleep/microsleep use WARNING/CRITICAL; distraction starts at CAUTION."""
    NONE = 0
    INFO = 1       # e.g. drowsiness advisory (DDAW)
    CAUTION = 2    # first-stage warning
    WARNING = 3    # second-stage warning
    CRITICAL = 4   # sleep / unresponsive: intervention level


class AlertType(str, enum.Enum):
    DISTRACTION_LONG = "distraction_long"          # single long glance away (Euro NCAP >= 3 s)
    DISTRACTION_VATS = "distraction_vats"          # visual attention time sharing (cumulative)
    PHONE_USE = "phone_use"
    DROWSINESS = "drowsiness"                      # KSS-equivalent level
    MICROSLEEP = "microsleep"
    SLEEP = "sleep"
    UNRESPONSIVE = "unresponsive"
    HANDS_OFF = "hands_off"
    YAWNING = "yawning"                            # advisory contributing to drowsiness
    MONITORING_UNAVAILABLE = "monitoring_unavailable"

    @property
    def bit(self) -> int:
        """Bit position in the ECU alert-flags field (stable)."""
        return list(AlertType).index(self)


class FaultCode(enum.IntEnum):
    """Why a state is not valid. 0 = OK. Values are sent on the ECU link: append only."""
    OK = 0
    NO_FACE = 1
    FACE_OCCLUDED = 2
    SUNGLASSES_OPAQUE = 3
    CAMERA_FAULT = 4
    LOW_CONFIDENCE = 5
    MODEL_ERROR = 6
    BAD_FRAME = 7
    CALIBRATING = 8
    NOT_STARTED = 9
    ECU_LINK_LOST = 10


class RunningMode(str, enum.Enum):
    """Like MediaPipe tasks: IMAGE (independent stills), VIDEO (every frame, increasing timestamps),
    LIVE (newest frame wins, may drop frames, results via callback)."""
    IMAGE = "image"
    VIDEO = "video"
    LIVE = "live"
