"""Run a command's episodes on Ray workers: a local Ray instance, or a Ray cluster by its address.

One Ray actor per CPU is one worker process with its own PyBullet client (and, evaluating, its
own planner). The driver hands each worker one job at a time and yields the results in job order,
so the command's one writer appends exactly what a `--workers` run appends (tasks/workers.py).

What can go wrong says so and loses nothing the writer already has:
- Ray not installed: one line with the install command.
- An address nothing answers at: refused within CONNECT_TIMEOUT_S + PROBE_TIMEOUT_S, before any
  work (Ray itself would retry for many minutes).
- A worker that dies (killed, out of memory, its node gone): its job goes to a new worker, with a
  warning; a job whose workers died LOSSES_PER_JOB times stops the run (ClusterError), and the
  same command resumes after what was written.
"""
from __future__ import annotations

import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RAY_VERSION = "2.60.0"  # requirements-ray.txt
INSTALL = ".venv/bin/pip install -r requirements-ray.txt"
DEFAULT_PORT = 6379  # a head node's port (`ray start --head`)
CLIENT_PORT = 10001  # a ray:// (Ray Client) address's port
CONNECT_TIMEOUT_S = 10.0  # for the address to accept a connection at all
PROBE_TIMEOUT_S = 30.0  # for a Ray cluster to answer there
START_TIMEOUT_S = 300.0  # for the first worker to start (a busy cluster may have no free CPU)
LOSSES_PER_JOB = 2  # workers a job may lose before the run stops: a job that kills workers
WINDOW_PER_WORKER = 4  # jobs handed out ahead of the next one to yield, per worker
LOOPBACK_ONLY = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"  # "0": a single machine's Ray, on 127.0.0.1
# Shipped to a cluster with the code (the job's working_dir): not data, results or the venv.
EXCLUDES = [".git/", ".venv/", "data/", "runs/", "out/", "docs/", "tests/", "gpu/", "*.h5", "*.segments.npz"]

log = logging.getLogger(__name__)


class ClusterError(RuntimeError):
    """Ray is missing, the cluster cannot be reached, or its workers keep dying; one line.
    `before_work`: raised before any job ran (nothing to keep)."""

    def __init__(self, message: str, before_work: bool = False) -> None:
        super().__init__(message)
        self.before_work = before_work


@dataclass(frozen=True)
class RayTarget:
    """Which Ray: a local instance started for this run (`address` None, with `cpus` CPUs, default
    every core), or the cluster at `address` (host:port of its head, or ray://host:port)."""
    address: str | None = None
    cpus: int | None = None


def import_ray(local: bool = False):
    """The ray module, or a ClusterError saying how to install it. `local`: for a local instance,
    which then listens and talks on the loopback address only (Ray's own setting for one machine,
    read when Ray is imported; else it binds to the machine's network address)."""
    if local and "ray" not in sys.modules:
        os.environ.setdefault(LOOPBACK_ONLY, "0")
    try:
        import ray
    except ImportError:
        raise ClusterError(f"--ray needs Ray, which is not installed here: {INSTALL} (Ray {RAY_VERSION})", before_work=True) from None
    return ray


