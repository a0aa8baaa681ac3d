"""Running simulate jobs: local process pool and Ray backends, retries, resume, progress with frames/s and ETA.

* **Resume**: shards whose ``_SUCCESS.json`` exists are skipped; leftovers of killed runs (``shards/.tmp-*``) are
  removed at start. A lock file (``ROOT/.simulate.lock``) keeps two runs from writing the same folder.
* **Local backend**: a ``spawn`` :class:`~concurrent.futures.ProcessPoolExecutor`; each worker process builds one
  renderer (one Blender) lazily and reuses it for every shard it runs. A worker that dies (segfault, OOM kill)
  breaks the pool: the shards that had started and not finished are charged one attempt, the pool is rebuilt
  and the unfinished shards are resubmitted; a shard that still fails after ``retries`` re-tries is reported.
* **Ray backend**: one actor (one renderer) per worker on a local instance (or ``RAY_ADDRESS``); a dead actor
  is replaced and its shard retried. On a cluster the output folder must be shared storage.

Shard content depends only on (config, shard seed), never on the backend or worker count.
May import: stdlib, numpy, rich, dms.* (ray lazily).
"""
from __future__ import annotations

import contextlib
import errno
import logging
import multiprocessing as mp
import os
import shutil
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

from dms.data.dataset import shard_done
from dms.errors import DataError, DmsError
from dms.sim.config import SimulateConfig
from dms.sim.jobs import ShardJob, execute_shard, make_renderer

log = logging.getLogger(__name__)

LOCK_NAME = ".simulate.lock"
RendererFactory = Callable[[SimulateConfig], object]


@dataclass
class RunReport:
    """What a run did. ``rendered`` lists shards completed by this run, ``skipped`` those already on disk."""
    planned: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    rendered: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    n_frames: int = 0
    elapsed_s: float = 0.0

    @property
    def frames_per_s(self) -> float:
        return self.n_frames / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_dict(self) -> dict:
        return {"planned": len(self.planned), "skipped": len(self.skipped), "rendered": len(self.rendered),
                "failed": dict(self.failed), "retried": {k: v for k, v in self.attempts.items() if v > 1},
                "n_frames": self.n_frames, "elapsed_s": round(self.elapsed_s, 3),
                "frames_per_s": round(self.frames_per_s, 3)}


# --------------------------------------------------------------------------------------------- disk / lock
def check_free_disk(root: str | Path, needed_bytes: int, margin_gb: float) -> None:
    """Raise DmsError when the file system of ``root`` has less than ``needed_bytes + margin`` free."""
    p = Path(root)
    probe = p
    while not probe.exists():
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    need = int(needed_bytes + margin_gb * 1e9)
    if free < need:
        raise DmsError(f"not enough free disk space at {probe}: {free / 1e9:.2f} GB free, about "
                       f"{need / 1e9:.2f} GB needed (estimated output {needed_bytes / 1e9:.2f} GB + margin "
                       f"{margin_gb} GB); free space, reduce counts or lower min_free_gb")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunLock:
    """``ROOT/.simulate.lock`` holding the owner's pid; a stale lock (dead pid) is taken over."""

    def __init__(self, root: str | Path):
        self.path = Path(root) / LOCK_NAME

    def __enter__(self) -> "RunLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                try:
                    pid = int(self.path.read_text().strip() or 0)
                except (OSError, ValueError):
                    pid = 0
                if pid and pid != os.getpid() and _pid_alive(pid):
                    raise DataError(f"{self.path.parent} is being written by another dms simulate (pid {pid})")
                log.info("taking over stale lock %s (pid %s)", self.path, pid)
                self.path.unlink(missing_ok=True)
                continue
            with os.fdopen(fd, "w") as f:
                f.write(str(os.getpid()))
            return self
        raise DataError(f"could not lock {self.path}")

    def __exit__(self, *exc) -> None:
        self.path.unlink(missing_ok=True)


