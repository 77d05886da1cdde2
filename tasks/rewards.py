"""The paper's rewards, its normalised score, and a strict success test: the two "on" relations.

`loosely_on` is the paper's: block i counts as stacked on j when their xy distance is under
0.2 m, i is more than 0.05 m higher, and neither is attached. `strictly_on` is ours, for success
and for every symbolic question the planners ask (tasks.scene reads a state with either).
Every reward's maximum is 3, so ``normalised_score = 100 * reward / 3``; with N blocks the
tallest tower's reward is 3 * (stacked pairs) / (N - 1), the paper's for N = 4.
"""
from __future__ import annotations

import math

import numpy as np

from tasks.goals import Arrangement, Goal, TowerOrder, Unconditional
from tasks.layout import BLOCK_HEIGHT, BLOCK_WIDTH, layout_of
from tasks.reference import FloorSpot, Reference
from tasks.scene import SymbolicScene

STACK_XY = 0.2
STACK_DZ = 0.05
MAX_REWARD = 3.0
# Strict: the top block's centre lies over the bottom block (offset under half a width),
# it rests on it (height one block, within 1 cm) and it is level (tilt under ~11 degrees).
STRICT_XY = BLOCK_WIDTH / 2
STRICT_DZ_TOL = 0.01
STRICT_TILT = 0.2
# A floor spot of a reference arrangement is reached within 3 cm and 15 degrees (a square block
# looks the same turned by 90 degrees).
SPOT_XY = 0.03
SPOT_YAW = math.radians(15.0)


def _unheld(state: np.ndarray, top: str, bottom: str):
    """The slices of `top` and `bottom`, or None when either is held (then neither relation of
    one block on another holds)."""
    layout = layout_of(state)
    t, b = layout.block(top), layout.block(bottom)
    return None if state[t.attached] > 0.5 or state[b.attached] > 0.5 else (t, b)


def loosely_on(state: np.ndarray, top: str, bottom: str) -> bool:
    """The paper's relation (its rewards): `top` is stacked on `bottom`, neither held."""
    pair = _unheld(state, top, bottom)
    if pair is None:
        return False
    t, b = pair
    pt, pb = state[t.position], state[b.position]
    return bool(np.linalg.norm(pt[:2] - pb[:2]) < STACK_XY and pt[2] - pb[2] > STACK_DZ)


def reward(state: np.ndarray, goal: Goal) -> float:
    """The paper's reward for `goal` in one state (0 to 3)."""
    state = np.asarray(state)
    if isinstance(goal, Unconditional):
        scene = SymbolicScene.read(state, loosely_on)
        # blocks stacked on the tower's base, out of N - 1 (the paper's 3 for four blocks)
        return MAX_REWARD * (scene.tallest[1] - 1) / (len(scene.blocks) - 1)
    if isinstance(goal, TowerOrder):
        achieved = 0
        for top, bottom in goal.pairs:  # in sequence from the bottom: stop at the first miss
            if not loosely_on(state, top, bottom):
                break
            achieved += 1
        return MAX_REWARD * achieved / len(goal.pairs)
    if isinstance(goal, Arrangement):
        k = len(goal.pairs)
        return MAX_REWARD * sum(loosely_on(state, t, b) for t, b in goal.pairs) / k
    if isinstance(goal, Reference):
        met = reference_parts(state, goal, strict=False)
        return MAX_REWARD * sum(met) / len(met)
    raise TypeError(f"not a goal: {goal!r}")


def on_floor(state: np.ndarray, block: str) -> bool:
    """`block` rests level on the floor, not held."""
    s = layout_of(state).block(block)
    return bool(state[s.attached] <= 0.5 and abs(state[s.position][2] - BLOCK_HEIGHT / 2) < STRICT_DZ_TOL
                and _tilt(state[s.orientation]) < STRICT_TILT)


