"""Evaluate a planner the paper's way: seeded episodes, execution in physics, normalised score.

Any planner with `name`, `settings` and `plan(state, goal, seed) -> Plan` can be evaluated.
Scenes come from the test seed stream (tasks.world.episode_seed), never one collection draws.
Writes `results.json` and `episodes.h5` (`episodes/<k>/states`: realised states), whole or not
at all; an interrupted run leaves `*.interrupted.*` beside them and continues from there. Episodes
may run in worker processes or on Ray workers (tasks/workers.py); this process writes them, in order.
"""
from __future__ import annotations

import json
import math
import os
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from collections.abc import Callable

import numpy as np

from tasks.execute import execute
from tasks.goals import Goal, goal_from_json, sample_goal
from tasks.h5io import FileFormatError, check_writable_place, new_record, open_h5, tag
from tasks.plans import Plan, SegmentReport, segments_from_json, segments_to_json
from tasks.layout import DEFAULT_BLOCKS, SEGMENT_LENGTH, block_names
from tasks.starts import resting_state, start_state
from tasks.workers import ordered_results
from tasks.world import episode_seed

if TYPE_CHECKING:
    from tasks.cluster import RayTarget


class Planner(Protocol):
    name: str

    @property
    def settings(self) -> dict: ...

    def plan(self, state: np.ndarray, goal: Goal, seed: int) -> Plan: ...


@dataclass(frozen=True)
class EvaluatedEpisode:
    episode: int
    seed: int
    goal: Goal
    score: float
    strict_success: bool
    plan_seconds: float
    states: np.ndarray
    error: str = ""
    segments: tuple[SegmentReport, ...] = ()  # the planner's own account (Plan.segments)


def run_episode(planner: Planner, task: str, seed: int, k: int, n_blocks: int = DEFAULT_BLOCKS,
                towers: bool = False) -> EvaluatedEpisode:
    """Episode `k`: its scene (`towers`: random towers whatever the task) and goal from the test
    stream, planned, executed in physics and scored."""
    s = episode_seed(seed, k, "test")
    state = resting_state(s, n_blocks) if towers else start_state(task, s, n_blocks)
    # From towers the goal draws on its own stream: the towers' order came from the scene's.
    goal = sample_goal(task, np.random.default_rng([s, 1] if towers else s), state)
    try:
        plan = planner.plan(state, goal, s)
        result = execute(plan.states, goal, start=state)  # refuses NaN or misshapen states
    except Exception as e:  # a planner failure is an episode scored 0, not a crash
        return EvaluatedEpisode(k, s, goal, 0.0, False, float("nan"), state[None].astype(np.float32), f"{type(e).__name__}: {e}")
    return EvaluatedEpisode(k, s, goal, result.score, result.strict_success, plan.plan_seconds, result.states, segments=plan.segments)


@dataclass
class PlannedEpisodes:
    """`run_episode` for episode k of one evaluation, in whichever process runs it. A worker makes
    its own planner once, with `make_planner`; a given `planner` serves this process only (it is
    not pickled)."""
    make_planner: Callable[[], Planner] | None
    task: str
    seed: int
    n_blocks: int = DEFAULT_BLOCKS
    towers: bool = False
    planner: Planner | None = field(default=None, repr=False)

    def __call__(self, k: int) -> EvaluatedEpisode:
        if self.planner is None:
            if self.make_planner is None:
                raise ValueError("episodes run in another process need make_planner")
            self.planner = self.make_planner()
        return run_episode(self.planner, self.task, self.seed, k, self.n_blocks, self.towers)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "planner": None}


