"""Dataset jobs: planning a ``dms simulate`` run into shards, per-shard seeds, and rendering one shard.

A shard is one sequence (full frames of one behaviour scenario) or N crop samples of one kind (eye / mouth /
face / frame). Its seed is a hash of the global seed and the shard *name*, so a shard's content does not depend
on the backend, the worker count or the order shards run in; labels are pure functions of (config, seed).

:func:`execute_shard` renders one shard through :class:`dms.data.dataset.ShardWriter` (temp folder, atomic rename,
``_SUCCESS.json`` last), with any object that has the renderer methods ``render_frame`` / ``render_crops``
(``dms.sim.render.Renderer`` or ``MockRenderer``).

May import: numpy, stdlib, dms.contracts, dms.data, dms.config, dms.sim (bpy only through dms.sim.render).
"""
from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from dms.contracts import HandState
from dms.data.crops import LEFT_EYE_RING, RIGHT_EYE_RING
from dms.data.dataset import ShardWriter, encode_depth_mm
from dms.errors import DmsError
from dms.sim.config import SimulateConfig
from dms.sim.parts import AUX_OUTPUTS
from dms.sim.pose import WHEEL_CLOCK_LEFT_RANGE, WHEEL_CLOCK_RIGHT_RANGE, DriverPose
from dms.sim.scenarios import generate_scenario, zone_of_direction

log = logging.getLogger(__name__)

CROP_KINDS = ("eye", "mouth", "face", "frame")
#: crop definitions rendered per crop kind (dms.data.crops names; "frame" = the whole camera frame)
KIND_CROPS = {"eye": ("eye_left", "eye_right"), "mouth": ("mouth",), "face": ("face",), "frame": ("frame",)}


def shard_seed(global_seed: int, name: str) -> int:
    """Deterministic 63-bit seed of a shard from the global seed and the shard name (stable across processes,
    machines and Python versions: sha256, not ``hash()``)."""
    h = hashlib.sha256(f"dms.sim/{int(global_seed)}/{name}".encode()).digest()
    return int.from_bytes(h[:8], "big") & ((1 << 63) - 1)


@dataclass(frozen=True)
class ShardJob:
    """One unit of work. ``n_frames`` = images to render (all modalities), used for progress and ETA."""
    name: str
    kind: str                      # "sequence" | "eye" | "mouth" | "face" | "frame"
    index: int
    seed: int
    n_samples: int                 # sequence frames, or crop poses
    n_frames: int
    opts: dict = field(default_factory=dict)


def plan_jobs(cfg: SimulateConfig) -> list[ShardJob]:
    """All shards of a run, in a stable order (sequences first, then crops by kind)."""
    jobs: list[ShardJob] = []
    nmod = len(cfg.modalities)
    sq = cfg.sequences
    n_frames = max(1, int(round(sq.duration_s * sq.fps)))
    for i in range(sq.count):
        name = f"seq-{i:06d}"
        preset = sq.presets[i % len(sq.presets)]
        jobs.append(ShardJob(name, "sequence", i, shard_seed(cfg.seed, name), n_frames, n_frames * nmod,
                             {"preset": preset}))
    per = cfg.crops.per_shard
    for kind in CROP_KINDS:
        kc = getattr(cfg.crops, kind)
        n_crops_per_sample = len(KIND_CROPS[kind])
        n_samples = math.ceil(kc.count / n_crops_per_sample)
        for j in range(math.ceil(n_samples / per)):
            k = min(per, n_samples - j * per)
            name = f"{kind}-{j:06d}"
            jobs.append(ShardJob(name, kind, j, shard_seed(cfg.seed, name), k, k * n_crops_per_sample * nmod))
    return jobs


# --------------------------------------------------------------------------------------------- renderer
def scene_ranges(cfg: SimulateConfig, resolution: Optional[tuple[int, int]] = None):
    """The config's ``scene:`` sampling ranges, with the sensor resolution fixed to ``resolution`` if given."""
    if resolution is None:
        return cfg.scene
    return cfg.scene.model_copy(update={"resolutions": [tuple(int(v) for v in resolution)]})


