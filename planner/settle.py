"""Settling the dwells: the tool guide's last word on a sampled move.

Guidance shifts the predicted clean trajectory by the guide's gradient times the step's noise
level, so its pull fades exactly in the last denoising steps, where centimetres are decided: a
single guided sample lets its block go a median 2.5 cm from a floor spot and turns it a median
7 degrees off (tolerances 3 cm and 15 degrees; docs/figures.md). Settling finishes the job on
each candidate: the mean joint vector of each dwell is moved, by a few damped least-squares
steps through the differentiable forward kinematics, until the tool is at the grasp point and
at the release point and, for a floor spot with a yaw, the carried block has turned by what the
spot asks; the correction is faded in over the approach and out over the departure (a cosine
ramp), so the motion stays as smooth as the sample. The start state is never changed, and
nothing here knows about inverse kinematics solvers or physics: it is the guide's own target,
reached rather than approached.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from planner.kinematics import ToolFK, tool_yaw
from planner.masks import grasp_dwell, release_dwell
from tasks.layout import NUM_JOINTS, PHASES

ITERATIONS = 4
DAMPING = 1e-6  # (m^2): keeps a step finite near a singular pose
FD_STEP = 1e-6  # rad, for the Jacobian
YAW_WEIGHT = 0.1  # metres per radian: how a yaw error counts against a position error
# States over which a dwell's correction fades in before it and out after it.
RAMP_BEFORE = (PHASES.descend, PHASES.place_descend)
RAMP_AFTER = (PHASES.lift, PHASES.ascend)


def quarter_wrap(angle: torch.Tensor) -> torch.Tensor:
    """An angle folded into [-pi/4, pi/4): a square block looks the same every quarter turn."""
    return torch.atan2(torch.sin(4 * angle), torch.cos(4 * angle)) / 4


def ramp(horizon: int, dwell: range, before: int, after: int) -> np.ndarray:
    """(H,) 1 through `dwell`, rising over `before` states to it and falling over `after` from
    it (raised cosine), 0 elsewhere and always 0 at the start state."""
    w = np.zeros(horizon)
    w[dwell.start:dwell.stop] = 1.0
    for k in range(1, before + 1):
        if dwell.start - k > 0:
            w[dwell.start - k] = 0.5 * (1 + math.cos(math.pi * k / (before + 1)))
    for k in range(1, after + 1):
        if dwell.stop - 1 + k < horizon:
            w[dwell.stop - 1 + k] = 0.5 * (1 + math.cos(math.pi * k / (after + 1)))
    return w


def solve(q: torch.Tensor, residual) -> torch.Tensor:
    """(n, 7) joint vectors near q that drive residual (n, 7) -> (n, m), m <= 7, to zero: damped
    Gauss-Newton, the Jacobian by forward differences in one batched call per step (residual
    is called on (n * 8, 7): each row's probes consecutive)."""
    eye = torch.eye(NUM_JOINTS, dtype=q.dtype)
    for _ in range(ITERATIONS):
        probes = torch.cat([q[:, None], q[:, None] + FD_STEP * eye], 1)  # (n, 8, 7)
        r_all = residual(probes.reshape(-1, NUM_JOINTS)).reshape(len(q), NUM_JOINTS + 1, -1)
        r, jac = r_all[:, 0], ((r_all[:, 1:] - r_all[:, :1]) / FD_STEP).transpose(1, 2)  # (n, m), (n, m, 7)
        gram = jac @ jac.transpose(1, 2) + DAMPING * torch.eye(r.shape[1], dtype=q.dtype)
        q = q - (jac.transpose(1, 2) @ torch.linalg.solve(gram, r[..., None]))[..., 0]
    return q


class Settler:
    """settle(channels (n, H, >=7) canonical, joints first, grasp, release, turn) -> settled copy.

    `grasp` and `release` are canonical tool points (planner.mover.tool_targets); `turn` (rad,
    or None) is how far the block must turn between the grasp and the release."""

    def __init__(self) -> None:
        self.fk = ToolFK()  # float64 throughout (its buffers and its arithmetic)

    def settle(self, channels: np.ndarray, grasp, release, turn: float | None) -> np.ndarray:
        out = np.array(channels, dtype=np.float64)
        h = out.shape[1]
        grasp_t, release_t = torch.as_tensor(grasp, dtype=torch.float64), torch.as_tensor(release, dtype=torch.float64)
        q_grasp = torch.as_tensor(out[:, list(grasp_dwell()), :NUM_JOINTS].mean(1))
        q_release = torch.as_tensor(out[:, list(release_dwell()), :NUM_JOINTS].mean(1))
        with torch.no_grad():
            new_grasp = solve(q_grasp, lambda v: self.fk(v) - grasp_t)
            yaw_grasp = tool_yaw(self.fk.pose(new_grasp)[1])
            copies = NUM_JOINTS + 1  # rows of a batched residual call per candidate

            def at_release(v: torch.Tensor) -> torch.Tensor:
                pos, rot = self.fk.pose(v)
                if turn is None:
                    return pos - release_t
                twist = quarter_wrap(tool_yaw(rot) - yaw_grasp.repeat_interleave(copies) - turn)
                return torch.cat([pos - release_t, (YAW_WEIGHT * twist)[:, None]], 1)

            new_release = solve(q_release, at_release)
        for dwell, before, after, old, new in ((grasp_dwell(), RAMP_BEFORE[0], RAMP_AFTER[0], q_grasp, new_grasp),
                                               (release_dwell(), RAMP_BEFORE[1], RAMP_AFTER[1], q_release, new_release)):
            w = ramp(h, dwell, before, after)
            out[:, :, :NUM_JOINTS] += w[None, :, None] * (new - old).numpy()[:, None]
        return out
