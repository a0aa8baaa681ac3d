"""Runner: process pool, crashed/killed workers, retries, resume, locks, disk check, Ray backend.

The fault-injecting renderers below are module-level (picklable): the spawned workers import this module by name
(pytest puts tests/sim on sys.path and spawn children inherit it).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from dms.config import load_config
from dms.data.dataset import SUCCESS, shard_done
from dms.errors import DataError, DmsError
from dms.sim.config import SimulateConfig
from dms.sim.jobs import plan_jobs
from dms.sim.render import MockRenderer
from dms.sim.runner import RunLock, check_free_disk, run_jobs

HERE = Path(__file__).resolve().parent


def tiny_cfg(**over) -> SimulateConfig:
    base = {"renderer": "mock", "resolution": [96, 72], "sequences.count": 3, "sequences.duration_s": 1.0,
            "sequences.fps": 10, "sequences.presets": ["attentive"], "crops.eye.count": 8,
            "crops.mouth.count": 4, "crops.face.count": 0, "crops.frame.count": 0, "crops.per_shard": 2,
            "progress": False, "workers": 2, "modalities": ["nir"]}
    base.update(over)
    return load_config(SimulateConfig, overrides=list(base.items()))


class FaultyRenderer:
    """MockRenderer that misbehaves once (globally, via an O_EXCL marker file) at its ``at_call``-th render call
    in a process: ``mode`` "exit" (os._exit), "kill" (SIGKILL itself) or "raise"."""

    def __init__(self, marker: str, mode: str, at_call: int, times: int = 1):
        self.inner = MockRenderer()
        self.marker, self.mode, self.at_call, self.times = marker, mode, at_call, times
        self.calls = 0

    def _maybe_fail(self) -> None:
        self.calls += 1
        if self.calls != self.at_call:
            return
        for k in range(self.times):
            try:
                fd = os.open(f"{self.marker}.{k}", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                continue
            os.write(fd, str(os.getpid()).encode())
            os.close(fd)
            if self.mode == "exit":
                os._exit(17)
            if self.mode == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            if self.mode == "enospc":
                import errno
                raise OSError(errno.ENOSPC, "No space left on device")
            raise RuntimeError("injected render failure")

    def render_frame(self, spec, pose, modalities=("rgb", "nir")):
        self._maybe_fail()
        return self.inner.render_frame(spec, pose, modalities=modalities)

    def render_crops(self, spec, pose, crop_names=("eye_left",), modalities=("rgb", "nir"), size=None):
        self._maybe_fail()
        return self.inner.render_crops(spec, pose, crop_names=crop_names, modalities=modalities, size=size)


class FaultyFactory:
    def __init__(self, marker: str, mode: str, at_call: int = 4, times: int = 1):
        self.args = (marker, mode, at_call, times)

    def __call__(self, cfg):
        return FaultyRenderer(*self.args)


def _labels(root: Path) -> dict[str, bytes]:
    out = {}
    for d in sorted((root / "shards").iterdir()):
        if d.name.startswith("."):
            continue
        for f in ("labels.jsonl", "crops.jsonl", "events.json"):
            if (d / f).is_file():
                out[f"{d.name}/{f}"] = (d / f).read_bytes()
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """A clean single-worker run: the ground truth for byte-identical comparisons."""
    root = tmp_path_factory.mktemp("ref")
    cfg = tiny_cfg(workers=1)
    rep = run_jobs(plan_jobs(cfg), cfg, root)
    assert rep.ok and len(rep.rendered) == len(plan_jobs(cfg))
    return _labels(root)


def test_parallel_run_matches_single_worker_byte_for_byte(tmp_path, reference):
    cfg = tiny_cfg(workers=2)
    rep = run_jobs(plan_jobs(cfg), cfg, tmp_path)
    assert rep.ok and rep.n_frames == sum(j.n_frames for j in plan_jobs(cfg))
    assert _labels(tmp_path) == reference
    # a second run skips everything
    rep2 = run_jobs(plan_jobs(cfg), cfg, tmp_path)
    assert rep2.rendered == [] and len(rep2.skipped) == len(plan_jobs(cfg))


def test_crashed_worker_shard_is_retried(tmp_path, reference):
    cfg = tiny_cfg(workers=2, retries=1)
    rep = run_jobs(plan_jobs(cfg), cfg, tmp_path,
                   renderer_factory=FaultyFactory(str(tmp_path / "crash"), "exit", at_call=3))
    assert (tmp_path / "crash.0").is_file()              # the crash really happened
    assert rep.ok, rep.failed
    assert max(rep.attempts.values()) == 1               # the shard(s) running at the crash were charged once
    assert _labels(tmp_path) == reference
    assert not list((tmp_path / "shards").glob(".tmp-*"))


def test_failing_shard_is_retried_then_reported(tmp_path):
    cfg = tiny_cfg(workers=1, retries=2, **{"sequences.count": 1, "crops.eye.count": 0, "crops.mouth.count": 0})
    # raises on the 2nd call of every process and of every attempt (4 markers > 3 attempts)
    rep = run_jobs(plan_jobs(cfg), cfg, tmp_path,
                   renderer_factory=FaultyFactory(str(tmp_path / "m"), "raise", at_call=2, times=1))
    assert rep.ok and rep.attempts["seq-000000"] == 1      # failed once, then succeeded (same worker, new calls)
    cfg2 = tiny_cfg(workers=1, retries=1, **{"sequences.count": 1, "crops.eye.count": 0, "crops.mouth.count": 0})
    root2 = tmp_path / "b"
    rep2 = run_jobs(plan_jobs(cfg2), cfg2, root2,
                    renderer_factory=FaultyFactory(str(tmp_path / "n"), "exit", at_call=2, times=5))
    assert list(rep2.failed) == ["seq-000000"] and rep2.attempts["seq-000000"] == 2
    assert "worker process died" in rep2.failed["seq-000000"]
    assert not shard_done(root2, "seq-000000") and not (root2 / "shards" / "seq-000000").exists()


def test_killed_worker_then_rerun_renders_only_unfinished_shards(tmp_path, reference):
    cfg = tiny_cfg(workers=2, retries=0)
    jobs = plan_jobs(cfg)
    rep = run_jobs(jobs, cfg, tmp_path, renderer_factory=FaultyFactory(str(tmp_path / "kill"), "kill", at_call=5))
    assert rep.failed, "the SIGKILLed worker's shard must be reported"
    failed = set(rep.failed)
    for j in jobs:
        d = tmp_path / "shards" / j.name
        if j.name in failed:      # nothing that looks complete
            assert not shard_done(tmp_path, j.name) and not d.exists()
        else:
            assert shard_done(tmp_path, j.name)
            assert json.loads((d / SUCCESS).read_text())["n_items"] > 0
    done_mtimes = {j.name: (tmp_path / "shards" / j.name / SUCCESS).stat().st_mtime_ns
                   for j in jobs if j.name not in failed}
    rep2 = run_jobs(jobs, cfg, tmp_path)
    assert set(rep2.rendered) == failed
    assert set(rep2.skipped) == {j.name for j in jobs} - failed
    assert all((tmp_path / "shards" / n / SUCCESS).stat().st_mtime_ns == t for n, t in done_mtimes.items())
    assert _labels(tmp_path) == reference
    assert not list((tmp_path / "shards").glob(".tmp-*"))


_KILL_SCRIPT = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {here!r})
    from test_runner import tiny_cfg
    from dms.sim.jobs import plan_jobs
    from dms.sim.runner import run_jobs
    from dms.sim.render import MockRenderer

    class Slow:
        def __init__(self, cfg):
            self.r = MockRenderer()
        def render_frame(self, *a, **k):
            time.sleep(0.15)
            return self.r.render_frame(*a, **k)
        def render_crops(self, *a, **k):
            time.sleep(0.15)
            return self.r.render_crops(*a, **k)

    if __name__ == "__main__":
        cfg = tiny_cfg(workers=1)
        run_jobs(plan_jobs(cfg), cfg, sys.argv[1], renderer_factory=Slow)
""")


