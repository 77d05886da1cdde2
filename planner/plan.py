"""DiffuserPlanner: state + goal -> Plan, one pick-and-place segment at a time (closed loop).

Per segment: the goal's next move becomes constraints and a guide (planner.conditioning); a
batch of candidates is denoised at once; candidates are ranked (guide value, smoothness) and,
beyond the paper, tried in physics from the state actually reached until one achieves the move.
The chosen segment is played on, and the next segment starts from where physics left off.

For an unconditional goal the Diffuser chooses the move: each move the scene allows is sampled
with its keyframes and scored by the model's own denoising error under the paper's start-only
conditioning (lower = more probable after what the demonstrations did); the best-scored move that
makes the tower taller is planned. Without keyframes (the paper's setting) the start-only sample
is itself the segment, with no guide.
"""
from __future__ import annotations

import time
from dataclasses import asdict, replace
from pathlib import Path
from collections.abc import Callable

import numpy as np
import torch

from planner.checkpoint import load
from planner.classifier import LearnedPlacedOn, load_classifier
from planner.config import PlannerSettings
from planner.conditioning import (
    KeyframeSolver, Move, SegmentConditions, clear_blocks, grows_tower, moves_between_clear, next_move,
    segment_conditions, tower_top,
)
from planner.diffusion import Constraints
from planner.masks import grasp_dwell, release_dwell, start_mask
from planner.guides import PlacedOn, Smoothness
from planner.mover import MoveModel, carry_by_kinematics, channels_to_states
from tasks.execute import play
from tasks.goals import Goal, Unconditional
from tasks.layout import BLOCK_NAMES, BLOCK_WIDTH, LAYOUT, PHASES
from tasks.plans import Plan
from tasks.rewards import strict_success, strictly_on
from tasks.world import World

# progress(segment, segments, step, steps)
Progress = Callable[[int, int, int, int], None]

