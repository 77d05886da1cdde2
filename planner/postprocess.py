"""What happens to a sampled segment before it is played: smoothing, and the held block's pose
from forward kinematics."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from planner.moves import Move
from tasks.layout import NUM_JOINTS, PHASES, block_slices, layout_of
from tasks.world import Pose, invert, multiply


def smooth_joints(traj: np.ndarray, mask: np.ndarray, passes: int) -> np.ndarray:
    """Low-pass the joints in time where they are free; pinned cells (start, keyframes) stay exact.

    Position control cannot follow a jump of a radian between waypoints, and an undertrained
    model makes such jumps; averaging with the neighbours removes them without moving keyframes.
    """
    if passes <= 0:
        return traj
    out = traj.copy()
    free = ~mask[:, :NUM_JOINTS]
    q = out[:, :, :NUM_JOINTS]
    for _ in range(passes):
        padded = np.concatenate([q[:, :1], q, q[:, -1:]], axis=1)
        blurred = 0.25 * padded[:, :-2] + 0.5 * padded[:, 1:-1] + 0.25 * padded[:, 2:]
        q = np.where(free[None], blurred, q)
    out[:, :, :NUM_JOINTS] = q
    return out


def carry_by_kinematics(states: np.ndarray, block: str, held: Sequence[int], fk_world) -> None:
    """Write `block`'s pose in place for the (increasing) timesteps `held`: where the tool carries it, by
    forward kinematics on `fk_world` (a planning World) and the grasp made the state before
    (the executor carries it by a constraint, so the model's own numbers there are not used)."""
    s = block_slices(block)
    at_grasp = fk_world.tcp_pose(states[held[0] - 1, :NUM_JOINTS])
    grasp = multiply(invert(at_grasp), Pose(states[0, s.position], states[0, s.orientation]))
    for t in held:
        pose = multiply(fk_world.tcp_pose(states[t, :NUM_JOINTS]), grasp)
        states[t, s.position] = pose.position
        states[t, s.orientation] = pose.orientation


def held_by_kinematics(traj: np.ndarray, move: Move, fk_world) -> np.ndarray:
    """A whole-state segment with the held block's pose, while carried, from forward kinematics
    on `fk_world` (a planning World: moving its arm disturbs no physics)."""
    out = traj.copy()
    carry_by_kinematics(out, move.block, range(PHASES.grasp_index, PHASES.release_index), fk_world)
    return layout_of(out).canonical(out)


def wrap_joint1(joint1: np.ndarray, lower: float, upper: float) -> np.ndarray:
    """(n, H) joint-1 angles of candidates; those crossing the limits turned the other way round,
    where that fits.

    The move model sees each move in a frame turned with the picked block, so joint 1 means the
    same modulo a full turn to it, and it cannot see where the robot's cut (+-170 degrees) lies: a
    swing the short way across the cut stops at the limit in physics. Each anchor (the start,
    the grasp and release dwells, the end) takes the one value of its angle within the limits, and
    joint 1 between anchors keeps its sampled progress, scaled to the new swing. The tool poses
    at the anchors are unchanged; candidates within the limits, or with an anchor no turn can
    bring within them, are returned as they are."""
    from planner.masks import grasp_dwell, release_dwell

    out = np.array(joint1, dtype=np.float64, copy=True)
    g, r = grasp_dwell(), release_dwell()
    anchors = sorted({0, g.start, g.stop - 1, r.start, r.stop - 1, out.shape[1] - 1})
    for q in out:  # rows of `out`, written in place
        if q.min() >= lower and q.max() <= upper:
            continue
        new = []
        for a in anchors:
            fits = [q[a] + k * 2 * np.pi for k in (-1, 0, 1) if lower <= q[a] + k * 2 * np.pi <= upper]
            if not fits:
                break
            new.append(min(fits, key=lambda v: abs(v - (new[-1] if new else q[0]))))
        if len(new) < len(anchors) or new[0] != q[0]:
            continue
        wrapped = q.copy()
        for (a, b), (na, nb) in zip(zip(anchors, anchors[1:]), zip(new, new[1:])):
            span = q[b] - q[a]
            if abs(span) > 1e-3:
                wrapped[a:b + 1] = na + (q[a:b + 1] - q[a]) * (nb - na) / span
            else:
                wrapped[a:b + 1] = q[a:b + 1] + (na - q[a])
        q[:] = wrapped
    return out
