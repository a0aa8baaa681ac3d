"""DriverPose: the dynamic, per-frame state of the driver that behaviour timelines animate.

A behaviour scenario (dms.sim.scenarios) yields one DriverPose per frame; the static scene (identity, cabin,
camera, light: dms.sim.spec.SceneSpec) stays fixed within a sequence. The renderer poses the driver from it and
the label code projects it. All angles in degrees, conventions as in dms.contracts:

* eye openness 0 = closed ... 1 = the identity's neutral open eye (values up to ~1.2 = wide open allowed);
* mouth openness 0 = closed ... 1 = full yawn;
* gaze is given as a target point in the cabin frame (both eyes converge on it) or, when ``gaze_target_m`` is
  None, as yaw/pitch of the eyes relative to the head (lizard movement);
* head yaw/pitch/roll are relative to the driver's natural forward pose (looking at the road);
* hands: dms.contracts.HandState per hand; ``wheel_clock_left/right`` is the grip position on the wheel rim as a
  clock angle (e.g. 9 and 3 o'clock), used when that hand is ON_WHEEL.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from dms.contracts import GazeZone, HandState

#: grip positions sampled on the wheel rim (clock hours, 12 = top): sequences, crops and frame-crop defaults
WHEEL_CLOCK_LEFT_RANGE = (8.0, 10.5)
WHEEL_CLOCK_RIGHT_RANGE = (1.5, 4.0)


@dataclass(frozen=True)
class DriverPose:
    eye_openness_left: float = 1.0
    eye_openness_right: float = 1.0
    mouth_openness: float = 0.0
    yawn: bool = False                        # mouth opening is a yawn (not talking/smiling)
    talking: bool = False
    gaze_zone: GazeZone = GazeZone.ROAD
    gaze_target_m: Optional[tuple[float, float, float]] = None   # cabin frame point the eyes look at
    eye_yaw_deg: float = 0.0                  # eyes relative to head, used when gaze_target_m is None
    eye_pitch_deg: float = 0.0
    head_yaw_deg: float = 0.0
    head_pitch_deg: float = 0.0
    head_roll_deg: float = 0.0
    hand_left: HandState = HandState.ON_WHEEL
    hand_right: HandState = HandState.ON_WHEEL
    wheel_clock_left: float = 9.0
    wheel_clock_right: float = 3.0
    phone_in_hand: Optional[str] = None       # "left" | "right" | None
    hand_over_mouth: bool = False             # covered yawn
    events: tuple[str, ...] = ()              # ground-truth event types active at this frame
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("eye_openness_left", "eye_openness_right"):
            v = getattr(self, name)
            if not (0.0 <= v <= 1.3):
                raise ValueError(f"{name} must be in [0, 1.3], got {v}")
        if not (0.0 <= self.mouth_openness <= 1.0):
            raise ValueError(f"mouth_openness must be in [0, 1], got {self.mouth_openness}")
