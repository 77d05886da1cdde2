"""Where a plan starts: a seeded scene, a random resting state with towers, the end of a stored
plan, or a state from a file. Every start is physically resting: composed states are settled in
physics before they are used."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from tasks.execute import execute, settle
from tasks.goals import GoalError
from tasks.h5io import FileFormatError
from tasks.layout import BLOCK_HEIGHT, DEFAULT_BLOCKS, blocks_of_dim, layout_for, layout_of
from tasks.layout import quaternion_yaw
from tasks.world import HOME_JOINTS, World, initial_state, sample_scene, yaw_quaternion


def settled(state: np.ndarray) -> np.ndarray:
    """`state` after a second of physics with nothing held (float64)."""
    with World.for_state(state) as world:
        world.set_state(state)
        return settle(world).astype(np.float64)


def resting_state(seed: int, n_blocks: int = DEFAULT_BLOCKS) -> np.ndarray:
    """Blocks in random towers (one to N, any heights) at a seeded scene's places, settled."""
    layout = layout_for(n_blocks)
    rng = np.random.default_rng(seed)
    scene = sample_scene(seed, n_blocks)
    perm = [layout.blocks[i] for i in rng.permutation(n_blocks)]
    cuts = rng.random(len(perm) - 1) < 0.5
    pos, orn = {}, {}
    base, level = scene[perm[0]], 0
    for i, name in enumerate(perm):
        if i and cuts[i - 1]:
            base, level = scene[name], 0
        yaw = quaternion_yaw(base.orientation) + (rng.uniform(-0.15, 0.15) if level else 0.0)
        pos[name] = np.array([base.position[0], base.position[1], BLOCK_HEIGHT / 2 + level * BLOCK_HEIGHT])
        orn[name] = yaw_quaternion(yaw)
        level += 1
    return settled(layout.compose(HOME_JOINTS, pos, orn))


def start_state(task: str, seed: int, n_blocks: int = DEFAULT_BLOCKS) -> np.ndarray:
    """The start of an episode of `task`: the arrangement task starts from random towers."""
    return resting_state(seed, n_blocks) if task == "arrangement" else initial_state(seed, n_blocks)


def plan_end_state(path: str | Path, pid: str) -> np.ndarray:
    """Where stored plan `pid` leaves the blocks: its states executed in physics, settled."""
    from tasks.plans import load_plan

    plan = load_plan(path, pid)
    return execute(plan.states, plan.goal).final_state.astype(np.float64)


def load_start_state(path: str | Path, n_blocks: int | None = None) -> np.ndarray:
    """A state from a .npy file (7 + 8 N numbers; with `n_blocks`, N must be that), checked and
    settled; FileFormatError or GoalError says why not."""
    try:
        state = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise FileFormatError(f"{path}: not a readable .npy state ({' '.join(str(e).split())[:120]})") from None
    try:
        found = blocks_of_dim(state.shape[-1]) if state.ndim == 1 else None
    except ValueError:
        found = None
    if found is None or not np.issubdtype(state.dtype, np.floating):
        raise FileFormatError(f"{path}: a state is 7 joints and 8 numbers per block (39 for four blocks), "
                              f"this holds {state.dtype} of shape {state.shape}")
    if n_blocks is not None and found != n_blocks:
        raise FileFormatError(f"{path}: a state of {found} blocks, but the scene asked for has {n_blocks} "
                              f"(--blocks {n_blocks})")
    layout = layout_of(state)
    if not np.all(np.isfinite(state)):
        raise FileFormatError(f"{path}: the state holds NaN or infinite numbers")
    state = state.astype(np.float64)
    if np.any(state[layout.attached_dims] > 0.5):
        raise GoalError(f"{path}: a start holds no block (an attached flag is set)")
    after = settled(state)
    moved = max(float(np.linalg.norm(after[layout.block(b).position] - state[layout.block(b).position]))
                for b in layout.blocks)
    if moved > 0.02 or not math.isfinite(moved):
        raise GoalError(f"{path}: not a resting state: a block moved {moved:.2f} m when physics ran for a second")
    return after
