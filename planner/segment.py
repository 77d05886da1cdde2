"""One segment's pieces shared by the planner: the call's context, the committed segment, and the
placement guide that ranks the move model's candidates."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from planner.guides import PlacedAt
from planner.moves import FREE_XY, Move
from tasks.layout import block_slices
from tasks.plans import SegmentReport
from tasks.rewards import SPOT_XY, SPOT_YAW
from tasks.scene import FLOOR

# A stacking candidate predicted to let its block go within 3 cm of centred over its support
# stacks in physics 99 % of the time (86 % beyond it: docs/figures.md).
STACK_RANK_XY = 0.03

# progress(segment, segments, step, steps)
Progress = Callable[[int, int, int, int], None]


def placement_guide(move: Move, state: np.ndarray) -> PlacedAt:
    """What ranks the move model's candidates for `move` from `state` (with smoothness): where
    each candidate's own states let the block go, against its target in units of the tolerance:
    centred over its support block (STACK_RANK_XY), or on its floor spot (its yaw too) or near a
    free put-down's aim."""
    if move.onto != FLOOR:
        support = np.asarray(state)[block_slices(move.onto).position][:2]
        return PlacedAt(move.block, support, None, STACK_RANK_XY, SPOT_YAW)
    x, y, yaw = move.at
    return PlacedAt(move.block, (x, y), None if move.free else yaw, FREE_XY if move.free else SPOT_XY, SPOT_YAW)


@dataclass(frozen=True)
class SegmentCall:
    """One plan() call's context for the segment being planned: its index among how many, and
    the caller's progress and stop callbacks."""

    segment: int = 0
    segments: int = 1
    progress: Progress | None = None
    should_stop: Callable[[], bool] | None = None
    keep_denoising: bool = False
    planned: list | None = None  # the task layer's moves from this segment's start state
    rescued: frozenset[str] = frozenset()  # moves whose rescue this plan has spent (and that still failed)

    def step_progress(self) -> Callable[[int, int], None] | None:
        """progress(step, steps) of the sampler, reported as this segment's."""
        if self.progress is None:
            return None
        return lambda k, steps: self.progress(self.segment + 1, self.segments, k, steps)


@dataclass(frozen=True)
class Segment:
    states: np.ndarray  # (H, dim) the committed candidate
    report: SegmentReport
    denoising: np.ndarray | None  # (steps, H, dim) how it formed, when kept


def same_shape(arrays: list[np.ndarray]) -> bool:
    return len({a.shape for a in arrays}) == 1
