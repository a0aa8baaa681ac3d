import json

import numpy as np
import pytest

import dms.contracts as c
from dms.contracts.base import SchemaError


def _records():
    lm = tuple((float(i), float(i) / 2) for i in range(468))
    return [
        c.FrameLabel(frame_index=3, t_s=0.1, eye_openness_left=0.2, eye_openness_right=0.9, eyes_closed=False,
                     mouth_openness=0.7, yawn=True, gaze_zone=c.GazeZone.CLUSTER, hand_left=c.HandState.TEXTING,
                     landmarks_px=lm, landmarks_visible=tuple([True] * 468), face_box_xyxy_px=(1.0, 2.0, 3.0, 4.0),
                     accessories=("glasses",), events=("yawn",)),
        c.Event(type="microsleep", start_s=1.0, end_s=2.5, target=""),
        c.CropLabel(file="eye/000001.png", kind="eye", crop="eye_left", modality="nir", side="left",
                    eye_openness=0.1, eye_closed=True),
        c.Perception(t_ns=10, head_pose=c.HeadPose(1.0, 2.0, 3.0), eye_openness_left=0.5, gaze_zone=c.GazeZone.ROAD),
        c.VehicleSignals(t_ns=5, speed_kph=88.5),
        c.DriverState(t_ns=7, valid=False, fault=c.FaultCode.SUNGLASSES_OPAQUE,
                      active_alerts=(c.AlertType.SLEEP, c.AlertType.HANDS_OFF), alert_level=c.AlertLevel.CRITICAL),
        c.Alert(t_ns=9, type=c.AlertType.MICROSLEEP, level=c.AlertLevel.WARNING, active=True, reason="closure 1.2 s"),
        c.ModelManifest(name="eye", version="1.0.0", task="eye_state",
                        inputs=(c.TensorSpec("image", (-1, 1, 32, 32)),),
                        outputs=(c.TensorSpec("openness", (-1, 1)), c.TensorSpec("closed_prob", (-1, 1))),
                        labels=("open", "closed"), preprocessing={"size": [32, 32]}),
        c.CameraInfo.from_hfov(640, 480, 50.0, name="column"),
    ]


@pytest.mark.parametrize("rec", _records(), ids=lambda r: type(r).__name__)
def test_round_trip_through_json(rec):
    text = c.dumps(rec)
    assert json.loads(text)["schema"] == rec.schema()
    back = c.loads(text)
    assert type(back) is type(rec)
    assert back == rec


def test_wrong_schema_and_newer_version_are_refused():
    d = c.Event(type="blink", start_s=0, end_s=0.2).to_dict()
    with pytest.raises(SchemaError, match="expected schema"):
        c.DriverState.from_dict(d)
    d["schema"] = "dms.event/99"
    with pytest.raises(SchemaError, match="newer"):
        c.Event.from_dict(d)
    d["schema"] = "dms.event/1"
    d["bogus"] = 1
    with pytest.raises(SchemaError, match="unknown fields"):
        c.Event.from_dict(d)
    with pytest.raises(SchemaError, match="unknown schema"):
        c.loads('{"schema": "dms.nope/1"}')


def test_frame_validates_pixel_format():
    c.Frame(image=np.zeros((4, 6), np.uint8), t_ns=1, pixel_format=c.PixelFormat.NIR8)
    c.Frame(image=np.zeros((4, 6), np.uint16), t_ns=1, pixel_format=c.PixelFormat.NIR16)
    with pytest.raises(ValueError, match="single channel"):
        c.Frame(image=np.zeros((4, 6, 3), np.uint8), t_ns=1, pixel_format=c.PixelFormat.NIR8)
    with pytest.raises(ValueError, match="uint8"):
        c.Frame(image=np.zeros((4, 6, 3), np.float32), t_ns=1, pixel_format=c.PixelFormat.BGR8)
    with pytest.raises(ValueError, match="t_ns"):
        c.Frame(image=np.zeros((4, 6, 3), np.uint8), t_ns=-5)
    f = c.Frame(image=np.zeros((4, 6, 3), np.uint8), t_ns=3, frame_id=2, source_id="cam0")
    assert (f.width, f.height) == (6, 4)
    assert "image" not in f.to_dict()


def test_label_ranges_and_event_validation():
    with pytest.raises(ValueError, match="eye_openness_left"):
        c.FrameLabel(frame_index=0, t_s=0, eye_openness_left=1.5, eye_openness_right=1, eyes_closed=False,
                     mouth_openness=0, yawn=False)
    with pytest.raises(ValueError, match="unknown event type"):
        c.Event(type="sneeze", start_s=0, end_s=1)
    with pytest.raises(ValueError, match="start_s"):
        c.Event(type="blink", start_s=2, end_s=1)


def test_alert_flags_are_stable_bits():
    s = c.DriverState(t_ns=0, valid=True, active_alerts=(c.AlertType.DISTRACTION_LONG, c.AlertType.SLEEP))
    assert s.alert_flags == (1 << 0) | (1 << list(c.AlertType).index(c.AlertType.SLEEP))


def test_perception_combines_eyes():
    p = c.Perception(t_ns=0, eye_closed_prob_left=0.2, eye_closed_prob_right=0.6)
    assert p.eye_closed_prob == pytest.approx(0.4)
    assert c.Perception(t_ns=0).eye_closed_prob is None