def clean_stale_tmp(root: str | Path) -> list[str]:
    """Remove ``shards/.tmp-*`` left by killed workers (call only while holding the run lock)."""
    removed = []
    for d in sorted((Path(root) / "shards").glob(".tmp-*")):
        shutil.rmtree(d, ignore_errors=True)
        removed.append(d.name)
    if removed:
        log.info("removed %d unfinished shard folder(s) of an earlier run: %s", len(removed), ", ".join(removed))
    return removed


# --------------------------------------------------------------------------------------------- progress
class _Progress:
    """rich progress bar (stderr) with frames/s and ETA; a no-op when disabled."""

    def __init__(self, total_frames: int, enabled: bool, description: str):
        self.enabled = enabled and total_frames > 0
        self.done = 0
        self._p = None
        if self.enabled:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                       TimeRemainingColumn)
            self._p = Progress(TextColumn("[bold]{task.description}"), BarColumn(bar_width=24),
                               MofNCompleteColumn(), TextColumn("frames {task.fields[fps]}/s"),
                               TextColumn("ETA"), TimeRemainingColumn(), TimeElapsedColumn(),
                               console=Console(stderr=True), transient=False)
            self._p.start()
            self._task = self._p.add_task(description, total=total_frames, fps="-")
            self._t0 = time.perf_counter()

    def set(self, done: int) -> None:
        self.done = max(0, done)
        if self._p is not None:
            dt = time.perf_counter() - self._t0
            fps = f"{self.done / dt:.2f}" if dt > 0 else "-"
            self._p.update(self._task, completed=self.done, fps=fps)

    def close(self) -> None:
        if self._p is not None:
            self._p.stop()


# --------------------------------------------------------------------------------------------- worker side
_WORKER: dict = {}


def _exit_with_parent(parent_pid: int, poll_s: float = 1.0) -> None:
    """Daemon thread body: end this worker when the process that started it is gone (killed with SIGKILL or
    SIGTERM, the parent cannot stop its pool; an orphaned Blender would keep rendering into the dataset)."""
    while True:
        time.sleep(poll_s)
        if os.getppid() != parent_pid:
            os._exit(3)


def _worker_init(cfg_dict: dict, factory: Optional[RendererFactory], queue, parent_pid: Optional[int] = None) -> None:
    import threading
    threading.Thread(target=_exit_with_parent, args=(parent_pid or os.getppid(),), daemon=True,
                     name="dms-parent-watch").start()
    _WORKER.clear()
    _WORKER.update(cfg=SimulateConfig.model_validate(cfg_dict), factory=factory or make_renderer, queue=queue,
                   renderer=None)


def _worker_run(job: ShardJob, root: str) -> dict:
    q = _WORKER["queue"]
    q.put(("start", job.name, os.getpid()))
    if _WORKER["renderer"] is None:                  # one renderer (one Blender) per worker process
        _WORKER["renderer"] = _WORKER["factory"](_WORKER["cfg"])
    res = execute_shard(job, _WORKER["cfg"], root, _WORKER["renderer"],
                        progress=lambda n: q.put(("frames", job.name, n)))
    return res


class _RayWorker:
    """Ray actor body: one renderer per actor."""

    def __init__(self, cfg_dict: dict, factory: Optional[RendererFactory]):
        self.cfg = SimulateConfig.model_validate(cfg_dict)
        self.factory = factory or make_renderer
        self.renderer = None

    def run(self, job: ShardJob, root: str) -> dict:
        if self.renderer is None:
            self.renderer = self.factory(self.cfg)
        return execute_shard(job, self.cfg, root, self.renderer)

    def pid(self) -> int:
        return os.getpid()


# --------------------------------------------------------------------------------------------- driver side
DISK_FULL_BYTES = 64 * 1024 * 1024


def _is_disk_full(exc: BaseException, root: Optional[Path] = None) -> bool:
    """ENOSPC anywhere in the exception chain, or (image writers hide errno) almost no space left at ``root``."""
    if root is not None:
        try:
            if shutil.disk_usage(root).free < DISK_FULL_BYTES:
                return True
        except OSError:
            pass
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            return True
        exc = exc.__cause__ or getattr(exc, "cause", None)
    return False


