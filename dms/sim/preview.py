"""Contact sheet of a simulate dataset: sample frames and crops with their labels drawn on top.

Overlays come from the labels only (never from pixels), so the sheet is a visual check that images and labels
agree: landmarks (green visible / red occluded), face box, per-eye openness, gaze arrows from each eye, head pose,
mouth openness / yawn, hand states, phone, and the ground-truth events active at that frame.

Reads through :func:`dms.data.dataset.open_dataset` (no bpy). OpenCV for drawing and the PNG.
May import: numpy, cv2 (lazily), dms.contracts, dms.data.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import numpy as np

from dms.contracts import CropLabel, FrameLabel, HandState
from dms.data.dataset import open_dataset, read_depth, read_parts
from dms.errors import DataError

log = logging.getLogger(__name__)

TILE_W, TILE_H = 320, 240
_GREEN, _RED, _YELLOW, _CYAN, _WHITE, _ORANGE = (60, 220, 60), (40, 40, 230), (0, 220, 255), (230, 200, 0), \
    (255, 255, 255), (0, 140, 255)
# eye corner landmarks (MediaPipe): driver's right eye 33/133, left eye 362/263
_EYE_CORNERS = {"right": (33, 133), "left": (362, 263)}


def _to_bgr(img: np.ndarray) -> np.ndarray:
    import cv2
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    return img


def _fit(img: np.ndarray, w: int, h: int) -> tuple[np.ndarray, float, tuple[int, int]]:
    """Letterbox ``img`` into w x h; returns (tile, scale, (dx, dy))."""
    import cv2
    ih, iw = img.shape[:2]
    s = min(w / iw, h / ih)
    nw, nh = max(1, int(round(iw * s))), max(1, int(round(ih * s)))
    interp = cv2.INTER_NEAREST if s > 2 else cv2.INTER_AREA
    small = cv2.resize(img, (nw, nh), interpolation=interp)
    tile = np.zeros((h, w, 3), np.uint8)
    dx, dy = (w - nw) // 2, (h - nh) // 2
    tile[dy:dy + nh, dx:dx + nw] = _to_bgr(small)
    return tile, s, (dx, dy)


def _text(tile: np.ndarray, lines: list[tuple[str, tuple[int, int, int]]], y0: int = 12) -> None:
    import cv2
    for k, (t, col) in enumerate(lines):
        y = y0 + 12 * k
        cv2.putText(tile, t, (4, y), cv2.FONT_HERSHEY_SIMPLEX, 0.36, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(tile, t, (4, y), cv2.FONT_HERSHEY_SIMPLEX, 0.36, col, 1, cv2.LINE_AA)


def _hand(h: Optional[HandState]) -> str:
    return "?" if h is None else ("wheel" if h is HandState.ON_WHEEL else h.value)


def draw_frame_label(img: np.ndarray, lab: FrameLabel, modality: str = "rgb") -> np.ndarray:
    """A TILE_W x TILE_H tile of a full frame with its label drawn."""
    import cv2
    tile, s, (dx, dy) = _fit(img, TILE_W, TILE_H)

    def p(xy) -> tuple[int, int]:
        return int(round(xy[0] * s + dx)), int(round(xy[1] * s + dy))

    if lab.face_box_xyxy_px is not None:
        x0, y0, x1, y1 = lab.face_box_xyxy_px
        cv2.rectangle(tile, p((x0, y0)), p((x1, y1)), _CYAN, 1)
    if lab.landmarks_px is not None:
        vis = lab.landmarks_visible or (True,) * len(lab.landmarks_px)
        for (x, y), v in zip(lab.landmarks_px, vis):
            if np.isfinite(x) and np.isfinite(y):
                cv2.circle(tile, p((x, y)), 1, _GREEN if v else _RED, -1)
        lm = np.asarray(lab.landmarks_px, dtype=np.float64)
        for side, vec in (("left", lab.gaze_vec_left_cam), ("right", lab.gaze_vec_right_cam)):
            a, b = _EYE_CORNERS[side]
            if max(a, b) < len(lm):
                c = (lm[a] + lm[b]) / 2.0
                if np.all(np.isfinite(c)) and vec is not None:
                    v = np.asarray(vec[:2], dtype=np.float64)     # camera x right, y down = image axes
                    cv2.arrowedLine(tile, p(c), p(c + v * 60.0 / s), _YELLOW, 1, cv2.LINE_AA, tipLength=0.25)
    lines = [(f"#{lab.frame_index} t={lab.t_s:.2f}s {modality}", _WHITE),
             (f"eyes L{lab.eye_openness_left:.2f} R{lab.eye_openness_right:.2f}"
              f"{' CLOSED' if lab.eyes_closed else ''}", _RED if lab.eyes_closed else _GREEN),
             (f"mouth {lab.mouth_openness:.2f}{' YAWN' if lab.yawn else ''}", _ORANGE if lab.yawn else _WHITE),
             (f"gaze {lab.gaze_zone.value} ({lab.gaze_yaw_deg:+.0f},{lab.gaze_pitch_deg:+.0f})", _YELLOW),
             (f"head y{lab.head_yaw_deg:+.0f} p{lab.head_pitch_deg:+.0f} r{lab.head_roll_deg:+.0f}", _CYAN),
             (f"hands L:{_hand(lab.hand_left)} R:{_hand(lab.hand_right)}{' PHONE' if lab.phone_present else ''}",
              _WHITE if lab.hands_on_wheel else _ORANGE)]
    if lab.accessories:
        lines.append(("acc: " + ",".join(lab.accessories), _WHITE))
    _text(tile, lines)
    if lab.events:
        _text(tile, [("events: " + ",".join(lab.events), _RED)], y0=TILE_H - 6)
    return tile


def draw_crop_label(img: np.ndarray, lab: CropLabel) -> np.ndarray:
    """A tile of one training crop (scaled up) with its label drawn."""
    import cv2
    tile, s, (dx, dy) = _fit(img, TILE_H, TILE_H)
    full = np.zeros((TILE_H, TILE_W, 3), np.uint8)
    ox = (TILE_W - TILE_H) // 2
    full[:, ox:ox + TILE_H] = tile
    dx += ox

    def p(xy) -> tuple[int, int]:
        return int(round(xy[0] * s + dx)), int(round(xy[1] * s + dy))

    if lab.landmarks_crop_px:
        for x, y in lab.landmarks_crop_px:
            if np.isfinite(x) and np.isfinite(y):
                cv2.circle(full, p((x, y)), 2, _GREEN, -1)
    if lab.gaze_yaw_deg is not None and lab.gaze_pitch_deg is not None:
        h, w = img.shape[:2]
        c = np.array([w / 2.0, h / 2.0])
        yaw, pitch = np.radians(lab.gaze_yaw_deg), np.radians(lab.gaze_pitch_deg)
        v = np.array([np.sin(yaw) * np.cos(pitch), -np.sin(pitch)])     # yaw>0 image right, pitch>0 up
        cv2.arrowedLine(full, p(c), p(c + v * 0.45 * w), _YELLOW, 2, cv2.LINE_AA, tipLength=0.25)
    lines = [(f"{lab.kind}:{lab.crop} {lab.modality} {lab.side}", _WHITE)]
    if lab.eye_openness is not None:
        lines.append((f"open {lab.eye_openness:.2f}{' CLOSED' if lab.eye_closed else ''}",
                      _RED if lab.eye_closed else _GREEN))
    if lab.mouth_openness is not None:
        lines.append((f"mouth {lab.mouth_openness:.2f}{' YAWN' if lab.yawn else ''}", _ORANGE if lab.yawn else _WHITE))
    if lab.gaze_yaw_deg is not None:
        lines.append((f"gaze ({lab.gaze_yaw_deg:+.0f},{lab.gaze_pitch_deg:+.0f})", _YELLOW))
    if lab.head_yaw_deg is not None:
        lines.append((f"head y{lab.head_yaw_deg:+.0f} p{lab.head_pitch_deg:+.0f} r{lab.head_roll_deg or 0:+.0f}",
                      _CYAN))
    if lab.hand_left is not None or lab.hand_right is not None:
        lines.append((f"hands L:{_hand(lab.hand_left)} R:{_hand(lab.hand_right)}"
                      f"{' PHONE' if lab.phone_present else ''}", _ORANGE))
    _text(full, lines)
    return full


def _pick_frames(ds, n: int, rng: np.random.Generator) -> list[tuple]:
    """(image path, label, modality) of frames that show distinct events first, then random frames."""
    picks, seen_types, used = [], set(), set()
    seqs = list(ds.sequences())
    for seq in seqs:
        mods = seq.modalities or ["rgb"]
        for ev in sorted(seq.events, key=lambda e: (e.type == "blink", e.type == "distraction", e.start_s)):
            if ev.type in seen_types:
                continue
            mid = (ev.start_s + ev.end_s) / 2.0
            idx = min(range(len(seq.labels)), key=lambda i: abs(seq.labels[i].t_s - mid), default=None)
            if idx is None or (seq.path, idx) in used:
                continue
            used.add((seq.path, idx))
            seen_types.add(ev.type)
            m = mods[len(picks) % len(mods)]
            picks.append((seq.frame_path(idx, m), seq.labels[idx], m))
    rest = [(seq, i) for seq in seqs for i in range(len(seq.labels))]
    while len(picks) < n and rest:
        seq, i = rest.pop(int(rng.integers(len(rest))))
        if (seq.path, i) in used:
            continue
        used.add((seq.path, i))
        mods = seq.modalities or ["rgb"]
        m = mods[int(rng.integers(len(mods)))]
        picks.append((seq.frame_path(i, m), seq.labels[i], m))
    return picks[:n]


def _with_aux_insets(tile: np.ndarray, parts: Optional[np.ndarray], depth: Optional[np.ndarray]) -> np.ndarray:
    """The tile with the frame's part mask and depth map (None: not rendered) as small insets at its bottom right."""
    import cv2
    from dms.sim.parts import colorize_parts
    insets = []
    if parts is not None:
        insets.append(colorize_parts(parts))
    if depth is not None:
        ok = np.isfinite(depth)
        lo = float(np.min(depth[ok])) if ok.any() else 0.0
        hi = min(float(np.max(depth[ok])), lo + 2.5) if ok.any() else 1.0      # cabin scale: the outside is dark
        g = np.zeros(depth.shape, np.uint8)
        g[ok] = np.clip(255 - (depth[ok] - lo) / max(hi - lo, 1e-6) * 215, 40, 255).astype(np.uint8)  # near: bright
        insets.append(cv2.cvtColor(g, cv2.COLOR_GRAY2BGR))
    w, h = TILE_W // 4, TILE_H // 4
    x = TILE_W - 2
    for im in reversed(insets):
        x -= w + 2
        small = cv2.resize(im, (w, h), interpolation=cv2.INTER_NEAREST)
        tile[TILE_H - h - 3:TILE_H - 1, x - 1:x + w + 1] = 255
        tile[TILE_H - h - 2:TILE_H - 2, x:x + w] = small
    return tile


