#!/usr/bin/env python
"""Render the bundled demo clip (`make demo` plays it through `dms run`).

A scripted behaviour timeline (dms.sim.scenarios.ScenarioBuilder) of a driver with normal blinks, one microsleep
(~1.5 s), a yawn, a long glance away to the infotainment screen (>= 3.5 s) and a sleep episode (4.4 s: eyes closed
>= 3 s once the lids have ramped), rendered
as RGB at 15 fps with the real Blender renderer (``--renderer mock`` for a quick pipeline check), written as

  tools/demo/demo_clip.mp4             mp4v, <= 3 MB
  tools/demo/demo_clip.labels.jsonl    one dms.frame_label/1 per frame (t_s = frame_index / fps)
  tools/demo/demo_clip.events.json     ground-truth events [dms.event/1, ...]
  tools/demo/demo_clip.scene.json      the scene description (every sampled value + the seed)

Frames are cached as PNGs in ``--work-dir`` so an interrupted render resumes where it stopped.
``--check`` runs MediaPipe FaceMesh on every N-th frame and reports the detection rate and the landmark error
against the projected labels (the runtime's face front end must find the face in this clip).

  python tools/demo/render_demo_clip.py                       # Blender, 640x480, 15 fps (slow: minutes)
  python tools/demo/render_demo_clip.py --renderer mock --out-dir /tmp/demo
  python tools/demo/render_demo_clip.py --check-only          # re-check an existing clip with MediaPipe
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

log = logging.getLogger("render_demo_clip")

STEM = "demo_clip"


def build_timeline(fps: float, seed: int):
    """The scripted scenario: times chosen so the runtime's alerts can be scored against the events."""
    from dms.contracts import GazeZone
    from dms.sim.scenarios import BehaviourParams, ScenarioBuilder
    params = BehaviourParams(blink_rate_alert_per_min=18.0, blink_rate_drowsy_per_min=24.0)
    b = ScenarioBuilder(16.8, fps, np.random.default_rng(seed), params, drowsiness=0.3, preset_name="demo")
    placed = [
        b.add("microsleep", 1.2, 1.5),
        b.add("yawn", 3.2, 4.0, covered=False, hands=()),
        b.add("long_glance", 7.6, 3.6, zone=GazeZone.INFOTAINMENT, owl=True),
        b.add("sleep", 11.6, 4.4, hands=(), nod_deg=14.0, roll_deg=6.0),   # eyes closed >= 3 s (lids ramp)
    ]
    if not all(placed):
        raise RuntimeError(f"demo timeline does not fit: {placed}")
    b.fill_blinks()
    return b.build()


def timeline_with_blinks(fps: float, seed: int, min_blinks: int = 4):
    """The first timeline from ``seed`` on with at least ``min_blinks`` normal blinks (blinks are random)."""
    for s in range(seed, seed + 100):
        sc = build_timeline(fps, s)
        if sum(e.type == "blink" for e in sc.events) >= min_blinks:
            return sc
    raise RuntimeError("no timeline with enough blinks")


def demo_scene(seed: int, width: int, height: int):
    """A frontal steering-column camera in daylight, no occluding accessories (the clip must be easy to read)."""
    from dms.sim.spec import SamplingRanges, sample_scene
    ranges = SamplingRanges(mounts=["steering_column"], resolutions=[(width, height)], hfov_deg=(46.0, 50.0),
                            k1=(-0.05, 0.0), camera_roll_deg=(-1.0, 1.0), noise_sigma_dn=(0.8, 1.5),
                            exposure_ev=(0.0, 0.3), blur_px=(0.0, 0.3), p_day=1.0, p_dusk=0.0, p_night=0.0,
                            sun_elevation_deg=(25.0, 45.0), sun_azimuth_deg=(-40.0, 40.0), p_glasses_clear=0.0,
                            p_sunglasses=0.0, p_cap=0.0, p_mask=0.0, age_years=(25.0, 45.0), skin_tone=(0.1, 0.6))
    return sample_scene(np.random.default_rng(seed), ranges)


def render(args) -> None:
    import cv2

    from dms.sim.labels import frame_label
    from dms.sim.render import MockRenderer, Renderer, RenderSettings
    out_dir = Path(args.out_dir)
    work = Path(args.work_dir or out_dir / f".{STEM}_frames")
    work.mkdir(parents=True, exist_ok=True)
    sc = timeline_with_blinks(args.fps, args.seed)
    spec = demo_scene(args.seed, args.width, args.height)
    settings = RenderSettings(samples=args.samples, threads=args.threads)
    r = MockRenderer(settings) if args.renderer == "mock" else Renderer(settings)
    n = sc.n_frames
    log.info("demo clip: %d frames at %.0f fps (%s, %dx%d, %d samples) -> %s", n, args.fps, args.renderer,
             args.width, args.height, args.samples, out_dir)
    t0 = time.perf_counter()
    done = 0
    for i, pose in enumerate(sc.poses):
        p = work / f"{i:06d}.png"
        if p.is_file():
            continue
        img = r.render_frame(spec, pose, modalities=("rgb",))["rgb"]
        tmp = work / f".{i:06d}.tmp.png"
        cv2.imwrite(str(tmp), img)
        tmp.replace(p)
        done += 1
        dt = time.perf_counter() - t0
        log.info("frame %d/%d  %.2f s/frame  ETA %.0f s", i + 1, n, dt / done, dt / done * (n - i - 1))
    labels = [frame_label(spec, pose, i, sc.t_s(i)) for i, pose in enumerate(sc.poses)]
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{STEM}.labels.jsonl").write_text("\n".join(lab.to_json() for lab in labels) + "\n")
    (out_dir / f"{STEM}.events.json").write_text(json.dumps([e.to_dict() for e in sc.events], indent=1,
                                                            sort_keys=True))
    (out_dir / f"{STEM}.scene.json").write_text(json.dumps({"seed": args.seed, "fps": args.fps,
                                                            "renderer": args.renderer, "samples": args.samples,
                                                            "scene": spec.to_dict(), "scenario": sc.summary()},
                                                           indent=1, sort_keys=True))
    write_video(work, n, out_dir / f"{STEM}.mp4", args.fps, args.max_mb)