def check_reachable(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Refuse, within `timeout_s`, an address where nothing accepts a connection."""
    host, port = split_address(address)
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except TimeoutError:
        raise ClusterError(f"the Ray cluster at {address} cannot be reached: no answer within {timeout_s:.0f} s; "
                           f"nothing was run", before_work=True) from None
    except OSError as e:
        raise ClusterError(f"the Ray cluster at {address} cannot be reached: {e.strerror or e}; nothing was run",
                           before_work=True) from None


def split_address(address: str) -> tuple[str, int]:
    """(host, port) of a head node's address, `host[:port]` or `ray://host[:port]`."""
    scheme, sep, rest = address.partition("://")
    client = bool(sep)
    if not sep:
        rest = scheme
    elif scheme != "ray":
        raise ClusterError(f"--ray {address}: expected HOST:PORT or ray://HOST:PORT", before_work=True)
    host, colon, port = rest.rstrip("/").rpartition(":")
    if not colon:
        host, port = rest.rstrip("/"), ""
    host = host.strip("[]")  # an IPv6 address in brackets
    if not host or port and not port.isdigit():
        raise ClusterError(f"--ray {address}: expected HOST:PORT or ray://HOST:PORT", before_work=True)
    return host, int(port) if port else (CLIENT_PORT if client else DEFAULT_PORT)


_PROBE = ("import sys, ray; ray.init(address=sys.argv[1], logging_level='ERROR', log_to_driver=False); "
          "print(int(ray.cluster_resources().get('CPU', 0))); ray.shutdown()")


def probe(address: str, timeout_s: float = PROBE_TIMEOUT_S) -> int:
    """The cluster's CPUs, asked by a short-lived driver that is ended after `timeout_s` (Ray's own
    connection retries last many minutes where something that is not Ray answers)."""
    try:
        done = subprocess.run([sys.executable, "-c", _PROBE, address], capture_output=True, text=True,
                              timeout=timeout_s, cwd=ROOT)
    except subprocess.TimeoutExpired:
        raise ClusterError(f"no Ray cluster answered at {address} within {timeout_s:.0f} s; nothing was run",
                           before_work=True) from None
    if done.returncode != 0:
        raise ClusterError(f"no Ray cluster at {address}: {_cause(done.stderr) or f'exit {done.returncode}'}; "
                           f"nothing was run", before_work=True)
    return int(done.stdout.split()[-1])


def _cause(stderr: str) -> str:
    """What a failed connection printed that says why: Ray's own error if any, else the first one
    (its last one only says that connecting failed)."""
    errors = [line.strip() for line in stderr.splitlines() if re.match(r"[\w.]+(Error|Exception): ", line.strip())]
    if not errors:
        return ""
    cause = next((e for e in errors if e.startswith("ray.exceptions.")), errors[0]).split(". ")[0]
    if "AuthenticationError" in cause:  # Ray 2.60's clusters ask for a token by default
        cause += " (set RAY_AUTH_MODE=token, and the cluster's token in RAY_AUTH_TOKEN or ~/.ray/auth_token)"
    return cause[:400]


@contextmanager
def ray_session(target: RayTarget) -> Iterator[int]:
    """Ray connected for the block; yields its CPUs. A session the caller already opened (a test,
    a notebook) is used and left open; one opened here is shut down (a local instance ends)."""
    ray = import_ray(local=not target.address)
    if target.address:
        check_reachable(target.address)
    if ray.is_initialized():
        yield _cpus(ray)
        return
    if target.address:
        probe(target.address)
        options = dict(address=target.address, runtime_env={"working_dir": str(ROOT), "excludes": EXCLUDES})
    else:
        # "local": a new instance even where RAY_ADDRESS names another. Its workers run at our own
        # priority: Ray's default (nice 15) left them almost no CPU beside any other busy process
        # (a two-block collection of 6 demos: 37 s instead of 5.5 s beside two evaluations).
        options = dict(address="local", num_cpus=target.cpus or os.cpu_count(), include_dashboard=False,
                       _system_config={"worker_niceness": 0},
                       runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
    # ray.init makes SIGTERM exit at once: keep the command's own handler (stop after the episode).
    kept = signal.getsignal(signal.SIGTERM) if threading.current_thread() is threading.main_thread() else None
    try:
        # A local instance says only errors (not its token-authentication notice); a cluster says warnings too.
        ray.init(**options, log_to_driver=False, logging_level=logging.WARNING if target.address else logging.ERROR)
    finally:
        if kept is not None:
            signal.signal(signal.SIGTERM, kept)
    try:
        yield _cpus(ray)
    finally:
        ray.shutdown()


def _cpus(ray) -> int:
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


class EpisodeWorker:
    """One Ray worker: a process of its own that runs `work(job)` (its PyBullet client, its planner)."""

    def __init__(self, work: Callable[[Any], Any]) -> None:
        self.work = work

    def where(self) -> str:
        """Its node and process, for messages; answering also says it started."""
        import ray

        return f"{ray.util.get_node_ip_address()} pid {os.getpid()}"

    def run(self, job: Any) -> Any:
        return self.work(job)


def ray_results(work: Callable[[Any], Any], jobs: Sequence, target: RayTarget,
                should_stop: Callable[[], bool] = lambda: False, label: Callable[[Any], str] = str) -> Iterator[Any]:
    """`work(job)` for each job on Ray workers, yielded in job order (see the module's docstring).
    `should_stop()` is polled while waiting; when it says stop, the workers are ended at once."""
    ray = import_ray(local=not target.address)
    with ray_session(target) as cpus:
        pool = _Workers(ray, work, min(cpus, max(1, len(jobs))))
        try:
            yield from pool.results(jobs, should_stop, label)
        finally:
            pool.close()


class _Workers:
    """The run's actors: each started one (idle or running one job), and those still starting."""

    def __init__(self, ray, work: Callable[[Any], Any], count: int) -> None:
        self.ray = ray
        self.remote = ray.remote(num_cpus=1, max_restarts=0)(EpisodeWorker)
        self.work_ref = ray.put(work)  # shipped once, not once per worker
        self.all: list = []
        self.starting: dict = {}  # where() ref -> actor
        self.names: dict = {}  # actor -> its node and pid
        for _ in range(count):
            self.add()

    def add(self) -> None:
        actor = self.remote.remote(self.work_ref)
        self.all.append(actor)
        self.starting[actor.where.remote()] = actor

    def close(self) -> None:
        for actor in self.all:
            self.ray.kill(actor)  # ends a job in progress at once (Ctrl+C, an error)

    def results(self, jobs: Sequence, should_stop: Callable[[], bool], label: Callable[[Any], str]) -> Iterator[Any]:
        ray = self.ray
        todo = deque(range(len(jobs)))  # job indices not yet handed out (a lost worker's job goes first)
        running: dict = {}  # run() ref -> (job index, actor)
        idle: list = []
        done: dict[int, Any] = {}
        losses: Counter = Counter()
        window = WINDOW_PER_WORKER * len(self.all)
        following, since = 0, time.monotonic()  # the next job to yield; waiting for a worker since
        while following < len(jobs):
            while idle and todo and todo[0] < following + window:
                i = todo.popleft()
                actor = idle.pop()
                running[actor.run.remote(jobs[i])] = (i, actor)
            if should_stop():
                return
            if not running and not idle and time.monotonic() - since > START_TIMEOUT_S:
                raise ClusterError(f"no Ray worker started within {START_TIMEOUT_S:.0f} s (no free CPU on the cluster?)")
            ready, _ = ray.wait([*running, *self.starting], num_returns=1, timeout=0.1)
            for ref in ready:
                if ref in self.starting:
                    actor = self.starting.pop(ref)
                    try:
                        self.names[actor] = ray.get(ref)
                        idle.append(actor)
                    except ray.exceptions.RayActorError as e:
                        log.warning("a Ray worker died while starting (%s); starting another", _first_line(e))
                        self.add()
                    continue
                i, actor = running.pop(ref)
                try:
                    done[i] = ray.get(ref)
                except ray.exceptions.RayActorError as e:
                    losses[i] += 1
                    what = (f"the Ray worker on {self.names.get(actor, 'an unknown node')} died while running "
                            f"{label(jobs[i])} ({_first_line(e)})")
                    if losses[i] >= LOSSES_PER_JOB:
                        raise ClusterError(f"{what}; {label(jobs[i])} lost {losses[i]} workers, so the run stops") from None
                    log.warning("%s; %s goes to a new worker", what, label(jobs[i]))
                    todo.appendleft(i)
                    self.add()
                    since = time.monotonic()
                    continue
                idle.append(actor)
            while following in done:
                yield done.pop(following)
                following += 1


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
