"""The move model at planning time: state + move -> candidate pick-and-place segments (full states).

The model (planner.train_mover) denoises the joints and the gripper of one segment in the
move's canonical frame, conditioned on the move; only the start state is pinned unless
keyframes are asked for. A guide (planner.guides.ToolAt) can pull the tool onto the block at
the grasp and above the target at the release. The result is turned back into the world frame
and into full states: still blocks keep their start poses, the held block follows the tool
(forward kinematics) from the grasp to the release. Joint 1 means the same modulo a turn in
the move's frame, so a swing across the robot's cut at +-170 degrees is turned the other way
round (planner.postprocess.wrap_joint1).
"""
from __future__ import annotations

from pathlib import Path
from collections.abc import Callable

import numpy as np
import torch

from planner.checkpoint import load_mover
from planner.diffusion import Constraints
from planner.guides import Clearance, Sum, ToolAt
from planner.masks import grasp_dwell, release_dwell
from planner.moves import (
    CHANNELS, GRIPPER, Move, frame_angle, from_canonical, move_condition, rotate_xy, to_canonical,
)
from planner.data import CondNormaliser
from planner.masks import keyframe_channels_mask
from planner.postprocess import carry_by_kinematics, wrap_joint1
from planner import timing
from planner.settle import Settler
# Where the demonstrator puts the tool: just above the block's top face at the grasp, and the
# held block just above its support at the release.
from tasks.kinematics import GRASP_GAP, PLACE_GAP
from tasks.layout import BLOCK_HEIGHT, NUM_JOINTS, PHASES, block_slices, layout_of, quaternion_yaw
from tasks.scene import FLOOR


def tool_targets(cond_state: np.ndarray, move: Move) -> tuple[np.ndarray, np.ndarray]:
    """Canonical-frame tool positions at the grasp and at the release of `move` from a state."""
    angle = frame_angle(cond_state, move.block)

    def turned(name: str) -> np.ndarray:
        return rotate_xy(cond_state[block_slices(name).position], -angle)

    grasp = turned(move.block) + [0, 0, BLOCK_HEIGHT / 2 + GRASP_GAP]
    release = rotate_xy(move.support_pose(cond_state)[0], -angle) + [0, 0, BLOCK_HEIGHT / 2 + PLACE_GAP + BLOCK_HEIGHT
                                                                       + GRASP_GAP]
    return grasp, release


def block_turn(state: np.ndarray, move: Move) -> float | None:
    """How far (rad) a floor spot with a yaw asks the block to turn from how it lies now; None
    for a stacking or a free put-down (where any yaw will do)."""
    if move.onto != FLOOR or move.free or move.at[2] is None:
        return None
    return move.at[2] - quaternion_yaw(np.asarray(state)[block_slices(move.block).orientation])


def obstacles(state: np.ndarray, move: Move) -> np.ndarray:
    """(M, 3) every block but the moved one, in the move's canonical frame."""
    angle = frame_angle(state, move.block)
    layout = layout_of(state)
    return np.array([rotate_xy(np.asarray(state)[layout.block(b).position], -angle)
                     for b in layout.blocks if b != move.block]).reshape(-1, 3)


