"""Overlay drawing: landmarks, eye openness bars, gaze ray, hand state, PERCLOS, alert banner (OpenCV)."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from dms.data.crops import LEFT_EYE_CORNERS, NOSE_TIP, RIGHT_EYE_CORNERS
from dms.data.preprocess import to_u8_3ch


def to_bgr(image: np.ndarray) -> np.ndarray:
    """Frame -> 8-bit 3-channel image to draw on (gray/NIR replicated; colour frames are BGR already)."""
    return to_u8_3ch(image)


def _bar(img, x, y, w, h, value, label, color) -> None:
    import cv2
    cv2.rectangle(img, (x, y), (x + w, y + h), (60, 60, 60), 1)
    if value is not None:
        fh = int(round(h * min(1.0, max(0.0, value))))
        cv2.rectangle(img, (x + 1, y + h - fh), (x + w - 1, y + h - 1), color, -1)
    cv2.putText(img, label, (x - 2, y + h + 12), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (255, 255, 255), 1, cv2.LINE_AA)


def draw_overlay(img: np.ndarray, result: Any) -> np.ndarray:
    """Draw ``result`` (MonitorResult-like) on a BGR image in place; returns it."""
    import cv2
    pc, st = result.perception, result.state
    face = getattr(result.detail, "face", None) if getattr(result, "detail", None) is not None else None
    h, w = img.shape[:2]
    s = max(0.5, w / 640)
    if face is not None:
        lm = face.landmarks_px
        for x, y in lm[:468:2].astype(int):
            img[max(0, min(h - 1, y)), max(0, min(w - 1, x))] = (0, 255, 0)
        x0, y0, x1, y1 = (int(v) for v in face.box_xyxy_px)
        cv2.rectangle(img, (x0, y0), (x1, y1), (0, 200, 0), 1)
        # gaze ray from the eye midpoint (image-plane projection of the camera-frame direction)
        if pc.gaze_yaw_deg is not None and pc.gaze_pitch_deg is not None:
            c = (lm[list(LEFT_EYE_CORNERS)].mean(0) + lm[list(RIGHT_EYE_CORNERS)].mean(0)) / 2
            L = 0.8 * (x1 - x0)
            dx = L * math.sin(math.radians(pc.gaze_yaw_deg))
            dy = -L * math.sin(math.radians(pc.gaze_pitch_deg))
            cv2.arrowedLine(img, (int(c[0]), int(c[1])), (int(c[0] + dx), int(c[1] + dy)), (0, 200, 255), 2,
                            tipLength=0.15)
        elif pc.head_pose is not None:
            n = lm[NOSE_TIP]
            L = 0.6 * (x1 - x0)
            dx = L * math.sin(math.radians(pc.head_pose.yaw_deg))
            dy = -L * math.sin(math.radians(pc.head_pose.pitch_deg))
            cv2.arrowedLine(img, (int(n[0]), int(n[1])), (int(n[0] + dx), int(n[1] + dy)), (255, 160, 0), 2)
    # eye openness bars (driver's right eye shown left, as in the image)
    _bar(img, 10, 30, 14, 60, pc.eye_openness_right, "R", (0, 255, 255))
    _bar(img, 32, 30, 14, 60, pc.eye_openness_left, "L", (0, 255, 255))
    _bar(img, 54, 30, 14, 60, pc.mouth_openness, "M", (255, 200, 0))
    lines = []
    if st is not None:
        lines.append(f"PERCLOS {st.perclos:.2f}" if st.perclos is not None else "PERCLOS --")
        if st.drowsiness_kss is not None:
            lines.append(f"KSS {st.drowsiness_kss:.1f}")
        lines.append(f"gaze {st.gaze_zone.value}  off-road {st.eyes_off_road_s:.1f}s")
        lines.append(f"hands L:{st.hand_left.value} R:{st.hand_right.value}" + ("  PHONE" if st.phone_use else ""))
    else:
        lines.append(f"gaze {pc.gaze_zone.value}")
    if pc.hands_on_wheel_prob_left is not None:
        lines.append(f"on-wheel p L {pc.hands_on_wheel_prob_left:.2f} R {pc.hands_on_wheel_prob_right:.2f}")
    tot = (result.latency_ms or {}).get("total")
    if tot is not None:
        lines.append(f"{tot:.1f} ms")
    for i, text in enumerate(lines):
        cv2.putText(img, text, (80, 20 + int(16 * s) * i), cv2.FONT_HERSHEY_SIMPLEX, 0.45 * s, (255, 255, 255),
                    1, cv2.LINE_AA)
    # banner: alerts, or why monitoring is unavailable
    valid = st.valid if st is not None else pc.valid
    fault = st.fault if st is not None else pc.fault
    banner, color = None, None
    if st is not None and st.active_alerts:
        banner = "  ".join(a.value.upper() for a in st.active_alerts)
        color = (0, 0, 255) if int(st.alert_level) >= 3 else (0, 140, 255)
    elif not valid:
        banner, color = f"MONITORING UNAVAILABLE: {fault.name}", (90, 90, 90)
    if banner:
        cv2.rectangle(img, (0, h - int(34 * s)), (w, h), color, -1)
        cv2.putText(img, banner, (10, h - int(10 * s)), cv2.FONT_HERSHEY_SIMPLEX, 0.6 * s, (255, 255, 255), 2,
                    cv2.LINE_AA)
    return img
