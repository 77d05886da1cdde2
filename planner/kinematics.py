"""Differentiable forward kinematics of the iiwa, batched in torch, read from the robot's URDF.

`ToolFK(joints)` gives the tool point (the end-effector link's frame plus TCP_OFFSET along its
z axis, as tasks.world.World.tcp_pose) for any batch of joint vectors, with gradients, so
guides can ask "where is the tool" of a trajectory that is being denoised.
"""
from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import torch

from tasks.layout import NUM_JOINTS

TCP_OFFSET = 0.05  # the same tool point as tasks.world (kept equal by tests/test_kinematics.py)


def _rpy_matrix(roll: float, pitch: float, yaw: float) -> np.ndarray:
    cr, sr, cp, sp, cy, sy = math.cos(roll), math.sin(roll), math.cos(pitch), math.sin(pitch), math.cos(yaw), math.sin(yaw)
    rx = np.array([[1, 0, 0], [0, cr, -sr], [0, sr, cr]])
    ry = np.array([[cp, 0, sp], [0, 1, 0], [-sp, 0, cp]])
    rz = np.array([[cy, -sy, 0], [sy, cy, 0], [0, 0, 1]])
    return rz @ ry @ rx  # URDF: fixed-axis roll, then pitch, then yaw


def robot_urdf() -> Path:
    import pybullet_data

    from tasks.world import ROBOT_URDF

    return Path(pybullet_data.getDataPath()) / ROBOT_URDF


class ToolFK(torch.nn.Module):
    """(..., 7) joint angles -> (..., 3) tool point position in the robot's base frame."""

    def __init__(self, urdf: str | Path | None = None) -> None:
        super().__init__()
        root = ET.parse(urdf or robot_urdf()).getroot()
        joints = [j for j in root.findall("joint") if j.get("type") == "revolute"][:NUM_JOINTS]
        rots, trans = [], []
        for j in joints:
            origin = j.find("origin")
            axis = [float(v) for v in j.find("axis").get("xyz").split()]
            if axis != [0.0, 0.0, 1.0]:
                raise ValueError(f"{j.get('name')}: only joints about their own z axis are supported")
            rots.append(_rpy_matrix(*[float(v) for v in origin.get("rpy").split()]))
            trans.append([float(v) for v in origin.get("xyz").split()])
        self.register_buffer("origin_rot", torch.tensor(np.array(rots), dtype=torch.float64))
        self.register_buffer("origin_pos", torch.tensor(np.array(trans), dtype=torch.float64))

    def forward(self, q: torch.Tensor) -> torch.Tensor:
        return self.pose(q)[0]

    def pose(self, q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(..., 3) tool point and (..., 3, 3) the flange's rotation, in q's dtype."""
        pos, rot, _ = self._chain(q, with_joints=False)
        return pos, rot

    def points(self, q: torch.Tensor) -> torch.Tensor:
        """(..., 8, 3) each joint's origin (the arm's skeleton) and the tool point, in q's dtype."""
        pos, _, joints = self._chain(q, with_joints=True)
        return torch.cat([joints, pos.unsqueeze(-2)], -2)

    def _chain(self, q: torch.Tensor, with_joints: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Tool point, flange rotation and (`with_joints`) each joint's origin, in q's dtype."""
        dtype = q.dtype
        q = q.to(torch.float64)
        shape = q.shape[:-1]
        rot = torch.eye(3, dtype=q.dtype, device=q.device).expand(*shape, 3, 3)
        pos = torch.zeros(*shape, 3, dtype=q.dtype, device=q.device)
        joints = []
        for j in range(NUM_JOINTS):
            pos = pos + (rot @ self.origin_pos[j].unsqueeze(-1)).squeeze(-1)
            joints.append(pos)
            rot = rot @ self.origin_rot[j]
            c, s = torch.cos(q[..., j]), torch.sin(q[..., j])
            zero, one = torch.zeros_like(c), torch.ones_like(c)
            rz = torch.stack([c, -s, zero, s, c, zero, zero, zero, one], -1).reshape(*shape, 3, 3)
            rot = rot @ rz
        tool = (pos + rot[..., :, 2] * TCP_OFFSET).to(dtype)
        return tool, rot.to(dtype), torch.stack(joints, -2).to(dtype) if with_joints else None


def tool_yaw(rot: torch.Tensor) -> torch.Tensor:
    """Yaw (rad) of a downward-pointing tool: the heading of the flange's x axis."""
    return torch.atan2(rot[..., 1, 0], rot[..., 0, 0])
