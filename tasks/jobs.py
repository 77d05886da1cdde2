"""Long jobs run in a separate process by the app: the Diffuser's planning (its ranking, guides,
kinematics and settling are Python and numpy that hold Python's lock), the demonstrator (OMPL)
and physics (PyBullet holds the lock for its whole calls). In a thread of the app they would
starve its event loop; in this process they cannot.

The worker keeps the Diffuser loaded between plans (`diffuser`); a plan job reports its progress
through a queue and stops when the app cancels it (`progress_of`, `cancel`), by job number."""
from __future__ import annotations

import itertools
import multiprocessing as mp
import os
import queue
import signal
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

import numpy as np

from tasks.execute import Execution, execute
from tasks.goals import Goal
from tasks.lifeline import bind_to_parent
from tasks.plans import Plan

_pool: ProcessPoolExecutor | None = None
# Shared with the worker: its plans' progress (job, (segment, segments, step, steps)) and the
# number of the job the app cancelled last.
_progress: mp.Queue | None = None
_cancelled = None
_jobs = itertools.count(1)
NICE = 5  # the worker yields the CPU to the app's window when the two compete (2 cores, a busy machine)
_planners: dict = {}  # (in the worker) the loaded Diffuser, by checkpoint and settings
_warmed: set = set()  # (in the worker) the keys of _planners that planned their warm-up goal


def pool() -> ProcessPoolExecutor:
    """One worker process, started on first use and kept (its start costs about a second).

    The worker dies with this process however it ends (tasks.lifeline). It is started here, in
    the thread that first asks for the pool: the kernel's parent-death signal follows that
    thread, so it is asked for only when that is the main thread (the app starts the pool there);
    from another thread the worker's watcher alone ends it, within half a second."""
    global _pool, _progress, _cancelled
    if _pool is None:
        main = threading.current_thread() is threading.main_thread()
        ctx = mp.get_context("spawn")
        _progress, _cancelled = ctx.Queue(), ctx.Value("q", 0)
        _pool = ProcessPoolExecutor(max_workers=1, mp_context=ctx, initializer=_worker_init,
                                    initargs=(os.getpid(), main, _progress, _cancelled))
        _pool.submit(os.getpid)  # spawns the worker now, from this thread
    return _pool


def _worker_init(parent_pid: int, pdeathsig: bool, progress, cancelled) -> None:
    global _progress, _cancelled
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C in a terminal: the app decides
    bind_to_parent(parent_pid, pdeathsig=pdeathsig)
    _progress, _cancelled = progress, cancelled
    os.nice(NICE)


def shutdown() -> None:
    """Stop the worker now, also in the middle of a job (a plan's result no one will read)."""
    global _pool
    if _pool is not None:
        # Python 3.11 has no public way to end a busy worker; shutdown alone would wait for it.
        for process in list((getattr(_pool, "_processes", None) or {}).values()):
            process.terminate()
        _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None


def submit(fn, *args) -> Future:
    return pool().submit(fn, *args)


# ---------------------------------------------------------------------- the app's side of a plan
def new_job() -> int:
    """A number for a plan job, for its progress and its cancelling."""
    return next(_jobs)


def cancel(job: int) -> None:
    """Ask plan job `job` to stop at its next denoising step (it raises Cancelled)."""
    pool()
    _cancelled.value = job


def progress_of(job: int) -> list[tuple[int, int, int, int]]:
    """The progress reports of `job` that came since the last look (others' are dropped)."""
    pool()
    out = []
    while True:
        try:
            number, report = _progress.get_nowait()
        except queue.Empty:
            return out
        if number == job:
            out.append(report)


# ---------------------------------------------------------------------- in the worker
def diffuser(checkpoint: str | Path, settings):
    """(In the worker) the Diffuser for `checkpoint` and `settings`, loaded once and kept (one at
    a time: each holds its weights and physics clients)."""
    from planner.plan import DiffuserPlanner

    key = _planner_key(checkpoint, settings)
    if key not in _planners:
        for old in list(_planners):
            _planners.pop(old).close()
            _warmed.discard(old)
        _planners[key] = DiffuserPlanner(checkpoint, settings)
    return _planners[key]


def _planner_key(checkpoint: str | Path, settings) -> tuple:
    return str(checkpoint), settings


def loaded_diffusers() -> list[tuple]:
    """(In the worker) the (checkpoint, settings) of the Diffuser it holds loaded."""
    return list(_planners)


def warmed_diffusers() -> list[tuple]:
    """(In the worker) those of them that planned their warm-up goal (a later warm-up skips it)."""
    return list(_warmed)


def plan_with_diffuser(job: int, checkpoint: str | Path, settings, state: np.ndarray, goal: Goal,
                       seed: int) -> tuple[Plan, Execution]:
    """(In the worker) plan with the Diffuser, keeping its denoising steps, reporting progress as
    job `job` and stopping when it is cancelled; then execute the plan in physics."""
    planner = diffuser(checkpoint, settings)
    plan = planner.plan(state, goal, seed, progress=lambda *a: _progress.put((job, a)),
                        should_stop=lambda: _cancelled.value == job, keep_denoising=True)
    result = execute(plan.states, goal, start=state)
    return plan.with_result(result.score, result.strict_success), result


def warm_diffuser(checkpoint: str | Path, settings) -> None:
    """(In the worker) load the Diffuser and plan and execute one small goal, so that the first
    plan the user asks for is as fast as the next ones."""
    from tasks.goals import TowerOrder
    from tasks.world import initial_state

    key = _planner_key(checkpoint, settings)
    planner = diffuser(checkpoint, settings)
    if key in _warmed:  # a window opened again, or the settings set back: warm already
        return
    state, goal = initial_state(0), TowerOrder(("red", "green"))
    plan = planner.plan(state, goal, 0)
    execute(plan.states, goal, start=state)
    _warmed.add(key)


def plan_with_demonstrator(state: np.ndarray, goal: Goal, seed: int) -> tuple[Plan, Execution]:
    """(In the worker) plan with the demonstrator, then execute the plan in physics."""
    from tasks.demonstrator import shared

    plan = shared().plan(state, goal, seed)
    result = execute(plan.states, goal, start=state)
    return plan.with_result(result.score, result.strict_success), result


def run_execute(states: np.ndarray, goal: Goal, start: np.ndarray | None = None) -> Execution:
    """(In the worker) execute states in physics."""
    return execute(states, goal, start=start)


def run_chain(plans: list[tuple[np.ndarray, Goal]]) -> Execution:
    """(In the worker) execute plans one after the other, each from where the last one left the
    blocks; the realised states of all of them, scored on the last goal."""
    from dataclasses import replace

    current, results = None, []
    for states, goal in plans:
        results.append(execute(states, goal, start=current))
        current = results[-1].final_state
    return replace(results[-1], states=np.concatenate([r.states for r in results]))