class _Book:
    """Attempts, results and progress shared by both backends."""

    def __init__(self, jobs: Sequence[ShardJob], retries: int, report: RunReport, progress: _Progress):
        self.jobs = {j.name: j for j in jobs}
        self.retries = retries
        self.report = report
        self.progress = progress
        self.partial: dict[str, int] = {}
        self.done_frames = 0

    def frames(self, name: str, n: int) -> None:
        self.partial[name] = self.partial.get(name, 0) + n
        self.progress.set(self.done_frames + sum(self.partial.values()))

    def success(self, name: str, res: dict) -> None:
        self.partial.pop(name, None)
        self.done_frames += self.jobs[name].n_frames
        self.report.rendered.append(name)
        self.report.n_frames += self.jobs[name].n_frames
        self.progress.set(self.done_frames + sum(self.partial.values()))

    def failure(self, name: str, err: str, charge: bool = True) -> bool:
        """Record a failed attempt; True when the shard should be retried."""
        self.partial.pop(name, None)
        self.progress.set(self.done_frames + sum(self.partial.values()))
        if not charge:
            log.info("shard %s requeued (its pool broke before it ran)", name)
            return True
        self.report.attempts[name] = self.report.attempts.get(name, 0) + 1
        n = self.report.attempts[name]
        if n > self.retries:
            self.report.failed[name] = err
            log.error("shard %s failed %d time(s), giving up: %s", name, n, err)
            return False
        log.warning("shard %s failed (attempt %d of %d), retrying: %s", name, n, self.retries + 1, err)
        return True

    def started(self, name: str) -> None:
        self.report.attempts.setdefault(name, 0)


def _run_local(todo: list[ShardJob], cfg: SimulateConfig, root: Path, workers: int,
               factory: Optional[RendererFactory], book: _Book) -> None:
    ctx = mp.get_context("spawn")
    queue = ctx.SimpleQueue()
    cfg_dict = cfg.model_dump(mode="json")
    pending = list(todo)
    while pending:
        n_workers = max(1, min(workers, len(pending)))
        started: set[str] = set()
        retry: list[ShardJob] = []

        def drain() -> None:
            while not queue.empty():
                kind, name, val = queue.get()
                if kind == "start":
                    started.add(name)
                    book.started(name)
                elif kind == "frames":
                    book.frames(name, val)

        with ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx, initializer=_worker_init,
                                 initargs=(cfg_dict, factory, queue, os.getpid())) as ex:
            futs = {ex.submit(_worker_run, job, str(root)): job for job in pending}
            while futs:
                done, _ = wait(list(futs), timeout=0.2, return_when=FIRST_COMPLETED)
                drain()
                for f in done:
                    job = futs.pop(f)
                    try:
                        res = f.result()
                    except BrokenProcessPool as e:
                        # a worker died: charge the shards that were running, requeue the rest for free
                        was_running = job.name in started
                        if book.failure(job.name, f"worker process died ({e})", charge=was_running):
                            retry.append(job)
                        continue
                    except Exception as e:  # noqa: BLE001 - any shard error is retried then reported
                        if _is_disk_full(e, root):
                            raise DmsError(f"disk full while writing shard {job.name}: {e}") from e
                        if book.failure(job.name, f"{type(e).__name__}: {e}"):
                            retry.append(job)
                        continue
                    book.success(job.name, res)
            drain()
        if retry:       # the pool is down: folders of shards that died mid-way are garbage now
            clean_stale_tmp(root)
        pending = sorted(retry, key=lambda j: (j.kind != "sequence", j.name))


