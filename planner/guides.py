"""Guides: differentiable functions of a trajectory, higher is better, one value per sample.

A guide reads states through `tasks.layout` (a block's slices are the same in every scene that
has it), never through bare indices. Goals become
guides by composition: a pick-and-place segment is "block A over block B, released" at its end.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from tasks.layout import BLOCK_HEIGHT, BLOCK_WIDTH, NUM_JOINTS, PHASES, block_slices


class Guide(nn.Module):
    """forward(x: (B, H, dim) unnormalised) -> (B,) value; `gradients` gives value and d value/dx."""

    def gradients(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = x.detach().requires_grad_(True)
        value = self(x)
        (grad,) = torch.autograd.grad(value.sum(), x)
        return value.detach(), grad


class PlacedOn(Guide):
    """Block `top` rests centred on `bottom`, released, from timestep `start` to the end."""

    def __init__(self, top: str, bottom: str, start: int = PHASES.release_index) -> None:
        super().__init__()
        self.top, self.bottom, self.start = block_slices(top), block_slices(bottom), start

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        end = x[:, self.start:]
        top = end[..., self.top.position]
        bottom = end[..., self.bottom.position]
        xy = ((top[..., :2] - bottom[..., :2]) ** 2).sum(-1)
        dz = (top[..., 2] - bottom[..., 2] - BLOCK_HEIGHT) ** 2
        held = end[..., self.top.attached] ** 2
        return -(xy + dz + held).mean(-1)


class PlacedAt(Guide):
    """Block `block` let go with its centre over `xy` (a floor spot, or its support block's centre),
    turned to `yaw` if given, at the segment's end: minus the squared errors, each in units of its tolerance, so a placement within both
    tolerances scores above -2 whatever the scale of the scene. Yaw is compared modulo a quarter
    turn (a square block looks the same)."""

    def __init__(self, block: str, xy, yaw: float | None, xy_tolerance: float, yaw_tolerance: float) -> None:
        super().__init__()
        self.block = block_slices(block)
        self.register_buffer("xy", torch.as_tensor(xy, dtype=torch.float32))
        self.yaw, self.xy_tolerance, self.yaw_tolerance = yaw, xy_tolerance, yaw_tolerance

    def errors(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3) the last state's xy distance, yaw difference (zero when no yaw is asked) and
        held flag, each in units of its tolerance (the flag's is 1)."""
        end = x[:, -1]
        xy = ((end[..., self.block.position][..., :2] - self.xy) ** 2).sum(-1).sqrt() / self.xy_tolerance
        held = end[..., self.block.attached]
        turn = torch.zeros_like(xy)
        if self.yaw is not None:
            qx, qy, qz, qw = end[..., self.block.orientation].unbind(-1)
            yaw = torch.atan2(2 * (qw * qz + qx * qy), 1 - 2 * (qy * qy + qz * qz))
            quarter = 4 * (yaw - self.yaw)
            turn = (torch.atan2(torch.sin(quarter), torch.cos(quarter)) / 4).abs() / self.yaw_tolerance  # <= pi/4
        return torch.stack([xy, turn, held], -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -(self.errors(x) ** 2).sum(-1)

    def met(self, x: torch.Tensor) -> torch.Tensor:
        """(B,) bool: the candidate's own states leave the block within every tolerance, let go."""
        e = self.errors(x)
        return (e[:, 0] < 1) & (e[:, 1] < 1) & (e[:, 2] < 0.5)


class Smoothness(Guide):
    """Minus the largest joint step between consecutive states (a jerk into a pinned keyframe
    is what makes position control miss a grasp)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = x[..., :NUM_JOINTS]
        return -(q[:, 1:] - q[:, :-1]).abs().amax(dim=(1, 2))


class ToolAt(Guide):
    """The tool point at the picked block's top face through the grasp dwell and above the
    target through the release dwell, through differentiable forward kinematics.

    Reads the move model's channels (B, H, 8: canonical joints, gripper); `grasp` and `release`
    are tool positions in the same canonical frame. Value: minus the mean squared distance (m^2).
    """

    def __init__(self, grasp, release) -> None:
        super().__init__()
        from planner.kinematics import ToolFK
        from planner.masks import grasp_dwell, release_dwell

        self.fk = ToolFK()
        self.register_buffer("grasp", torch.as_tensor(grasp, dtype=torch.float32))
        self.register_buffer("release", torch.as_tensor(release, dtype=torch.float32))
        self.grasp_steps = list(grasp_dwell())
        self.release_steps = list(release_dwell())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = x[..., :NUM_JOINTS]
        at_grasp = self.fk(q[:, self.grasp_steps]) - self.grasp
        at_release = self.fk(q[:, self.release_steps]) - self.release
        return -torch.cat([at_grasp, at_release], 1).pow(2).sum(-1).mean(-1)

    def errors(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 2) largest tool distance (m) from the grasp and from the release point."""
        q = x[..., :NUM_JOINTS]
        g = (self.fk(q[:, self.grasp_steps]) - self.grasp).norm(dim=-1).amax(1)
        r = (self.fk(q[:, self.release_steps]) - self.release).norm(dim=-1).amax(1)
        return torch.stack([g, r], 1)


class Sum(Guide):
    """Several guides' values added."""

    def __init__(self, *guides: Guide) -> None:
        super().__init__()
        self.parts = nn.ModuleList(guides)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sum(g(x) for g in self.parts)


# A slab seen from above, whatever its yaw: a disc of its half diagonal.
SLAB_RADIUS = BLOCK_WIDTH / 2 ** 0.5
LINK_RADIUS = 0.07  # the iiwa's links, roughly
CLEARANCE_MARGIN = 0.03


def transit_and_carry() -> tuple[range, range]:
    """The states of a segment that travel between blocks: the transit and the carry (away from
    the grasp and the release, where the tool must come close to blocks)."""
    carry_start = PHASES.grasp_index + PHASES.grasp_dwell + PHASES.lift
    return range(1, 1 + PHASES.transit), range(carry_start, carry_start + PHASES.carry)


class Clearance(Guide):
    """The arm and the carried slab pass above the other blocks: minus the summed overlap (m^2)
    of each point (the arm's joints and tool; while carrying, the carried slab's underside) with
    each obstacle's column, horizontal overlap times how far below the column's top (plus a
    margin) the point is. Read in the move's canonical frame, over the transit and the carry,
    away from the grasp and the release, where the tool must come close to blocks.

    `obstacles` (M, 3): the other blocks' centres in the move's canonical frame."""

    def __init__(self, obstacles, weight: float = 1.0) -> None:
        super().__init__()
        from planner.kinematics import ToolFK

        self.fk = ToolFK()
        self.register_buffer("obstacles", torch.as_tensor(np.asarray(obstacles).reshape(-1, 3), dtype=torch.float32))
        self.weight = weight
        transit, carry = transit_and_carry()
        self.transit, self.carry = list(transit), list(carry)

    @staticmethod
    def _overlap(points: torch.Tensor, obstacles: torch.Tensor, reach: float) -> torch.Tensor:
        """(B,) summed overlap of (B, T, P, 3) points, `reach` wide, with (M, 3) columns."""
        d = (points[..., None, :2] - obstacles[:, :2]).norm(dim=-1)  # (B, T, P, M)
        below = obstacles[:, 2] + BLOCK_HEIGHT / 2 + CLEARANCE_MARGIN - points[..., None, 2]
        return (torch.relu(reach + SLAB_RADIUS - d) * torch.relu(below)).sum(dim=(1, 2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if len(self.obstacles) == 0:
            return torch.zeros(len(x), dtype=x.dtype, device=x.device)
        q = x[..., :NUM_JOINTS]
        arm = self.fk.points(q[:, self.transit + self.carry])[..., 3:, :]  # elbow to tool
        tool = self.fk(q[:, self.carry])
        underside = tool - torch.tensor([0.0, 0.0, BLOCK_HEIGHT], dtype=tool.dtype, device=tool.device)
        total = self._overlap(arm, self.obstacles, LINK_RADIUS) + self._overlap(underside[:, :, None], self.obstacles,
                                                                                SLAB_RADIUS)
        return -self.weight * total
