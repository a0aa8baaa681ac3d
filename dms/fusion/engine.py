"""FusionEngine: per-frame Perception (+ optional VehicleSignals) in, DriverState + alert transitions out.

One ``step`` per perceived frame, in increasing ``t_ns`` order. Time comes only from the inputs; frames may
arrive at any rate and may drop: durations are measured between sample timestamps and a gap longer than the
profile's ``max_gap_s`` is unavailable time (never closure, never glance time).

Availability: the state is ``valid=False`` with a ``fault`` whenever the eyes cannot be trusted (invalid
frame, no face, occlusion, opaque sunglasses, low eye confidence, no eye model). Unavailable samples never
count as eye closure (PERCLOS, microsleep, sleep) — with one deliberate exception: an already raised sleep /
unresponsive alert is *kept* while the eyes are unavailable (a slumped head losing the face must not silence
it); it clears only when the eyes are seen open. Head-pose glance tracking continues while the face is seen,
so a head turn away is still a distraction when the eyes are hidden.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Optional, Union

from dms.contracts.enums import AlertLevel, AlertType, FaultCode, GazeZone
from dms.contracts.perception import Perception
from dms.contracts.state import Alert, DriverState
from dms.contracts.vehicle import VehicleSignals
from dms.fusion.alerts import AlertPolicy, Condition, SpeedGates, rules_for_profile
from dms.fusion.calibration import Calibration, CalibrationResult
from dms.fusion.drowsiness import DrowsinessEstimator, kss_level
from dms.fusion.glance import GazeZoneMapper, GlanceTracker
from dms.fusion.profiles import Profile, SpeedGate, get_profile
from dms.fusion.signals import (BlinkDetector, ClosureEpisodes, HandsOffTimer, PerclosWindow, PhoneTracker,
                                YawnCounter)
from dms.fusion.timing import Hysteresis, SampleHold, ns_to_s, s_to_ns

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FusionOutput:
    state: DriverState                              # published every step
    events: list[Alert] = field(default_factory=list)   # alert transitions at this step


class FusionEngine:
    """Temporal fusion and regulation-timed alerts for one driver seat (see module doc)."""

    def __init__(self, profile: Union[str, Profile] = "euro_ncap_2026",
                 calibration: Optional[CalibrationResult] = None,
                 road_direction_deg: tuple[float, float] = (0.0, 0.0)):
        """``road_direction_deg``: camera-frame (yaw, pitch) of the road direction for this camera mount, the
        zone map's origin until the driver calibration replaces it (a column camera below the face sees the
        road direction pitched up)."""
        self.profile: Profile = get_profile(profile)
        self._calibration_preset = calibration
        self._road_direction_deg = (float(road_direction_deg[0]), float(road_direction_deg[1]))
        self.reset()

    # ------------------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget everything (new trip / new driver). A calibration preset given at construction is kept."""
        p = self.profile
        self.closure = ClosureEpisodes(p.max_gap_s, p.microsleep_min_s, p.drowsy_event_window_s)
        self.blinks = BlinkDetector(p.blink_min_s, p.blink_max_s, p.blink_window_s, p.blink_min_count,
                                    p.max_gap_s)
        self.perclos = PerclosWindow(p.perclos_window_s, p.perclos_min_closure_s, p.perclos_min_valid_s,
                                     p.max_gap_s)
        self.glance = GlanceTracker(p.vats_window_s, p.vats_cumulative_s, p.vats_reset_on_road_s,
                                    p.glance_unknown_hold_s, p.max_gap_s)
        self.zones = GazeZoneMapper(p.zone_map, p.attentive_zones)
        self.yawns = YawnCounter(p.yawn_prob_on, p.yawn_prob_off, p.yawn_mouth_on, p.yawn_mouth_off,
                                 p.yawn_min_s, p.yawn_window_s, p.max_gap_s)
        self.hands = HandsOffTimer(p.hands_on_prob, p.max_gap_s)
        self.phone = PhoneTracker(p.phone_prob_on, p.phone_prob_off, p.phone_min_s, p.max_gap_s)
        self.calibration = Calibration(p.calibration_s, p.calibration_min_samples, p.calibration_sample_period_s,
                                       p.calibration_open_percentile, preset=self._calibration_preset,
                                       road_direction_deg=self._road_direction_deg)
        self.drowsiness = DrowsinessEstimator(p)
        self.policy = AlertPolicy(rules_for_profile(p), p.name)
        self.gates = SpeedGates(p)
        self._eye_prob = Hysteresis(p.eye_closed_prob_on, p.eye_closed_prob_off)
        self._eye_open = Hysteresis(p.closed_openness_on, p.closed_openness_off)
        self._valid_hold = SampleHold(p.max_gap_s)
        self._observed_valid_ns = 0
        self._max_gap_ns = s_to_ns(p.max_gap_s)
        self._stale_ns = s_to_ns(p.vehicle_stale_s)
        self._last_t_ns: Optional[int] = None
        self._vehicle: Optional[VehicleSignals] = None
        self._unavailable_since_ns: Optional[int] = None
        self._steps = 0

    # ------------------------------------------------------------------------------------------------
    def _assess(self, pc: Perception) -> tuple[FaultCode, bool, bool]:
        """(fault, face usable for head pose, eyes usable)."""
        p = self.profile
        if not pc.valid:
            return (pc.fault if pc.fault is not FaultCode.OK else FaultCode.BAD_FRAME), False, False
        face_ok = bool(pc.face_found) and pc.head_pose is not None
        if not pc.face_found:
            return FaultCode.NO_FACE, False, False
        if pc.fault is not FaultCode.OK:
            return pc.fault, face_ok, False
        if (pc.sunglasses_prob is not None and pc.sunglasses_prob >= p.sunglasses_prob_on
                and pc.eye_confidence < p.sunglasses_eye_confidence_min):
            return FaultCode.SUNGLASSES_OPAQUE, face_ok, False
        if pc.eye_confidence < p.eye_confidence_min:
            return FaultCode.LOW_CONFIDENCE, face_ok, False
        if pc.eye_openness is None and pc.eye_closed_prob is None:
            return FaultCode.LOW_CONFIDENCE, face_ok, False
        return FaultCode.OK, face_ok, True

    def _speed_kph(self, t_ns: int) -> Optional[float]:
        v = self._vehicle
        if v is None or not v.valid or v.speed_kph is None or t_ns - v.t_ns > self._stale_ns:
            return None
        return float(v.speed_kph)

    def _wheel_touch(self, t_ns: int) -> Optional[bool]:
        v = self._vehicle
        if v is None or not v.valid or v.wheel_touch is None or t_ns - v.t_ns > self._stale_ns:
            return None
        return bool(v.wheel_touch)

    def _zone(self, pc: Perception, face_ok: bool, eyes_ok: bool, closed: Optional[bool]) -> GazeZone:
        """The one gaze-zone mapping: the profile's zone map around the (calibrated) road direction. Gaze angles,
        when present, are always mapped here (the per-frame ``Perception.gaze_zone`` of the runtime is the same
        map around the uncalibrated road direction); a zone given without angles (ground-truth labels, a
        third-party perception stack) is taken as is; otherwise the head pose is mapped."""
        cal = self.calibration.result
        if eyes_ok:
            if closed:
                return GazeZone.UNKNOWN          # closed eyes have no gaze; closure is tracked separately
            if pc.gaze_yaw_deg is not None and pc.gaze_pitch_deg is not None:
                return self.zones.zone(pc.gaze_yaw_deg - cal.gaze_yaw_offset_deg,
                                       pc.gaze_pitch_deg - cal.gaze_pitch_offset_deg)
            if pc.gaze_zone is not GazeZone.UNKNOWN:
                return pc.gaze_zone
        if face_ok:
            g = self.profile.head_only_gaze_gain
            hp = pc.head_pose
            return self.zones.zone(g * (hp.yaw_deg - cal.head_yaw_offset_deg),
                                   g * (hp.pitch_deg - cal.head_pitch_offset_deg))
        return GazeZone.UNKNOWN

    # ------------------------------------------------------------------------------------------------
    def step(self, perception: Perception, vehicle: Optional[VehicleSignals] = None) -> FusionOutput:
        pc = perception
        p = self.profile
        t = int(pc.t_ns)
        last = self._last_t_ns
        if last is not None and t <= last:
            raise ValueError(f"fusion: perception t_ns must increase: got {t} after {last} "
                             f"(frame_id {pc.frame_id}); call reset() to start a new stream")
        gap = last is not None and t - last > self._max_gap_ns
        if gap:
            log.debug("fusion: %.3f s frame gap at t_ns=%d treated as unavailable", ns_to_s(t - last), t)
        self._last_t_ns = t
        self._steps += 1
        if vehicle is not None:
            self._vehicle = vehicle
        speed = self._speed_kph(t)
        gate_state = self.gates.update(speed)

        # ---- availability ------------------------------------------------------------------------
        fault, face_ok, eyes_ok = self._assess(pc)
        iv = self._valid_hold.update(t, eyes_ok)
        if iv is not None and iv[2]:
            self._observed_valid_ns += iv[1] - iv[0]
        if gap and self._unavailable_since_ns is None:
            self._unavailable_since_ns = last
        if eyes_ok:
            self._unavailable_since_ns = None
        elif self._unavailable_since_ns is None:
            self._unavailable_since_ns = t
        unavailable_s = 0.0 if self._unavailable_since_ns is None else ns_to_s(t - self._unavailable_since_ns)

        # ---- eyes ---------------------------------------------------------------------------------
        cal = self.calibration
        openness = cal.openness(pc.eye_openness) if eyes_ok else None
        closed: Optional[bool] = None
        p80: Optional[bool] = None
        if eyes_ok:
            prob = pc.eye_closed_prob
            if prob is not None:
                closed = self._eye_prob.update(prob)
                self._eye_open.reset()
            else:
                closed = self._eye_open.update(openness)
                self._eye_prob.reset()
            # P80: >= 80 % closed by the calibrated openness, or closed per the classifier
            p80 = bool(closed) or (openness is not None and openness <= p.closed_openness_on)
        else:
            self._eye_prob.reset()
            self._eye_open.reset()
        ended = self.closure.update(t, closed)
        if ended is not None:
            self.blinks.add_episode(ended)
        self.blinks.update(t, eyes_ok)
        perclos = self.perclos.update(t, p80)
        closure_s = self.closure.closure_duration_s

        # ---- gaze / glances -----------------------------------------------------------------------
        zone = self._zone(pc, face_ok, eyes_ok, closed)
        g = self.glance.update(t, self.zones.on_road(zone))

        # ---- mouth, hands, phone ------------------------------------------------------------------
        yawns = self.yawns.update(t, pc.yawn_prob if face_ok or eyes_ok else None,
                                  pc.mouth_openness if face_ok or eyes_ok else None)
        frame_ok = pc.valid
        hands = self.hands.update(t, pc.hands_on_wheel_prob_left if frame_ok else None,
                                  pc.hands_on_wheel_prob_right if frame_ok else None, self._wheel_touch(t))
        self.phone.update(t, pc.phone_prob if frame_ok else None)

        # ---- calibration (only while monitored and driving) ---------------------------------------
        if eyes_ok and gate_state[SpeedGate.DISTRACTION]:
            hp = pc.head_pose
            if cal.update(t, pc.eye_openness, closed is False,
                          hp.yaw_deg if hp is not None else None, hp.pitch_deg if hp is not None else None,
                          pc.gaze_yaw_deg, pc.gaze_pitch_deg):
                r = cal.result
                log.info("fusion: driver calibrated (open-eye baseline %.2f, head offset %.1f/%.1f deg, "
                         "gaze offset %.1f/%.1f deg, %d samples)", r.open_eye_baseline, r.head_yaw_offset_deg,
                         r.head_pitch_offset_deg, r.gaze_yaw_offset_deg, r.gaze_pitch_offset_deg, r.n_samples)

        # ---- drowsiness ---------------------------------------------------------------------------
        kss, kss_inputs = self.drowsiness.estimate(
            perclos, self.blinks.mean_duration_s, self.closure.microsleeps_in_window,
            yawns if self.yawns.measured else None, ns_to_s(self._observed_valid_ns))

        # ---- alert conditions ---------------------------------------------------------------------
        conds = self._conditions(speed, closed, closure_s, g, hands, kss, kss_inputs, unavailable_s, fault,
                                 zone)
        events = self.policy.update(t, conds, self.gates.for_alerts())
        for e in events:
            log.info("fusion alert %s %s level=%s: %s", e.type.value, "on" if e.active else "off",
                     e.level.name, e.reason)

        hp = pc.head_pose
        state = DriverState(
            t_ns=t, valid=eyes_ok, fault=fault,
            eyes_closed=bool(closed), eye_openness=openness, closure_duration_s=closure_s,
            perclos=perclos, blink_rate_per_min=self.blinks.rate_per_min,
            mean_blink_duration_s=self.blinks.mean_duration_s, yawns_in_window=yawns,
            drowsiness_kss=None if kss is None else round(kss, 3), drowsiness_inputs=kss_inputs,
            gaze_zone=zone, eyes_off_road_s=g.off_road_s, vats_cumulative_s=g.vats_s,
            head_yaw_deg=hp.yaw_deg if hp is not None and face_ok else None,
            head_pitch_deg=hp.pitch_deg if hp is not None and face_ok else None,
            hand_left=hands.left, hand_right=hands.right, hands_off_s=hands.hands_off_s,
            phone_use=self.phone.phone_use, speed_kph=speed,
            alert_level=self.policy.level, active_alerts=self.policy.active_sorted(),
            calibrated=cal.calibrated, profile=p.name)
        return FusionOutput(state=state, events=events)

    # ------------------------------------------------------------------------------------------------
    def _conditions(self, speed, closed, closure_s, g, hands, kss, kss_inputs, unavailable_s, fault,
                    zone) -> dict[AlertType, Condition]:
        p = self.profile
        c: dict[AlertType, Condition] = {}
        eyes_not_open = closed is not False           # closed, or unknown: keeps sleep alerts up
        spd = "speed unknown" if speed is None else f"{speed:.0f} km/h"

        band = p.distraction_band(speed)
        long_d = g.off_road_s >= band.trigger_s
        c[AlertType.DISTRACTION_LONG] = Condition(
            long_d, sustain=g.on_road is not True,
            reason=(f"eyes off road {g.off_road_s:.2f} s >= {band.trigger_s} s "
                    f"(looking at {zone.value}; {spd})") if long_d else "")
        c[AlertType.DISTRACTION_VATS] = Condition(
            g.vats_exceeded,
            reason=(f"eyes off road {g.vats_s:.2f} s within {p.vats_window_s:.0f} s "
                    f">= {p.vats_cumulative_s} s") if g.vats_exceeded else "")
        ph = self.phone
        phone_raise = bool(ph.active) and ph.duration_s >= p.phone_alert_s
        c[AlertType.PHONE_USE] = Condition(
            phone_raise, sustain=bool(ph.active),
            reason=f"phone in use {ph.duration_s:.2f} s >= {p.phone_alert_s} s" if phone_raise else "")
        hands_raise = hands.hands_off_s >= p.hands_off_alert_s
        c[AlertType.HANDS_OFF] = Condition(
            hands_raise, sustain=bool(hands.hands_off),
            reason=f"hands off the wheel {hands.hands_off_s:.2f} s >= {p.hands_off_alert_s} s" if hands_raise
            else "")
        ms = closure_s >= p.microsleep_min_s
        c[AlertType.MICROSLEEP] = Condition(
            ms, sustain=self.closure.closed,
            reason=f"eyes closed {closure_s:.2f} s >= {p.microsleep_min_s} s" if ms else "")
        sl = closure_s >= p.sleep_s
        c[AlertType.SLEEP] = Condition(
            sl, sustain=eyes_not_open,
            reason=f"eyes closed {closure_s:.2f} s >= {p.sleep_s} s" if sl else "")
        un_closed = closure_s >= p.unresponsive_s
        un_away = p.unresponsive_includes_eyes_off_road and g.off_road_s >= p.unresponsive_s
        c[AlertType.UNRESPONSIVE] = Condition(
            un_closed or un_away, sustain=eyes_not_open or (un_away and g.on_road is not True),
            reason=(f"no response: eyes closed {closure_s:.2f} s" if un_closed else
                    f"no response: eyes off road {g.off_road_s:.2f} s") + f" >= {p.unresponsive_s} s"
            if (un_closed or un_away) else "")

        lvl = kss_level(kss)
        raise_at = p.kss_advisory_level if p.kss_advisory_level is not None else p.kss_warning_level
        drowsy = lvl is not None and lvl >= raise_at
        level = None
        if lvl is not None:
            level = (AlertLevel.WARNING if lvl >= p.kss_critical_level else
                     AlertLevel.CAUTION if lvl >= p.kss_warning_level else AlertLevel.INFO)
        c[AlertType.DROWSINESS] = Condition(
            drowsy, sustain=lvl is None or lvl > p.kss_clear_level, level=level if drowsy else None,
            reason=f"KSS-equivalent {kss:.1f} (level {lvl}) driven by {kss_inputs.get('driver')}"
            if drowsy else "")
        ny = self.yawns.count_in_window
        yawny = ny >= p.yawn_alert_count
        c[AlertType.YAWNING] = Condition(
            yawny, reason=f"{ny} yawns in {p.yawn_window_s:.0f} s >= {p.yawn_alert_count}" if yawny else "")
        unav = unavailable_s >= p.unavailable_alert_s
        c[AlertType.MONITORING_UNAVAILABLE] = Condition(
            unav, sustain=unavailable_s > 0,
            reason=f"monitoring unavailable {unavailable_s:.2f} s ({fault.name})" if unav else "")
        return c

    # ------------------------------------------------------------------------------------------------
    @property
    def active_alerts(self) -> dict[AlertType, AlertLevel]:
        return self.policy.active
