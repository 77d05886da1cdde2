"""Physics-heavy jobs run in a separate process by the app: PyBullet and OMPL hold Python's lock
for their whole calls, so in a thread of the app they would starve its event loop."""
from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
from concurrent.futures import Future, ProcessPoolExecutor

import numpy as np

from tasks.execute import Execution, execute
from tasks.goals import Goal
from tasks.lifeline import bind_to_parent
from tasks.plans import Plan

_pool: ProcessPoolExecutor | None = None


def pool() -> ProcessPoolExecutor:
    """One worker process, started on first use and kept (its start costs about a second).

    The worker dies with this process however it ends (tasks.lifeline). It is started here, in
    the thread that first asks for the pool: the kernel's parent-death signal follows that
    thread, so it is asked for only when that is the main thread (the app starts the pool there);
    from another thread the worker's watcher alone ends it, within half a second."""
    global _pool
    if _pool is None:
        main = threading.current_thread() is threading.main_thread()
        _pool = ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn"),
                                    initializer=_worker_init, initargs=(os.getpid(), main))
        _pool.submit(os.getpid)  # spawns the worker now, from this thread
    return _pool


def _worker_init(parent_pid: int, pdeathsig: bool) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C in a terminal: the app decides
    bind_to_parent(parent_pid, pdeathsig=pdeathsig)


def shutdown() -> None:
    """Stop the worker now, also in the middle of a job (a plan's result no one will read)."""
    global _pool
    if _pool is not None:
        # Python 3.11 has no public way to end a busy worker; shutdown alone would wait for it.
        for process in list((getattr(_pool, "_processes", None) or {}).values()):
            process.terminate()
        _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None


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


def submit(fn, *args) -> Future:
    return pool().submit(fn, *args)