#: CPU cores per Blender worker process when ``workers=0`` (auto). Measured on 2 cores, one 2-thread Blender
#: renders as fast as or faster than two 1-thread ones: sequence frames 0.39 vs 0.26 frames/s (4 sequences x 20
#: RGB frames), mouth crops 5.9 vs 5.5-5.8/s, face crops +15-25 %, eye crops a tie (Cycles' threads share one
#: scene and its caches; processes duplicate them). More processes pay off only for the serial scene setup.
CORES_PER_BLENDER_WORKER = 4


def auto_workers(renderer: str, cpu_count: Optional[int] = None) -> int:
    """Worker processes for ``workers=0``: one Blender per :data:`CORES_PER_BLENDER_WORKER` cores (at least
    one); the single-threaded mock renderer: one per core."""
    n = cpu_count or os.cpu_count() or 1
    return n if renderer == "mock" else max(1, n // CORES_PER_BLENDER_WORKER)


def resolved_workers(cfg: SimulateConfig) -> int:
    """``cfg.workers``, or :func:`auto_workers` when it is 0."""
    return cfg.workers or auto_workers(cfg.renderer)


def make_renderer(cfg: SimulateConfig):
    """The renderer of a worker process (one per process: Blender scene state is reused across shards)."""
    from dms.sim.render import MockRenderer, Renderer, RenderSettings
    threads = cfg.render.threads
    if threads == 0:   # share the cores between the worker processes instead of oversubscribing them
        threads = max(1, (os.cpu_count() or 1) // max(1, resolved_workers(cfg)))
    settings = RenderSettings(samples=cfg.render.samples, device=cfg.render.device, threads=threads,
                              denoise=cfg.render.denoise, crop_max_scale=cfg.render.crop_max_scale,
                              crop_samples=cfg.render.crop_samples, camera_fill_p=cfg.render.camera_fill_p)
    return MockRenderer(settings) if cfg.renderer == "mock" else Renderer(settings)


def _sample_scene(rng: np.random.Generator, cfg: SimulateConfig, resolution: Optional[tuple[int, int]],
                  kind: str = ""):
    from dms.sim.spec import sample_scene
    ranges = scene_ranges(cfg, resolution)
    if kind == "frame" and cfg.crops.frame.mounts:     # frame crops may use their own (e.g. side-view) mounts
        ranges = ranges.model_copy(update={"mounts": list(cfg.crops.frame.mounts), "mount_weights": None})
    return sample_scene(rng, ranges)


# --------------------------------------------------------------------------------------------- crop poses
def _u(rng: np.random.Generator, r) -> float:
    return float(rng.uniform(r[0], r[1])) if r[1] > r[0] else float(r[0])


def sample_eye_openness(rng: np.random.Generator, ec) -> float:
    """Aperture spread over the configured range with extra mass near the closed/open boundary."""
    lo, hi = ec.openness_range
    r = rng.random()
    if r < ec.boundary_fraction:
        v = rng.normal(ec.boundary, ec.boundary_width)
    elif r < ec.boundary_fraction + 0.15:
        v = rng.uniform(lo, min(hi, lo + 0.08))         # fully closed
    else:
        v = rng.uniform(lo, hi)
    return float(np.clip(v, lo, hi))


def sample_crop_pose(kind: str, rng: np.random.Generator, cfg: SimulateConfig) -> DriverPose:
    """An independent randomised pose for a training crop of ``kind`` (spreads chosen per kind)."""
    cc = cfg.crops
    hy, hp, hr = _u(rng, cc.head_yaw_deg), _u(rng, cc.head_pitch_deg), _u(rng, cc.head_roll_deg)
    ey, ep = _u(rng, cc.eye.gaze_yaw_deg), _u(rng, cc.eye.gaze_pitch_deg)
    eo_l = sample_eye_openness(rng, cc.eye)
    eo_r = eo_l if rng.random() < 0.85 else sample_eye_openness(rng, cc.eye)
    if kind != "eye":   # non-eye crops: mostly open eyes, some blinks
        eo_l = eo_r = float(rng.choice([rng.uniform(0.6, 1.1), rng.uniform(0.0, 0.6)], p=[0.8, 0.2]))
    mouth, yawn, talking, cover = float(abs(rng.normal(0.0, 0.02))), False, False, False
    mc = cc.mouth
    smile = tongue = 0.0
    if kind in ("mouth", "face", "frame"):
        r = rng.random()
        if r < mc.yawn_fraction:
            mouth = _u(rng, (min(1.0, mc.yawn_threshold + 0.05), 1.0))
            cover = bool(rng.random() < mc.covered_prob)
        elif r < mc.yawn_fraction + mc.talking_fraction:
            mouth, talking = _u(rng, mc.talking_openness), True
        elif r < mc.yawn_fraction + mc.talking_fraction + mc.closed_fraction:
            mouth = _u(rng, (0.0, 0.03))
        else:
            mouth = _u(rng, (0.0, 1.0))
        if rng.random() < mc.smile_prob:
            smile = _u(rng, (0.3, 1.0))
        if mouth >= 0.3 and mc.tongue_prob > 0:
            # own stream seeded by the values drawn so far: the main stream (every later draw) stays as it was
            trng = np.random.default_rng([int(mouth * 1e6), int(smile * 1e4), int(hy * 1e4) & 0xFFFFFFFF, 71])
            if trng.random() < mc.tongue_prob:
                tongue = float(trng.uniform(0.4, 1.0))
    mouth = float(np.clip(mouth, 0.0, 1.0))
    # the label follows the pixels: a mouth open wide (a yawn or a laugh) is yawn=true, whatever branch drew it
    yawn = mouth >= mc.yawn_threshold
    hand_l, hand_r, phone = HandState.ON_WHEEL, HandState.ON_WHEEL, None
    if kind == "frame" and cc.frame.on_fraction is not None:
        hand_l, hand_r = sample_frame_hands(rng, cc.frame.on_fraction)
        cover = False
    elif kind == "frame":
        states = [HandState.ON_WHEEL, HandState.LAP, HandState.GEAR_LEVER, HandState.FACE, HandState.PHONE_EAR,
                  HandState.TEXTING, HandState.DRINKING, HandState.OTHER]
        w = np.array([4.0, 1, 1, 1, 1, 1, 1, 0.5])
        hand_r = states[int(rng.choice(len(states), p=w / w.sum()))]
        left_states = [s for s in states if s is not HandState.GEAR_LEVER]
        wl = np.array([5.0, 1, 1, 0.7, 0.7, 0.7, 0.5])
        hand_l = left_states[int(rng.choice(len(left_states), p=wl / wl.sum()))]
    if cover:        # the covering hand leaves the wheel (or whatever it held)
        if hand_r is HandState.ON_WHEEL or hand_l is not HandState.ON_WHEEL:
            hand_r = HandState.FACE
        else:
            hand_l = HandState.FACE
    phone_states = (HandState.PHONE_EAR, HandState.TEXTING)
    if hand_l in phone_states and hand_r in phone_states:          # one phone only
        hand_l = HandState.ON_WHEEL
    phone = "left" if hand_l in phone_states else ("right" if hand_r in phone_states else None)
    if HandState.TEXTING in (hand_l, hand_r):                      # texting: looking at the lap
        ey, ep, hp = _u(rng, (-15, 5)), _u(rng, (-28, -15)), _u(rng, (-30, -10))
    zone = zone_of_direction(hy + ey, hp + ep)
    # hands on the rim: frame crops take their clock ranges from crops.frame (same draws: same random stream)
    clock_l, clock_r = ((cc.frame.wheel_clock_left, cc.frame.wheel_clock_right) if kind == "frame"
                        else (WHEEL_CLOCK_LEFT_RANGE, WHEEL_CLOCK_RIGHT_RANGE))
    return DriverPose(eye_openness_left=round(eo_l, 6), eye_openness_right=round(eo_r, 6),
                      mouth_openness=round(mouth, 6), yawn=yawn, talking=talking, gaze_zone=zone,
                      eye_yaw_deg=round(ey, 4), eye_pitch_deg=round(ep, 4), head_yaw_deg=round(hy, 4),
                      head_pitch_deg=round(hp, 4), head_roll_deg=round(hr, 4), hand_left=hand_l, hand_right=hand_r,
                      wheel_clock_left=round(_u(rng, clock_l), 3), wheel_clock_right=round(_u(rng, clock_r), 3),
                      phone_in_hand=phone, hand_over_mouth=cover,
                      extra={**({"smile": round(smile, 4)} if smile else {}),
                             **({"tongue": round(tongue, 4)} if tongue else {})})


#: off-wheel hand states of frame crops with ``crops.frame.on_fraction`` (State Farm's classes: texting, phone at
#: the ear, radio / reaching behind (OTHER), drinking, hair / make-up (FACE)) and their weights
OFF_HAND_STATES = (HandState.TEXTING, HandState.PHONE_EAR, HandState.OTHER, HandState.DRINKING, HandState.FACE,
                   HandState.LAP, HandState.GEAR_LEVER)
OFF_HAND_WEIGHTS = (1.2, 1.2, 1.5, 1.0, 1.0, 0.4, 0.3)


def sample_frame_hands(rng: np.random.Generator, on_fraction: float) -> tuple[HandState, HandState]:
    """(left, right) hand states: both on the wheel with probability ``on_fraction``, else one hand (mostly the
    right, the hand a passenger-side camera sees) or both off the wheel, never two phones."""
    if rng.random() < on_fraction:
        return HandState.ON_WHEEL, HandState.ON_WHEEL
    w = np.asarray(OFF_HAND_WEIGHTS, dtype=np.float64)
    r = rng.random()
    off_r, off_l = (True, False) if r < 0.6 else ((False, True) if r < 0.9 else (True, True))
    hand_r = OFF_HAND_STATES[int(rng.choice(len(w), p=w / w.sum()))] if off_r else HandState.ON_WHEEL
    left_states = [s for s in OFF_HAND_STATES if s is not HandState.GEAR_LEVER]   # the lever is on the right
    wl = np.array([x for s, x in zip(OFF_HAND_STATES, w) if s is not HandState.GEAR_LEVER])
    hand_l = left_states[int(rng.choice(len(wl), p=wl / wl.sum()))] if off_l else HandState.ON_WHEEL
    return hand_l, hand_r


MAX_POSE_TRIES = 50
MAX_SCENE_TRIES = 5      # scenes resampled when one cannot show the crop at all
#: landmarks that must be visible (in the image, facing the camera) for a crop pose to be kept
CROP_VISIBLE_IDS = {"eye": RIGHT_EYE_RING + LEFT_EYE_RING, "mouth": (61, 291, 0, 17, 13, 14, 78, 308),
                    "face": (33, 133, 362, 263, 1, 61, 291, 152, 10)}
CROP_VISIBLE_FRACTION = 0.85


def crop_visible(spec, pose: DriverPose, kind: str) -> bool:
    """True when the landmarks of ``kind``'s crop are (mostly) visible to the camera: a crop of a self-occluded
    eye would carry a label its pixels cannot show. Whole frames are always kept."""
    ids = CROP_VISIBLE_IDS.get(kind)
    if ids is None:
        return True
    from dms.sim.labels import project_landmarks
    _, vis = project_landmarks(spec, pose, distort=False)
    return float(np.mean(np.asarray(vis)[list(ids)])) >= CROP_VISIBLE_FRACTION


# --------------------------------------------------------------------------------------------- execution
def _spec_dict(spec) -> Any:
    return spec.to_dict() if hasattr(spec, "to_dict") else dataclasses.asdict(spec)


ProgressFn = Callable[[int], None]


def execute_shard(job: ShardJob, cfg: SimulateConfig, root: str | Path, renderer,
                  progress: Optional[ProgressFn] = None) -> dict:
    """Render ``job`` into ``root/shards/<name>`` atomically; returns {"name", "n_items", "n_frames"}."""
    progress = progress or (lambda n: None)
    ss = np.random.SeedSequence(job.seed)
    rng_scene, rng_behaviour = (np.random.default_rng(s) for s in ss.spawn(2))
    with ShardWriter(root, job.name) as w:
        if job.kind == "sequence":
            n = _render_sequence(job, cfg, w, renderer, rng_scene, rng_behaviour, progress)
        else:
            n = _render_crops(job, cfg, w, renderer, rng_scene, rng_behaviour, progress)
    return {"name": job.name, "n_items": n, "n_frames": job.n_frames}


def aux_outputs(cfg: SimulateConfig) -> tuple[str, ...]:
    """The optional geometry outputs of full frames the config asks for (render.part_masks / render.depth)."""
    return tuple(k for k, on in (("parts", cfg.render.part_masks), ("depth", cfg.render.depth)) if on)


def _render_frame(renderer, spec, pose, mods, aux: tuple[str, ...]) -> dict:
    # renderers without part/depth support (any object with render_frame) work as long as none is asked for
    return renderer.render_frame(spec, pose, modalities=mods, **({"aux": aux} if aux else {}))


def write_aux(w: ShardWriter, imgs: dict, pattern: str) -> dict[str, str]:
    """Write the part mask / depth map among ``imgs`` at ``pattern.format("parts" | "depth")`` (PNG: uint8 ids,
    uint16 millimetres, dms.sim.parts); returns {"parts_file": rel, "depth_file": rel} for what was written."""
    out = {}
    if "parts" in imgs:
        out["parts_file"] = w.write_image(pattern.format("parts"), np.ascontiguousarray(imgs["parts"], np.uint8))
    if "depth" in imgs:
        out["depth_file"] = w.write_image(pattern.format("depth"), encode_depth_mm(imgs["depth"]))
    return out


def _render_sequence(job, cfg, w: ShardWriter, renderer, rng_scene, rng_behaviour, progress) -> int:
    from dms.sim.labels import frame_label
    width, height = cfg.resolution
    spec = _sample_scene(rng_scene, cfg, (width, height))
    sc = generate_scenario(job.opts["preset"], cfg.sequences.duration_s, cfg.sequences.fps, rng_behaviour,
                           cfg.behaviour.to_params())
    w.write_json("scene.json", {"shard": job.name, "seed": job.seed, "global_seed": cfg.seed, "kind": "sequence",
                                "modalities": list(cfg.modalities), "resolution": [width, height],
                                "scene": _spec_dict(spec), "scenario": sc.summary()})
    mods = tuple(cfg.modalities)
    aux = aux_outputs(cfg)
    for i, pose in enumerate(sc.poses):
        imgs = _render_frame(renderer, spec, pose, mods, aux)
        for m in mods:
            w.write_image(f"{m}/{i:06d}.png", imgs[m])
        write_aux(w, imgs, f"{{}}/{i:06d}.png")
        lab = frame_label(spec, pose, i, sc.t_s(i))
        if tuple(lab.events) != tuple(pose.events):
            lab = dataclasses.replace(lab, events=tuple(pose.events))
        w.add_frame_label(lab)
        progress(len(mods))
    w.write_json("events.json", [e.to_dict() for e in sc.events])
    return len(sc.poses)


def _visible_pose(job, cfg, renderer, spec, rng_pose, crop_names, mods, sizes):
    """Draw poses until the crop region is visible and renderable: (pose, rendered, aux) or (None, None, {});
    ``aux``: the whole frame's part mask / depth map when the config asks for them (frame crops only)."""
    for _ in range(MAX_POSE_TRIES):           # redraw poses whose crop region is hidden or off-image
        pose = sample_crop_pose(job.kind, rng_pose, cfg)
        if not crop_visible(spec, pose, job.kind):
            continue
        if job.kind == "frame":
            imgs = _render_frame(renderer, spec, pose, mods, aux_outputs(cfg))
            return pose, [("frame", m, imgs[m]) for m in mods], {k: imgs[k] for k in AUX_OUTPUTS if k in imgs}
        try:
            return pose, _render_crop_images(renderer, spec, pose, crop_names, mods, sizes[job.kind]), {}
        except DmsError as e:                 # the renderer refuses crops outside the image
            log.debug("%s: pose redrawn: %s", job.name, e)
    return None, None, {}


def _render_crops(job, cfg, w: ShardWriter, renderer, rng_scene, rng_pose, progress) -> int:
    from dms.sim.labels import crop_label
    mods = tuple(cfg.modalities)
    crop_names = KIND_CROPS[job.kind]
    resolution = (cfg.crops.frame.width, cfg.crops.frame.height) if job.kind == "frame" else None
    sizes = {"eye": cfg.crops.eye.size, "mouth": cfg.crops.mouth.size, "face": cfg.crops.face.size}
    scenes, spec, n_items = [], None, 0
    for k in range(job.n_samples):
        if k % cfg.crops.poses_per_scene == 0:
            spec = _sample_scene(rng_scene, cfg, resolution, job.kind)
            scenes.append(_spec_dict(spec))
        rendered = None
        for scene_try in range(MAX_SCENE_TRIES):
            if scene_try:                          # this scene cannot show the crop (e.g. camera behind the wheel):
                spec = _sample_scene(rng_scene, cfg, resolution, job.kind)    # replace it, deterministically
                scenes[-1] = _spec_dict(spec)
            pose, rendered, aux = _visible_pose(job, cfg, renderer, spec, rng_pose, crop_names, mods, sizes)
            if rendered is not None:
                break
            log.debug("%s: scene %s shows no %s crop in %d poses; resampling the scene", job.name, spec.scene_id,
                      job.kind, MAX_POSE_TRIES)
        if rendered is None:
            raise DmsError(f"{job.name}: no visible {job.kind} crop in {MAX_SCENE_TRIES} scenes x {MAX_POSE_TRIES} "
                           f"poses (last camera {spec.camera.mount}); narrow crops.head_*_deg or scene.mounts")
        scene_id = f"{job.name}/{len(scenes) - 1:04d}"
        aux_files = write_aux(w, aux, f"{job.kind}/{{}}/{k:06d}_frame.png")
        for crop_name, m, img in rendered:
            rel = f"{job.kind}/{m}/{k:06d}_{crop_name}.png"
            w.write_image(rel, img)
            lab = (frame_crop_label(spec, pose, m, rel) if job.kind == "frame"
                   else crop_label(spec, pose, crop_name, m, rel, size=sizes[job.kind]))
            if lab.scene_id != scene_id:
                lab = dataclasses.replace(lab, scene_id=scene_id)
            if aux_files:
                lab = dataclasses.replace(lab, attrs={**(lab.attrs or {}), **aux_files})
            w.add_crop(lab)
            n_items += 1
        progress(len(rendered))
    w.write_json("scene.json", {"shard": job.name, "seed": job.seed, "global_seed": cfg.seed, "kind": job.kind,
                                "modalities": list(mods), "poses_per_scene": cfg.crops.poses_per_scene,
                                "scenes": scenes})
    return n_items


def frame_crop_label(spec, pose: DriverPose, modality: str, file: str):
    """CropLabel of a whole low-resolution frame (kind "frame": hands / phone / head / eyes / mouth), from the
    projected frame label."""
    from dms.contracts import CropLabel
    from dms.sim.labels import frame_label
    fl = frame_label(spec, pose, 0, 0.0)
    return CropLabel(file=file, kind="frame", crop="frame", modality=modality, scene_id=spec.scene_id,
                     eye_openness=min(fl.eye_openness_left, fl.eye_openness_right), eye_closed=fl.eyes_closed,
                     mouth_openness=fl.mouth_openness, yawn=fl.yawn, gaze_yaw_deg=fl.gaze_yaw_deg,
                     gaze_pitch_deg=fl.gaze_pitch_deg, head_yaw_deg=fl.head_yaw_deg, head_pitch_deg=fl.head_pitch_deg,
                     head_roll_deg=fl.head_roll_deg, hand_left=fl.hand_left, hand_right=fl.hand_right,
                     phone_present=fl.phone_present, accessories=fl.accessories, camera_mount=spec.camera.mount,
                     attrs={"gaze_zone": fl.gaze_zone.value, "face_box_xyxy_px": fl.face_box_xyxy_px,
                            "hand_over_mouth": bool(pose.hand_over_mouth), "phone_in_hand": pose.phone_in_hand,
                            "size": [spec.camera.width, spec.camera.height]})


def _render_crop_images(renderer, spec, pose, crop_names, mods, size):
    """Crops at the configured square size: [(crop_name, modality, image)]."""
    return renderer.render_crops(spec, pose, crop_names=crop_names, modalities=mods, size=size)
