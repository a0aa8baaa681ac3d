"""ONNX face front end: MediaPipe's face detector + attention face mesh in onnxruntime, without mediapipe.

Runs the networks converted from the mediapipe 0.10.21 wheel by ``tools/convert_face_models.py``
(``models/face/face_detection_short_range.onnx`` and ``face_landmark_with_attention.onnx``, verified against
``models/face/manifest.json`` sha256s before use) and re-implements the surrounding MediaPipe graph in
numpy/OpenCV, following ``face_landmark_front_cpu``:

* detector: 128x128 letterboxed RGB in [-1, 1]; 896 SSD anchors (strides 8/16/16/16, fixed size); box + 6
  keypoint decoding; sigmoid scores >= ``min_detection_confidence``; weighted NMS (IoU 0.3);
* ROI from a detection: square on the long box side x1.5, rotated so the eye keypoints (0, 1) are horizontal;
* landmarks: rotated 192x192 crop (border replicate, RGB in [0, 1]), the attention model gives 468 mesh points
  refined by its lips / eye / iris heads -> 478 points (468 + 10 iris); face presence = sigmoid(face flag);
* tracking (``t_ns`` given): the landmarks of the previous frame define the next ROI (bbox of all landmarks,
  square x1.5, rotation from points 33 -> 263); the detector runs only while fewer than ``max_faces`` faces are
  tracked, and a face is dropped when its presence score falls below ``min_tracking_confidence``. New detections
  overlapping a tracked ROI (IoU > 0.5) are ignored, as in MediaPipe's association step.

Coordinates follow MediaPipe's ImageToTensor convention (crop corners map to tensor corners, pixel ``i`` of the
tensor sits at ``i / size`` of the ROI), so both front ends produce the same pixels for the same ROI.

May import: numpy, OpenCV, onnxruntime, dms.errors, dms.runtime.face.base. Never mediapipe, torch or onnx.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from dms.errors import ModelError
from dms.runtime.face.base import FaceFrontEnd, FaceObservation

log = logging.getLogger(__name__)

DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[3] / "models" / "face"
MANIFEST_SCHEMA = "dms.face_models/1"
DETECTOR_NAME = "face_detection_short_range"
LANDMARK_NAMES = ("face_landmark_with_attention", "face_landmark")

DET_SIZE = 128
LM_SIZE = 192
NUM_MESH = 468

# LandmarksRefinementCalculator index maps of face_landmark_with_attention (mediapipe
# tensors_to_face_landmarks_with_attention.pbtxt): the refined heads overwrite x, y of these mesh points.
LIPS_IDX = np.array([
    61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 185, 40, 39, 37, 0, 267, 269, 270, 409,
    78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 191, 80, 81, 82, 13, 312, 311, 310, 415,
    76, 77, 90, 180, 85, 16, 315, 404, 320, 307, 306, 184, 74, 73, 72, 11, 302, 303, 304, 408,
    62, 96, 89, 179, 86, 15, 316, 403, 319, 325, 292, 183, 42, 41, 38, 12, 268, 271, 272, 407])
LEFT_EYE_IDX = np.array([
    33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173,
    130, 25, 110, 24, 23, 22, 26, 112, 243, 247, 30, 29, 27, 28, 56, 190,
    226, 31, 228, 229, 230, 231, 232, 233, 244, 113, 225, 224, 223, 222, 221, 189,
    35, 124, 46, 53, 52, 65, 143, 111, 117, 118, 119, 120, 121, 128, 245, 156, 70, 63, 105, 66, 107, 55, 193])
RIGHT_EYE_IDX = np.array([
    263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398,
    359, 255, 339, 254, 253, 252, 256, 341, 463, 467, 260, 259, 257, 258, 286, 414,
    446, 261, 448, 449, 450, 451, 452, 453, 464, 342, 445, 444, 443, 442, 441, 413,
    265, 353, 276, 283, 282, 295, 372, 340, 346, 347, 348, 349, 350, 357, 465, 383, 300, 293, 334, 296, 336, 285,
    417])
LEFT_EYE_CONTOUR = LEFT_EYE_IDX[:16]  # iris z := mean z of the eye contour
RIGHT_EYE_CONTOUR = RIGHT_EYE_IDX[:16]
ROT_START, ROT_END = 33, 263  # landmarks -> ROI rotation (outer eye corners)


@dataclass(frozen=True)
class Roi:
    """A square, rotated region in image pixels (MediaPipe NormalizedRect made square in pixels)."""
    cx: float
    cy: float
    size: float
    rotation_rad: float = 0.0

    def crop_to_image(self, out_size: int) -> np.ndarray:
        """2x3 affine mapping tensor pixel (x, y) of an ``out_size`` crop to image pixels."""
        c, s = math.cos(self.rotation_rad), math.sin(self.rotation_rad)
        k = self.size / out_size
        return np.array([[k * c, -k * s, self.cx - 0.5 * self.size * (c - s)],
                         [k * s, k * c, self.cy - 0.5 * self.size * (s + c)]], np.float64)

    def corners(self) -> np.ndarray:
        m = self.crop_to_image(1)
        pts = np.array([[0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1]], np.float64)
        return pts @ m.T

    def iou(self, other: "Roi") -> float:
        """Intersection over union of the two rotated squares (OpenCV rotated-rect intersection)."""
        import cv2
        a = ((self.cx, self.cy), (self.size, self.size), math.degrees(self.rotation_rad))
        b = ((other.cx, other.cy), (other.size, other.size), math.degrees(other.rotation_rad))
        kind, pts = cv2.rotatedRectangleIntersection(a, b)
        if kind == cv2.INTERSECT_NONE or pts is None:
            return 0.0
        inter = float(cv2.contourArea(cv2.convexHull(pts)))
        union = self.size ** 2 + other.size ** 2 - inter
        return inter / union if union > 0 else 0.0


@dataclass
class Detection:
    """One decoded detector output in image pixels."""
    box_xyxy: np.ndarray  # (4,)
    keypoints: np.ndarray  # (6, 2): right eye, left eye, nose tip, mouth, right ear tragion, left ear tragion
    score: float


# ------------------------------------------------------------------------------------------------------------
# pure helpers (numpy only; unit-testable)
# ------------------------------------------------------------------------------------------------------------
def ssd_anchors(input_size: int = DET_SIZE, strides: Sequence[int] = (8, 16, 16, 16)) -> np.ndarray:
    """Anchor centres (N, 2) in [0, 1] of MediaPipe's SsdAnchorsCalculator for the short-range face detector
    (fixed_anchor_size, aspect ratio 1 + interpolated scale: 2 anchors per layer and location; consecutive layers
    with the same stride share their grid)."""
    out = []
    i = 0
    while i < len(strides):
        j = i
        while j < len(strides) and strides[j] == strides[i]:
            j += 1
        n_per_loc = 2 * (j - i)
        grid = -(-input_size // strides[i])
        ys, xs = np.meshgrid((np.arange(grid) + 0.5) / grid, (np.arange(grid) + 0.5) / grid, indexing="ij")
        centres = np.stack([xs.ravel(), ys.ravel()], 1)
        out.append(np.repeat(centres, n_per_loc, axis=0))
        i = j
    return np.concatenate(out).astype(np.float32)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -100.0, 100.0)))


def decode_detections(regressors: np.ndarray, logits: np.ndarray, anchors: np.ndarray, min_score: float,
                      input_size: int = DET_SIZE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode raw detector outputs -> (boxes (K,4) xyxy, keypoints (K,6,2), scores (K,)) in tensor-normalised
    coordinates for the anchors whose sigmoid score >= ``min_score``."""
    scores = sigmoid(logits.reshape(-1).astype(np.float64))
    keep = np.nonzero(scores >= min_score)[0]
    if keep.size == 0:
        return np.zeros((0, 4)), np.zeros((0, 6, 2)), np.zeros((0,))
    r = regressors.reshape(-1, 16)[keep].astype(np.float64) / input_size
    a = anchors[keep].astype(np.float64)
    cx, cy = r[:, 0] + a[:, 0], r[:, 1] + a[:, 1]
    w, h = r[:, 2], r[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)
    kps = r[:, 4:16].reshape(-1, 6, 2) + a[:, None, :]
    return boxes, kps, scores[keep]


