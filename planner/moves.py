"""What the move model sees and makes: one pick-and-place in the move's own canonical frame.

The executor reads only the joints and the attached flags, so the move model diffuses only
those: 7 joint angles and one gripper channel (the moved block's flag) per state. The blocks'
poses follow from the start state (still blocks) and forward kinematics (the held block).

The scene has an exact symmetry: rotating the world about the robot's base axis is adding the
same angle to joint 1. Each move is seen in the frame that puts its picked block on the +x
axis, so the model learns one motion per (radius, height, relative angle) instead of a family
of rotated copies. The move (which block, onto which) enters as a conditioning vector: the
start joints, the picked block, the block it goes onto, and the other blocks as a set of
obstacles of any size: up to OBSTACLES of them, nearest the target first, each slot with a flag
that says whether a block fills it (a scene of N blocks has N - 2 others, N - 1 for a floor move).
The first two slots come first in the vector and the flags last, so that a model of the earlier
two-slot layout grows into this one with zero weights on the new inputs (planner.grow).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tasks.layout import BLOCK_HEIGHT, MAX_BLOCKS, NUM_JOINTS, PHASES, layout_of
from tasks.scene import FLOOR
from tasks.layout import quaternion_yaw

GRIPPER = NUM_JOINTS  # channel index of the gripper in a move trajectory
CHANNELS = NUM_JOINTS + 1
CHANNEL_NAMES = tuple(f"joint_{j + 1}" for j in range(NUM_JOINTS)) + ("gripper",)
OBSTACLES = MAX_BLOCKS - 1  # every other block of the largest scene, for a floor move
COND_NAMES = (
    tuple(f"start_joint_{j + 1}" for j in range(NUM_JOINTS))
    + tuple(f"pick_{k}" for k in ("x", "y", "z", "sin4yaw", "cos4yaw"))
    + tuple(f"onto_{k}" for k in ("x", "y", "z", "sin4yaw", "cos4yaw"))
    + tuple(f"other{i}_{k}" for i in range(1, OBSTACLES + 1) for k in ("x", "y", "z"))
    + tuple(f"other{i}_present" for i in range(1, OBSTACLES + 1))
)
COND_DIM = len(COND_NAMES)
# The condition of the two-slot move model (four blocks only): its first 23 numbers.
TWO_SLOT_COND_NAMES = COND_NAMES[:17] + COND_NAMES[17:23]
# A free put-down (one that only clears the way) counts as made within this of where it aimed;
# a reference's spot is held to tasks.rewards.SPOT_XY.
FREE_XY = 0.08


@dataclass(frozen=True)
class Move:
    """One pick-and-place: put `block` on block `onto`, or (onto FLOOR) on the floor `at`
    (x, y, yaw in radians; yaw None: as the block is turned now). A `free` floor move only
    clears the way: anywhere within FREE_XY of `at` on the floor will do."""

    block: str
    onto: str
    at: tuple[float, float, float | None] | None = None
    free: bool = False

    def __str__(self) -> str:
        if self.onto == FLOOR:
            where = "near" if self.free else "at"
            yaw = "" if self.at[2] is None or self.free else f",{math.degrees(self.at[2]) % 360:.0f}deg"
            return f"{self.block} to the floor {where} {self.at[0]:.3f},{self.at[1]:.3f}{yaw}"
        return f"{self.block} on {self.onto}"

    def support_pose(self, state: np.ndarray) -> tuple[np.ndarray, float]:
        """Position and yaw of what the block goes onto; the floor is a block-sized support sunk
        just below it, so a floor placement and a stacking have one geometry."""
        if self.onto == FLOOR:
            x, y, yaw = self.at
            if yaw is None:
                yaw = quaternion_yaw(np.asarray(state)[layout_of(state).block(self.block).orientation])
            return np.array([x, y, -BLOCK_HEIGHT / 2]), yaw
        s = layout_of(state).block(self.onto)
        return np.asarray(state, dtype=np.float64)[s.position], quaternion_yaw(np.asarray(state)[s.orientation])


def frame_angle(state: np.ndarray, block: str) -> float:
    """Azimuth of `block` about the robot's base axis: the move's canonical frame turns it to 0."""
    x, y = np.asarray(state)[layout_of(state).block(block).position][:2]
    return math.atan2(float(y), float(x))


def rotate_xy(xyz, angle: float) -> np.ndarray:
    """A point turned by `angle` about the robot's base (z) axis."""
    c, s = math.cos(angle), math.sin(angle)
    x, y, z = xyz
    return np.array([c * x - s * y, s * x + c * y, z])


