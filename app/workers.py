"""Long work off the GUI thread. PyTorch sampling releases Python's lock, so a QThread keeps the
window responsive while the Diffuser denoises; progress and results come back as signals."""
from __future__ import annotations

from typing import Callable

import numpy as np
from PySide6.QtCore import QThread, Signal

from tasks.execute import execute
from tasks.goals import Goal


class PlanWorker(QThread):
    """Plans `goal` from `state` with the planner `make_planner()` returns, then executes the plan
    in physics. Emits progress(segment, segments, step, steps), then exactly one of done(plan,
    execution result), failed(message) or cancelled()."""

    progress = Signal(int, int, int, int)
    done = Signal(object, object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, make_planner: Callable[[], object], state: np.ndarray, goal: Goal, seed: int) -> None:
        super().__init__()
        self.make_planner = make_planner
        self.state, self.goal, self.seed = state, goal, seed
        self._stop = False

    def cancel(self) -> None:
        self._stop = True

    def run(self) -> None:
        from planner.diffusion import Cancelled

        try:
            planner = self.make_planner()
            if getattr(planner, "name", "") == "diffuser":
                plan = planner.plan(
                    self.state, self.goal, self.seed, progress=lambda *a: self.progress.emit(*a),
                    should_stop=lambda: self._stop, keep_denoising=True,
                )
            else:
                plan = planner.plan(self.state, self.goal, self.seed)
            if self._stop:
                self.cancelled.emit()
                return
            result = execute(plan.states, self.goal, start=self.state)
            self.done.emit(plan.with_result(result.score, result.strict_success), result)
        except Cancelled:
            self.cancelled.emit()
        except Exception as e:  # shown to the user; the app stays usable
            self.failed.emit(f"{type(e).__name__}: {e}")


class ExecuteWorker(QThread):
    """Executes stored plan states in physics (from their first state); emits done(plan, result)."""

    done = Signal(object, object)
    failed = Signal(str)

    def __init__(self, plan) -> None:
        super().__init__()
        self.plan = plan

    def run(self) -> None:
        try:
            self.done.emit(self.plan, execute(self.plan.states, self.plan.goal))
        except Exception as e:  # shown to the user; the app stays usable
            self.failed.emit(f"{type(e).__name__}: {e}")
