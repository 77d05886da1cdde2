"""The task layer: which block goes where, in what order, for any goal from any resting start.

One place decides the sequence of moves for both planners: the demonstrator binds each move with
its streams, the Diffuser with its move model. The moves come from Fast Downward (the planner
PDDLStream hands its symbolic problems to; the build of the `up-fast-downward` package) over
tasks/moves.pddl: its optimal search first (the shortest sequence: 0.15 to 0.5 s for eight
blocks), LAMA's first plan if that takes over OPTIMAL_SECONDS. A move's destination is a block,
the floor, or a reference's floor spot; a block lying askew on the block the goal wants it on
is put down on it again (the same move).

The tallest tower has no fixed goal: its allowed moves are a clear block onto a clear block, and
the planner that uses them chooses (tasks.scene.SymbolicScene.moves_between_clear).
"""
from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from tasks.goals import Goal, GoalError, Unconditional, check_fits
from tasks.layout import SCENE_MIN_SEPARATION, layout_of
from tasks.reference import Reference
from tasks.scene import FLOOR, SymbolicScene

DOMAIN_FILE = Path(__file__).with_name("moves.pddl")
OPTIMAL_SECONDS = 10.0  # then the satisficing search, which answers in well under a second


@dataclass(frozen=True)
class TaskMove:
    """Put `block` on `dest`: a block, FLOOR, or the floor spot `spot_region(block)`."""

    block: str
    dest: str

    def __str__(self) -> str:
        return f"{self.block} on {self.dest}"


def spot_region(block: str) -> str:
    """The region of `block`'s floor spot in a reference arrangement."""
    return f"spot_{block}"


def initial_support(state: np.ndarray, goal: Goal) -> dict[str, str]:
    """What each block rests on: a block (squarely or askew), the floor, or a reference spot's
    region: its own when it stands there, another's when it lies where that spot is (the spot is
    taken). A block resting askew on another is on it (it covers it); `askew` says which those are."""
    from tasks.rewards import at_spot, rests_on

    support = dict(SymbolicScene.read(state, rests_on).support)
    if isinstance(goal, Reference):
        layout = layout_of(state)
        for s in goal.spots:
            for b, below in support.items():
                if below != FLOOR:
                    continue
                xy = state[layout.block(b).position][:2]
                home = b == s.block and at_spot(state, s)
                if home or (b != s.block and np.linalg.norm(xy - s.xy) < SCENE_MIN_SEPARATION):
                    support[b] = spot_region(s.block)
                    break
    return support


def askew(state: np.ndarray, support: dict[str, str]) -> set[str]:
    """Blocks resting on a block, but not squarely and level on it (a missed or knocked move):
    where the goal wants them there, they are put down on it again."""
    from tasks.rewards import strictly_on

    blocks = layout_of(state).blocks
    return {t for t, s in support.items() if s in blocks and not strictly_on(state, t, s)}


def goal_facts(goal: Goal, blocks: tuple[str, ...]) -> list[tuple[str, str]]:
    """The goal as (top, surface) pairs: its pairs, its spots, and ('clear') every other block on
    the floor."""
    facts = list(goal.pairs)
    if isinstance(goal, Reference):
        facts += [(s.block, spot_region(s.block)) for s in goal.spots]
        if goal.clear:
            facts += [(b, FLOOR) for b in blocks if goal.spot(b) is None]
    return facts


def plan_moves(state: np.ndarray, goal: Goal, floor: bool = True) -> list[TaskMove]:
    """The moves that take `state` (resting, nothing held) to `goal`, shortest first; [] when the
    goal stands. GoalError when the goal names a block the scene lacks or cannot be reached.
    `floor=False`: no block put on free floor (a ring the blocks and spots leave no room on)."""
    if isinstance(goal, Unconditional):
        raise ValueError("the tallest tower has no fixed moves: choose among SymbolicScene.moves_between_clear()")
    state = np.asarray(state, dtype=np.float64)
    blocks = layout_of(state).blocks
    check_fits(goal, blocks)
    support = initial_support(state, goal)
    tilted = askew(state, support)
    wanted = goal_facts(goal, blocks)
    if all(support[t] == s and t not in tilted for t, s in wanted):
        return []
    spots = [s.block for s in goal.spots] if isinstance(goal, Reference) else []
    return list(_solve(problem_text(blocks, spots, support, wanted, floor, tilted)))