def _run_ray(todo: list[ShardJob], cfg: SimulateConfig, root: Path, workers: int,
             factory: Optional[RendererFactory], book: _Book) -> None:
    try:
        import ray
        from ray.exceptions import RayActorError, RayTaskError
    except ImportError as e:
        raise DmsError("backend 'ray' needs the ray package: pip install 'ray[default]>=2.9' "
                       "(the dms[cluster] extra)") from e
    address = os.environ.get("RAY_ADDRESS")
    we_started = not ray.is_initialized()
    if we_started:
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
    Remote = ray.remote(num_cpus=1, max_restarts=0)(_RayWorker)
    cfg_dict = cfg.model_dump(mode="json")
    n_workers = max(1, min(workers, len(todo)))
    idle = [Remote.remote(cfg_dict, factory) for _ in range(n_workers)]
    pending = list(todo)
    inflight: dict = {}
    try:
        while pending or inflight:
            while pending and idle:
                job = pending.pop(0)
                actor = idle.pop()
                book.started(job.name)
                inflight[actor.run.remote(job, str(root))] = (job, actor)
            ready, _ = ray.wait(list(inflight), num_returns=1, timeout=0.5)
            for ref in ready:
                job, actor = inflight.pop(ref)
                try:
                    res = ray.get(ref)
                except RayActorError as e:       # the actor process died: replace it
                    ray.kill(actor)
                    idle.append(Remote.remote(cfg_dict, factory))
                    if book.failure(job.name, f"ray worker died: {type(e).__name__}"):
                        pending.append(job)
                    continue
                except RayTaskError as e:
                    idle.append(actor)
                    cause = getattr(e, "cause", None)
                    if cause is not None and _is_disk_full(cause, root):
                        raise DmsError(f"disk full while writing shard {job.name}: {cause}") from e
                    if book.failure(job.name, str(cause or e).splitlines()[0]):
                        pending.append(job)
                    continue
                idle.append(actor)
                book.success(job.name, res)
    finally:
        for ref, (job, actor) in inflight.items():
            ray.kill(actor)
        for actor in idle:
            ray.kill(actor)
        if we_started:
            ray.shutdown()


def default_workers(cfg: SimulateConfig) -> int:
    from dms.sim.jobs import resolved_workers
    return resolved_workers(cfg)


def run_jobs(jobs: Sequence[ShardJob], cfg: SimulateConfig, root: str | Path, *, backend: Optional[str] = None,
             workers: Optional[int] = None, retries: Optional[int] = None,
             renderer_factory: Optional[RendererFactory] = None, progress: Optional[bool] = None,
             lock: bool = True) -> RunReport:
    """Render every job not already complete under ``root``; never raises for a failed shard (see
    ``RunReport.failed``), raises DmsError for a full disk or a locked folder.

    ``renderer_factory(cfg) -> renderer`` must be picklable (a module-level callable); default
    :func:`dms.sim.jobs.make_renderer` (``cfg.renderer``). ``lock=False`` when the caller already holds the
    folder's :class:`RunLock`."""
    root = Path(root)
    backend = backend or cfg.backend
    workers = workers or default_workers(cfg)
    retries = cfg.retries if retries is None else retries
    report = RunReport(planned=[j.name for j in jobs])
    t0 = time.perf_counter()
    with (RunLock(root) if lock else contextlib.nullcontext()):
        clean_stale_tmp(root)
        todo: list[ShardJob] = []
        for j in jobs:
            if shard_done(root, j.name):
                report.skipped.append(j.name)
            else:
                todo.append(j)
        if report.skipped:
            log.info("resuming: %d of %d shards already complete", len(report.skipped), len(jobs))
        if not todo:
            report.elapsed_s = time.perf_counter() - t0
            return report
        total = sum(j.n_frames for j in todo)
        prog = _Progress(total, cfg.progress if progress is None else progress,
                         f"simulate {backend}x{min(workers, len(todo))}")
        book = _Book(todo, retries, report, prog)
        try:
            if backend == "local":
                _run_local(todo, cfg, root, workers, renderer_factory, book)
            elif backend == "ray":
                _run_ray(todo, cfg, root, workers, renderer_factory, book)
            else:
                raise DmsError(f"unknown backend {backend!r}")
        finally:
            prog.close()
        clean_stale_tmp(root)              # all workers are gone: leftovers of dead ones are garbage
    report.elapsed_s = time.perf_counter() - t0
    log.info("rendered %d shard(s), %d frames in %.1f s (%.2f frames/s); skipped %d; failed %d",
             len(report.rendered), report.n_frames, report.elapsed_s, report.frames_per_s, len(report.skipped),
             len(report.failed))
    return report
