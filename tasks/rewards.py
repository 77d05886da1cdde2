"""The paper's rewards, its normalised score, and a strict success test.

Block i counts as stacked on j when their xy distance is under 0.2 m, i is more than 0.05 m
higher, and neither is attached (the paper's definition). Every reward's maximum is 3, so
``normalised_score = 100 * reward / 3``.
"""
from __future__ import annotations

import math
from functools import cache

import numpy as np

from tasks.goals import Arrangement, Goal, TowerOrder, Unconditional
from tasks.layout import BLOCK_HEIGHT, BLOCK_NAMES, BLOCK_WIDTH, LAYOUT

STACK_XY = 0.2
STACK_DZ = 0.05
MAX_REWARD = 3.0
# Strict: the top block's centre lies over the bottom block (offset under half a width),
# it rests on it (height one block, within 1 cm) and it is level (tilt under ~11 degrees).
STRICT_XY = BLOCK_WIDTH / 2
STRICT_DZ_TOL = 0.01
STRICT_TILT = 0.2


def _parts(state: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, bool]]:
    _, pos, _, att = LAYOUT.decompose(np.asarray(state))
    return pos, {b: att[b] > 0.5 for b in BLOCK_NAMES}


def stacked(state: np.ndarray, top: str, bottom: str) -> bool:
    """The paper's relation: `top` is stacked on `bottom` in this state."""
    pos, att = _parts(state)
    return _stacked(pos, att, top, bottom)


def _stacked(pos, att, top: str, bottom: str) -> bool:
    if att[top] or att[bottom]:
        return False
    dxy = np.linalg.norm(pos[top][:2] - pos[bottom][:2])
    return bool(dxy < STACK_XY and pos[top][2] - pos[bottom][2] > STACK_DZ)


def _longest_chain(relation: dict[str, list[str]]) -> int:
    """Longest path (in edges) in an acyclic 'on' relation, top -> bottoms."""

    @cache
    def depth(b: str) -> int:
        return max((1 + depth(c) for c in relation[b]), default=0)

    return max(depth(b) for b in relation)


def reward(state: np.ndarray, goal: Goal) -> float:
    """The paper's reward for `goal` in one state (0 to 3)."""
    pos, att = _parts(state)
    if isinstance(goal, Unconditional):
        rel = {t: [b for b in BLOCK_NAMES if b != t and _stacked(pos, att, t, b)] for t in BLOCK_NAMES}
        return float(min(_longest_chain(rel), 3))
    if isinstance(goal, TowerOrder):
        achieved = 0
        for top, bottom in goal.pairs:  # in sequence from the bottom: stop at the first miss
            if not _stacked(pos, att, top, bottom):
                break
            achieved += 1
        return MAX_REWARD * achieved / len(goal.pairs)
    if isinstance(goal, Arrangement):
        k = len(goal.pairs)
        return MAX_REWARD * sum(_stacked(pos, att, t, b) for t, b in goal.pairs) / k
    raise TypeError(f"not a goal: {goal!r}")


def rewards(states: np.ndarray, goal: Goal) -> np.ndarray:
    """Reward at each state of a (T, 39) trajectory."""
    return np.array([reward(s, goal) for s in LAYOUT.check(states)], dtype=np.float32)


def normalised_score(r: float) -> float:
    return 100.0 * r / MAX_REWARD


def _tilt(quat) -> float:
    x, y, z, w = quat
    # Angle between the block's z axis and the world's z axis.
    zz = 1 - 2 * (x * x + y * y)
    return math.acos(max(-1.0, min(1.0, zz)))


def strictly_on(state: np.ndarray, top: str, bottom: str) -> bool:
    """`top` rests squarely and level on `bottom`, neither held (the strict test for one pair)."""
    _, pos, orn, att = LAYOUT.decompose(np.asarray(state))
    if att[top] > 0.5 or att[bottom] > 0.5:
        return False
    dxy = np.linalg.norm(pos[top][:2] - pos[bottom][:2])
    dz = pos[top][2] - pos[bottom][2]
    return bool(
        dxy < STRICT_XY
        and abs(dz - BLOCK_HEIGHT) < STRICT_DZ_TOL
        and _tilt(orn[top]) < STRICT_TILT
        and _tilt(orn[bottom]) < STRICT_TILT
    )


def strict_success(state: np.ndarray, goal: Goal) -> bool:
    """The goal's tower(s) stand in this (settled, nothing held) state.

    Unconditional: all four blocks form one tower. Tower order and arrangement: every required
    pair rests squarely, level, on its bottom block.
    """
    if isinstance(goal, Unconditional):
        rel = {t: [b for b in BLOCK_NAMES if b != t and strictly_on(state, t, b)] for t in BLOCK_NAMES}
        return _longest_chain(rel) == len(BLOCK_NAMES) - 1
    return all(strictly_on(state, t, b) for t, b in goal.pairs)