def test_killed_run_resumes(tmp_path, reference):
    """Kill the whole run (driver + worker) mid-way; the re-run keeps finished shards and completes the rest."""
    script = tmp_path / "slow_run.py"
    script.write_text(_KILL_SCRIPT.format(here=str(HERE)))
    root = tmp_path / "ds"
    p = subprocess.Popen([sys.executable, str(script), str(root)], start_new_session=True)
    try:
        t_end = time.monotonic() + 120
        while time.monotonic() < t_end and not shard_done(root, "seq-000000"):
            time.sleep(0.05)
        assert shard_done(root, "seq-000000")
        time.sleep(0.4)                                   # let it start the next shard
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    cfg = tiny_cfg(workers=2)
    jobs = plan_jobs(cfg)
    done_before = {j.name for j in jobs if shard_done(root, j.name)}
    assert 1 <= len(done_before) < len(jobs)
    assert (root / ".simulate.lock").exists()             # stale lock of the killed run
    rep = run_jobs(jobs, cfg, root)
    assert set(rep.skipped) == done_before and set(rep.rendered) == {j.name for j in jobs} - done_before
    assert _labels(root) == reference
    assert not (root / ".simulate.lock").exists()


def test_live_lock_refuses_second_writer(tmp_path):
    with RunLock(tmp_path):
        lock = tmp_path / ".simulate.lock"
        lock.write_text(str(os.getppid()))               # pretend another live process holds it
        with pytest.raises(DataError, match="another dms simulate"):
            with RunLock(tmp_path):
                pass
        lock.write_text(str(os.getpid()))