def summarise(task: str, planner: Planner, episodes: list[EvaluatedEpisode], seed: int,
              n_blocks: int = DEFAULT_BLOCKS, towers: bool = False) -> dict:
    scores = np.array([e.score for e in episodes])
    times = np.array([e.plan_seconds for e in episodes if not math.isnan(e.plan_seconds)])
    n = len(episodes)
    moves = int(sum(len(e.states) // SEGMENT_LENGTH for e in episodes if not math.isnan(e.plan_seconds)))
    return {
        "task": task, "planner": planner.name, "episodes": n, "seed": seed, "blocks": n_blocks,
        "start": "towers" if towers else "task",
        "score_mean": float(scores.mean()) if n else float("nan"),
        "score_sem": float(scores.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0,
        "strict_success": float(np.mean([e.strict_success for e in episodes])) if n else float("nan"),
        "plan_seconds_mean": float(times.mean()) if len(times) else float("nan"),
        "moves": moves,
        "seconds_per_move": float(times.sum() / moves) if moves and len(times) else float("nan"),
        "planning_failures": sum(1 for e in episodes if e.error),
        # who chose each pick-and-place: the goal, or (unconditional) the Diffuser: its first choice
        # ("diffuser") or its best-scored move that grows the tower ("diffuser+rule")
        "moves_by": dict(Counter(seg.proposal.value for e in episodes for seg in e.segments)),
        "settings": planner.settings,
    }


RESULTS, EPISODES = "results.json", "episodes.h5"
PARTIAL_RESULTS, PARTIAL_EPISODES = "results.interrupted.json", "episodes.interrupted.h5"


def check_out_dir(out_dir: str | Path) -> None:
    """Refuse, before any work, a results folder that cannot be written or holds foreign files."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise FileFormatError(f"{out}: is a file, not a folder for the results")
    check_writable_place(out, out)
    for name in (EPISODES, PARTIAL_EPISODES):
        if (out / name).exists():
            with open_h5(out / name, "r", "episodes"):
                pass  # one of ours: it will be replaced (finished run) or continued (interrupted)
    for name in (RESULTS, PARTIAL_RESULTS):
        if (out / name).exists():
            try:
                ours = "task" in json.loads((out / name).read_text())
            except (ValueError, TypeError, OSError):
                ours = False
            if not ours:
                raise FileFormatError(f"{out / name}: not an evaluation's results file; left untouched")


def _identity(planner: Planner, task: str, seed: int, n_blocks: int, towers: bool) -> dict:
    return {"task": task, "seed": int(seed), "planner": planner.name, "blocks": int(n_blocks), "towers": bool(towers),
            "settings": json.dumps(planner.settings, sort_keys=True)}


def _write_episode(root, task: str, e: EvaluatedEpisode) -> None:
    with new_record(root, str(e.episode)) as g:
        g.create_dataset("states", data=e.states, compression="gzip")
        g.attrs.update({
            "task": task, "seed": e.seed, "score": e.score, "strict_success": e.strict_success, "goal": e.goal.to_json(),
            "plan_seconds": e.plan_seconds, "error": e.error, "details": segments_to_json(e.segments),
        })


def _read_episodes(root) -> list[EvaluatedEpisode]:
    out = []
    for k in sorted(root, key=int):
        a = root[k].attrs
        out.append(EvaluatedEpisode(int(k), int(a["seed"]), goal_from_json(a["goal"]), float(a["score"]),
                           bool(a["strict_success"]), float(a["plan_seconds"]), root[k]["states"][:],
                           str(a["error"]), segments_from_json(a["details"])))
    return out


def _resumable(path: Path, identity: dict) -> bool:
    if not path.exists():
        return False
    with open_h5(path, "r", "episodes") as f:
        return all(str(f["episodes"].attrs.get(k)) == str(v) for k, v in identity.items())


def episodes_kept(planner: Planner, task: str, seed: int, episodes: int, out_dir: str | Path,
                  n_blocks: int = DEFAULT_BLOCKS, towers: bool = False) -> int:
    """How many of the `episodes` an interrupted run of the same call left in `out_dir` (done again: none)."""
    path = Path(out_dir) / PARTIAL_EPISODES
    if not _resumable(path, _identity(planner, task, seed, n_blocks, towers)):
        return 0
    with open_h5(path, "r", "episodes") as f:
        return sum(int(k) < episodes for k in f["episodes"])


def evaluate(
    planner: Planner, task: str, episodes: int, seed: int, out_dir: str | Path,
    progress: Callable[[EvaluatedEpisode], None] | None = None, should_stop: Callable[[], bool] = lambda: False,
    n_blocks: int = DEFAULT_BLOCKS, towers: bool = False,
    workers: int = 1, ray: RayTarget | None = None, make_planner: Callable[[], Planner] | None = None,
) -> dict:
    """Run and save `episodes` episodes; returns the results dict written to results.json.

    Episodes go to a temporary file, moved over `episodes.h5` only when every episode is done.
    A run stopped early (`should_stop()`, polled between episodes, or an exception) keeps what it
    did as `episodes.interrupted.h5` and `results.interrupted.json` (its dict has `complete`
    False); the same call later continues from there. A finished run's files are never touched
    by an unfinished one.

    With `workers` > 1 or `ray`, episodes run in that many worker processes or on Ray workers,
    each with its own planner from `make_planner` (equal to `planner`); the files are the same.
    """
    if (workers > 1 or ray is not None) and make_planner is None:
        raise ValueError("episodes run in worker processes or on Ray need make_planner")
    out = Path(out_dir)
    check_out_dir(out)
    out.mkdir(parents=True, exist_ok=True)
    identity = _identity(planner, task, seed, n_blocks, towers)
    tmp = out / f".{EPISODES}.{os.getpid()}.tmp"
    done: list[EvaluatedEpisode] = []
    if _resumable(out / PARTIAL_EPISODES, identity):
        shutil.copyfile(out / PARTIAL_EPISODES, tmp)
    else:
        with open_h5(tmp, "w", "episodes") as f:
            tag(f, "episodes")
            f.attrs["blocks"] = list(block_names(n_blocks))
            f.create_group("episodes").attrs.update(identity)
    complete = False
    try:
        with open_h5(tmp, "a", "episodes") as f:
            root = f["episodes"]
            done = [e for e in _read_episodes(root) if e.episode < episodes]
            finished = {e.episode for e in done}
            todo = [k for k in range(episodes) if k not in finished]
            work = PlannedEpisodes(make_planner, task, seed, n_blocks, towers, planner=planner)
            results = ordered_results(work, todo, workers, False, should_stop, ray, label=lambda k: f"episode {k}")
            try:
                for _ in todo:
                    if should_stop():
                        break
                    e = next(results, None)
                    if e is None:  # the workers were stopped while waiting
                        break
                    _write_episode(root, task, e)
                    done.append(e)
                    if progress:
                        progress(e)
            finally:
                results.close()
            complete = len(done) == episodes
    finally:
        done.sort(key=lambda e: e.episode)
        results = {**summarise(task, planner, done, seed, n_blocks, towers), "complete": complete} if done else None
        if complete:
            _write_json(out / RESULTS, results)
            os.replace(tmp, out / EPISODES)
            for name in (PARTIAL_EPISODES, PARTIAL_RESULTS):
                (out / name).unlink(missing_ok=True)
        elif results is not None and tmp.exists():
            _write_json(out / PARTIAL_RESULTS, {**results, "episodes_asked": episodes})
            os.replace(tmp, out / PARTIAL_EPISODES)
        else:
            tmp.unlink(missing_ok=True)
    return results or {**summarise(task, planner, [], seed, n_blocks, towers), "complete": False}


def _write_json(path: Path, value: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, indent=2))
    os.replace(tmp, path)


def format_table(rows: list[dict]) -> str:
    """The paper-style table: normalised score mean +- s.e., strict success, planning time."""
    lines = [f"{'task':<15}{'planner':<14}{'blocks':>6}{'episodes':>9}  {'score':>15}  {'strict success':>14}  "
             f"{'plan s':>7}  {'s/move':>7}"]
    for r in rows:
        lines.append(
            f"{r['task']:<15}{r['planner']:<14}{r.get('blocks', 4):>6}{r['episodes']:>9}  "
            f"{r['score_mean']:>7.1f} ± {r['score_sem']:<5.1f}  {100 * r['strict_success']:>13.0f}%  "
            f"{r['plan_seconds_mean']:>7.2f}  {r.get('seconds_per_move', float('nan')):>7.2f}"
        )
    return "\n".join(lines)