class DiffuserPlanner:
    name = "diffuser"

    def __init__(self, checkpoint: str | Path, settings: PlannerSettings = PlannerSettings()) -> None:
        device = settings.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device == "cuda" and not torch.cuda.is_available():
            raise ValueError("device 'cuda' asked for, but no CUDA device is available")
        self.device = torch.device(device)
        loaded = load(checkpoint, self.device)
        self.diffusion = loaded.diffusion
        self.normaliser = loaded.normaliser
        self.meta = loaded.meta
        self.checkpoint = str(checkpoint)
        self.horizon = self.diffusion.model.config.horizon
        if self.horizon < PHASES.length:
            raise ValueError(f"{checkpoint}: horizon {self.horizon} is shorter than a pick-and-place ({PHASES.length})")
        self.config = replace(settings, steps=min(settings.steps, self.diffusion.n_timesteps))
        if settings.classifier and settings.mover:
            raise ValueError("the stack classifier guides the whole-state Diffuser: plan without the move model "
                             "(--no-mover) to use it")
        self.classifier = load_classifier(settings.classifier, self.device) if settings.classifier else None
        self.solver = KeyframeSolver()
        self.world = World()
        self.mover = MoveModel(settings.mover, self.device) if settings.mover else None

    @property
    def settings(self) -> dict:
        out = {**asdict(self.config), "checkpoint": Path(self.checkpoint).name, "train_step": int(self.meta.get("step", 0))}
        if self.config.classifier:
            out["classifier"] = Path(self.config.classifier).name
        if self.mover is not None:
            out["mover"] = Path(self.config.mover).name
            out["mover_train_step"] = int(self.mover.meta.get("step", 0))
        return out

    def close(self) -> None:
        self.solver.close()
        self.world.close()

    # ------------------------------------------------------------------ the loop
    def plan(
        self,
        state: np.ndarray,
        goal: Goal,
        seed: int,
        progress: Progress | None = None,
        should_stop: Callable[[], bool] | None = None,
        keep_denoising: bool = False,
    ) -> Plan:
        """Plan `goal` from `state`. Raises tasks.stopping.Cancelled if stopped."""
        t0 = time.perf_counter()
        cfg = self.config
        state = LAYOUT.check(np.asarray(state)[None])[0]
        gen = torch.Generator(self.device).manual_seed(int(seed))
        needed = len(BLOCK_NAMES) - 1 if isinstance(goal, Unconditional) else len(goal.pairs)
        max_segments = needed + cfg.extra_segments
        self.world.set_state(state)
        current = state
        segments, details, snapshots = [], [], []
        for i in range(max_segments):
            if strict_success(current, goal):
                break
            ts = time.perf_counter()
            if isinstance(goal, Unconditional) and not cfg.keyframes and self.mover is None:
                move, proposal, ranking = None, "sampled", None  # the paper's: start state only, no guide
            else:
                move, proposal, ranking = self._choose_move(current, goal, gen, should_stop)
                if move is None:
                    break
            snaps: list | None = [] if keep_denoising else None
            by_mover = self.mover is not None and move is not None
            guide_values: list | None = [] if (keep_denoising and by_mover) else None
            if by_mover:
                cond, traj, snaps, keyed = self._sample_mover(current, move, gen, i, max_segments, progress,
                                                              should_stop, snaps, guide_values)
            else:
                cond = segment_conditions(current, move, self.horizon, cfg.keyframes, self.solver)
                if self.classifier is not None and move is not None:
                    cond = replace(cond, guide=LearnedPlacedOn(self.classifier, move.block, move.onto))
                traj = self._sample(cond, cfg.candidates, gen, cfg.steps, i, max_segments, progress, should_stop, snaps)
                if snaps is not None:
                    snaps = [self.normaliser.unnormalise(s.numpy()) for s in snaps]
                keyed = bool(cond.mask.sum() > cond.mask[0].sum())  # keyframes found and pinned
            traj = smooth_joints(traj, cond.mask, cfg.smooth)
            order, rank_scores = self._rank(traj, cond)
            chosen, checked = self._commit(traj, order, move, current, goal)
            segments.append(self._held_by_kinematics(traj[chosen], move) if keyed and not by_mover else traj[chosen])
            if snaps is not None:
                snapshots.append(np.stack([
                    channels_to_states(current, move, s[chosen], self.solver.world) if by_mover else s[chosen]
                    for s in snaps]))
            before, current = current, self.world.get_state()
            details.append({
                "move": str(move or read_move(traj[chosen], before) or "no readable move"), "proposal": proposal,
                "keyframes": keyed,
                "seconds": time.perf_counter() - ts, "chosen": int(chosen), "checked": checked,
                "rank_scores": [float(rank_scores[k]) for k in order[:8]],
                "achieved": _achieved(before, current, move),
                **({"move_scores": ranking} if ranking is not None else {}),
                **({"guide_values": guide_values} if guide_values else {}),
                "model": "mover" if by_mover else "diffuser",
            })
        states = np.concatenate(segments) if segments else state[None]
        plan_seconds = time.perf_counter() - t0
        return Plan(
            states.astype(np.float32), goal, self.name, self.settings, plan_seconds, int(seed),
            details={"segments": details}, denoising=np.stack(snapshots) if snapshots and _same_shape(snapshots) else None,
        )

    # ------------------------------------------------------------------ pieces
    def _sample(self, cond: SegmentConditions, n: int, gen, steps: int, seg: int, segs: int, progress, should_stop, snaps) -> np.ndarray:
        """(n, H, 39) unnormalised candidates satisfying `cond`'s constraints exactly."""
        dev = self.device
        values = torch.as_tensor(self.normaliser.normalise(cond.values).astype(np.float32), device=dev)
        mask = torch.as_tensor(cond.mask, device=dev)
        guide = cond.guide.to(dev) if (cond.guide is not None and self.config.guide_scale) else None
        x = self.diffusion.sample(
            (n, self.horizon, LAYOUT.dim), Constraints(mask, values), guide=guide,
            guide_scale=self.config.guide_scale, steps=steps, generator=gen,
            unnormalise=self.normaliser.unnormalise,
            progress=(lambda k, K: progress(seg + 1, segs, k, K)) if progress else None,
            should_stop=should_stop, snapshots=snaps,
        )
        out = self.normaliser.unnormalise(x).cpu().numpy().astype(np.float64)
        return np.where(cond.mask, cond.values, out)  # pinned cells exactly, free of float round trips

    def _sample_mover(self, state, move, gen, seg, segs, progress, should_stop, snaps, guide_values):
        """Candidates for `move` from the move model: conditions for ranking and smoothing, (n, H, 39)
        states, snapshots, and whether IK keyframes were pinned."""
        cfg = self.config
        found = self.solver.keyframes(state, move) if cfg.keyframes else None
        channels, pinned = self.mover.sample(
            state, move, cfg.candidates, gen, cfg.steps, cfg.guide_scale, cfg.cond_scale,
            keyframes=found[:2] if found else None,
            progress=(lambda k, K: progress(seg + 1, segs, k, K)) if progress else None,
            should_stop=should_stop, snapshots=snaps, guide_values=guide_values,
        )
        fk = self.solver.world
        traj = self.mover.to_states(state, move, channels, fk)
        mask = np.zeros((self.mover.horizon, LAYOUT.dim), dtype=bool)
        mask[0] = True
        mask[:, LAYOUT.joints] |= pinned[:, :LAYOUT.joints.stop]
        # Smoothing leaves the model's own grasp and release poses as sampled: averaging them with
        # the approach moved the tool off the block (30 passes cost 2.3 points of the protocol).
        for t in list(grasp_dwell()) + list(release_dwell()):
            mask[t, LAYOUT.joints] = True
        guide = PlacedOn(move.block, move.onto)
        if snaps is not None:  # canonical channels; the chosen one becomes states later
            snaps = [self.mover.normaliser.unnormalise(s.numpy().astype(np.float64)) for s in snaps]
        return SegmentConditions(move, mask, traj[0], guide), traj, snaps, found is not None

    def _held_by_kinematics(self, traj: np.ndarray, move: Move) -> np.ndarray:
        """The held block's pose while carried, from forward kinematics (the planning scene:
        moving its arm disturbs no physics)."""
        out = traj.copy()
        carry_by_kinematics(out, move.block, range(PHASES.grasp_index, PHASES.release_index), self.solver.world)
        return LAYOUT.canonical(out)

    def _rank(self, traj: np.ndarray, cond: SegmentConditions) -> tuple[np.ndarray, np.ndarray]:
        x = torch.as_tensor(traj, dtype=torch.float32)
        with torch.no_grad():
            score = Smoothness()(x)
            if cond.guide is not None:
                score = score + cond.guide(x)
        score = score.numpy()
        return np.argsort(-score, kind="stable"), score

    def _commit(self, traj: np.ndarray, order: np.ndarray, move: Move | None, start: np.ndarray, goal: Goal) -> tuple[int, int]:
        """Play the chosen candidate on the planner's world; with the physics check, the first
        candidate (in rank order) that achieves the move without undoing the goal."""
        if not self.config.physics_check:
            play(self.world, traj[order[0]])
            return int(order[0]), 0
        held_before = _goal_pairs_standing(start, goal)
        best, best_value, tried = int(order[0]), -1.0, 0
        with self.world.saved() as back_to_start:
            for k in order[: self.config.max_checks]:
                back_to_start()
                tried += 1
                end = play(self.world, traj[k])[-1]
                ok = _achieved(start, end, move)
                value = float(ok) + 0.5 * _goal_pairs_standing(end, goal)
                if ok and _goal_pairs_standing(end, goal) >= held_before:
                    return int(k), tried
                if value > best_value:
                    best, best_value = int(k), value
            back_to_start()
            play(self.world, traj[best])
            return best, tried

    def _choose_move(self, state, goal, gen, should_stop) -> tuple[Move | None, str, dict | None]:
        """The next move, who chose it, and (unconditional) the model's score of every move."""
        if not isinstance(goal, Unconditional):
            return next_move(state, goal), "goal", None
        moves = moves_between_clear(state)
        scores = self.move_scores(state, moves, gen, should_stop=should_stop)
        ranked = [moves[k] for k in np.argsort(scores, kind="stable") if np.isfinite(scores[k])]
        useful = [m for m in ranked if grows_tower(state, m)]
        table = {str(m): float(v) for m, v in zip(moves, scores)}
        if not useful:
            return None, "none", table
        # "diffuser": the model's first choice grows the tower; "diffuser+rule": it did not, and
        # the best-scored move that does was taken instead.
        return useful[0], "diffuser" if useful[0] == ranked[0] else "diffuser+rule", table

    def move_scores(self, state: np.ndarray, moves: list[Move], gen: torch.Generator, samples: int = 1,
                    levels: int = 8, should_stop=None) -> np.ndarray:
        """(len(moves),) how improbable the model finds each move from `state`: the denoising
        error of the arm's motion, with only the first state pinned (the paper's conditioning),
        in `samples` trajectories that make the move (sampled with its keyframes). Lower is more
        probable; inf where inverse kinematics finds no keyframes for the move.

        Only the joints are scored: they say where the arm goes, and the block channels add
        noise (the held block's quaternion and the flags' steps) that hides the choice. In three
        sets of 48 scenes with a 2- or 3-block tower the joints alone put a tower-growing move
        first in 46 to 48, the whole state in 21 to 34 (benchmarks/proposals.py measures the former)."""
        scores = np.full(len(moves), np.inf)
        if self.mover is not None and not self.config.keyframes:
            # Each move as the move model makes it (no inverse kinematics anywhere).
            cfg = self.config
            keyed = np.ones(len(moves), dtype=bool)
            traj = np.concatenate([
                self.mover.to_states(state, m, self.mover.sample(
                    state, m, samples, gen, cfg.steps, cfg.guide_scale, cfg.cond_scale, should_stop=should_stop)[0],
                    self.solver.world)
                for m in moves])
        else:
            conds = [segment_conditions(state, m, self.horizon, True, self.solver) for m in moves]
            keyed = np.array([c.mask.sum() > c.mask[0].sum() for c in conds], dtype=bool)
            if not keyed.any():
                return scores
            batch = [c for c, k in zip(conds, keyed) if k for _ in range(samples)]
            joint = SegmentConditions(None, np.stack([c.mask for c in batch]), np.stack([c.values for c in batch]), None)
            traj = self._sample(joint, len(batch), gen, self.config.steps, 0, 1, None, should_stop, None)
        x = torch.as_tensor(self.normaliser.normalise(traj).astype(np.float32), device=self.device)
        start = torch.as_tensor(start_mask(self.horizon), device=self.device)
        err = self.diffusion.denoising_error(x, start, levels, gen, dims=LAYOUT.joints).cpu().numpy()
        scores[keyed] = err.reshape(-1, samples).mean(1)
        return scores

    def start_only(self, state: np.ndarray, n: int, gen: torch.Generator, seg: int = 0, segs: int = 1,
                   progress: Progress | None = None, should_stop=None) -> np.ndarray:
        """(n, H, 39) samples with only the first state pinned (the paper's conditioning)."""
        cond = segment_conditions(state, None, self.horizon, False, None)
        return self._sample(cond, n, gen, self.config.steps, seg, segs, progress, should_stop, None)


