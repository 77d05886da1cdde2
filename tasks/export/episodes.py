"""The episodes an export writes: demonstrations and plans, read one at a time, each with what
every format needs (states, actions, rewards, the task in words, where it came from).

An exported dataset has one state width, so it holds one number of blocks: a demonstrations
file has one; plans of another number than the export's are left out and counted.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tasks.dataset import actions_of, env_args, in_valid_split
from tasks.goals import Arrangement, Goal, TowerOrder, Unconditional, goal_from_json
from tasks.h5io import FileFormatError, check_layout, open_h5
from tasks.layout import StateLayout, layout_for, layout_of
from tasks.reference import Reference


@dataclass(frozen=True)
class Episode:
    """One demonstration or plan, as every export format reads it."""

    source: str  # "demo_12" or "plan_00003": its name in the file it came from
    kind: str  # "demonstration" or "plan"
    states: np.ndarray  # (T, 7+8N) float32, as stored
    actions: np.ndarray  # (T, 7+N) float32: change of joint targets and attached flags to the next state
    rewards: np.ndarray  # (T,) float32: the task's reward at each state
    goal: Goal | Reference
    seed: int  # the scene's seed
    valid: bool  # in the held-out split (mask/valid)

    @property
    def layout(self) -> StateLayout:
        return layout_of(self.states)

    @property
    def task(self) -> str:
        return task_text(self.goal)

    @property
    def next_rewards(self) -> np.ndarray:
        """The reward after each action (the state it leads to; the last state's for the last):
        what a step of an environment returns, as LeRobot's `next.reward` and robomimic's
        `rewards` mean it."""
        return np.concatenate([self.rewards[1:], self.rewards[-1:]]).astype(np.float32)

    @property
    def dones(self) -> np.ndarray:
        """(T,) 1 at the last step."""
        out = np.zeros(len(self.states), dtype=np.uint8)
        out[-1] = 1
        return out


def task_text(goal: Goal | Reference) -> str:
    """The goal in words, as a language-conditioned policy reads its task: "X on Y" puts X above Y."""
    if isinstance(goal, Unconditional):
        return "build the tallest tower"
    if isinstance(goal, TowerOrder):
        return "stack " + " on ".join(reversed(goal.order))
    if isinstance(goal, Arrangement):
        return "put " + ", ".join(f"{t} on {b}" for t, b in goal.pairs)
    if isinstance(goal, Reference):
        parts = [f"{s.block} on the floor at {s.x:.2f}, {s.y:.2f}" + ("" if s.yaw_deg is None else
                                                                     f" turned {s.yaw_deg:g} degrees")
                 for s in goal.spots]
        parts += [f"{t} on {b}" for t, b in goal.pairs] + (["every block on the floor"] if goal.clear else [])
        return "arrange " + "; ".join(parts)
    raise TypeError(f"no task text for {goal!r}")


@dataclass(frozen=True)
class Selection:
    """What an export will write, checked before any work: demo names of `data`, plan ids of
    `plans`, all of one number of blocks (`layout`)."""

    data: Path | None
    demos: tuple[str, ...]
    plans: Path | None
    plan_ids: tuple[str, ...]
    layout: StateLayout
    skipped_plans: int  # plans of another number of blocks than the export's
    env: dict  # the world that made the states (the demonstrations file's env_args)

    def __len__(self) -> int:
        return len(self.demos) + len(self.plan_ids)


def select(data: str | Path | None, plans: str | Path | None, limit: int | None = None) -> Selection:
    """The demos of `data` then the plans of `plans` (oldest first), at most `limit` in all.
    A missing, damaged or foreign file, or nothing to export, raises FileFormatError naming it."""
    if data is None and plans is None:
        raise FileFormatError("nothing to export: give a demonstrations file, a plans file or both")
    demos: list[str] = []
    layout = None
    env = None
    if data is not None:
        with open_h5(data, "r", "demonstrations") as f:
            if "data" not in f:
                raise FileFormatError(f"{data}: not a demonstrations file (no 'data' group)")
            layout = check_layout(f, "data", data)
            demos = sorted(f["data"], key=lambda n: int(n.split("_")[1]))
            env = json.loads(f["data"].attrs["env_args"]) if "env_args" in f["data"].attrs else None
    plan_ids: list[str] = []
    skipped = 0
    if plans is not None:
        with open_h5(plans, "r", "plans") as f:
            if "plans" not in f:
                raise FileFormatError(f"{plans}: not a plans file (no 'plans' group)")
            check_layout(f, "plans", plans)
            for pid in sorted(f["plans"]):
                width = f["plans"][pid]["states"].shape[-1]
                layout = layout or layout_of(np.zeros(width))  # a plans-only export takes the first plan's blocks
                if width == layout.dim:
                    plan_ids.append(pid)
                else:
                    skipped += 1
    if limit is not None:
        demos = demos[:limit]
        plan_ids = plan_ids[:max(0, limit - len(demos))]
    if not demos and not plan_ids:
        named = " and ".join(str(p) for p in (data, plans) if p is not None)
        raise FileFormatError(f"{named}: no demonstrations or plans to export")
    layout = layout or layout_for(4)
    return Selection(Path(data) if data else None, tuple(demos), Path(plans) if plans else None, tuple(plan_ids),
                     layout, skipped, env or env_args("plans", layout))


def episodes(selection: Selection) -> Iterator[Episode]:
    """The selection's episodes, demos first, each read when it is needed."""
    if selection.demos:
        with open_h5(selection.data, "r", "demonstrations") as f:
            valid = {n.decode() for n in f["mask"]["valid"][:]} if "mask" in f and "valid" in f["mask"] else set()
            for name in selection.demos:
                g = f["data"][name]
                states = np.asarray(g["states"][:], dtype=np.float32)
                if states.ndim != 2 or states.shape[1] != selection.layout.dim:
                    raise FileFormatError(f"{selection.data}: {name}/states has shape {states.shape}, expected "
                                          f"(T, {selection.layout.dim})")
                yield Episode(name, "demonstration", states, np.asarray(g["actions"][:], dtype=np.float32),
                              np.asarray(g["rewards"][:], dtype=np.float32), goal_from_json(g.attrs["goal"]),
                              int(g.attrs["seed"]), name in valid)
    if selection.plan_ids:
        from tasks.plans import load_plan
        from tasks.rewards import rewards

        for pid in selection.plan_ids:
            plan = load_plan(selection.plans, pid)
            states = np.asarray(plan.states, dtype=np.float32)
            yield Episode(pid, "plan", states, actions_of(states), rewards(states, plan.goal), plan.goal, plan.seed,
                          in_valid_split(plan.seed))
