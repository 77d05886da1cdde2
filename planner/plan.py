"""DiffuserPlanner: state + goal -> Plan, one pick-and-place segment at a time (closed loop).

Per segment (`_plan_segment`): the next move is chosen (planner.choice: the goal's next pair, or
the Diffuser's own choice for the unconditional task); the move model (or the whole-state model,
under the constraints and guide of planner.conditioning) denoises a batch of candidates at once;
candidates are ranked (guide value, smoothness) and, beyond the paper, tried in physics from the
state actually reached until one achieves the move. The chosen segment is played on, the next
starts from where physics left off, and each segment leaves a typed SegmentReport. Without a move
model or keyframes, the paper's unconditional plan is a start-only sample with no guide.
"""
from __future__ import annotations

import threading
import time
from dataclasses import asdict, replace
from pathlib import Path
from collections.abc import Callable

import numpy as np
import torch

from planner import timing
from planner.checkpoint import load
from planner.classifier import LearnedPlacedOn, load_classifier
from planner.config import PlannerSettings
from planner.check import commit
from planner.choice import achieved, choose_move, goal_moves, read_move, replan_moves
from planner.conditioning import KeyframeSolver, SegmentConditions, segment_conditions
from planner.diffusion import Constraints
from planner.masks import grasp_dwell, release_dwell
from planner.guides import Smoothness
from planner.lift import Lifter
from planner.mover import MoveModel, channels_to_states
from planner.postprocess import held_by_kinematics, smooth_joints
from planner.segment import Progress, Segment, SegmentCall, placement_guide, same_shape
from tasks.goals import Goal, Unconditional, check_fits
from tasks.layout import LAYOUT, NUM_JOINTS, PHASES, layout_of
from tasks.plans import Plan, Proposal, SegmentReport
from tasks.scene import FLOOR
from tasks.rewards import strict_success
from tasks.world import World