class MoveModel:
    """A loaded move-model checkpoint that samples segments for moves."""

    def __init__(self, checkpoint: str | Path, device: torch.device) -> None:
        loaded = load_mover(checkpoint, device)
        self.diffusion = loaded.diffusion
        self.normaliser = loaded.normaliser
        self.meta = loaded.meta
        self.cond_normaliser = CondNormaliser.from_dict(loaded.meta["cond_normaliser"])
        self.horizon = self.diffusion.model.config.horizon
        self.device = device
        self._settler: Settler | None = None

    def sample(
        self, state: np.ndarray, move: Move, n: int, gen: torch.Generator, *, steps: int,
        guide_scale: float = 0.0, cond_scale: float = 1.0, keyframes: tuple[np.ndarray, np.ndarray] | None = None,
        progress: Callable[[int, int], None] | None = None, should_stop=None, snapshots: list | None = None,
        guide_values: list | None = None, settle: bool = False, clearance: float = 0.0,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(n, H, CHANNELS) canonical channels and (H, CHANNELS) mask of what was pinned.

        `keyframes` (q_grasp, q_release) in world joints pins the joints through the dwells (the
        IK setting); without them only the start state is pinned. `guide_values`, if given,
        receives the median candidate's ToolAt value of the predicted clean trajectory after every
        step (a mean would follow the worst candidate, which ranking discards). `settle` finishes
        the guide's work on each candidate (planner.settle; not with keyframes, which pin the dwells);
        `clearance` weighs a guide that keeps the arm and the carried block above the other blocks."""
        dev = self.device
        angle = frame_angle(state, move.block)
        values = np.zeros((self.horizon, CHANNELS))
        values[0, :NUM_JOINTS] = to_canonical(state[:NUM_JOINTS], angle)
        mask = np.zeros((self.horizon, CHANNELS), dtype=bool)
        mask[0] = True  # the start state (with nothing held)
        if keyframes is not None:
            mask = keyframe_channels_mask(self.horizon)
            for q, steps_at in ((keyframes[0], grasp_dwell()), (keyframes[1], release_dwell())):
                for t in steps_at:
                    values[t, :NUM_JOINTS] = to_canonical(q, angle)
            values[PHASES.grasp_index:PHASES.release_index, GRIPPER] = 1.0
        cond = torch.as_tensor(self.cond_normaliser(move_condition(state, move)), device=dev).expand(n, -1)
        grasp, release = tool_targets(state, move)
        tool = ToolAt(grasp, release).to(dev)
        guide = Sum(tool, Clearance(obstacles(state, move), clearance).to(dev)) if clearance else tool
        on_step = None
        if guide_values is not None:
            def on_step(k: int, x0: torch.Tensor) -> None:
                with torch.no_grad():
                    guide_values.append(float(guide(self.normaliser.unnormalise(x0)).median()))
        out = self._denoise(values, mask, cond, gen, steps, guide if guide_scale else None, guide_scale, cond_scale,
                            progress=progress, should_stop=should_stop, snapshots=snapshots, on_step=on_step)
        if settle and keyframes is None:
            if self._settler is None:
                self._settler = Settler()
            with timing.phase("settling"):
                out = self._settler.settle(out, grasp, release, block_turn(state, move))
        return np.where(mask, values, out), mask

    def sample_each(self, state: np.ndarray, moves: list[Move], gen: torch.Generator, *, steps: int,
                    guide_scale: float = 0.0, cond_scale: float = 1.0, should_stop=None) -> np.ndarray:
        """(len(moves), H, CHANNELS): one sample of each move from `state`, only the start
        pinned, denoised together as one batch (the tallest tower scores every move between
        clear blocks: 20 moves from five blocks, 56 from eight)."""
        dev = self.device
        values = np.zeros((len(moves), self.horizon, CHANNELS))
        for v, move in zip(values, moves):
            v[0, :NUM_JOINTS] = to_canonical(state[:NUM_JOINTS], frame_angle(state, move.block))
        mask = np.zeros((self.horizon, CHANNELS), dtype=bool)
        mask[0] = True
        cond = torch.as_tensor(np.stack([self.cond_normaliser(move_condition(state, m)) for m in moves]), device=dev)
        grasp, release = (np.stack(t)[:, None] for t in zip(*(tool_targets(state, m) for m in moves)))
        guide = ToolAt(grasp, release).to(dev) if guide_scale else None
        out = self._denoise(values, mask, cond, gen, steps, guide, guide_scale, cond_scale, should_stop=should_stop)
        return np.where(mask, values, out)

    def _denoise(self, values: np.ndarray, mask: np.ndarray, cond: torch.Tensor, gen: torch.Generator, steps: int,
                 guide, guide_scale: float, cond_scale: float, **sampling) -> np.ndarray:
        """(len(cond), H, CHANNELS) canonical channels denoised with `values` ((H, C) or one per
        sample) pinned where `mask` says, one sample per row of `cond`."""
        dev = self.device
        normed = self.normaliser.normalise(values).astype(np.float32)
        constraints = Constraints(torch.as_tensor(mask, device=dev), torch.as_tensor(normed, device=dev))
        x = self.diffusion.sample(
            (len(cond), self.horizon, CHANNELS), constraints, guide=guide, guide_scale=guide_scale, steps=steps,
            generator=gen, unnormalise=self.normaliser.unnormalise, cond=cond, cond_scale=cond_scale, **sampling,
        )
        return self.normaliser.unnormalise(x).cpu().numpy().astype(np.float64)

    def to_states(self, state: np.ndarray, move: Move, channels: np.ndarray, fk_world) -> np.ndarray:
        """(n, H, dim) world-frame states from canonical channels (see the module docstring)."""
        return np.stack([channels_to_states(state, move, c, fk_world) for c in channels])


def channels_to_states(state: np.ndarray, move: Move, channels: np.ndarray, fk_world) -> np.ndarray:
    """(H, dim) one segment's full states: the model's joints and grasp timing, the still blocks
    at their start poses, the held block carried by the tool (forward kinematics on `fk_world`,
    a planning World) while held, and left where it was let go."""
    angle = frame_angle(state, move.block)
    out = np.repeat(np.asarray(state, dtype=np.float64)[None], len(channels), axis=0)
    layout = layout_of(out)
    out[:, :NUM_JOINTS] = from_canonical(channels[:, :NUM_JOINTS], angle)
    out[:, 0] = wrap_joint1(out[None, :, 0], fk_world.joint_lower[0], fk_world.joint_upper[0])[0]
    out[:, layout.attached_dims] = 0.0
    held = channels[:, GRIPPER] > 0.5
    held[0] = False  # the segment starts with nothing held
    s = layout.block(move.block)
    out[:, s.attached] = held.astype(np.float64)
    steps = np.flatnonzero(held)
    if len(steps):
        carry_by_kinematics(out, move.block, steps, fk_world)
        for t in range(steps[0] + 1, len(out)):  # let go: it stays where the tool left it
            if not held[t]:
                out[t, s.position] = out[t - 1, s.position]
                out[t, s.orientation] = out[t - 1, s.orientation]
    return layout.canonical(out)