def make_contact_sheet(root: str | Path, out_png: str | Path, n_tiles: int = 16, seed: int = 0,
                       columns: int = 4) -> Path:
    """Write a contact sheet PNG of ``n_tiles`` samples (about 60 % sequence frames, 40 % crops of each kind)."""
    import cv2
    ds = open_dataset(root)
    rng = np.random.default_rng(seed)
    crops_by_kind: dict[str, list] = {}
    for c in ds.crops():
        crops_by_kind.setdefault(c.label.kind, []).append(c)
    n_crop = 0 if not crops_by_kind else max(len(crops_by_kind), int(round(n_tiles * 0.4)))
    frames = _pick_frames(ds, n_tiles - min(n_crop, n_tiles), rng)
    n_crop = n_tiles - len(frames)
    tiles = []
    for path, lab, m in frames:
        img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if img is None:
            log.warning("preview: unreadable %s", path)
            continue
        seq_dir = path.parent.parent
        tiles.append(_with_aux_insets(draw_frame_label(img, lab, m), read_parts(seq_dir / "parts" / path.name),
                                      read_depth(seq_dir / "depth" / path.name)))
    kinds = sorted(crops_by_kind)
    k = 0
    while n_crop > 0 and kinds:
        pool = crops_by_kind[kinds[k % len(kinds)]]
        k += 1
        if not pool:
            if all(not crops_by_kind[x] for x in kinds):
                break
            continue
        c = pool.pop(int(rng.integers(len(pool))))
        img = cv2.imread(str(c.path), cv2.IMREAD_UNCHANGED)
        if img is None:
            log.warning("preview: unreadable %s", c.path)
            continue
        tile = draw_crop_label(img, c.label)
        if c.label.kind == "frame":
            tile = _with_aux_insets(tile, c.parts(), c.depth())
        tiles.append(tile)
        n_crop -= 1
    if not tiles:
        raise DataError(f"{root}: nothing to preview (no complete shards with images)")
    cols = max(1, min(columns, len(tiles)))
    rows = (len(tiles) + cols - 1) // cols
    sheet = np.full((rows * (TILE_H + 4) + 4, cols * (TILE_W + 4) + 4, 3), 32, np.uint8)
    for i, t in enumerate(tiles):
        r, c = divmod(i, cols)
        y, x = 4 + r * (TILE_H + 4), 4 + c * (TILE_W + 4)
        sheet[y:y + TILE_H, x:x + TILE_W] = t
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp.png")
    if not cv2.imwrite(str(tmp), sheet):
        raise DataError(f"could not write {out}")
    tmp.replace(out)
    log.info("preview: %d tiles -> %s", len(tiles), out)
    return out
