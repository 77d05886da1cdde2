"""Which move comes next: the goal's next pair, or (unconditional) the Diffuser's own choice.

A goal is met one pick-and-place ("move X onto Y") per segment, bottom pairs first. For the
unconditional task the Diffuser chooses: each move the scene allows is sampled and scored by the
model's own denoising error under the paper's start-only conditioning (lower = more probable
after what the demonstrations did); the best-scored move that makes the tower taller is planned.
Every question about the scene is asked of one `SymbolicScene` per state.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import math

import numpy as np
import torch

from planner.conditioning import SegmentConditions, segment_conditions
from planner.masks import start_mask
from planner.moves import FREE_XY, Move
from tasks.goals import Arrangement, Goal, GoalError, TowerOrder, Unconditional
from tasks.layout import BLOCK_HEIGHT, BLOCK_NAMES, LAYOUT, PHASES
from tasks.plans import Proposal
from tasks.reference import FloorSpot, Reference
from tasks.rewards import at_spot, centred_over, on_floor, reference_parts
from tasks.scene import FLOOR, SymbolicScene

if TYPE_CHECKING:
    from planner.plan import DiffuserPlanner


def next_move(scene: SymbolicScene, goal: Goal) -> Move | None:
    """The next pick-and-place the goal needs, bottom pairs first; None when the goal's pairs all
    stand (or, for an unconditional goal, always: the Diffuser proposes)."""
    if isinstance(goal, Unconditional):
        return None
    if isinstance(goal, Reference):
        raise ValueError("a reference's moves need the state: reference_moves(state, goal)")
    below = dict(goal.pairs)
    for top, bottom in goal.pairs:
        if scene.is_on(top, bottom):
            continue
        if isinstance(goal, TowerOrder):
            return Move(top, bottom)  # pairs are bottom-up: the ones below already stand
        if bottom not in below or scene.is_on(bottom, below[bottom]):  # its support is where the goal wants it
            return Move(top, bottom)
    if isinstance(goal, Arrangement):
        unmet = [(t, b) for t, b in goal.pairs if not scene.is_on(t, b)]
        return Move(*unmet[0]) if unmet else None
    return None


def reference_moves(state: np.ndarray, goal: Reference) -> list[Move]:
    """The moves a reference needs from `state`, in order, from the demonstrator's symbolic
    search (unstacking first where a block must come out from under others): a block onto a
    block, onto its spot, or onto free floor away from every block and spot."""
    from tasks.demonstrator.solver import goal_facts, initial_support, manipulations, spot_region
    from tasks.demonstrator.symbolic import SymbolicPlanner, initial_facts
    regions = (FLOOR, *(spot_region(s.block) for s in goal.spots))
    skeleton = next(SymbolicPlanner().plans(initial_facts(initial_support(state, goal)), goal_facts(goal),
                                            regions=regions), None)
    if skeleton is None:
        raise GoalError(f"no sequence of moves reaches '{goal}' from this state")
    taken = [state[LAYOUT.block(b).position][:2] for b in BLOCK_NAMES] + [s.xy for s in goal.spots]
    rng = np.random.default_rng(0)
    moves = []
    for block, dest in manipulations(skeleton):
        if dest in BLOCK_NAMES:
            moves.append(Move(block, dest))
            continue
        spot = goal.spot(block) if dest != FLOOR else None
        if spot is not None:
            moves.append(Move(block, FLOOR, (spot.x, spot.y, None if spot.yaw_deg is None else math.radians(spot.yaw_deg))))
            continue
        xy = near_free_spot(rng, taken, state[LAYOUT.block(block).position][:2])
        if xy is None:
            raise GoalError(f"no free floor left to put {block} down")
        taken.append(xy)
        moves.append(Move(block, FLOOR, (float(xy[0]), float(xy[1]), None), free=True))
    return moves


def near_free_spot(rng: np.random.Generator, taken: list[np.ndarray], near: np.ndarray, tries: int = 16) -> np.ndarray | None:
    """Of `tries` free floor spots, the one nearest `near`: a short carry is a surer one."""
    from tasks.reference import free_spot

    spots = [xy for xy in (free_spot(rng, taken) for _ in range(tries)) if xy is not None]
    return min(spots, key=lambda xy: float(np.linalg.norm(xy - near)), default=None)


def grows_tower(scene: SymbolicScene, move: Move) -> bool:
    """The move makes a tower taller than the tallest one now (the unconditional task's aim)."""
    return scene.height(move.onto) + 1 > scene.tallest[1]


def moves_between_clear(scene: SymbolicScene) -> list[Move]:
    """Every pick-and-place the scene allows: a clear block onto another clear block."""
    return [Move(b, onto) for b, onto in scene.moves_between_clear()]


def tower_picks(state: np.ndarray, scene: SymbolicScene) -> list[str]:
    """Blocks whose move can grow the tallest tower: clear blocks on the floor (a tower's base is
    covered and its top is off the floor; with no tower yet, any block)."""
    return [b for b in scene.clear if state[LAYOUT.block(b).position][2] < BLOCK_HEIGHT]


def held_block(traj: np.ndarray) -> str | None:
    """The block a segment holds through the carry (mean attached flag over it at least 0.5)."""
    held = traj[PHASES.grasp_index:PHASES.release_index - 1][:, LAYOUT.attached_dims].mean(0)
    return BLOCK_NAMES[int(np.argmax(held))] if held.max() >= 0.5 else None


def read_move(traj: np.ndarray, state: np.ndarray) -> Move | None:
    """The move a start-only sample makes, if it is a sensible one: a clear block held through
    the carry and put on top of the tallest tower (or on a free block when there is none)."""
    scene = SymbolicScene.read(state)
    block = held_block(traj)
    if block not in scene.clear:  # None (nothing held) included
        return None
    end = traj[-1][LAYOUT.block(block).position]
    # Only a clear block can be stacked on: a tower's lower blocks share its top's xy.
    under = [b for b in scene.clear if b != block and centred_over(end, state[LAYOUT.block(b).position])]
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
            where = after[LAYOUT.block(move.block).position][:2]
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
    `planned`: a reference's moves already searched from `state`."""
    if isinstance(goal, Reference):
        moves = planned if planned is not None else reference_moves(state, goal)
        return (moves[0] if moves else None), Proposal.GOAL, None
    scene = SymbolicScene.read(state)
    if not isinstance(goal, Unconditional):
        return next_move(scene, goal), Proposal.GOAL, None
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
        made = [planner.mover.sample(state, m, samples, gen, steps=cfg.steps, guide_scale=cfg.guide_scale,
                                     cond_scale=cfg.cond_scale, should_stop=should_stop)[0] for m in moves]
        traj = np.concatenate([planner.mover.to_states(state, m, c, planner.solver.world) for m, c in zip(moves, made)])
    else:
        conds = [segment_conditions(state, m, planner.horizon, True, planner.solver) for m in moves]
        keyed = np.array([c.mask.sum() > c.mask[0].sum() for c in conds], dtype=bool)
        if not keyed.any():
            return scores
        batch = [c for c, k in zip(conds, keyed) if k for _ in range(samples)]
        joint = SegmentConditions(None, np.stack([c.mask for c in batch]), np.stack([c.values for c in batch]), None)
        traj = planner.sample(joint, len(batch), gen, should_stop=should_stop)
    x = torch.as_tensor(planner.normaliser.normalise(traj).astype(np.float32), device=planner.device)
    start = torch.as_tensor(start_mask(planner.horizon), device=planner.device)
    err = planner.diffusion.denoising_error(x, start, levels, gen, dims=LAYOUT.joints).cpu().numpy()
    scores[keyed] = err.reshape(-1, samples).mean(1)
    return scores
