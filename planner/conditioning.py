"""From a move and the current state to the next segment's inpainting constraints and guide.

For a move (planner.choice decides which), `segment_conditions` pins the cells of
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
from tasks.scene import FLOOR
from tasks.kinematics import CollisionChecker, Scene, grasps, pick_kinematics, place_kinematics, placements
from tasks.layout import LAYOUT, PHASES, layout_of
from tasks.world import Pose, World


@dataclass
class SegmentConditions:
    move: Move | None
    mask: np.ndarray  # (H, 39) bool
    values: np.ndarray  # (H, 39) unnormalised
    guide: Guide | None


class KeyframeSolver:
    """Inverse kinematics for the grasp and release of a move, on a private planning world."""

    def __init__(self) -> None:
        self.world = World()
        self.checker = CollisionChecker(self.world)

    def close(self) -> None:
        self.world.close()

    def keyframes(self, state: np.ndarray, move: Move, max_tries: int = 4):
        """(q_grasp, q_release, placed pose) or None if no collision-free IK is found (or the move
        goes to the floor: keyframes are for stacking)."""
        if move.onto == FLOOR:
            return None
        layout = layout_of(state)
        self.checker = self.checker.with_blocks(len(layout.blocks))  # a planning world with the scene's blocks
        self.world = self.checker.world
        _, pos, orn, _ = layout.decompose(state)
        scene = Scene({b: Pose(pos[b], orn[b] / np.linalg.norm(orn[b])) for b in layout.blocks})
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
    guide = PlacedOn(move.block, move.onto) if move is not None and move.onto != FLOOR else None
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