def at_spot(state: np.ndarray, spot: FloorSpot) -> bool:
    """The spot's block is on the floor within SPOT_XY of it (and SPOT_YAW of its yaw, if given)."""
    s = layout_of(state).block(spot.block)
    if not on_floor(state, spot.block) or np.linalg.norm(state[s.position][:2] - spot.xy) >= SPOT_XY:
        return False
    if spot.yaw_deg is None:
        return True
    from tasks.layout import quaternion_yaw

    turn = (quaternion_yaw(state[s.orientation]) - math.radians(spot.yaw_deg)) % (math.pi / 2)
    return bool(min(turn, math.pi / 2 - turn) < SPOT_YAW)


def reference_parts(state: np.ndarray, goal: Reference, strict: bool) -> list[bool]:
    """One truth per requirement: each pair (the paper's relation, or the strict one), each spot,
    and (clear) each block on the floor."""
    on = strictly_on if strict else loosely_on
    parts = [on(state, t, b) for t, b in goal.pairs] + [at_spot(state, s) for s in goal.spots]
    if goal.clear:
        parts += [on_floor(state, b) for b in layout_of(state).blocks]
    return parts


def rewards(states: np.ndarray, goal: Goal) -> np.ndarray:
    """Reward at each state of a (T, dim) trajectory."""
    return np.array([reward(s, goal) for s in layout_of(states).check(states)], dtype=np.float32)


def normalised_score(r: float) -> float:
    return 100.0 * r / MAX_REWARD


def _tilt(quat) -> float:
    """Angle between the block's z axis and the vertical, either way up: a slab knocked over that
    lands upside down lies as flat as one the right way up (its two faces are the same)."""
    x, y, z, w = quat
    zz = 1 - 2 * (x * x + y * y)
    return math.acos(min(1.0, abs(zz)))


def centred_over(top_xy, bottom_xy) -> bool:
    """The strict relation's footprint test: `top`'s centre lies over `bottom` (also used to read
    where a sampled segment puts its block)."""
    return bool(np.linalg.norm(np.asarray(top_xy)[:2] - np.asarray(bottom_xy)[:2]) < STRICT_XY)


def strictly_on(state: np.ndarray, top: str, bottom: str) -> bool:
    """`top` rests squarely and level on `bottom`, neither held (success, and what planning reads)."""
    pair = _unheld(state, top, bottom)
    if pair is None:
        return False
    t, b = pair
    pt, pb = state[t.position], state[b.position]
    return bool(
        centred_over(pt, pb)
        and abs(pt[2] - pb[2] - BLOCK_HEIGHT) < STRICT_DZ_TOL
        and _tilt(state[t.orientation]) < STRICT_TILT
        and _tilt(state[b.orientation]) < STRICT_TILT
    )


def rests_on(state: np.ndarray, top: str, bottom: str) -> bool:
    """`top` lies on `bottom`, squarely or not: their footprints overlap and `top` is one block
    higher (within half a block), neither held. What covers a block, for the task layer: a block
    knocked askew by a missed move still has to come off before the one under it can move."""
    pair = _unheld(state, top, bottom)
    if pair is None:
        return False
    t, b = pair
    pt, pb = state[t.position], state[b.position]
    return bool(np.linalg.norm(pt[:2] - pb[:2]) < BLOCK_WIDTH and abs(pt[2] - pb[2] - BLOCK_HEIGHT) < BLOCK_HEIGHT / 2)


def strict_success(state: np.ndarray, goal: Goal) -> bool:
    """The goal's tower(s) stand in this (settled, nothing held) state.

    Unconditional: all the scene's blocks form one tower. Tower order and arrangement: every required
    pair rests squarely, level, on its bottom block.
    """
    state = np.asarray(state)
    if isinstance(goal, Unconditional):
        return SymbolicScene.read(state).tallest[1] == len(layout_of(state).blocks)
    if isinstance(goal, Reference):
        return all(reference_parts(state, goal, strict=True))
    return all(strictly_on(state, t, b) for t, b in goal.pairs)