def _iou_xyxy(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    ix0 = np.maximum(box[0], boxes[:, 0])
    iy0 = np.maximum(box[1], boxes[:, 1])
    ix1 = np.minimum(box[2], boxes[:, 2])
    iy1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(ix1 - ix0, 0, None) * np.clip(iy1 - iy0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def weighted_nms(boxes: np.ndarray, kps: np.ndarray, scores: np.ndarray, iou_threshold: float = 0.3
                 ) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """MediaPipe's WEIGHTED non-max suppression: the best remaining detection absorbs every remaining one with
    IoU > threshold; box and keypoints are the score-weighted mean of the cluster, the score that of the best."""
    order = np.argsort(-scores, kind="stable")
    remaining = order
    out = []
    while remaining.size:
        top = remaining[0]
        ious = _iou_xyxy(boxes[top], boxes[remaining])
        cluster = remaining[ious > iou_threshold]
        if cluster.size == 0:  # degenerate (zero-area) box: keep it alone
            cluster = remaining[:1]
        w = scores[cluster][:, None]
        box = (boxes[cluster] * w).sum(0) / w.sum()
        kp = (kps[cluster] * w[:, :, None]).sum(0) / w.sum()
        out.append((box, kp, float(scores[top])))
        remaining = remaining[~np.isin(remaining, cluster)]
    return out


def _normalize_radians(a: float) -> float:
    return a - 2 * math.pi * math.floor((a + math.pi) / (2 * math.pi))


def roi_from_box_and_axis(box_xyxy: Sequence[float], p_start: Sequence[float], p_end: Sequence[float],
                          scale: float = 1.5) -> Roi:
    """DetectionsToRects (rotation from p_start -> p_end, target 0) + RectTransformation(square_long, scale)."""
    x0, y0, x1, y1 = (float(v) for v in box_xyxy)
    rotation = _normalize_radians(-math.atan2(-(p_end[1] - p_start[1]), p_end[0] - p_start[0]))
    side = max(x1 - x0, y1 - y0) * scale
    return Roi((x0 + x1) / 2, (y0 + y1) / 2, side, rotation)


def roi_from_landmarks(landmarks_px: np.ndarray, scale: float = 1.5) -> Roi:
    lo, hi = landmarks_px[:, :2].min(0), landmarks_px[:, :2].max(0)
    return roi_from_box_and_axis((lo[0], lo[1], hi[0], hi[1]), landmarks_px[ROT_START], landmarks_px[ROT_END], scale)


def refine_attention_landmarks(mesh: np.ndarray, lips: np.ndarray, left_eye: np.ndarray, right_eye: np.ndarray,
                               left_iris: np.ndarray, right_iris: np.ndarray) -> np.ndarray:
    """(468,3) mesh + refined heads -> (478,3) landmarks in crop pixels (MediaPipe LandmarksRefinementCalculator)."""
    out = np.zeros((NUM_MESH + 10, 3), np.float32)
    out[:NUM_MESH] = mesh
    out[LIPS_IDX, :2] = lips
    out[LEFT_EYE_IDX, :2] = left_eye
    out[RIGHT_EYE_IDX, :2] = right_eye
    out[NUM_MESH:NUM_MESH + 5, :2] = left_iris
    out[NUM_MESH:NUM_MESH + 5, 2] = out[LEFT_EYE_CONTOUR, 2].mean()
    out[NUM_MESH + 5:, :2] = right_iris
    out[NUM_MESH + 5:, 2] = out[RIGHT_EYE_CONTOUR, 2].mean()
    return out


# ------------------------------------------------------------------------------------------------------------
# model loading
# ------------------------------------------------------------------------------------------------------------
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_face_manifest(model_dir: Path) -> dict:
    path = Path(model_dir) / "manifest.json"
    if not path.is_file():
        raise ModelError(f"face model manifest missing: {path} (run tools/convert_face_models.py)")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ModelError(f"unreadable face model manifest {path}: {e}") from e
    if manifest.get("schema") != MANIFEST_SCHEMA:
        raise ModelError(f"{path}: schema {manifest.get('schema')!r}, expected {MANIFEST_SCHEMA!r}")
    return manifest


def _session(model_dir: Path, manifest: dict, name: str, threads: int):
    import onnxruntime as ort
    entry = manifest.get("models", {}).get(name)
    if entry is None:
        raise ModelError(f"face model {name!r} not listed in {model_dir / 'manifest.json'}")
    path = Path(model_dir) / entry["file"]
    if not path.is_file():
        raise ModelError(f"face model file missing: {path}")
    digest = _sha256(path)
    if digest != entry["sha256"]:
        raise ModelError(f"face model {path} sha256 {digest[:12]}… does not match the manifest "
                         f"({entry['sha256'][:12]}…): corrupt or tampered")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = int(threads)
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    try:
        sess = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own exception types
        raise ModelError(f"cannot load face model {path}: {e}") from e
    got_out = [o.name for o in sess.get_outputs()]
    if got_out != list(entry["outputs"]):
        raise ModelError(f"{path}: outputs {got_out} do not match the manifest {entry['outputs']}")
    return sess


# ------------------------------------------------------------------------------------------------------------
# the front end
# ------------------------------------------------------------------------------------------------------------
class OnnxFrontEnd(FaceFrontEnd):
    """MediaPipe-equivalent face detection + 478-point face mesh in onnxruntime (see module docstring)."""
    name = "onnx"

    def __init__(self, max_faces: int = 1, refine_landmarks: bool = True, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5, rgb_input: bool = False,
                 model_dir: Optional[str | Path] = None, intra_op_num_threads: int = 1,
                 nms_iou_threshold: float = 0.3, association_iou_threshold: float = 0.5, background: bool = True):
        import cv2  # noqa: F401  (fail early if OpenCV is missing)
        if max_faces < 1:
            raise ValueError("max_faces must be >= 1")
        self.max_faces = int(max_faces)
        self.refine_landmarks = bool(refine_landmarks)
        self.min_detection_confidence = float(min_detection_confidence)
        self.min_tracking_confidence = float(min_tracking_confidence)
        self.rgb_input = bool(rgb_input)
        self.nms_iou_threshold = float(nms_iou_threshold)
        self.association_iou_threshold = float(association_iou_threshold)
        self.model_dir = Path(model_dir) if model_dir is not None else DEFAULT_MODEL_DIR
        manifest = load_face_manifest(self.model_dir)
        self._det = _session(self.model_dir, manifest, DETECTOR_NAME, intra_op_num_threads)
        lm_name = next((n for n in LANDMARK_NAMES if n in manifest.get("models", {})), None)
        if lm_name is None:
            raise ModelError(f"no face landmark model in {self.model_dir / 'manifest.json'} "
                             f"(expected one of {LANDMARK_NAMES})")
        self.landmark_model = lm_name
        self._lm = _session(self.model_dir, manifest, lm_name, intra_op_num_threads)
        self._with_attention = lm_name == "face_landmark_with_attention"
        self._det_in = self._det.get_inputs()[0].name
        self._lm_in = self._lm.get_inputs()[0].name
        self._anchors = ssd_anchors()
        if self._det.get_outputs()[0].shape[1] != len(self._anchors):
            raise ModelError("detector output count does not match the SSD anchors")
        self._tracked: list[Roi] = []
        self._last_t_ns: Optional[int] = None
        self.stats = {"detector_runs": 0, "landmark_runs": 0}
        # background=True: submit() runs process() on one helper thread (onnxruntime and OpenCV release the GIL),
        # so the caller's frame-level work - or, pipelined, the previous frame's models - overlaps it like
        # MediaPipe's own graph threads
        self.background = bool(background)
        self._pool = None
        self._future = None

    # -- stages -------------------------------------------------------------------------------------------
    def _to_rgb(self, image: np.ndarray) -> np.ndarray:
        import cv2
        img = image
        if img.dtype == np.uint16:
            img = (img >> 8).astype(np.uint8)
        if img.dtype != np.uint8:
            raise ValueError(f"expected a uint8 image, got {img.dtype}")
        if img.ndim == 3 and img.shape[2] == 1:
            img = img[:, :, 0]
        if img.ndim == 2:
            return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
        if img.ndim != 3 or img.shape[2] not in (3, 4):
            raise ValueError(f"expected HxW or HxWx3 image, got shape {img.shape}")
        if img.shape[2] == 4:
            return cv2.cvtColor(img, cv2.COLOR_RGBA2RGB if self.rgb_input else cv2.COLOR_BGRA2RGB)
        return np.ascontiguousarray(img) if self.rgb_input else cv2.cvtColor(img, cv2.COLOR_BGR2RGB)

    @staticmethod
    def _warp(rgb: np.ndarray, roi: Roi, size: int, border_replicate: bool) -> np.ndarray:
        import cv2
        m = roi.crop_to_image(size)
        border = cv2.BORDER_REPLICATE if border_replicate else cv2.BORDER_CONSTANT
        return cv2.warpAffine(rgb, m, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=border, borderValue=(0, 0, 0))

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        """Run the detector on the whole (letterboxed) image; detections in image pixels, best first."""
        h, w = rgb.shape[:2]
        letterbox = Roi(w / 2.0, h / 2.0, float(max(w, h)), 0.0)
        tensor = self._warp(rgb, letterbox, DET_SIZE, border_replicate=False)
        x = (tensor.astype(np.float32) * (2.0 / 255.0) - 1.0)[None]
        regressors, logits = self._det.run(None, {self._det_in: x})
        self.stats["detector_runs"] += 1
        boxes, kps, scores = decode_detections(regressors[0], logits[0], self._anchors,
                                               self.min_detection_confidence)
        m = letterbox.crop_to_image(1)  # tensor-normalised -> image pixels
        out = []
        for box, kp, score in weighted_nms(boxes, kps, scores, self.nms_iou_threshold):
            corners = np.array([[box[0], box[1], 1.0], [box[2], box[3], 1.0]]) @ m.T
            kp_px = np.c_[kp, np.ones(len(kp))] @ m.T
            out.append(Detection(corners.reshape(-1), kp_px, score))
        return out

    def landmarks(self, rgb: np.ndarray, roi: Roi) -> tuple[np.ndarray, float]:
        """Run the landmark model on a ROI -> ((N, 3) landmarks: x, y in image pixels, z in pixel-like units;
        face presence score). N = 478 with the attention model."""
        crop = self._warp(rgb, roi, LM_SIZE, border_replicate=True)
        x = (crop.astype(np.float32) * (1.0 / 255.0))[None]
        outs = self._lm.run(None, {self._lm_in: x})
        self.stats["landmark_runs"] += 1
        mesh = outs[0].reshape(NUM_MESH, 3)
        if self._with_attention:
            lm = refine_attention_landmarks(mesh, outs[1].reshape(-1, 2), outs[2].reshape(-1, 2),
                                            outs[3].reshape(-1, 2), outs[4].reshape(-1, 2), outs[5].reshape(-1, 2))
            flag = outs[6]
        else:
            lm = mesh.astype(np.float32)
            flag = outs[1]
        score = float(sigmoid(np.float64(flag.reshape(-1)[0])))
        m = roi.crop_to_image(LM_SIZE)
        xy = np.c_[lm[:, :2].astype(np.float64), np.ones(len(lm))] @ m.T
        z = lm[:, 2].astype(np.float64) * (roi.size / LM_SIZE)
        return np.c_[xy, z].astype(np.float32), score

    # -- FaceFrontEnd ---------------------------------------------------------------------------------------
    def process(self, image: np.ndarray, t_ns: Optional[int] = None) -> list[FaceObservation]:
        rgb = self._to_rgb(image)
        tracking = t_ns is not None
        if tracking and self._last_t_ns is not None and t_ns <= self._last_t_ns:
            log.debug("non-increasing t_ns %s <= %s: resetting tracking", t_ns, self._last_t_ns)
            self.reset()
        prev = list(self._tracked) if tracking else []
        rois: list[Roi] = list(prev)
        if len(prev) < self.max_faces:
            dets = self.detect(rgb)[: self.max_faces]
            for d in dets:
                roi = roi_from_box_and_axis(d.box_xyxy, d.keypoints[0], d.keypoints[1])
                # AssociationNormRectCalculator: a tracked ROI wins over a detection of the same face
                if all(roi.iou(p) <= self.association_iou_threshold for p in prev):
                    rois.append(roi)
        faces: list[FaceObservation] = []
        next_rois: list[Roi] = []
        for roi in rois:
            lm, score = self.landmarks(rgb, roi)
            if score < self.min_tracking_confidence:
                continue
            if not self.refine_landmarks:
                lm = lm[:NUM_MESH]
            xy = np.ascontiguousarray(lm[:, :2])
            lo, hi = xy.min(0), xy.max(0)
            faces.append(FaceObservation(landmarks_px=xy, box_xyxy_px=(float(lo[0]), float(lo[1]), float(hi[0]),
                                                                      float(hi[1])),
                                         score=score, landmarks_z=np.ascontiguousarray(lm[:, 2])))
            next_rois.append(roi_from_landmarks(lm))
        if tracking:
            self._tracked = next_rois[: self.max_faces]
            self._last_t_ns = t_ns
        faces.sort(key=lambda f: (f.box_xyxy_px[2] - f.box_xyxy_px[0]) * (f.box_xyxy_px[3] - f.box_xyxy_px[1]),
                   reverse=True)
        return faces

    def submit(self, image: np.ndarray, t_ns: Optional[int] = None) -> None:
        if not self.background:
            super().submit(image, t_ns)
            return
        self._settle()                        # a result nobody collected is dropped (its tracking update stays)
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dms-face-onnx")
        self._future = self._pool.submit(self.process, image, t_ns)

    def collect(self) -> list[FaceObservation]:
        if self._future is None:
            return super().collect()
        fut, self._future = self._future, None
        return fut.result()                   # process()'s exception, if any, is raised here

    def _settle(self) -> None:
        """Wait for the job in flight (if any), ignoring its outcome: tracking state is only touched by it."""
        fut, self._future = self._future, None
        if fut is not None:
            try:
                fut.result()
            except Exception:  # noqa: BLE001 — the caller never collected it
                pass

    def reset(self) -> None:
        self._settle()
        self._tracked = []
        self._last_t_ns = None

    def close(self) -> None:
        self._settle()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self._det = None
        self._lm = None
        self._tracked = []