def write_video(frames_dir: Path, n: int, path: Path, fps: float, max_mb: float) -> None:
    """mp4v via OpenCV (no bitrate control): if the clip exceeds ``max_mb``, re-encode with a slightly stronger
    pre-filter each time (sensor noise is what costs bytes; geometry and labels are unchanged)."""
    import cv2
    first = cv2.imread(str(frames_dir / "000000.png"))
    h, w = first.shape[:2]
    tmp = path.with_name(f".{path.name}.tmp.mp4")
    for sigma in (0.0, 0.6, 0.9, 1.2):
        vw = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), (w, h))
        if not vw.isOpened():
            raise RuntimeError("OpenCV cannot open an mp4v VideoWriter")
        for i in range(n):
            img = cv2.imread(str(frames_dir / f"{i:06d}.png"))
            if sigma > 0:
                img = cv2.GaussianBlur(img, (0, 0), sigma)
            vw.write(img)
        vw.release()
        mb = tmp.stat().st_size / 1e6
        log.info("encoded %d frames (pre-filter sigma %.1f): %.2f MB", n, sigma, mb)
        if mb <= max_mb:
            break
    else:
        raise RuntimeError(f"{path} would be {mb:.2f} MB > {max_mb} MB; lower the resolution")
    tmp.replace(path)
    log.info("wrote %s (%d frames, %.2f MB)", path, n, mb)


def check_mediapipe(out_dir: Path, every: int = 5) -> dict:
    """Detection rate of MediaPipe FaceMesh (static image mode) on every ``every``-th frame of the clip, and the
    median landmark error (px, visible landmarks) against the labels where a face was found."""
    import cv2
    import mediapipe as mp
    from dms.contracts import FrameLabel
    labels = [FrameLabel.from_dict(json.loads(x)) for x in
              (out_dir / f"{STEM}.labels.jsonl").read_text().splitlines() if x.strip()]
    cap = cv2.VideoCapture(str(out_dir / f"{STEM}.mp4"))
    found, tried, errs = 0, 0, []
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=False,
                                         min_detection_confidence=0.5) as fm:
        i = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            if i % every == 0:
                tried += 1
                res = fm.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
                if res.multi_face_landmarks:
                    found += 1
                    h, w = frame.shape[:2]
                    det = np.array([[p.x * w, p.y * h] for p in res.multi_face_landmarks[0].landmark[:468]])
                    lab = labels[i]
                    if lab.landmarks_px is not None:
                        gt = np.asarray(lab.landmarks_px)
                        vis = np.asarray(lab.landmarks_visible, bool)
                        errs.append(float(np.median(np.linalg.norm(det[vis] - gt[vis], axis=1))))
            i += 1
    rep = {"frames": i, "checked": tried, "detected": found, "detection_rate": round(found / max(tried, 1), 3),
           "median_landmark_err_px": round(float(np.median(errs)), 2) if errs else None}
    log.info("MediaPipe FaceMesh on the demo clip: %s", rep)
    return rep


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out-dir", default=str(HERE))
    p.add_argument("--work-dir", default=None, help="frame cache (default OUT_DIR/.demo_clip_frames)")
    p.add_argument("--renderer", choices=["blender", "mock"], default="blender")
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--fps", type=float, default=15.0)
    p.add_argument("--samples", type=int, default=16)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--max-mb", type=float, default=3.0)
    p.add_argument("--check", action="store_true", help="run the MediaPipe check after rendering")
    p.add_argument("--check-only", action="store_true", help="only run the MediaPipe check on an existing clip")
    p.add_argument("--encode-only", action="store_true", help="only re-encode the mp4 from the frame cache")
    p.add_argument("--check-every", type=int, default=5)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    if args.encode_only:
        work = Path(args.work_dir or Path(args.out_dir) / f".{STEM}_frames")
        write_video(work, len(list(work.glob("[0-9]*.png"))), Path(args.out_dir) / f"{STEM}.mp4", args.fps,
                    args.max_mb)
    elif not args.check_only:
        render(args)
    if args.check or args.check_only:
        rep = check_mediapipe(Path(args.out_dir), args.check_every)
        print(json.dumps(rep))
    return 0


if __name__ == "__main__":
    sys.exit(main())