def test_disk_full_during_a_run_stops_with_a_clear_error(tmp_path):
    cfg = tiny_cfg(workers=1, retries=3, **{"sequences.count": 1, "crops.eye.count": 0, "crops.mouth.count": 0})
    with pytest.raises(DmsError, match="disk full while writing shard seq-000000"):
        run_jobs(plan_jobs(cfg), cfg, tmp_path, renderer_factory=FaultyFactory(str(tmp_path / "m"), "enospc", 2))
    assert not shard_done(tmp_path, "seq-000000")


def test_disk_check(tmp_path):
    check_free_disk(tmp_path / "new" / "dir", 1000, 0.0)
    with pytest.raises(DmsError, match="not enough free disk space"):
        check_free_disk(tmp_path, 10 ** 18, 0.0)


def test_ray_backend_matches_local(tmp_path, reference):
    """Ray on a local instance (~7 s here incl. ray.init) writes the same labels as the local backend."""
    pytest.importorskip("ray")
    cfg = tiny_cfg(backend="ray", workers=2)
    rep = run_jobs(plan_jobs(cfg), cfg, tmp_path)
    assert rep.ok and len(rep.rendered) == len(plan_jobs(cfg))
    assert _labels(tmp_path) == reference


def test_ray_dead_actor_is_replaced_and_its_shard_retried(tmp_path, reference, monkeypatch):
    pytest.importorskip("ray")
    # Ray workers inherit the driver's environment: make this module importable for the faulty factory
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    cfg = tiny_cfg(backend="ray", workers=2, retries=1)
    rep = run_jobs(plan_jobs(cfg), cfg, tmp_path,
                   renderer_factory=FaultyFactory(str(tmp_path / "crash"), "exit", at_call=3))
    assert (tmp_path / "crash.0").is_file()
    assert rep.ok, rep.failed
    assert sorted(rep.attempts.values())[-1] == 1
    assert _labels(tmp_path) == reference
    assert not list((tmp_path / "shards").glob(".tmp-*"))


_ORPHAN_PARENT = r"""
import multiprocessing as mp, sys, time
from dms.sim import runner

def child(parent_pid):
    import threading
    threading.Thread(target=runner._exit_with_parent, args=(parent_pid, 0.1), daemon=True).start()
    time.sleep(60)

if __name__ == "__main__":
    import os
    p = mp.get_context("spawn").Process(target=child, args=(os.getpid(),))
    p.start()
    print(p.pid, flush=True)
    time.sleep(60)
"""


def test_render_worker_exits_when_its_parent_is_killed(tmp_path):
    """SIGKILL of `dms simulate` must not leave an orphaned worker rendering into the dataset."""
    import os
    import signal
    import subprocess
    import sys
    import time
    script = tmp_path / "parent.py"
    script.write_text(_ORPHAN_PARENT)
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                              cwd=os.getcwd())
    try:
        child_pid = int(parent.stdout.readline())
        time.sleep(0.5)
        os.kill(child_pid, 0)                       # alive while the parent lives
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.time() + 10
        def running(pid):                           # a zombie (exited, not yet reaped by init) is not running
            try:
                with open(f"/proc/{pid}/stat") as f:
                    return f.read().rsplit(")", 1)[1].split()[0] != "Z"
            except FileNotFoundError:
                return False
        while time.time() < deadline:
            if not running(child_pid):
                break
            time.sleep(0.1)
        else:
            os.kill(child_pid, signal.SIGKILL)
            raise AssertionError("worker still alive 10 s after its parent was killed")
    finally:
        if parent.poll() is None:
            parent.kill()
