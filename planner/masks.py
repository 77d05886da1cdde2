"""Which (timestep, dimension) cells of a pick-and-place segment a goal pins.

Both training and planning use these, so the model learns to fill in exactly what planning
leaves free. In a segment that moves block X (tasks.layout.PHASES gives the timing):

- ``start``: the first state only (the paper's conditioning).
- ``keyframes``: the first state; every block's attached flag at every step (X holds from the
  grasp to the release, nothing else is held); the other blocks' poses throughout (they do not
  move); X's pose before the grasp and after the release; the joints while the tool dwells at
  the grasp and at the release (from inverse kinematics when planning).
"""
from __future__ import annotations

import numpy as np

from planner.moves import CHANNELS, GRIPPER
from tasks.layout import LAYOUT, NUM_JOINTS, PHASES

def grasp_dwell() -> range:
    """Timesteps with the tool at the block: the state before the flag rises, and the dwell."""
    return range(PHASES.grasp_index - 1, PHASES.grasp_index + PHASES.grasp_dwell)


def release_dwell() -> range:
    return range(PHASES.release_index - 1, PHASES.release_index + PHASES.release_dwell)


def start_mask(horizon: int) -> np.ndarray:
    mask = np.zeros((horizon, LAYOUT.dim), dtype=bool)
    mask[0] = True
    return mask


def keyframe_mask(horizon: int, moved: str) -> np.ndarray:
    mask = start_mask(horizon)
    mask[:, LAYOUT.attached_dims] = True
    for b in LAYOUT.blocks:
        s = LAYOUT.block(b)
        pose = list(range(s.position.start, s.position.stop)) + list(range(s.orientation.start, s.orientation.stop))
        if b != moved:
            mask[:, pose] = True
        else:
            mask[: PHASES.grasp_index, pose] = True
            mask[PHASES.release_index:, pose] = True
    for t in list(grasp_dwell()) + list(release_dwell()):
        if t < horizon:
            mask[t, LAYOUT.joints] = True
    return mask


def moved_block(segment: np.ndarray) -> str | None:
    """The block held during a segment-aligned window (its flag is on at the grasp index)."""
    flags = segment[PHASES.grasp_index, LAYOUT.attached_dims]
    if flags.max() < 0.5:
        return None
    return LAYOUT.blocks[int(np.argmax(flags))]


def keyframe_channels_mask(horizon: int) -> np.ndarray:
    """(H, CHANNELS) what planning with IK keyframes pins: the start, the joints through both
    dwells, and the gripper throughout."""
    mask = np.zeros((horizon, CHANNELS), dtype=bool)
    mask[0] = True
    for t in list(grasp_dwell()) + list(release_dwell()):
        mask[t, :NUM_JOINTS] = True
    mask[:, GRIPPER] = True
    return mask
