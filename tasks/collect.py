"""Collect demonstrations with the demonstrator into the HDF5 dataset, in worker processes.

Episode k of a collection with seed S uses scene seed `episode_seed(S, k, "train")` (the
training stream: evaluation never draws these scenes) and a goal drawn from it, so the file's
content depends only on the seed and the number of blocks, never on the number of workers:
results are written in episode order. Episodes already in the file are skipped (resume).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from tasks.dataset import Demo, append_demo, read_index
from tasks.goals import TASKS, Goal, GoalError, check_fits, sample_goal
from tasks.layout import DEFAULT_BLOCKS, block_names
from tasks.starts import start_state
from tasks.workers import ordered_results
from tasks.world import episode_seed

if TYPE_CHECKING:
    from tasks.cluster import RayTarget


@dataclass(frozen=True)
class CollectedEpisode:
    episode: int
    demo: Demo | None
    error: str = ""


def collect_episode(task: str, collection_seed: int, episode: int, goal: Goal | None = None,
                    n_blocks: int = DEFAULT_BLOCKS) -> CollectedEpisode:
    """Solve one episode and check the result by replaying it in physics."""
    from tasks.demonstrator import PlanningError, shared
    from tasks.demonstrator.solver import ATTEMPTS
    from tasks.execute import execute

    seed = episode_seed(collection_seed, episode, "train")
    state = start_state(task, seed, n_blocks)
    given = goal is not None
    goal = goal or sample_goal(task, np.random.default_rng(seed), state)
    error = ""
    for attempt in range(ATTEMPTS):
        try:
            result = shared().solve(state, goal, seed + attempt)
        except PlanningError as e:
            error = str(e)
            continue
        replay = execute(result.states, goal)
        if replay.strict_success:
            demo = Demo(result.states, goal, task, seed, episode, collection_seed, True, result.plan_seconds, goal_given=given)
            return CollectedEpisode(episode, demo.with_rewards())  # here, in the worker: the one writer only writes
        error = f"replay in physics scored {replay.score:.0f} without strict success"
    return CollectedEpisode(episode, None, error)


def _work(args: tuple) -> CollectedEpisode:
    return collect_episode(*args)


def pending_episodes(path: Path, task: str, seed: int, episodes: int, goal: Goal | None = None,
                     n_blocks: int = DEFAULT_BLOCKS) -> list[int]:
    """Episodes of this collection (same task, seed, and given goal or none) not yet in the file;
    a file of another number of blocks is refused."""
    if not Path(path).exists():
        return list(range(episodes))
    done = {
        d.episode for d in read_index(path, n_blocks)
        if d.task == task and d.collection_seed == seed and d.source == "demonstrator"
        and d.goal_given == (goal is not None) and (goal is None or d.goal == goal)
    }
    return [k for k in range(episodes) if k not in done]


def collect(
    path: str | Path,
    task: str,
    episodes: int,
    seed: int,
    workers: int = 1,
    goal: Goal | None = None,
    progress: Callable[[int, int, int], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    processes: bool = False,
    n_blocks: int = DEFAULT_BLOCKS,
    ray: RayTarget | None = None,
) -> tuple[int, list[str]]:
    """Collect up to `episodes` demos into `path`. Returns (demos written, failure messages).

    `progress(done, total, failures)` is called after each episode; `should_stop()` is polled
    between episodes and ends the collection early (what is written stays). With `goal`, every
    episode solves that goal from its own seeded scene (the task must be the goal's). With `ray`,
    the episodes run on Ray workers (tasks/cluster.py) and this process still writes them, in order.
    """
    if goal is not None and goal.task != task:
        raise GoalError(f"goal '{goal}' is a {goal.task} goal, not {task}")
    if task not in TASKS:
        raise GoalError(f"unknown task {task!r}; tasks are {', '.join(TASKS)}")
    if goal is not None:
        check_fits(goal, block_names(n_blocks))
    path = Path(path)
    todo = pending_episodes(path, task, seed, episodes, goal, n_blocks)
    written, failures = 0, []
    done = episodes - len(todo)
    jobs = [(task, seed, k, goal, n_blocks) for k in todo]
    results = ordered_results(_work, jobs, workers, processes, should_stop, ray, label=lambda job: f"episode {job[2]}")
    try:
        for r in results:
            if r.demo is not None:
                append_demo(path, r.demo, _generator())
                written += 1
            else:
                failures.append(f"episode {r.episode}: {r.error}")
            done += 1
            if progress:
                progress(done, episodes, len(failures))
            if should_stop():
                break
    finally:
        results.close()
    return written, failures


def keep_plan(path: str | Path, plan, scene_seed: int) -> str:
    """Append a plan that succeeded in physics to the dataset as a demonstration."""
    if not plan.strict_success:
        raise GoalError("only a plan with strict success can be kept as a demonstration")
    kept = sum(1 for d in read_index(path) if d.source != "demonstrator") if Path(path).exists() else 0
    demo = Demo(
        plan.states, plan.goal, plan.goal.task, scene_seed, kept, -1, True, plan.plan_seconds,
        source=f"{plan.planner} {plan.id or 'plan'}", goal_given=True,
    )
    return append_demo(path, demo, _generator())


def _generator() -> str:
    from tasks.demonstrator import GENERATOR_VERSION

    return GENERATOR_VERSION
