"""Vehicle signals received from the ECU (used to gate alerts)."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Optional

from dms.contracts.base import Record


class Gear(enum.IntEnum):
    UNKNOWN = 0
    PARK = 1
    REVERSE = 2
    NEUTRAL = 3
    DRIVE = 4


class Indicator(enum.IntEnum):
    OFF = 0
    LEFT = 1
    RIGHT = 2
    HAZARD = 3


@dataclass(frozen=True)
class VehicleSignals(Record):
    """``t_ns`` is the DMS-side monotonic receive time. ``speed_kph`` None = unknown (alerts then use the
    profile's policy for unknown speed)."""
    SCHEMA_ID = "dms.vehicle"
    t_ns: int
    speed_kph: Optional[float] = None
    gear: Gear = Gear.UNKNOWN
    indicator: Indicator = Indicator.OFF
    wheel_touch: Optional[bool] = None
    wheel_torque_nm: Optional[float] = None
    valid: bool = True
