"""Per-frame perception: face front end -> head pose -> crops -> the task models -> :class:`Perception`.

No temporal logic lives here (that is fusion's job); the only state is tracking (front end, head-pose initial
guess) and the last outputs of the models that run every N frames (hands; gaze and yawn on face frames, never
reused across a lost face). The gaze zone uses the fusion profile's zone map (one table, see :func:`zone_of`).
Crops come only from ``dms.data.crops.cut``, preprocessing only from ``dms.data.preprocess.preprocess`` with each
model's manifest.

Faults become a Perception with ``valid=False``: ``BAD_FRAME`` (wrong shape/dtype, non-finite, unreadable),
``NO_FACE`` (no face or score below the threshold), ``MODEL_ERROR`` (a model or the front end raised, or returned
NaN/inf). Per-stage wall latencies (milliseconds) are in ``Perception.latency_ms``.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from dms.contracts import FaultCode, Frame, GazeZone, HeadPose, Perception, PixelFormat
from dms.contracts.gaze import crop_geometry, view_rotation, view_to_camera
from dms.data.crops import CropDef, crop_transform, cut, get_crop
from dms.data.preprocess import preprocess, to_gray_u8
from dms.fusion.glance import GazeZoneMapper
from dms.runtime.config import GazeZoneConfig, PerceptionConfig
from dms.runtime.face.base import FaceFrontEnd, FaceObservation
from dms.runtime.headpose import HeadPoseEstimator, camera_matrix, compose_gaze
from dms.runtime.models import TaskModel

log = logging.getLogger(__name__)

_EYE_SIDES = ("left", "right")   # driver's own sides; crop names eye_left / eye_right


@dataclass
class PerceptionDetail:
    """What the overlay needs beyond the Perception record (not serialised)."""
    face: Optional[FaceObservation] = None
    gaze_left_deg: Optional[tuple[float, float]] = None
    gaze_right_deg: Optional[tuple[float, float]] = None


@dataclass
class PerceptionJob:
    """One frame between :meth:`Perceiver.begin` and :meth:`Perceiver.complete`."""
    frame: Frame
    track: bool
    t0: float
    base: dict
    img: Optional[np.ndarray] = None
    pf: str = "BGR8"
    lat: dict = field(default_factory=dict)
    needs_face: bool = False            # submitted to the front end, not collected yet
    faces: Optional[list] = None
    face_ms: float = 0.0
    frontend_error: Optional[Exception] = None
    ready: Optional[tuple] = None       # a result known at begin (bad frame)


def crop_for_side(model_crop: dict, side: str) -> CropDef:
    """The model's crop definition (scale, size, offset from its manifest) for the given eye side."""
    base = CropDef.from_dict(model_crop)
    ref = get_crop(f"eye_{side}")
    return CropDef(name=ref.name, anchors=ref.anchors, center_ids=ref.center_ids, scale=base.scale,
                   out_size=base.out_size, offset=base.offset, version=base.version)


def cut_fast(img: np.ndarray, lm: np.ndarray, cd: CropDef) -> np.ndarray:
    """``dms.data.crops.cut`` applied to the region of the image the crop covers (same transform, same blur
    sigma; the region has a margin of 3 blur sigmas so the result equals the full-image cut away from the frame
    border). Cutting the region avoids blurring the whole frame for every small crop."""
    (ax, ay), (bx, by) = lm[cd.anchors[0], :2], lm[cd.anchors[1], :2]
    dist = float(np.hypot(bx - ax, by - ay))
    if dist > 1e-3 and cd.out_size[0] / (cd.scale * dist) >= 0.6:
        # the crop's scale (as in crop_transform) needs no low-pass in cut(): warping the full frame costs
        # nothing extra, and cut() computes the transform once
        return cut(img, lm, cd)[0]
    M = crop_transform(lm, cd)
    scale = float(np.hypot(M[0, 0], M[0, 1]))
    if scale >= 0.6:
        return cut(img, lm, cd)[0]
    margin = 2.0 + (3.0 * 0.45 / scale if scale < 0.6 else 0.0)
    h, w = img.shape[:2]
    x0, y0, x1, y1 = _region_of(M, cd.out_size, (w, h), margin)
    if x1 - x0 < 2 or y1 - y0 < 2:      # crop entirely outside the frame: fall back to the full image
        return cut(img, lm, cd)[0]
    return cut(img[y0:y1, x0:x1], lm, cd, region_origin_px=(float(x0), float(y0)))[0]


