"""Play a state trajectory in physics with the paper's protocol.

Per waypoint: blocks whose attached flag dropped to <= 0.5 are released; the joints are driven
toward the waypoint's angles by position control for `SUBSTEPS` physics steps; then a block
whose flag is > 0.5 is attached by a fixed constraint to the end-effector, but only if the tool
is at the block (within `ATTACH_TOLERANCE` of its top face): closing the "gripper" in mid-air
grasps nothing. At the end every block is released and physics settles before scoring.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from collections.abc import Callable

import numpy as np

from tasks.bullet import p
from tasks.goals import Goal
from tasks.layout import BLOCK_HEIGHT, layout_of
from tasks.rewards import normalised_score, reward, rewards, strict_success
from tasks.world import PHYSICS_HZ, SUBSTEPS, World

ATTACH_TOLERANCE = 0.03
SETTLE_SECONDS = 1.0


@dataclass(frozen=True)
class Execution:
    states: np.ndarray  # (T, dim) realised states, the first one the start
    rewards: np.ndarray  # (T,) reward at each realised state, as it accrued
    final_state: np.ndarray  # after every block is released and physics settled
    reward: float
    score: float  # normalised, 0..100
    strict_success: bool


def _tool_at_block(world: World, name: str) -> bool:
    tcp = world.tcp_pose().position
    block = world.block_pose(name)
    rot = np.array(p.getMatrixFromQuaternion(block.orientation)).reshape(3, 3)
    # Either face could be on top after a flip; take the one nearest the tool.
    faces = [block.position + s * rot[:, 2] * BLOCK_HEIGHT / 2 for s in (1, -1)]
    return min(np.linalg.norm(tcp - f) for f in faces) < ATTACH_TOLERANCE


def play(
    world: World,
    states: np.ndarray,
    substeps: int = SUBSTEPS,
    on_step: Callable[[int, np.ndarray], None] | None = None,
) -> np.ndarray:
    """Drive `world` through waypoints states[1:] from wherever it is; returns realised states
    (the first is the world's state before moving)."""
    layout = world.layout
    states = layout.check(states)
    realised = [world.get_state()]
    names = layout.blocks
    for t in range(1, len(states)):
        target = states[t]
        flags = {b: target[layout.block(b).attached] > 0.5 for b in names}
        for b in world.held:
            if not flags[b]:
                world.release(b)
        world.command_joints(target[layout.joints])
        world.step(substeps)
        for b in names:
            if flags[b] and b not in world.held and not world.held and _tool_at_block(world, b):
                world.attach(b)
        realised.append(world.get_state())
        if on_step is not None:
            on_step(t, realised[-1])
    return np.array(realised)


def settle(world: World, seconds: float = SETTLE_SECONDS) -> np.ndarray:
    """Release everything, keep the arm where it is, let physics settle; returns the state."""
    world.release_all()
    world.step(int(seconds * PHYSICS_HZ))
    return world.get_state()


def execute(states: np.ndarray, goal: Goal, start: np.ndarray | None = None) -> Execution:
    """Play `states` in a fresh world set to `start` (default: states[0]) and score the result.

    Deterministic: the same inputs give the same realised states.
    """
    known = _known.get(_key(states, goal, start))
    if known is not None:
        return known
    states = layout_of(np.asarray(states)).check(states)
    with World.for_state(states[0]) as world:
        world.set_state(states[0] if start is None else start)
        realised = play(world, states)
        final = settle(world)
    return scored(realised, final, goal)


def scored(realised: np.ndarray, final: np.ndarray, goal: Goal) -> Execution:
    """The Execution of `realised` states that settled in `final`."""
    r = reward(final, goal)
    return Execution(
        states=realised.astype(np.float32),
        rewards=rewards(realised, goal),
        final_state=final,
        reward=r,
        score=normalised_score(r),
        strict_success=strict_success(final, goal),
    )


# The last execution a planner played itself, exactly as execute() would play its plan (the
# demonstrator's closed loop): execution is deterministic, so the caller's execute() of the same
# plan, start and goal is answered from here instead of running the same physics again.
_known: dict[tuple, Execution] = {}


def _key(states: np.ndarray, goal: Goal, start: np.ndarray | None) -> tuple:
    states = np.ascontiguousarray(states)
    h = hashlib.blake2b(states.tobytes(), digest_size=16)
    if start is not None:
        start = np.ascontiguousarray(start)
        h.update(start.tobytes())
    return h.digest(), states.dtype.str, states.shape, None if start is None else start.dtype.str, repr(goal)


def remember(states: np.ndarray, goal: Goal, start: np.ndarray | None, execution: Execution) -> None:
    """Keep `execution` as execute(states, goal, start)'s answer (only the last one is kept)."""
    _known.clear()
    _known[_key(states, goal, start)] = execution
