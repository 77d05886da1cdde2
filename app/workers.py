"""Long work off the GUI thread, and off its process: the Diffuser's planning, the demonstrator
and every execution in physics run in the worker process (tasks.jobs), which holds the Diffuser
loaded. The threads here only wait for its jobs, without holding Python's lock, and pass their
progress and results on as signals."""
from __future__ import annotations

import time
from concurrent.futures import Future
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QThread, Signal

from tasks import jobs
from tasks.goals import Goal
from tasks.h5io import FileFormatError
from tasks.plans import Plan
from tasks.stopping import Cancelled

POLL = 0.02  # seconds between looks at a job in the worker process


def wait_for(future: Future, should_stop: Callable[[], bool], on_poll: Callable[[], None] = lambda: None):
    """The job's result, waiting without holding Python's lock; Cancelled if stopped first.
    `on_poll` runs at each look (passing progress on)."""
    while not future.done():
        on_poll()
        if should_stop():
            future.cancel()
            raise Cancelled()
        time.sleep(POLL)
    on_poll()
    return future.result()


class PlanWorker(QThread):
    """Plans `goal` from `state` in the worker process with `planner` ("diffuser": the Diffuser of
    `checkpoint` with `settings`; "demonstrator"), which also executes the plan in physics. Emits
    progress(segment, segments, step, steps), then exactly one of done(plan, execution result),
    failed(message) or cancelled(). `keep`, when given, writes the plan to the library here, off
    the GUI thread (the write is tens of milliseconds with the denoising steps); the plan comes
    back with its id, or without one when the file refused it (the window then says why)."""

    progress = Signal(int, int, int, int)
    done = Signal(object, object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, planner: str, checkpoint: Path, settings, state: np.ndarray, goal: Goal, seed: int,
                 keep: Callable[[Plan], Plan] | None = None) -> None:
        super().__init__()
        self.planner, self.checkpoint, self.settings = planner, checkpoint, settings
        self.state, self.goal, self.seed, self.keep = state, goal, seed, keep
        self._stop = False

    def cancel(self) -> None:
        self._stop = True

    def run(self) -> None:
        try:
            if self.planner == "demonstrator":
                job = jobs.submit(jobs.plan_with_demonstrator, self.state, self.goal, self.seed)
                plan, result = wait_for(job, lambda: self._stop)
            else:
                plan, result = self._diffuser_plan()
            if self.keep is not None:
                try:
                    plan = self.keep(plan)
                except FileFormatError:
                    pass  # kept on the GUI thread instead, which says why it cannot be
            self.done.emit(plan, result)
        except Cancelled:
            self.cancelled.emit()
        except Exception as e:  # shown to the user; the app stays usable
            self.failed.emit(f"{type(e).__name__}: {e}")

    def _diffuser_plan(self):
        """The Diffuser's plan and its execution; a cancel stops it at its next denoising step in
        the worker (which is then free for the next job)."""
        number = jobs.new_job()
        future = jobs.submit(jobs.plan_with_diffuser, number, str(self.checkpoint), self.settings, self.state,
                             self.goal, self.seed)

        def report() -> None:
            for seg, segs, k, steps in jobs.progress_of(number):
                self.progress.emit(seg, segs, k, steps)

        def stop() -> bool:
            if self._stop and future.cancel():  # not started yet
                return True
            if self._stop:
                jobs.cancel(number)
            return False

        return wait_for(future, stop, report)


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
    """Has the worker process load the Diffuser and plan one small goal when the window opens, so
    that the user's first plan is as fast as the second. `stop()` stops waiting (closing)."""

    ready = Signal(float)  # seconds it took
    failed = Signal(str)

    def __init__(self, checkpoint: Path, settings) -> None:
        super().__init__()
        self.checkpoint, self.settings = checkpoint, settings
        self._stop = False

    def stop(self) -> None:
        """Stop waiting for the worker process (within POLL) and end."""
        self._stop = True
        self.wait(5000)

    def run(self) -> None:
        t0 = time.perf_counter()
        try:
            wait_for(jobs.submit(jobs.warm_diffuser, str(self.checkpoint), self.settings), lambda: self._stop)
            self.ready.emit(time.perf_counter() - t0)
        except Cancelled:
            pass
        except Exception as e:  # the first plan will then load it and say what is wrong
            self.failed.emit(f"{type(e).__name__}: {e}")
