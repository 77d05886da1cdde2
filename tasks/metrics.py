"""Trajectory measures for comparing plans: path length, smoothness, heights over time."""
from __future__ import annotations

import numpy as np

from tasks.layout import layout_of
from tasks.world import CONTROL_PERIOD, World


def path_length(states: np.ndarray) -> float:
    """Total joint-space distance travelled (radians)."""
    q = layout_of(states).check(states)[:, layout_of(states).joints]
    return float(np.linalg.norm(np.diff(q, axis=0), axis=1).sum())


def smoothness(states: np.ndarray) -> float:
    """Mean squared joint acceleration (rad²/s⁴); lower is smoother."""
    q = layout_of(states).check(states)[:, layout_of(states).joints]
    if len(q) < 3:
        return 0.0
    acc = np.diff(q, n=2, axis=0) / CONTROL_PERIOD**2
    return float((acc**2).sum(axis=1).mean())


def block_heights(states: np.ndarray) -> np.ndarray:
    """(T, n_blocks) block centre heights."""
    return layout_of(states).positions(layout_of(states).check(states))[..., 2]


def tool_positions(states: np.ndarray, world: World) -> np.ndarray:
    """(T, 3) tool point positions, by forward kinematics on `world` (its arm is moved)."""
    return np.array([world.tcp_pose(q).position for q in layout_of(states).check(states)[:, layout_of(states).joints]])


def tool_heights(states: np.ndarray, world: World) -> np.ndarray:
    """(T,) tool point height."""
    return tool_positions(states, world)[:, 2]


def duration(states: np.ndarray) -> float:
    return (len(states) - 1) * CONTROL_PERIOD