def _region_of(M: np.ndarray, out_size, image_size, margin_px: float) -> tuple[int, int, int, int]:
    """Image-pixel bbox of a crop (like ``crop_bbox``) with the similarity transform inverted in closed form
    (``np.linalg.inv`` goes through BLAS and costs ~1 ms under thread contention)."""
    A = M[:, :2]
    det = A[0, 0] * A[1, 1] - A[0, 1] * A[1, 0]
    Ai = np.array([[A[1, 1], -A[0, 1]], [-A[1, 0], A[0, 0]]]) / det
    ow, oh = out_size
    corners = np.array([[-0.5, -0.5], [ow - 0.5, -0.5], [ow - 0.5, oh - 0.5], [-0.5, oh - 0.5]]) - M[:, 2]
    pts = corners @ Ai.T
    x0, y0 = np.floor(pts.min(axis=0) - margin_px)
    x1, y1 = np.ceil(pts.max(axis=0) + margin_px)
    w, h = image_size
    return int(max(0, x0)), int(max(0, y0)), int(min(w, x1)), int(min(h, y1))


def zone_of(yaw_deg: float, pitch_deg: float, cfg: GazeZoneConfig,
            zones: Optional[GazeZoneMapper] = None) -> GazeZone:
    """Per-frame gaze zone: the fusion profile's zone map (``zones``; default: the default profile map) around
    the camera mount's nominal road direction — the mapping fusion applies before the driver is calibrated."""
    return (zones or _DEFAULT_ZONES).zone(yaw_deg - cfg.road_yaw_deg, pitch_deg - cfg.road_pitch_deg)


_DEFAULT_ZONES = GazeZoneMapper()


def _finite(*arrays: np.ndarray) -> bool:
    return all(np.all(np.isfinite(a)) for a in arrays)


def _clip01(v) -> float:
    return float(min(1.0, max(0.0, float(v))))


def working_image(frame: Frame) -> np.ndarray:
    """The image the front end and crops use: BGR uint8 for colour frames, HxW uint8 for gray/NIR."""
    img = frame.image
    pf = PixelFormat(frame.pixel_format)
    if pf is PixelFormat.RGB8:
        return img[:, :, ::-1]
    if pf.channels == 1:
        if img.ndim == 3:
            img = img[:, :, 0]
        if img.dtype != np.uint8:
            img = to_gray_u8(img)
        return img
    return img


def landmark_eye_openness(lm: np.ndarray, side: str) -> float:
    """Eye aspect ratio (lid gap / corner distance) mapped to 0..1 with MediaPipe-typical values (open ~0.28,
    closed ~0.05). A geometric measurement, used only when no eye_state model is loaded."""
    from dms.data import crops as C
    up, lo = C.LEFT_EYE_LIDS if side == "left" else C.RIGHT_EYE_LIDS
    a, b = C.LEFT_EYE_CORNERS if side == "left" else C.RIGHT_EYE_CORNERS
    ear = float(np.linalg.norm(lm[up] - lm[lo]) / max(np.linalg.norm(lm[a] - lm[b]), 1e-6))
    return _clip01((ear - 0.05) / (0.28 - 0.05))