def smooth_joints(traj: np.ndarray, mask: np.ndarray, passes: int) -> np.ndarray:
    """Low-pass the joints in time where they are free; pinned cells (start, keyframes) stay exact.

    Position control cannot follow a jump of a radian between waypoints, and an undertrained
    model makes such jumps; averaging with the neighbours removes them without moving keyframes.
    """
    if passes <= 0:
        return traj
    out = traj.copy()
    free = ~mask[:, LAYOUT.joints]
    q = out[:, :, LAYOUT.joints]
    for _ in range(passes):
        padded = np.concatenate([q[:, :1], q, q[:, -1:]], axis=1)
        blurred = 0.25 * padded[:, :-2] + 0.5 * padded[:, 1:-1] + 0.25 * padded[:, 2:]
        q = np.where(free[None], blurred, q)
    out[:, :, LAYOUT.joints] = q
    return out


def read_move(traj: np.ndarray, state: np.ndarray) -> Move | None:
    """The move a start-only sample makes, if it is a sensible one: a clear block held through
    the carry and put on top of the tallest tower (or on a free block when there is none)."""
    block = held_block(traj)
    clear = clear_blocks(state)
    if block not in clear:  # None (nothing held) included
        return None
    end_xy = traj[-1][LAYOUT.block(block).position][:2]
    # Only a clear block can be stacked on: a tower's lower blocks share its top's xy.
    under = [b for b in clear if b != block
             and np.linalg.norm(state[LAYOUT.block(b).position][:2] - end_xy) < BLOCK_WIDTH / 2]
    if len(under) != 1:
        return None
    top, height = tower_top(state)
    if height >= 2 and under[0] != top:
        return None
    return Move(block, under[0])


def held_block(traj: np.ndarray) -> str | None:
    """The block a segment holds through the carry (mean attached flag over it at least 0.5)."""
    held = traj[PHASES.grasp_index:PHASES.release_index - 1][:, LAYOUT.attached_dims].mean(0)
    return BLOCK_NAMES[int(np.argmax(held))] if held.max() >= 0.5 else None


def _achieved(before: np.ndarray, after: np.ndarray, move: Move | None) -> bool:
    """The move stands; without a move (the paper's unconditional plan), the tower grew."""
    if move is None:
        return tower_top(after)[1] > tower_top(before)[1]
    return bool(strictly_on(after, move.block, move.onto))


def _goal_pairs_standing(state: np.ndarray, goal: Goal) -> int:
    if isinstance(goal, Unconditional):
        return tower_top(state)[1]
    return sum(strictly_on(state, t, b) for t, b in goal.pairs)


def _same_shape(arrays: list[np.ndarray]) -> bool:
    return len({a.shape for a in arrays}) == 1

