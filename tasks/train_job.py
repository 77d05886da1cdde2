"""Training and evaluating a move model in a process of its own (the app's Train tab).

Training takes every core it is given for minutes; in the app's process, or in the planning
worker (tasks.jobs), it would starve the window or the user's plans. Here it runs in a spawned
process, niced below the planning worker and using one core fewer than the machine has (on two
cores: one), bound to the app's life (tasks.lifeline). It reports through a queue and stops when
asked, at its next step, leaving its last checkpoint: Resume continues from it.

Messages, as tuples: ("train", step, steps, loss, held-out error or None), ("eval", model,
episode, episodes, mean score so far), ("done", what), ("stopped", what), ("failed", message).
"""
from __future__ import annotations

import math
import multiprocessing as mp
import os
import queue
import signal
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from planner.config import MoverTrainConfig, PlannerSettings, SHIPPED_CHECKPOINT
from planner.model_store import CHECKPOINT, MODEL, ModelStore, Score

NICE = 10  # below the planning worker (tasks.jobs.NICE): the user's plans come first


@dataclass(frozen=True)
class TrainSpec:
    """A training run of model `name` in `store_root`: what the Train tab asked for."""

    store_root: str
    name: str
    data: tuple[str, ...]
    init_from: str | None  # None: from scratch
    minutes: float  # training time of this run (0: until `steps`)
    steps: int
    batch_size: int
    lr: float
    device: str = "auto"
    save_every: int = 250  # a held-out point on the curve every this many steps

    def config(self) -> MoverTrainConfig:
        folder = Path(self.store_root) / self.name
        return MoverTrainConfig(data=tuple(self.data), out=str(folder / CHECKPOINT), slim=str(folder / MODEL),
                                steps=self.steps, batch_size=self.batch_size, lr=self.lr,
                                lr_final=min(self.lr, MoverTrainConfig.lr_final), device=self.device,
                                minutes=self.minutes, save_every=self.save_every, init_from=self.init_from)


@dataclass(frozen=True)
class EvalSpec:
    """Evaluate the store's models `names` (the new one, then the one in use) on one case."""

    store_root: str
    names: tuple[str, ...]
    task: str
    blocks: int
    episodes: int
    seed: int
    settings: PlannerSettings = field(default_factory=PlannerSettings)


# ---------------------------------------------------------------------- in the child process
def _child_init(parent: int, threads: int) -> None:
    from tasks.lifeline import bind_to_parent

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C in the terminal: the app decides
    bind_to_parent(parent)
    os.nice(NICE)
    import torch

    torch.set_num_threads(threads)


class _Stop:
    """What train_mover and evaluate poll: the parent's stop event."""

    def __init__(self, event) -> None:
        self.event = event

    @property
    def requested(self) -> bool:
        return self.event.is_set()


def train_child(spec: TrainSpec, out: mp.Queue, stop_event, parent: int, threads: int) -> None:
    """(In the child) train the model of `spec`, resuming its checkpoint when there is one; keep
    its info (curve, steps, state) up to date in the store at every report."""
    _child_init(parent, threads)
    from planner.train_mover import train_mover

    store = ModelStore(spec.store_root)
    info = store.info(spec.name)
    info.state, info.message = "training", ""
    store.write(info)
    t0, seconds0, last_write = time.monotonic(), info.seconds, 0.0

    def progress(step: int, steps: int, loss: float, valid: float | None) -> None:
        nonlocal last_write
        if not math.isnan(loss):
            info.losses.append((step, loss))
        if valid is not None:
            info.valid.append((step, valid))
            info.valid_loss = valid
        info.step, info.seconds = step, seconds0 + time.monotonic() - t0
        out.put(("train", step, steps, loss, valid))
        if valid is not None or time.monotonic() - last_write > 5:
            store.write(info)
            last_write = time.monotonic()

    stop = _Stop(stop_event)
    try:
        train_mover(spec.config(), command=f"app Train tab: model {spec.name}", progress=progress, stop=stop)
    except Exception as e:  # shown in the tab; the last checkpoint stays
        info.state, info.message = "failed", f"{type(e).__name__}: {e}"
        store.write(info)
        out.put(("failed", info.message))
        traceback.print_exc()
        return
    # A time budget or the step count ended it: finished; a stop: stopped, to be resumed.
    info.state = "stopped" if stop.requested else "finished"
    info.message = "stopped by the user; Resume continues from the last checkpoint" if stop.requested else ""
    store.write(info)
    out.put(("stopped" if stop.requested else "done", spec.name))


def eval_child(spec: EvalSpec, out: mp.Queue, stop_event, parent: int, threads: int) -> None:
    """(In the child) evaluate each model of `spec` on the same episodes; each result is added to
    that model's scores (an interrupted evaluation resumes where it stopped)."""
    _child_init(parent, threads)
    from dataclasses import replace

    from planner.plan import DiffuserPlanner
    from tasks.evaluate import evaluate

    store = ModelStore(spec.store_root)
    try:
        for name in spec.names:
            settings = replace(spec.settings, mover=str(store.path_of(name)))
            planner = DiffuserPlanner(SHIPPED_CHECKPOINT, settings)
            folder = Path(spec.store_root) / "evaluations" / name / f"{spec.task}-n{spec.blocks}-seed{spec.seed}"
            done: list[float] = []

            def progress(e, name=name, done=done) -> None:
                done.append(e.score)
                out.put(("eval", name, len(done), spec.episodes, sum(done) / len(done)))

            try:
                result = evaluate(planner, spec.task, spec.episodes, spec.seed, folder, progress=progress,
                                  should_stop=stop_event.is_set, n_blocks=spec.blocks)
            finally:
                planner.close()
            if not result["complete"]:
                out.put(("stopped", f"evaluation stopped; what {name} did is kept and resumes"))
                return
            store.add_score(Score(spec.task, spec.blocks, spec.episodes, spec.seed, result["score_mean"],
                                  result["score_sem"], result["strict_success"], name,
                                  against=spec.names[-1] if name != spec.names[-1] else ""))
        out.put(("done", spec.names))
    except Exception as e:  # shown in the tab
        out.put(("failed", f"{type(e).__name__}: {e}"))
        traceback.print_exc()


# ---------------------------------------------------------------------- the app's side
class BackgroundJob:
    """One child process running `train_child` or `eval_child`; `messages()` drains its reports,
    `stop()` asks it to stop at its next step, `kill()` ends it now."""

    def __init__(self, target, spec, threads: int | None = None) -> None:
        ctx = mp.get_context("spawn")
        self.queue, self.stop_event = ctx.Queue(), ctx.Event()
        threads = threads or max(1, (os.cpu_count() or 1) - 1)  # a core stays for the window and its plans
        self.process = ctx.Process(target=target, args=(spec, self.queue, self.stop_event, os.getpid(), threads),
                                   name="train-job", daemon=True)
        self.process.start()

    def messages(self) -> list[tuple]:
        found = []
        while True:
            try:
                found.append(self.queue.get_nowait())
            except (queue.Empty, OSError, ValueError):
                return found

    @property
    def alive(self) -> bool:
        return self.process.is_alive()

    def stop(self) -> None:
        self.stop_event.set()

    def kill(self, grace: float = 5.0) -> None:
        """Stop; after `grace` seconds end the process (its last checkpoint stays)."""
        self.stop()
        self.process.join(grace)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(2)