def landmark_mouth_openness(lm: np.ndarray) -> float:
    from dms.data import crops as C
    gap = float(np.linalg.norm(lm[C.INNER_LIPS[0]] - lm[C.INNER_LIPS[1]]))
    width = float(np.linalg.norm(lm[C.MOUTH_CORNERS[0]] - lm[C.MOUTH_CORNERS[1]]))
    return _clip01((gap / max(width, 1e-6)) / 0.8)   # full yawn: inner-lip gap ~0.8 x mouth width


class Perceiver:
    """Turns frames into Perception records. One per stream (it keeps tracking state)."""

    def __init__(self, frontend: Optional[FaceFrontEnd], models: dict[str, TaskModel],
                 cfg: Optional[PerceptionConfig] = None, zones: Optional[GazeZoneMapper] = None):
        self.frontend = frontend
        self.models = models
        self.cfg = cfg or PerceptionConfig()
        self.zones = zones or _DEFAULT_ZONES      # the fusion profile's zone map (one table, see zone_of)
        self.pose = HeadPoseEstimator() if self.cfg.head_pose else None
        self._hands_cache: Optional[tuple[float, float, float]] = None
        self._n = 0
        # LIVE (set by the Monitor from PerceptionConfig.defer_hands_live): a due hands run waits for
        # run_deferred() after the frame's result is out; its output serves the frames after it
        self.defer_hands = False
        self._hands_due: Optional[tuple[np.ndarray, str]] = None
        self._deferred_failed = False
        # gaze / yawn outputs reused on the frames between two runs (``gaze_every_n`` / ``yawn_every_n``); kept
        # only while the face is tracked without a fault
        self._face_n = 0
        self._slow_cache: dict = {}
        # the gaze model's output frame (manifest output_semantics.gaze_frame): "view" (relative to the ray through
        # the eye crop: mapped back with the crop's geometry and the intrinsics), "head" (eye-in-head: composed
        # with the head pose) or "camera" (models before 0.3: used as is)
        self._gaze_frame = (models["gaze"].manifest.output_semantics.get("gaze_frame", "camera")
                            if "gaze" in models else None)
        self._hands_failed = False
        self._warned: set[str] = set()
        self._eye_crops = {t: {s: crop_for_side(m.manifest.crop, s) for s in _EYE_SIDES}
                           for t, m in models.items() if t in ("eye_state", "gaze")}
        # per eye task: the frame cache keys of its two crops and of its input tensor. The tensor is shared by the
        # eye models that read the same crops the same way (eye_state and gaze since gaze 0.5.0: one cut and one
        # preprocess per eye and frame for both)
        self._eye_keys: dict[str, tuple[tuple, tuple]] = {}
        for t, crops in self._eye_crops.items():
            keys = tuple((cd.name, cd.scale, cd.out_size, cd.offset) for cd in (crops[s] for s in _EYE_SIDES))
            self._eye_keys[t] = (keys, ("input", keys, models[t].mirror_side,
                                        repr(sorted(models[t].preprocessing.items()))))
        self._mouth_crop = CropDef.from_dict(models["yawn"].manifest.crop) if "yawn" in models else None

    def reset(self, frontend: bool = True) -> None:
        if frontend and self.frontend is not None:
            self.frontend.reset()
        if self.pose is not None:
            self.pose.reset()
        self._hands_cache = None
        self._hands_due = None
        self._slow_cache = {}

    def _warn_once(self, key: str, msg: str, *args) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning(msg, *args)

    # ---------------------------------------------------------------- stages
    def _eye_task(self, task: str, img: np.ndarray, lm: np.ndarray, pf: str, crops_cache: dict) -> dict:
        """Run eye_state or gaze on both eyes (one batch). Returns {side: output row dict}."""
        m = self.models[task]
        keys, xkey = self._eye_keys[task]
        x = crops_cache.get(xkey)
        if x is None:
            batch = []
            for side, key in zip(_EYE_SIDES, keys):
                if key not in crops_cache:
                    crops_cache[key] = cut_fast(img, lm, self._eye_crops[task][side])
                c = crops_cache[key]
                if m.mirror_side == side:
                    c = c[:, ::-1]
                batch.append(c)
            x = crops_cache[xkey] = preprocess(batch, m.preprocessing, pf)
        if self.cfg.eye_batch:
            out = m.run(x)
        else:
            parts = [m.run(x[i:i + 1]) for i in range(len(batch))]
            out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        return {side: {k: v[i] for k, v in out.items()} for i, side in enumerate(_EYE_SIDES)}

    def _hands(self, img: np.ndarray, pf: str) -> tuple[float, float, float]:
        m = self.models["hands"]
        size = m.preprocessing["size"]
        src, src_pf = img, pf
        if self.cfg.hands_prescale and (img.shape[1] > size[0] * 2 or img.shape[0] > size[1] * 2):
            import cv2
            if int(m.preprocessing.get("channels", 1)) == 1 and img.ndim == 3 and pf == "BGR8":
                # gray first (what preprocess does first; OpenCV's fixed-point BT.601 = to_gray_u8 up to 1 LSB on
                # 0.1 % of colours), then one area downscale of one channel instead of three: 1.5x cheaper
                src, src_pf = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), "GRAY8"
            src = cv2.resize(src, (int(size[0]), int(size[1])), interpolation=cv2.INTER_AREA)
        out = m.run(preprocess([src], m.preprocessing, src_pf))
        wheel, phone = out["on_wheel_prob"][0], out["phone_prob"][0]
        if not _finite(wheel, phone):
            raise FloatingPointError("hands model returned non-finite values")
        return float(wheel[0]), float(wheel[1]), float(phone[0])

    # ---------------------------------------------------------------- main
    def perceive(self, frame: Frame, track: bool = True) -> tuple[Perception, PerceptionDetail]:
        """One frame, start to end: ``complete(begin(frame))``. The face front end may run in its own threads
        (MediaPipe's graph): the frame-level hands model runs meanwhile."""
        return self.complete(self.begin(frame, track))

    def begin(self, frame: Frame, track: bool = True) -> "PerceptionJob":
        """Validate the frame and hand it to the face front end (which may start working in its own threads).
        Pipelined use (:class:`dms.runtime.monitor.Monitor` with ``pipelined=True``): ``collect`` the previous
        job, ``begin`` the next frame, then ``complete`` the previous job while the front end works on the next
        frame. Jobs must be collected and completed in the order they were begun; the results are the same as
        :meth:`perceive` frame by frame."""
        job = PerceptionJob(frame=frame, track=track, t0=time.perf_counter(),
                            base=dict(t_ns=int(frame.t_ns), frame_id=int(frame.frame_id)))
        try:
            frame.validate()
            img = working_image(frame)
            if img.size == 0:
                raise ValueError("empty image")
        except (ValueError, TypeError, AttributeError) as e:
            self._warn_once(f"bad:{e}", "bad frame %s: %s (reported as BAD_FRAME)", frame.frame_id, e)
            job.ready = (Perception(**job.base, valid=False, fault=FaultCode.BAD_FRAME,
                                    latency_ms={"total": (time.perf_counter() - job.t0) * 1e3}), PerceptionDetail())
            return job
        pf = "BGR8" if img.ndim == 3 else PixelFormat(frame.pixel_format).value
        job.img, job.pf = img, {"NIR16": "NIR8", "GRAY16": "GRAY8"}.get(pf, pf)
        if self.frontend is None:
            return job
        ts = time.perf_counter()
        try:
            self.frontend.submit(img, int(frame.t_ns) if track else None)
            job.needs_face = True
        except Exception as e:  # noqa: BLE001 — a front-end failure is a fault, not a crash
            self._frontend_failed(job, e)
        job.face_ms = (time.perf_counter() - ts) * 1e3
        return job

    def collect(self, job: "PerceptionJob") -> None:
        """Wait for the face front end's result of ``job`` (no-op for a job that needs none)."""
        if not job.needs_face:
            return
        job.needs_face = False
        ts = time.perf_counter()
        try:
            job.faces = self.frontend.collect()
        except Exception as e:  # noqa: BLE001 — a front-end failure is a fault, not a crash
            self._frontend_failed(job, e)
        job.face_ms += (time.perf_counter() - ts) * 1e3

    def _frontend_failed(self, job: "PerceptionJob", e: Exception) -> None:
        # the front end restarts right away (before the next frame is submitted); the rest of the tracking state
        # is reset when the job completes, so pipelined and frame-by-frame runs change state in the same order
        self._warn_once("frontend", "face front end failed: %s (reported as MODEL_ERROR)", e)
        job.frontend_error = e
        job.needs_face = False
        try:
            self.frontend.reset()
        except Exception as e2:  # noqa: BLE001
            log.warning("face front end reset failed: %s", e2)

    def complete(self, job: "PerceptionJob") -> tuple[Perception, PerceptionDetail]:
        """The rest of the frame: the frame-level hands model (while the front end still works on this frame when
        it was not collected yet), the face result, head pose, crops, models."""
        if job.ready is not None:
            return job.ready
        frame, img, pf, base, t0, lat, track = job.frame, job.img, job.pf, job.base, job.t0, job.lat, job.track
        h, w = img.shape[:2]
        detail = PerceptionDetail()
        if self.frontend is None:
            return self._no_face_models(frame, img, pf, base, t0, lat, detail)
        hands_vals = self._maybe_hands(img, pf, lat)
        self.collect(job)
        if job.frontend_error is not None:
            self.reset(frontend=False)
            return Perception(**base, valid=False, fault=FaultCode.MODEL_ERROR,
                              latency_ms={"face": job.face_ms, "total": (time.perf_counter() - t0) * 1e3}), detail
        lat["face"] = job.face_ms
        faces = job.faces
        face = faces[0] if faces else None
        hands_kw = self._hands_kw(hands_vals)
        if face is None or face.score < self.cfg.min_face_score or not _finite(face.landmarks_px):
            self._slow_cache = {}
            if self.pose is not None:
                self.pose.reset()
            lat["total"] = (time.perf_counter() - t0) * 1e3
            return Perception(**base, valid=False, fault=FaultCode.NO_FACE, face_found=False,
                              face_confidence=float(face.score) if face is not None else 0.0,
                              latency_ms=lat, **hands_kw), detail
        detail.face = face
        lm = face.landmarks_px

        head: Optional[HeadPose] = None
        if self.pose is not None:
            ts = time.perf_counter()
            head = self.pose.estimate(lm, w, h, frame.camera, track=track)
            lat["pose"] = (time.perf_counter() - ts) * 1e3

        fields: dict = {}
        fault = FaultCode.OK
        crops_cache: dict = {}
        self._face_n += 1
        if not track:
            self._slow_cache = {}
        try:
            if "eye_state" in self.models:
                ts = time.perf_counter()
                r = self._eye_task("eye_state", img, lm, pf, crops_cache)
                lat["eye_state"] = (time.perf_counter() - ts) * 1e3
                vals = [r[s]["openness"] for s in _EYE_SIDES] + [r[s]["closed_prob"] for s in _EYE_SIDES]
                if not _finite(*vals):
                    raise FloatingPointError("eye_state model returned non-finite values")
                for s in _EYE_SIDES:
                    fields[f"eye_openness_{s}"] = _clip01(r[s]["openness"][0])
                    fields[f"eye_closed_prob_{s}"] = _clip01(r[s]["closed_prob"][0])
            elif self.cfg.use_landmark_fallback:
                for s in _EYE_SIDES:
                    fields[f"eye_openness_{s}"] = landmark_eye_openness(lm, s)
            if "gaze" in self.models:
                if self._reuse("gaze", self.cfg.gaze_every_n):
                    model_eye = self._slow_cache["gaze"]        # the model's per-eye output of the last run
                else:
                    ts = time.perf_counter()
                    r = self._eye_task("gaze", img, lm, pf, crops_cache)
                    lat["gaze"] = (time.perf_counter() - ts) * 1e3
                    model_eye = {}
                    for s in _EYE_SIDES:
                        g = np.asarray(r[s]["gaze_deg"], dtype=np.float64)
                        if not _finite(g):
                            raise FloatingPointError("gaze model returned non-finite values")
                        yaw, pitch = float(g[0]), float(g[1])
                        if self.models["gaze"].mirror_side == s:
                            yaw = -yaw
                        model_eye[s] = (yaw, pitch)
                    self._slow_cache["gaze"] = model_eye
                # to the camera frame with this frame's geometry (the model output may be from an earlier frame)
                if self._gaze_frame == "view":
                    K = camera_matrix(w, h, frame.camera)[0]
                    per_eye = {}
                    for s in _EYE_SIDES:
                        cd = self._eye_crops["gaze"][s]
                        ctr, roll = crop_geometry(crop_transform(lm, cd), cd.out_size)
                        per_eye[s] = view_to_camera(*model_eye[s], view_rotation(ctr, K, roll))
                elif self._gaze_frame == "head" and head is not None:
                    per_eye = {s: compose_gaze(head, *model_eye[s]) for s in _EYE_SIDES}
                else:
                    per_eye = model_eye
                detail.gaze_left_deg, detail.gaze_right_deg = per_eye["left"], per_eye["right"]
                fields["gaze_yaw_deg"] = (per_eye["left"][0] + per_eye["right"][0]) / 2
                fields["gaze_pitch_deg"] = (per_eye["left"][1] + per_eye["right"][1]) / 2
            if "yawn" in self.models and self._reuse("yawn", self.cfg.yawn_every_n):
                fields.update(self._slow_cache["yawn"][0])
            elif "yawn" in self.models:
                ts = time.perf_counter()
                m = self.models["yawn"]
                c = cut_fast(img, lm, self._mouth_crop)
                out = m.run(preprocess([c], m.preprocessing, pf))
                lat["yawn"] = (time.perf_counter() - ts) * 1e3
                mo, yp = out["mouth_openness"][0], out["yawn_prob"][0]
                if not _finite(mo, yp):
                    raise FloatingPointError("yawn model returned non-finite values")
                fields["mouth_openness"] = _clip01(mo[0])
                fields["yawn_prob"] = _clip01(yp[0])
                self._slow_cache["yawn"] = ({"mouth_openness": fields["mouth_openness"],
                                             "yawn_prob": fields["yawn_prob"]}, None)
            elif self.cfg.use_landmark_fallback:
                fields["mouth_openness"] = landmark_mouth_openness(lm)
        except FloatingPointError as e:
            self._warn_once(f"nan:{e}", "%s (reported as MODEL_ERROR)", e)
            fault = FaultCode.MODEL_ERROR
            fields = {}
            self._slow_cache = {}
        except Exception as e:  # noqa: BLE001 — onnxruntime/crop failures are faults, not crashes
            self._warn_once(f"model:{type(e).__name__}", "perception failed: %s (reported as MODEL_ERROR)", e)
            fault = FaultCode.MODEL_ERROR
            fields = {}
            self._slow_cache = {}

        if self._hands_failed:
            fault = FaultCode.MODEL_ERROR
        eyes_closed = all(fields.get(f"eye_closed_prob_{s}", 0.0) >= 0.5 for s in _EYE_SIDES)
        if eyes_closed and fields.get("gaze_yaw_deg") is not None:
            # closed eyes have no gaze: an eye closure is drowsiness evidence, not a glance away (the gaze net's
            # output for a hidden iris is a guess; composed with a nodding head it would read as "looking down")
            fields["gaze_yaw_deg"] = fields["gaze_pitch_deg"] = None
            detail.gaze_left_deg = detail.gaze_right_deg = None
            zone = GazeZone.UNKNOWN
        elif fields.get("gaze_yaw_deg") is not None:
            zone = zone_of(fields["gaze_yaw_deg"], fields["gaze_pitch_deg"], self.cfg.gaze, self.zones)
        elif head is not None:
            zone = zone_of(head.yaw_deg, head.pitch_deg, self.cfg.gaze, self.zones)
        else:
            zone = GazeZone.UNKNOWN
        lat["total"] = (time.perf_counter() - t0) * 1e3
        x0, y0, x1, y1 = face.box_xyxy_px
        return Perception(**base, valid=fault is FaultCode.OK, fault=fault, face_found=True,
                          face_confidence=float(face.score), face_box_xyxy_px=(float(x0), float(y0), float(x1), float(y1)),
                          head_pose=head, gaze_zone=zone if fault is FaultCode.OK else GazeZone.UNKNOWN,
                          latency_ms=lat, **fields, **hands_kw), detail

    def _reuse(self, task: str, every_n: int) -> bool:
        """True on the frames where ``task`` is not run and its last output (same tracked face) is reused."""
        return every_n > 1 and task in self._slow_cache and (self._face_n - 1) % every_n != 0

    def _maybe_hands(self, img: np.ndarray, pf: str, lat: dict) -> Optional[tuple[float, float, float]]:
        # a deferred run that failed is reported on the frame after it
        self._hands_failed, self._deferred_failed = self._deferred_failed, False
        if "hands" not in self.models:
            return None
        self._n += 1
        if self._hands_cache is not None and (self._n - 1) % self.cfg.hands_every_n != 0:
            return self._hands_cache
        if self.defer_hands:
            if self._hands_due is None:
                self._hands_due = (img, pf)   # run_deferred(), once this frame's result is out
                return self._hands_cache
            self._hands_due = None            # the last one never found idle time (frames queue up): run it now
        ts = time.perf_counter()
        if not self._run_hands(img, pf):
            self._hands_failed = True
        lat["hands"] = (time.perf_counter() - ts) * 1e3
        return self._hands_cache

    def _run_hands(self, img: np.ndarray, pf: str) -> bool:
        try:
            self._hands_cache = self._hands(img, pf)
            return True
        except Exception as e:  # noqa: BLE001 — reported as MODEL_ERROR by the caller
            self._warn_once(f"hands:{type(e).__name__}", "hands model failed: %s (reported as MODEL_ERROR)", e)
            self._hands_cache = None
            return False

    def run_deferred(self) -> Optional[float]:
        """The work ``defer_hands`` left for idle time: the hands model on the last frame it was due on. Its output
        (or its failure, as MODEL_ERROR) reaches the next frame's Perception. Returns the milliseconds it took, or
        None when nothing was due."""
        due, self._hands_due = self._hands_due, None
        if due is None:
            return None
        ts = time.perf_counter()
        if not self._run_hands(*due):
            self._deferred_failed = True
        return (time.perf_counter() - ts) * 1e3

    @staticmethod
    def _hands_kw(vals: Optional[tuple[float, float, float]]) -> dict:
        if vals is None:
            return {}
        return dict(hands_on_wheel_prob_left=_clip01(vals[0]), hands_on_wheel_prob_right=_clip01(vals[1]),
                    phone_prob=_clip01(vals[2]))

    def _no_face_models(self, frame, img, pf, base, t0, lat, detail):
        """No face front end (hands-only deployments): only frame-level models run; face signals unavailable."""
        hands_kw = self._hands_kw(self._maybe_hands(img, pf, lat))
        lat["total"] = (time.perf_counter() - t0) * 1e3
        fault = FaultCode.MODEL_ERROR if self._hands_failed else FaultCode.NO_FACE
        return Perception(**base, valid=False, fault=fault, latency_ms=lat, **hands_kw), detail

