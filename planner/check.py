"""The physics check: candidates tried in physics, best ranked first, until one achieves its move.

The check must predict the plan's execution (`tasks.execute.execute`), so it plays each candidate
exactly as the execution will: in float32 (as a plan stores its states) and, after the first
segment, with the hold on the segment's first state that the execution plays at each boundary.
A tall tower is a chaotic system: a candidate that brushed the block below the one it lifted
knocked that block off in the execution and not in a check played in float64 without the hold,
and the plan then grasped air (a six-block tower taken apart in the app, plan seed 0).

A candidate passes when its move stands, the goal's pairs that stood still stand, and the blocks
it did not move stayed where they were.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from planner.choice import achieved, goal_pairs_standing
from planner.moves import Move
from tasks.execute import play
from tasks.goals import Goal
from tasks.layout import layout_of
from tasks.stopping import Cancelled
from tasks.world import World

STAY_XY = 0.02  # metres a block the move did not take may be pushed and still count as in place
STAY_Z = 0.01


def others_in_place(before: np.ndarray, after: np.ndarray, move: Move | None) -> bool:
    """Every block but the moved one is within STAY_XY (and STAY_Z in height) of where it was."""
    layout = layout_of(before)
    for b in layout.blocks:
        if move is not None and b == move.block:
            continue
        d = after[layout.block(b).position] - before[layout.block(b).position]
        if float(np.hypot(d[0], d[1])) > STAY_XY or abs(float(d[2])) > STAY_Z:
            return False
    return True


def as_executed(traj: np.ndarray, hold: bool) -> np.ndarray:
    """(n, H', D) the candidates as the execution plays them: float32, and with `hold` the first
    state repeated (play() starts from the world's state and drives through states[1:])."""
    out = traj.astype(np.float32)
    return np.concatenate([out[:, :1], out], axis=1) if hold else out


def commit(world: World, traj: np.ndarray, order: np.ndarray, move: Move | None, start: np.ndarray, goal: Goal,
           max_checks: int | None, hold: bool, more: Callable[[], tuple[np.ndarray, np.ndarray] | None] | None = None,
           should_stop: Callable[[], bool] | None = None) -> tuple[int, int, np.ndarray]:
    """Play the chosen candidate on `world`: with `max_checks` (the physics check), the first in
    rank order that passes, else the best tried (its move first, then the goal standing, then the
    other blocks in place); without, the best ranked.

    `more` (the rescue) is asked, once the first `max_checks` and then the rest of the candidates
    have all failed, for another batch and its rank order; None when it has no more. Raises
    Cancelled before a candidate when `should_stop()` says so. Returns (chosen, candidates tried,
    every candidate: `traj` with the batches `more` gave after it)."""
    played = as_executed(traj, hold)
    if max_checks is None:
        play(world, played[order[0]])
        return int(order[0]), 0, traj
    held_before = goal_pairs_standing(start, goal)
    best, best_value, tried = int(order[0]), -1.0, 0
    queue = [order[:max_checks]] + ([order[max_checks:]] if more is not None else [])
    with world.saved() as back_to_start:
        while queue:
            for k in queue.pop(0):
                if should_stop is not None and should_stop():
                    raise Cancelled()
                back_to_start()
                tried += 1
                end = play(world, played[k])[-1]
                ok, standing = achieved(start, end, move), goal_pairs_standing(end, goal)
                still = others_in_place(start, end, move)
                if ok and standing >= held_before and still:
                    return int(k), tried, traj
                value = float(ok) + 0.5 * (standing >= held_before) + 0.25 * still
                if value > best_value:
                    best, best_value = int(k), value
            if not queue and more is not None and (extra := more()) is not None:
                batch, batch_order = extra
                queue.append(len(traj) + np.asarray(batch_order))
                traj, played = np.concatenate([traj, batch]), np.concatenate([played, as_executed(batch, hold)])
        back_to_start()
        play(world, played[best])
        return best, tried, traj
