"""Which move comes next: the task layer's next move, or (unconditional) the Diffuser's own choice.

A goal is met one pick-and-place ("move X onto Y") per segment, in the order the task layer
(tasks.taskplan) gives, the demonstrator's order too. For the unconditional task the Diffuser
chooses: each move the scene allows is sampled and scored by the whole-state model's denoising
error under the paper's start-only conditioning (lower = more probable after what the
demonstrations did; a scene of other than four blocks is seen through `four_block_view`); the
best-scored move that makes the tower taller is planned.
Every question about the scene is asked of one `SymbolicScene` per state.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import math

import numpy as np
import torch

from planner.conditioning import SegmentConditions, segment_conditions
from planner.masks import start_mask
from planner.mover import channels_to_states
from planner.moves import FREE_XY, Move
from tasks.goals import Goal, GoalError, Unconditional
from tasks.layout import BLOCK_HEIGHT, LAYOUT, PHASES, layout_of
from tasks.plans import Proposal
from tasks.reference import FloorSpot, Reference
from tasks.rewards import at_spot, centred_over, on_floor, reference_parts
from tasks.scene import FLOOR, SymbolicScene
from tasks.taskplan import plan_moves, spot_region

if TYPE_CHECKING:
    from planner.plan import DiffuserPlanner


def goal_moves(state: np.ndarray, goal: Goal) -> list[Move]:
    """The moves `goal` needs from `state`, in order, from the task layer (tasks.taskplan, which
    the demonstrator binds too): a block onto a block (unstacking first where one must come out
    from under others), onto its reference spot, or onto free floor away from every block and spot.
    Where the blocks and spots leave no free floor, blocks are parked on blocks instead, as the
    demonstrator does."""
    if isinstance(goal, Unconditional):
        raise ValueError("the tallest tower's moves are chosen one at a time: choose_move")
    try:
        return _bind_floor(state, goal, plan_moves(state, goal))
    except GoalError as e:
        if not str(e).startswith(NO_FREE_FLOOR):
            raise
        return _bind_floor(state, goal, plan_moves(state, goal, floor=False))


NO_FREE_FLOOR = "no free floor left"


def _bind_floor(state: np.ndarray, goal: Goal, steps) -> list[Move]:
    """The task layer's steps as moves, each floor step given its place: the goal's spot, or a
    free spot near the block (GoalError where none is left)."""
    layout = layout_of(state)
    spots = goal.spots if isinstance(goal, Reference) else ()
    taken = [state[layout.block(b).position][:2] for b in layout.blocks] + [s.xy for s in spots]
    rng = np.random.default_rng(0)
    moves = []
    for step in steps:
        block, dest = step.block, step.dest
        if dest in layout.blocks:
            moves.append(Move(block, dest))
            continue
        spot = goal.spot(block) if dest == spot_region(block) else None
        if spot is not None:
            moves.append(Move(block, FLOOR, (spot.x, spot.y, None if spot.yaw_deg is None else math.radians(spot.yaw_deg))))
            continue
        xy = near_free_spot(rng, taken, state[layout.block(block).position][:2])
        if xy is None:
            raise GoalError(f"{NO_FREE_FLOOR} to put {block} down")
        taken.append(xy)
        moves.append(Move(block, FLOOR, (float(xy[0]), float(xy[1]), None), free=True))
    return moves


def replan_moves(state: np.ndarray, goal: Goal) -> list[Move]:
    """The task layer's moves from where physics left the blocks; none where it finds none (a
    block knocked out of reach): the plan ends there, scored as it stands."""
    try:
        return goal_moves(state, goal)
    except GoalError:
        return []


def near_free_spot(rng: np.random.Generator, taken: list[np.ndarray], near: np.ndarray, tries: int = 16) -> np.ndarray | None:
    """Of `tries` free floor spots, the one the shortest carry from `near` reaches: a short carry
    is a surer one."""
    from tasks.reference import free_spot

    spots = [xy for xy in (free_spot(rng, taken) for _ in range(tries)) if xy is not None]
    return min(spots, key=lambda xy: carry_length(near, xy), default=None)


def carry_length(a: np.ndarray, b: np.ndarray) -> float:
    """The tool's path from floor point `a` to `b` round the robot's base (metres). Joint 1 cannot
    turn through its cut behind the robot (+-170 degrees), so the turn goes round the front: two
    points either side of the cut, close together, are almost a full turn apart."""
    ra, rb = float(np.hypot(*a[:2])), float(np.hypot(*b[:2]))
    turn = abs(math.atan2(a[1], a[0]) - math.atan2(b[1], b[0]))  # not wrapped: the way joint 1 can go
    return 0.5 * (ra + rb) * turn + abs(ra - rb)


def grows_tower(scene: SymbolicScene, move: Move) -> bool:
    """The move makes a tower taller than the tallest one now (the unconditional task's aim)."""
    return scene.height(move.onto) + 1 > scene.tallest[1]


def moves_between_clear(scene: SymbolicScene) -> list[Move]:
    """Every pick-and-place the scene allows: a clear block onto another clear block."""
    return [Move(b, onto) for b, onto in scene.moves_between_clear()]


def tower_picks(state: np.ndarray, scene: SymbolicScene) -> list[str]:
    """Blocks whose move can grow the tallest tower: clear blocks on the floor (a tower's base is
    covered and its top is off the floor; with no tower yet, any block)."""
    layout = layout_of(state)
    return [b for b in scene.clear if state[layout.block(b).position][2] < BLOCK_HEIGHT]


def held_block(traj: np.ndarray) -> str | None:
    """The block a segment holds through the carry (mean attached flag over it at least 0.5)."""
    layout = layout_of(traj)
    held = traj[PHASES.grasp_index:PHASES.release_index - 1][:, layout.attached_dims].mean(0)
    return layout.blocks[int(np.argmax(held))] if held.max() >= 0.5 else None


def read_move(traj: np.ndarray, state: np.ndarray) -> Move | None:
    """The move a start-only sample makes, if it is a sensible one: a clear block held through
    the carry and put on top of the tallest tower (or on a free block when there is none)."""
    scene = SymbolicScene.read(state)
    block = held_block(traj)
    if block not in scene.clear:  # None (nothing held) included
        return None
    layout = layout_of(state)
    end = traj[-1][layout.block(block).position]
    # Only a clear block can be stacked on: a tower's lower blocks share its top's xy.
    under = [b for b in scene.clear if b != block and centred_over(end, state[layout.block(b).position])]
    if len(under) != 1:
        return None
    top, height = scene.tallest
    if height >= 2 and under[0] != top:
        return None
    return Move(block, under[0])


def achieved(before: np.ndarray, after: np.ndarray, move: Move | None) -> bool:
    """The move stands; without a move (the paper's unconditional plan), the tower grew."""
    if move is None:
        return SymbolicScene.read(after).tallest[1] > SymbolicScene.read(before).tallest[1]
    if move.onto == FLOOR:
        x, y, yaw = move.at
        if move.free:
            where = after[layout_of(after).block(move.block).position][:2]
            return on_floor(after, move.block) and float(np.hypot(where[0] - x, where[1] - y)) < FREE_XY
        return at_spot(after, FloorSpot(move.block, x, y, None if yaw is None else math.degrees(yaw)))
    return SymbolicScene.read(after).is_on(move.block, move.onto)


def goal_pairs_standing(state: np.ndarray, goal: Goal) -> int:
    """How much of the goal stands: its pairs, or (unconditional) the tallest tower's height."""
    if isinstance(goal, Reference):
        return sum(reference_parts(state, goal, strict=True))
    scene = SymbolicScene.read(state)
    if isinstance(goal, Unconditional):
        return scene.tallest[1]
    return sum(scene.is_on(t, b) for t, b in goal.pairs)


def choose_move(planner: DiffuserPlanner, state: np.ndarray, goal: Goal, gen: torch.Generator,
                should_stop=None, planned: list[Move] | None = None) -> tuple[Move | None, Proposal, dict | None]:
    """The next move, who chose it, and (unconditional) the model's score of every move;
    `planned`: the task layer's moves already searched from `state`."""
    if not isinstance(goal, Unconditional):
        moves = planned if planned is not None else goal_moves(state, goal)
        return (moves[0] if moves else None), Proposal.GOAL, None
    scene = SymbolicScene.read(state)
    moves = moves_between_clear(scene)
    scores = move_scores(planner, state, moves, gen, should_stop=should_stop)
    ranked = [moves[k] for k in np.argsort(scores, kind="stable") if np.isfinite(scores[k])]
    useful = [m for m in ranked if grows_tower(scene, m)]
    table = {str(m): float(v) for m, v in zip(moves, scores)}
    if not useful:
        return None, Proposal.NONE, table
    return useful[0], Proposal.DIFFUSER if useful[0] == ranked[0] else Proposal.DIFFUSER_RULE, table


def move_scores(planner: DiffuserPlanner, state: np.ndarray, moves: list[Move], gen: torch.Generator,
                samples: int = 1, levels: int = 8, should_stop=None) -> np.ndarray:
    """(len(moves),) how improbable the whole-state model finds each move from `state`: the
    denoising error of the arm's motion, with only the first state pinned (the paper's
    conditioning), in `samples` trajectories that make the move (made by the move model, or
    sampled with IK keyframes). Lower is more probable; inf where no trajectory could be made.

    Only the joints are scored: they say where the arm goes, and the block channels add noise
    (the held block's quaternion and the flags' steps) that hides the choice
    (benchmarks/proposals.py measures how often the best-scored move grows the tower)."""
    scores = np.full(len(moves), np.inf)
    cfg = planner.config
    if planner.mover is not None and not cfg.keyframes:
        keyed = np.ones(len(moves), dtype=bool)
        repeated = [m for m in moves for _ in range(samples)]
        made = planner.mover.sample_each(state, repeated, gen, steps=cfg.steps, guide_scale=cfg.guide_scale,
                                         cond_scale=cfg.cond_scale, should_stop=should_stop)
        traj = np.stack([channels_to_states(state, m, c, planner.solver.world) for m, c in zip(repeated, made)])
    else:
        conds = [segment_conditions(state, m, planner.horizon, True, planner.solver) for m in moves]
        keyed = np.array([c.mask.sum() > c.mask[0].sum() for c in conds], dtype=bool)
        if not keyed.any():
            return scores
        batch = [c for c, k in zip(conds, keyed) if k for _ in range(samples)]
        joint = SegmentConditions(None, np.stack([c.mask for c in batch]), np.stack([c.values for c in batch]), None)
        traj = planner.sample(joint, len(batch), gen, should_stop=should_stop)
    if traj.shape[-1] != LAYOUT.dim:
        traj = np.concatenate([four_block_view(t[None], m) for t, m in zip(traj, (m for m in moves for _ in range(samples)))])
    x = torch.as_tensor(planner.normaliser.normalise(traj).astype(np.float32), device=planner.device)
    start = torch.as_tensor(start_mask(planner.horizon), device=planner.device)
    err = planner.diffusion.denoising_error(x, start, levels, gen, dims=LAYOUT.joints).cpu().numpy()
    scores[keyed] = err.reshape(-1, samples).mean(1)
    return scores


# Where the four-block view parks the blocks a scene of two or three lacks (out of reach, as the
# demonstrations never had them).
PARKED_XY = (2.0, 2.0)


def four_block_view(traj: np.ndarray, move: Move) -> np.ndarray:
    """(n, H, 39) a segment of any scene as the whole-state model knows scenes: four blocks, the
    moved one, its support and the others nearest the support (state order kept), the rest
    parked out of reach. The model only scores the joints (move_scores), which follow the moved
    block and its target; the nearest others stand in for the obstacles."""
    layout = layout_of(traj)
    start = traj[0, 0]
    support = move.support_pose(start)[0][:2]
    chosen = [move.block] + ([move.onto] if move.onto in layout.blocks else [])
    others = sorted((b for b in layout.blocks if b not in chosen),
                    key=lambda b: float(np.linalg.norm(start[layout.block(b).position][:2] - support)))
    keep = sorted(chosen + others[:len(LAYOUT.blocks) - len(chosen)], key=layout.blocks.index)
    out = np.zeros(traj.shape[:-1] + (LAYOUT.dim,))
    out[..., LAYOUT.joints] = traj[..., layout.joints]
    for k, name in enumerate(LAYOUT.blocks):
        dst = LAYOUT.block(name)
        if k < len(keep):
            src = layout.block(keep[k])
            out[..., dst.position] = traj[..., src.position]
            out[..., dst.orientation] = traj[..., src.orientation]
            out[..., dst.attached] = traj[..., src.attached]
        else:
            out[..., dst.position] = (PARKED_XY[0] + k, PARKED_XY[1], BLOCK_HEIGHT / 2)
            out[..., dst.orientation] = (0.0, 0.0, 0.0, 1.0)
    return out