def problem_text(blocks: tuple[str, ...], spots: list[str], support: dict[str, str], wanted: list[tuple[str, str]],
                 floor: bool = True, tilted: set[str] | frozenset[str] = frozenset()) -> str:
    """The PDDL problem of one scene and goal over tasks/moves.pddl (`tilted`: blocks askew on a block)."""
    regions = [spot_region(b) for b in spots]
    covered = set(support.values())
    init = [f"(on {b} {support[b]})" for b in blocks] + [f"(level {b})" for b in blocks if b not in tilted]
    init += [f"(clear {s})" for s in (*blocks, *regions) if s not in covered]
    init += ["(clear floor)"] + [f"(spotof {b} {spot_region(b)})" for b in spots] + (["(roomy)"] if floor else [])
    goal = " ".join([f"(on {t} {s})" for t, s in wanted] + [f"(level {t})" for t, s in wanted if s in blocks])
    return (f"(define (problem scene) (:domain kuka-blocks)\n"
            f"  (:objects {' '.join(blocks)} - block {' '.join(regions)}{' - region' if regions else ''})\n"
            f"  (:init {' '.join(init)})\n  (:goal (and {goal})))\n")


# Fast Downward's searches, tried in turn: A* with the LM-cut heuristic (the shortest sequence),
# then LAMA's first plan if that takes too long.
SEARCHES = ((["--search-time-limit", f"{OPTIMAL_SECONDS:.0f}s"], ["--search", "astar(lmcut())"]),
            (["--alias", "lama-first"], []))


@lru_cache(maxsize=256)
def _solve(problem: str) -> tuple[TaskMove, ...]:
    """Fast Downward on `problem`, in a folder of its own: its translator writes its output in
    the working folder, and two searches sharing one read each other's (a wrong plan)."""
    driver = _driver()
    with tempfile.TemporaryDirectory(prefix="taskplan-") as folder:
        work = Path(folder)
        (work / "domain.pddl").write_text(_domain_text())
        (work / "problem.pddl").write_text(problem)
        for before, after in SEARCHES:
            cmd = [sys.executable, str(driver), "--plan-file", "plan.txt", *before, "domain.pddl", "problem.pddl"]
            subprocess.run([*cmd, *(["--search-options", *after] if after else [])], cwd=work,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10 * OPTIMAL_SECONDS)
            if (work / "plan.txt").exists():
                return tuple(_read_plan((work / "plan.txt").read_text()))
    raise GoalError("no sequence of moves reaches this goal from this scene")


def _read_plan(text: str) -> list[TaskMove]:
    """Moves from Fast Downward's plan file: '(stack green floor red)' lines, '; cost' comments."""
    moves = []
    for line in text.splitlines():
        if not line.startswith("("):
            continue
        action, block, *rest = line.strip("()").split()
        # (stack b from onto), (to_spot b from region), (to_floor b from), (straighten b onto)
        moves.append(TaskMove(block, FLOOR if action == "to_floor" else rest[-1]))
    return moves


@lru_cache(maxsize=1)
def _driver() -> Path:
    """Fast Downward's driver script in the up-fast-downward package (found without importing
    the package, whose own import loads all of unified-planning)."""
    spec = importlib.util.find_spec("up_fast_downward")
    if spec is None or not spec.submodule_search_locations:
        raise GoalError("the task layer needs Fast Downward: pip install up-fast-downward==1.0.0")
    return Path(next(iter(spec.submodule_search_locations))) / "downward" / "fast-downward.py"


@lru_cache(maxsize=1)
def _domain_text() -> str:
    return DOMAIN_FILE.read_text()

