"""Lifting over towers: the last word on a sampled move's transit and carry.

The move model learned its transit and carry heights from demonstrations whose towers were mostly
low; at seven and eight blocks its sample often sweeps the empty gripper, or the carried slab,
through a tower it passes (a long swing round the robot's joint-1 cut passes over every tower on
its way). A guide on clearance during denoising pushed the joints so hard that the arm could not
follow them (docs/figures.md). Lifting instead moves only the states that need it: where the tool
(empty, or with the slab below it) would pass within a block's column below its top plus a margin,
the tool is raised by what is missing, the rise faded in and out over a few states (a raised
cosine) and reached by damped least squares through the differentiable forward kinematics with
the tool's axis and heading kept. The start state and the grasp and release dwells are never
changed, the approaches to them only as a rise fades out; nothing here knows about physics or
inverse-kinematics solvers.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from planner.guides import CLEARANCE_MARGIN, SLAB_RADIUS, transit_and_carry
from planner.kinematics import ToolFK, tool_yaw
from planner.moves import Move
from planner.postprocess import carry_by_kinematics
from planner.settle import ramp, solve
from tasks.kinematics import GRASP_GAP
from tasks.layout import BLOCK_HEIGHT, NUM_JOINTS, PHASES, layout_of

GRIPPER_RADIUS = 0.05  # the open fingers about the tool point, seen from above
RAMP = 8  # states over which a rise fades in before, and out after, the states that need it
ANGLE_WEIGHT = 0.1  # metres per radian: the tool's tilt and heading against its position


def needed_rise(tool: np.ndarray, obstacles: np.ndarray) -> np.ndarray:
    """(n, H) how far each state's tool must rise to pass over the (M, 3) obstacles' columns:
    empty through the transit, with the slab below it through the carry; 0 elsewhere."""
    n, h, _ = tool.shape
    rise = np.zeros((n, h))
    if len(obstacles) == 0:
        return rise
    tops = obstacles[:, 2] + BLOCK_HEIGHT / 2 + CLEARANCE_MARGIN
    for window, reach, below in zip(transit_and_carry(), (SLAB_RADIUS + GRIPPER_RADIUS, 2 * SLAB_RADIUS),
                                    (0.0, BLOCK_HEIGHT + GRASP_GAP)):
        t = list(window)
        d = np.linalg.norm(tool[:, t, None, :2] - obstacles[None, None, :, :2], axis=-1)  # (n, T, M)
        short = np.where(d < reach, tops[None, None] + below - tool[:, t, 2][..., None], 0.0)
        rise[:, t] = np.maximum(short.max(-1), 0.0)
    return rise


def envelope(horizon: int) -> np.ndarray:
    """(H,) how much of a rise each state may take: all of it through the transit and the carry,
    fading to nothing over the first few states and over the approaches to the dwells (the
    start, the dwells and everything after the release take none)."""
    transit, carry = transit_and_carry()
    return np.maximum(ramp(horizon, range(transit.start + RAMP // 2, transit.stop), RAMP // 2, PHASES.descend),
                      ramp(horizon, carry, PHASES.lift, PHASES.place_descend))


def spread(rise: np.ndarray) -> np.ndarray:
    """(n, H) each rise held over its neighbours and faded out over RAMP states either side,
    within the envelope."""
    out = rise.copy()
    for k in range(1, RAMP + 1):
        w = 0.5 * (1 + math.cos(math.pi * k / (RAMP + 1)))
        out[:, k:] = np.maximum(out[:, k:], w * rise[:, :-k])
        out[:, :-k] = np.maximum(out[:, :-k], w * rise[:, k:])
    return out * envelope(rise.shape[1])


class Lifter:
    """lift(states (n, H, D) world frame, the segment's start state, move) -> lifted copy."""

    def __init__(self) -> None:
        self.fk = ToolFK()  # float64 throughout

    def lift(self, traj: np.ndarray, state: np.ndarray, move: Move, fk_world) -> np.ndarray:
        layout = layout_of(state)
        obstacles = np.array([state[layout.block(b).position] for b in layout.blocks if b != move.block]).reshape(-1, 3)
        out = np.array(traj, dtype=np.float64)
        q = torch.as_tensor(out[..., :NUM_JOINTS])
        with torch.no_grad():
            pos, rot = self.fk.pose(q)
            rise = spread(needed_rise(pos.numpy(), obstacles))
            rows = np.argwhere(rise > 1e-4)
            if len(rows) == 0:
                return traj
            i, t = rows[:, 0], rows[:, 1]
            target = pos[i, t] + torch.as_tensor(np.stack([0 * rise[i, t], 0 * rise[i, t], rise[i, t]], -1))
            axis, heading = rot[i, t][:, :2, 2], tool_yaw(rot[i, t])

            def residual(v: torch.Tensor) -> torch.Tensor:
                p, r = self.fk.pose(v)
                copies = len(v) // len(target)
                turn = tool_yaw(r) - heading.repeat_interleave(copies)
                return torch.cat([p - target.repeat_interleave(copies, 0),
                                  ANGLE_WEIGHT * (r[:, :2, 2] - axis.repeat_interleave(copies, 0)),
                                  ANGLE_WEIGHT * torch.atan2(torch.sin(turn), torch.cos(turn))[:, None]], 1)

            out[i, t, :NUM_JOINTS] = solve(q[i, t], residual).numpy()
        held = range(PHASES.grasp_index, PHASES.release_index)
        for k in np.unique(i):  # the carried block follows the lifted tool
            carry_by_kinematics(out[k], move.block, held, fk_world)
        return out.astype(traj.dtype)