OUT_OF_LIMITS = 100.0  # ranking penalty: larger than any spread of smoothness and placement terms
LIMIT_SLACK = 1e-3  # rad


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
        self.diffusion, self.normaliser, self.meta = loaded.diffusion, loaded.normaliser, loaded.meta
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
        self.lifter = Lifter()
        self._busy = threading.Lock()  # plan() and close(): the physics worlds are one thread's at a time

    @property
    def settings(self) -> dict:
        out = {**asdict(self.config), "checkpoint": Path(self.checkpoint).name, "train_step": int(self.meta.get("step", 0))}
        if self.config.classifier:
            out["classifier"] = Path(self.config.classifier).name
        if self.mover is not None:
            mover = Path(self.config.mover)
            # A model the app trained is a folder's model.pt: its folder names it.
            out["mover"] = f"{mover.parent.name}/{mover.name}" if mover.name == "model.pt" else mover.name
            out["mover_train_step"] = int(self.mover.meta.get("step", 0))
        return out

    def close(self) -> None:
        """Free the physics clients (after a plan another thread is making has ended)."""
        with self._busy:
            self.solver.close()
            self.world.close()

    # ------------------------------------------------------------------ the loop
    def plan(self, state: np.ndarray, goal: Goal, seed: int, progress: Progress | None = None,
             should_stop: Callable[[], bool] | None = None, keep_denoising: bool = False) -> Plan:
        """Plan `goal` from `state`. Raises tasks.stopping.Cancelled if stopped. One plan at a
        time: a second thread's call waits (the app's warm-up and the user's first plan)."""
        with self._busy:
            return self._plan(state, goal, seed, progress, should_stop, keep_denoising)

    def _plan(self, state, goal, seed, progress, should_stop, keep_denoising) -> Plan:
        t0 = time.perf_counter()
        layout = layout_of(np.asarray(state))
        state = layout.check(np.asarray(state)[None])[0]
        check_fits(goal, layout.blocks)
        if layout is not LAYOUT and self.mover is None:
            raise ValueError(f"the whole-state Diffuser plans scenes of {len(LAYOUT.blocks)} blocks; this one has "
                             f"{len(layout.blocks)}: plan it with the move model")
        gen = torch.Generator(self.device).manual_seed(int(seed))
        # The task layer's moves (tasks.taskplan), searched once here: each segment takes the next;
        # a move that physics did not achieve sends the search back to the state reached.
        planned = None if isinstance(goal, Unconditional) else goal_moves(state, goal)
        needed = len(layout.blocks) - 1 if planned is None else len(planned)
        segments = needed + self.config.extra_segments
        # A fresh physics world per plan: a used one keeps contact caches and solver warm starts
        # that set_state does not reset, so the same seed planned twice would differ (34 ms).
        self.world.close()
        self.world = World.for_state(state)
        self.world.set_state(state)
        current = state
        pieces, reports, snapshots = [], [], []
        rescued: set[str] = set()  # a move retried after its rescue failed gets its first batch's checks only
        for i in range(segments):
            if strict_success(current, goal):
                break
            if planned is not None and not planned:  # every planned move made, yet the goal is not met
                planned = replan_moves(current, goal)
                if not planned:
                    break
            call = SegmentCall(i, segments, progress, should_stop, keep_denoising, planned, frozenset(rescued))
            with timing.record():  # each stage's seconds, for the segment's report
                segment = self._plan_segment(current, goal, gen, call)
            if segment is None:
                break
            pieces.append(segment.states)
            reports.append(segment.report)
            if segment.denoising is not None:
                snapshots.append(segment.denoising)
            current = self.world.get_state()
            if not segment.report.achieved:  # with the check, every candidate and rescue was tried
                rescued.add(segment.report.move)
            if planned is not None:
                planned = planned[1:] if segment.report.achieved else replan_moves(current, goal)
        states = np.concatenate(pieces) if pieces else state[None]
        return Plan(
            states.astype(np.float32), goal, self.name, self.settings, time.perf_counter() - t0, int(seed),
            segments=tuple(reports),
            denoising=np.stack(snapshots) if snapshots and same_shape(snapshots) else None,
        )

    def _plan_segment(self, current: np.ndarray, goal: Goal, gen: torch.Generator, call: SegmentCall) -> Segment | None:
        """Choose the move, sample candidates for it, rank and commit one (played on self.world);
        None when no move is possible."""
        cfg = self.config
        ts = time.perf_counter()
        if isinstance(goal, Unconditional) and not cfg.keyframes and self.mover is None:
            move, proposal, ranking = None, Proposal.SAMPLED, None  # the paper's: start state only, no guide
        else:
            with timing.phase("choosing the move"):
                move, proposal, ranking = choose_move(self, current, goal, gen, call.should_stop, call.planned)
            if move is None:
                return None
        snaps: list | None = [] if call.keep_denoising else None
        by_mover = self.mover is not None and move is not None
        guide_values: list | None = [] if (call.keep_denoising and by_mover) else None
        if by_mover:
            with timing.phase("sampling"):
                cond, traj, snaps, found = self._sample_mover(current, move, gen, call, snaps, guide_values)
            keyed = found is not None
        else:
            found = None  # the whole-state model's keyframes live in `cond`
            cond = segment_conditions(current, move, self.horizon, cfg.keyframes, self.solver)
            if self.classifier is not None and move is not None and move.onto != FLOOR:
                cond = replace(cond, guide=LearnedPlacedOn(self.classifier, move.block, move.onto))
            with timing.phase("sampling"):
                traj = self.sample(cond, cfg.candidates, gen, call, snaps)
            if snaps is not None:
                snaps = [self.normaliser.unnormalise(s.numpy()) for s in snaps]
            keyed = bool(cond.mask.sum() > cond.mask[0].sum())  # keyframes found and pinned
        with timing.phase("smoothing and ranking"):
            traj = self._finish(traj, cond, current, move if by_mover else None)
            order, rank_scores = self._rank(traj, cond)
        rescue = by_mover and cfg.physics_check and str(move) not in call.rescued
        more = self._rescue(current, move, gen, call, found, snaps, cond) if rescue else None
        with timing.phase("physics"):  # the chosen candidate played (with the check: each one tried)
            chosen, checked, traj = commit(self.world, traj, order, move, current, goal,
                                           cfg.max_checks if cfg.physics_check else None, hold=call.segment > 0,
                                           more=more, should_stop=call.should_stop)
        states = held_by_kinematics(traj[chosen], move, self.solver.world) if keyed and not by_mover else traj[chosen]
        denoising = None
        if snaps is not None:
            fk = self.solver.world
            denoising = np.stack([channels_to_states(current, move, s[chosen], fk) if by_mover else s[chosen]
                                  for s in snaps])
        report = SegmentReport(
            move=str(move or read_move(traj[chosen], current) or "no readable move"), proposal=proposal,
            model="mover" if by_mover else "diffuser", keyframes=keyed, seconds=time.perf_counter() - ts,
            chosen=int(chosen), checked=checked, achieved=achieved(current, self.world.get_state(), move),
            rank_scores=tuple(float(rank_scores[k]) for k in order[:8]), move_scores=ranking,
            guide_values=tuple(guide_values) if guide_values else None, sampled=len(traj),
            phases=timing.current().rounded(),
        )
        return Segment(states, report, denoising)

    # ------------------------------------------------------------------ pieces
    def sample(self, cond: SegmentConditions, n: int, gen: torch.Generator, call: SegmentCall | None = None,
               snapshots: list | None = None, should_stop: Callable[[], bool] | None = None) -> np.ndarray:
        """(n, H, 39) unnormalised candidates satisfying `cond`'s constraints exactly."""
        call = call or SegmentCall(should_stop=should_stop)
        dev = self.device
        values = torch.as_tensor(self.normaliser.normalise(cond.values).astype(np.float32), device=dev)
        mask = torch.as_tensor(cond.mask, device=dev)
        guide = cond.guide.to(dev) if (cond.guide is not None and self.config.guide_scale) else None
        x = self.diffusion.sample(
            (n, self.horizon, LAYOUT.dim), Constraints(mask, values), guide=guide,
            guide_scale=self.config.guide_scale, steps=self.config.steps, generator=gen,
            unnormalise=self.normaliser.unnormalise, progress=call.step_progress(),
            should_stop=call.should_stop, snapshots=snapshots,
        )
        out = self.normaliser.unnormalise(x).cpu().numpy().astype(np.float64)
        return np.where(cond.mask, cond.values, out)  # pinned cells exactly, free of float round trips

    def _sample_mover(self, state, move, gen, call: SegmentCall, snaps, guide_values):
        """Candidates for `move` from the move model: conditions for ranking and smoothing, (n, H, 39)
        states, snapshots, and the IK keyframes pinned (None without)."""
        cfg = self.config
        found = self.solver.keyframes(state, move) if cfg.keyframes else None
        guide = placement_guide(move, state)
        traj, pinned = self._mover_batch(state, move, gen, call, found, snaps, guide_values)
        # Beyond the paper (with the physics check only): while no candidate is predicted to let its
        # block go within tolerance of its target, draw another batch (a prediction within it holds
        # in physics 89 % of the time for a floor spot, 99 % for a stacking: docs/figures.md).
        extra = cfg.batches - 1 if cfg.physics_check else 0
        while extra and not (guide.met(torch.as_tensor(traj, dtype=torch.float32)).numpy() & self.within_limits(traj)).any():
            more_snaps = [] if snaps is not None else None
            more, _ = self._mover_batch(state, move, gen, call, found, more_snaps, None)
            traj = np.concatenate([traj, more])
            if snaps is not None:
                snaps[:] = [torch.cat([a, b]) for a, b in zip(snaps, more_snaps)]
            extra -= 1
        mask = np.zeros((self.mover.horizon, traj.shape[-1]), dtype=bool)
        mask[0] = True
        mask[:, :NUM_JOINTS] |= pinned[:, :NUM_JOINTS]
        # Smoothing leaves the model's own grasp and release poses as sampled: averaging them with
        # the approach moved the tool off the block and cost grasps (docs/figures.md).
        for t in list(grasp_dwell()) + list(release_dwell()):
            mask[t, :NUM_JOINTS] = True
        if snaps is not None:  # canonical channels; the chosen one becomes states later
            snaps = [self.mover.normaliser.unnormalise(s.numpy().astype(np.float64)) for s in snaps]
        return SegmentConditions(move, mask, traj[0], guide), traj, snaps, found

    def _mover_batch(self, state, move, gen, call: SegmentCall, found, snapshots, values) -> tuple[np.ndarray, np.ndarray]:
        """One batch of the move model's candidates as (n, H, 39) states, and what was pinned."""
        cfg = self.config
        channels, pinned = self.mover.sample(
            state, move, cfg.candidates, gen, steps=cfg.steps, guide_scale=cfg.guide_scale, cond_scale=cfg.cond_scale,
            keyframes=found[:2] if found else None, progress=call.step_progress(), should_stop=call.should_stop,
            snapshots=snapshots, guide_values=values, settle=cfg.settle, clearance=cfg.clearance,
        )
        return self.mover.to_states(state, move, channels, self.solver.world), pinned

    def _rescue(self, state, move, gen, call: SegmentCall, found, snaps, cond: SegmentConditions):
        """The physics check's further candidates once none passed: up to `rescues` batches, each
        smoothed and ranked as the first (their denoising kept with it)."""
        left = self.config.rescues

        def more():
            nonlocal left
            if left == 0:
                return None
            left -= 1
            raw = [] if snaps is not None else None
            traj = self._finish(self._mover_batch(state, move, gen, call, found, raw, None)[0], cond, state, move)
            for i, s in enumerate(raw or []):  # snaps[step][k] stays candidate k's
                snaps[i] = np.concatenate([snaps[i], self.mover.normaliser.unnormalise(s.numpy().astype(np.float64))])
            return traj, self._rank(traj, cond)[0]
        return more

    def _finish(self, traj: np.ndarray, cond: SegmentConditions, state: np.ndarray, move) -> np.ndarray:
        """Candidates smoothed and (a move model's, `lift`) raised over the blocks in their way."""
        traj = smooth_joints(traj, cond.mask, self.config.smooth)
        return self.lifter.lift(traj, state, move, self.solver.world) if move is not None and self.config.lift else traj

    def _rank(self, traj: np.ndarray, cond: SegmentConditions) -> tuple[np.ndarray, np.ndarray]:
        x = torch.as_tensor(traj, dtype=torch.float32)
        with torch.no_grad():
            score = Smoothness()(x)
            if cond.guide is not None:
                score = score + cond.guide(x)
        # A candidate past a joint's limit (the move model's frame cannot see joint 1's +-170
        # degree cut) stops at the limit in physics: ranked after every feasible one.
        score = score.numpy() - OUT_OF_LIMITS * ~self.within_limits(traj)
        return np.argsort(-score, kind="stable"), score

    def within_limits(self, traj: np.ndarray) -> np.ndarray:
        """(n,) bool: every state of the candidate within the robot's joint limits."""
        q = traj[..., :NUM_JOINTS]
        return ((q >= self.world.joint_lower - LIMIT_SLACK) & (q <= self.world.joint_upper + LIMIT_SLACK)).all(axis=(1, 2))
