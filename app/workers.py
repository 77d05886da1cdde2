"""Long work off the GUI thread. PyTorch sampling releases Python's lock, so a QThread keeps the
window responsive while the Diffuser denoises; physics and OMPL hold it, so the demonstrator and
every execution run in a worker process (tasks.jobs), which the thread only waits for."""
from __future__ import annotations

import time
from concurrent.futures import Future
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QThread, Signal

from tasks import jobs
from tasks.goals import Goal
from tasks.stopping import Cancelled

POLL = 0.02  # seconds between looks at a job in the worker process


def wait_for(future: Future, should_stop: Callable[[], bool]):
    """The job's result, waiting without holding Python's lock; Cancelled if stopped first."""
    while not future.done():
        if should_stop():
            future.cancel()
            raise Cancelled()
        time.sleep(POLL)
    return future.result()


class PlanWorker(QThread):
    """Plans `goal` from `state` with the planner `make_planner()` returns, then executes the plan
    in physics. Emits progress(segment, segments, step, steps), then exactly one of done(plan,
    execution result), failed(message) or cancelled()."""

    progress = Signal(int, int, int, int)
    done = Signal(object, object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, planner: str, make_planner: Callable[[], object], state: np.ndarray, goal: Goal, seed: int) -> None:
        super().__init__()
        self.planner = planner
        self.make_planner = make_planner
        self.state, self.goal, self.seed = state, goal, seed
        self._stop = False

    def cancel(self) -> None:
        self._stop = True

    def run(self) -> None:
        stop = lambda: self._stop  # noqa: E731
        try:
            if self.planner == "demonstrator":
                plan, result = wait_for(jobs.submit(jobs.plan_with_demonstrator, self.state, self.goal, self.seed), stop)
            else:
                plan = self.make_planner().plan(
                    self.state, self.goal, self.seed, progress=lambda *a: self.progress.emit(*a),
                    should_stop=stop, keep_denoising=True,
                )
                result = wait_for(jobs.submit(jobs.run_execute, plan.states, self.goal, self.state), stop)
                plan = plan.with_result(result.score, result.strict_success)
            self.done.emit(plan, result)
        except Cancelled:
            self.cancelled.emit()
        except Exception as e:  # shown to the user; the app stays usable
            self.failed.emit(f"{type(e).__name__}: {e}")


class ExecuteWorker(QThread):
    """Executes stored plan states in physics (from their first state; a chain of plans one after
    the other); emits done(last plan, result over all of them)."""

    done = Signal(object, object)
    failed = Signal(str)

    def __init__(self, plan, chain: list | None = None) -> None:
        super().__init__()
        self.plan, self.chain = plan, chain or [plan]

    def run(self) -> None:
        try:
            job = jobs.submit(jobs.run_chain, [(p.states, p.goal) for p in self.chain])
            self.done.emit(self.plan, wait_for(job, lambda: False))
        except Exception as e:  # shown to the user; the app stays usable
            self.failed.emit(f"{type(e).__name__}: {e}")


class WarmupWorker(QThread):
    """Loads the Diffuser and plans one small goal off the GUI thread when the window opens, and
    starts the physics worker process, so that the user's first plan is as fast as the second."""

    ready = Signal(float)  # seconds it took
    failed = Signal(str)

    def __init__(self, make_planner: Callable[[], object]) -> None:
        super().__init__()
        self.make_planner = make_planner

    def run(self) -> None:
        from tasks.goals import TowerOrder
        from tasks.world import initial_state

        t0 = time.perf_counter()
        try:
            state = initial_state(0)
            pool = jobs.submit(jobs.run_execute, np.repeat(state[None], 2, 0), TowerOrder(("red", "green")), state)
            self.make_planner().plan(state, TowerOrder(("red", "green")), 0)
            pool.result()
            self.ready.emit(time.perf_counter() - t0)
        except Exception as e:  # the first plan will then load it and say what is wrong
            self.failed.emit(f"{type(e).__name__}: {e}")
