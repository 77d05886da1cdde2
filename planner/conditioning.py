"""From a goal and the current state to the next segment's inpainting constraints and guide.

A goal is met one pick-and-place ("move X onto Y") per 128-state segment, in the order the
goal implies (bottom pairs first). For a move, `segment_conditions` pins the cells of
`planner.masks` to values derived from the scene: the current state, the flag schedule, the
still blocks, X's target pose on Y, and joint keyframes from inverse kinematics at the grasp
and the release. The guide `PlacedOn(X, Y)` expresses the same goal as a gradient, for the
paper's start-only conditioning and for ranking.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from planner.guides import Guide, PlacedOn
from planner.masks import grasp_dwell, keyframe_mask, release_dwell, start_mask
from planner.moves import Move
from tasks.demonstrator.streams import (
    CollisionChecker, Scene, grasps, pick_kinematics, place_kinematics, placements,
)
from tasks.goals import Arrangement, Goal, TowerOrder, Unconditional
from tasks.layout import BLOCK_HEIGHT, BLOCK_NAMES, LAYOUT, PHASES
from tasks.rewards import strictly_on
from tasks.world import Pose, World


@dataclass
class SegmentConditions:
    move: Move | None
    mask: np.ndarray  # (H, 39) bool
    values: np.ndarray  # (H, 39) unnormalised
    guide: Guide | None


def _support_chain_ok(state: np.ndarray, pairs: tuple[tuple[str, str], ...], bottom: str) -> bool:
    """`bottom` is where the goal wants it: not required on anything, or already on it."""
    below = dict(pairs)
    return bottom not in below or strictly_on(state, bottom, below[bottom])


def next_move(state: np.ndarray, goal: Goal) -> Move | None:
    """The next pick-and-place the goal needs from this state, bottom pairs first; None when the
    goal's pairs all stand (or, for an unconditional goal, always: the Diffuser proposes)."""
    if isinstance(goal, Unconditional):
        return None
    for top, bottom in goal.pairs:
        if strictly_on(state, top, bottom):
            continue
        if isinstance(goal, TowerOrder):
            return Move(top, bottom)  # pairs are bottom-up: the ones below already stand
        if _support_chain_ok(state, goal.pairs, bottom):
            return Move(top, bottom)
    if isinstance(goal, Arrangement):
        unmet = [(t, b) for t, b in goal.pairs if not strictly_on(state, t, b)]
        return Move(*unmet[0]) if unmet else None
    return None


def tower_top(state: np.ndarray) -> tuple[str, int]:
    """The top block of the tallest strict tower and its height in blocks."""
    above = {b: [t for t in BLOCK_NAMES if t != b and strictly_on(state, t, b)] for b in BLOCK_NAMES}
    best, height = BLOCK_NAMES[0], 0

    def climb(b: str, h: int) -> None:
        nonlocal best, height
        if h > height or (h == height and not above[b]):
            best, height = b, h
        for t in above[b]:
            climb(t, h + 1)

    for b in BLOCK_NAMES:
        climb(b, 1)
    return best, height


def clear_blocks(state: np.ndarray) -> list[str]:
    """Blocks with nothing stacked on them."""
    return [b for b in BLOCK_NAMES if not any(strictly_on(state, t, b) for t in BLOCK_NAMES if t != b)]


def moves_between_clear(state: np.ndarray) -> list[Move]:
    """Every pick-and-place the scene allows: a clear block onto another clear block."""
    clear = clear_blocks(state)
    return [Move(b, onto) for b in clear for onto in clear if b != onto]


def stack_height(state: np.ndarray, block: str) -> int:
    """Blocks from the floor up to `block`, itself included."""
    for under in BLOCK_NAMES:
        if under != block and strictly_on(state, block, under):
            return 1 + stack_height(state, under)
    return 1


def grows_tower(state: np.ndarray, move: Move) -> bool:
    """The move makes a tower taller than the tallest one now (the unconditional task's aim)."""
    return stack_height(state, move.onto) + 1 > tower_top(state)[1]


def tower_picks(state: np.ndarray) -> list[str]:
    """Blocks whose move can grow the tallest tower: clear blocks on the floor (a tower's base is
    covered and its top is off the floor; with no tower yet, any block)."""
    return [b for b in clear_blocks(state) if state[LAYOUT.block(b).position][2] < BLOCK_HEIGHT]


class KeyframeSolver:
    """Inverse kinematics for the grasp and release of a move, on a private planning world."""

    def __init__(self) -> None:
        self.world = World()
        self.checker = CollisionChecker(self.world)

    def close(self) -> None:
        self.world.close()

    def keyframes(self, state: np.ndarray, move: Move, max_tries: int = 4):
        """(q_grasp, q_release, placed pose) or None if no collision-free IK is found."""
        _, pos, orn, _ = LAYOUT.decompose(state)
        scene = Scene({b: Pose(pos[b], orn[b] / np.linalg.norm(orn[b])) for b in BLOCK_NAMES})
        rng = np.random.default_rng(0)
        for grasp in itertools.islice(grasps(scene, move.block), max_tries):
            pick = pick_kinematics(self.checker, scene, move.block, grasp)
            if pick is None:
                continue
            holding = Scene(scene.poses, (move.block, grasp))
            for placed in placements(holding, move.block, move.onto, rng):
                place = place_kinematics(self.checker, holding, grasp, placed)
                if place is not None:
                    return pick.at, place.at, placed
        return None


def segment_conditions(
    state: np.ndarray, move: Move | None, horizon: int, keyframes: bool, solver: KeyframeSolver | None,
) -> SegmentConditions:
    """Constraints (and guide) for one segment from `state`. Without keyframes (or without a
    move, or when IK finds none), only the first state is pinned, as in the paper."""
    values = np.repeat(np.asarray(state, dtype=np.float64)[None], horizon, axis=0)
    guide = PlacedOn(move.block, move.onto) if move is not None else None
    found = solver.keyframes(state, move) if (keyframes and move is not None and solver is not None) else None
    if found is None:
        return SegmentConditions(move, start_mask(horizon), values, guide)
    q_grasp, q_release, placed = found
    mask = keyframe_mask(horizon, move.block)
    s = LAYOUT.block(move.block)
    held = slice(PHASES.grasp_index, PHASES.release_index)
    values[:, LAYOUT.attached_dims] = 0.0
    values[held, s.attached] = 1.0
    values[PHASES.release_index:, s.position] = placed.position
    values[PHASES.release_index:, s.orientation] = placed.orientation
    for t in grasp_dwell():
        values[t, LAYOUT.joints] = q_grasp
    for t in release_dwell():
        values[t, LAYOUT.joints] = q_release
    return SegmentConditions(move, mask, values, guide)