def move_condition(state: np.ndarray, move: Move) -> np.ndarray:
    """(COND_DIM,) the move seen from its canonical frame (names: COND_NAMES).

    A square block looks the same every quarter turn, so its yaw enters as sin/cos of 4 yaw.
    """
    state = np.asarray(state, dtype=np.float64)
    layout = layout_of(state)
    layout.block(move.block)  # unknown names raise here
    if move.onto != FLOOR:
        layout.block(move.onto)
    angle = frame_angle(state, move.block)
    joints = to_canonical(state[layout.joints], angle)
    parts = [joints]
    s = layout.block(move.block)
    support, support_yaw = move.support_pose(state)
    for position, yaw in ((state[s.position], quaternion_yaw(state[s.orientation])), (support, support_yaw)):
        parts += [rotate_xy(position, -angle), [math.sin(4 * (yaw - angle)), math.cos(4 * (yaw - angle))]]
    others = sorted((b for b in layout.blocks if b not in (move.block, move.onto)),
                    key=lambda b: float(np.linalg.norm(state[layout.block(b).position][:2] - support[:2])))
    slots = np.zeros((OBSTACLES, 3))
    for k, name in enumerate(others):
        slots[k] = rotate_xy(state[layout.block(name).position], -angle)
    present = (np.arange(OBSTACLES) < len(others)).astype(np.float64)
    return np.concatenate([np.asarray(p, dtype=np.float64) for p in parts] + [slots.ravel(), present])


def to_canonical(joints: np.ndarray, angle: float) -> np.ndarray:
    """Joints (..., 7 or more) in the move's frame: joint 1 turned back by `angle`."""
    out = np.array(joints, dtype=np.float64, copy=True)
    out[..., 0] -= angle
    return out


def from_canonical(joints: np.ndarray, angle: float) -> np.ndarray:
    out = np.array(joints, dtype=np.float64, copy=True)
    out[..., 0] += angle
    return out


def segment_channels(segment: np.ndarray, move: Move) -> np.ndarray:
    """(H, CHANNELS) a demonstrated segment of states as the move model's target."""
    layout = layout_of(segment)
    angle = frame_angle(segment[0], move.block)
    out = np.empty((len(segment), CHANNELS))
    out[:, :NUM_JOINTS] = to_canonical(segment[:, layout.joints], angle)
    out[:, GRIPPER] = segment[:, layout.block(move.block).attached]
    return out


def demonstrated_move(segment: np.ndarray) -> Move | None:
    """The move an aligned demonstration segment makes: the block held at the grasp and the
    block it rests on at the end, or the floor where it rests (None when nothing is held)."""
    from tasks.rewards import on_floor, strictly_on

    layout = layout_of(segment)
    flags = segment[PHASES.grasp_index, layout.attached_dims]
    if flags.max() < 0.5:
        return None
    block = layout.blocks[int(np.argmax(flags))]
    under = [b for b in layout.blocks if b != block and strictly_on(segment[-1], block, b)]
    if len(under) == 1:
        return Move(block, under[0])
    s = layout.block(block)
    if not under and on_floor(segment[-1], block):
        x, y, _ = segment[-1][s.position]
        return Move(block, FLOOR, (float(x), float(y), quaternion_yaw(segment[-1][s.orientation])))
    return None
