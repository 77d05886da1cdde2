"""Evaluate a planner the paper's way: seeded episodes, execution in physics, normalised score.

Any planner with `name`, `settings` and `plan(state, goal, seed) -> Plan` can be evaluated.
Writes `results.json` and `episodes.h5` (`episodes/<k>/states`: realised states).
"""
from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from tasks.execute import execute
from tasks.goals import Goal, sample_goal
from tasks.h5io import open_h5
from tasks.plans import Plan
from tasks.world import episode_seed, initial_state


class Planner(Protocol):
    name: str

    @property
    def settings(self) -> dict: ...

    def plan(self, state: np.ndarray, goal: Goal, seed: int) -> Plan: ...


@dataclass(frozen=True)
class Episode:
    episode: int
    seed: int
    goal: Goal
    score: float
    strict_success: bool
    plan_seconds: float
    states: np.ndarray
    error: str = ""
    details: dict = field(default_factory=dict)  # the planner's own account (Plan.details)


def run_episode(planner: Planner, task: str, seed: int, k: int) -> Episode:
    s = episode_seed(seed, k)
    state = initial_state(s)
    goal = sample_goal(task, np.random.default_rng(s))
    try:
        plan = planner.plan(state, goal, s)
        result = execute(plan.states, goal, start=state)  # refuses NaN or misshapen states
    except Exception as e:  # a planner failure is an episode scored 0, not a crash
        return Episode(k, s, goal, 0.0, False, float("nan"), state[None].astype(np.float32), f"{type(e).__name__}: {e}")
    return Episode(k, s, goal, result.score, result.strict_success, plan.plan_seconds, result.states, details=plan.details)


def summarise(task: str, planner: Planner, episodes: list[Episode], seed: int) -> dict:
    scores = np.array([e.score for e in episodes])
    times = np.array([e.plan_seconds for e in episodes if not math.isnan(e.plan_seconds)])
    n = len(episodes)
    return {
        "task": task, "planner": planner.name, "episodes": n, "seed": seed,
        "score_mean": float(scores.mean()),
        "score_sem": float(scores.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0,
        "strict_success": float(np.mean([e.strict_success for e in episodes])),
        "plan_seconds_mean": float(times.mean()) if len(times) else float("nan"),
        "planning_failures": sum(1 for e in episodes if e.error),
        # who chose each pick-and-place: the goal, or (unconditional) the Diffuser: its first choice
        # ("diffuser") or its best-scored move that grows the tower ("diffuser+rule")
        "moves_by": dict(Counter(seg["proposal"] for e in episodes for seg in e.details.get("segments", []))),
        "settings": planner.settings,
    }


def evaluate(
    planner: Planner, task: str, episodes: int, seed: int, out_dir: str | Path,
    progress: Callable[[Episode], None] | None = None,
) -> dict:
    """Run and save `episodes` episodes; returns the results dict written to results.json."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    done: list[Episode] = []
    with open_h5(out / "episodes.h5", "w", "episodes") as f:
        root = f.create_group("episodes")
        for k in range(episodes):
            e = run_episode(planner, task, seed, k)
            g = root.create_group(str(k))
            g.create_dataset("states", data=e.states, compression="gzip")
            g.attrs.update({
                "task": task, "seed": e.seed, "score": e.score, "strict_success": e.strict_success,
                "goal": e.goal.to_json(), "plan_seconds": e.plan_seconds, "error": e.error,
                "details": json.dumps(e.details),
            })
            done.append(e)
            if progress:
                progress(e)
    results = summarise(task, planner, done, seed)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    return results


def format_table(rows: list[dict]) -> str:
    """The paper-style table: normalised score mean +- s.e., strict success, planning time."""
    lines = [f"{'task':<15}{'planner':<14}{'episodes':>9}  {'score':>15}  {'strict success':>14}  {'plan s':>7}"]
    for r in rows:
        lines.append(
            f"{r['task']:<15}{r['planner']:<14}{r['episodes']:>9}  "
            f"{r['score_mean']:>7.1f} ± {r['score_sem']:<5.1f}  {100 * r['strict_success']:>13.0f}%  "
            f"{r['plan_seconds_mean']:>7.2f}"
        )
    return "\n".join(lines)
