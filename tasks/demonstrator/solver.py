"""The demonstrator: symbolic skeletons from domain.pddl, bound by the streams, made dense.

`Demonstrator.solve(state, goal, seed)` searches for a skeleton, binds its continuous values by
depth-first search over stream outputs (backtracking when a stream is exhausted), and turns the
bound plan into a state trajectory: one pick-and-place per `SEGMENT_LENGTH` states.
"""
from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field

import numpy as np

from tasks.demonstrator.streams import MotionPlanner, retime
from tasks.kinematics import (
    CollisionChecker, Grasp, Kin, Scene, grasps, pick_kinematics, place_kinematics, placements,
)
from tasks.demonstrator.symbolic import Step, SymbolicPlanner, initial_facts
from tasks.goals import Goal, TowerOrder, Unconditional
from tasks.layout import BLOCK_HEIGHT, BLOCK_NAMES, LAYOUT, PHASES, SCENE_MIN_SEPARATION
from tasks.plans import Plan
from tasks.reference import Reference
from tasks.rewards import at_spot
from tasks.scene import FLOOR, SymbolicScene
from tasks.world import Pose, World, multiply, quaternion_yaw, yaw_quaternion

GENERATOR_VERSION = "demonstrator-1"


class PlanningError(RuntimeError):
    """The demonstrator found no plan; the message says which part failed."""


@dataclass(frozen=True)
class Solution:
    states: np.ndarray  # (T, 39), T = SEGMENT_LENGTH * number of pick-and-places
    goal: Goal  # the goal as solved (the drawn tower order for an unconditional goal)
    skeleton: tuple[str, ...]
    plan_seconds: float
    stats: dict = field(default_factory=dict)


@dataclass
class _Bound:
    """One bound pick-and-place."""

    block: str
    grasp: Grasp
    pick: Kin
    transit: np.ndarray
    place: Kin
    carry: np.ndarray
    placed: Pose  # resting pose after release


def spot_region(block: str) -> str:
    """The region object of `block`'s floor spot in a reference arrangement."""
    return f"spot_{block}"


def goal_facts(goal: Goal) -> frozenset:
    """The symbolic goal: pairs; a reference's spots (each its own region) and, for 'clear',
    every other block on the floor."""
    facts = {("on", t, b) for t, b in goal.pairs}
    if isinstance(goal, Reference):
        facts |= {("on", s.block, spot_region(s.block)) for s in goal.spots}
        if goal.clear:
            facts |= {("on", b, FLOOR) for b in BLOCK_NAMES if goal.spot(b) is None}
    return frozenset(facts)


def initial_support(state: np.ndarray, goal: Goal) -> dict[str, str]:
    """What each block rests on, a block already at its reference spot resting on that spot."""
    support = dict(SymbolicScene.read(state).support)
    if isinstance(goal, Reference):
        for s in goal.spots:
            if at_spot(state, s):
                support[s.block] = spot_region(s.block)
    return support


class Demonstrator:
    """PDDLStream-style task and motion planner for the block world."""

    name = "demonstrator"

    def __init__(self, max_skeletons: int = 4, max_candidates: int = 6, motion_time_limit: float = 2.0) -> None:
        self.world = World()
        self.checker = CollisionChecker(self.world)
        self.symbolic = SymbolicPlanner()
        self.max_skeletons = max_skeletons
        self.max_candidates = max_candidates
        self.motion_time_limit = motion_time_limit

    @property
    def settings(self) -> dict:
        return {
            "max_skeletons": self.max_skeletons, "max_candidates": self.max_candidates,
            "motion_time_limit": self.motion_time_limit, "version": GENERATOR_VERSION,
        }

    def close(self) -> None:
        self.world.close()

    def plan(self, state: np.ndarray, goal: Goal, seed: int) -> Plan:
        """`solve` wrapped in the shared Plan type (not yet executed: score is NaN)."""
        r = self.solve(state, goal, seed)
        return Plan(r.states, goal, self.name, self.settings, r.plan_seconds, seed)

    def solve(self, state: np.ndarray, goal: Goal, seed: int) -> Solution:
        """Plan from `state` (nothing held) to `goal`; raises PlanningError saying why not."""
        t0 = time.perf_counter()
        rng = np.random.default_rng(seed)
        if isinstance(goal, Unconditional):
            goal = TowerOrder(tuple(BLOCK_NAMES[i] for i in rng.permutation(len(BLOCK_NAMES))))
        joints, pos, orn, att = LAYOUT.decompose(np.asarray(state, dtype=np.float64))
        if any(v > 0.5 for v in att.values()):
            raise PlanningError("the demonstrator plans from a state with no block held")
        scene = Scene({b: Pose(pos[b].copy(), orn[b] / np.linalg.norm(orn[b])) for b in BLOCK_NAMES})
        init = initial_facts(initial_support(state, goal))
        self._spots = {spot_region(s.block): s for s in goal.spots} if isinstance(goal, Reference) else {}
        self._failures: dict[str, int] = {}
        motion = MotionPlanner(self.checker, seed, self.motion_time_limit)
        skeletons = self.symbolic.plans(init, goal_facts(goal), regions=(FLOOR, *self._spots))
        for n, skeleton in enumerate(itertools.islice(skeletons, self.max_skeletons)):
            if not skeleton:  # already satisfied: one still state
                states = np.asarray(state, dtype=np.float32)[None]
                return Solution(states, goal, (), time.perf_counter() - t0, {"skeletons": n + 1})
            bound = self._bind(manipulations(skeleton), scene, joints, motion, rng)
            if bound is not None:
                states = self._trajectory(bound, scene, joints)
                return Solution(
                    states.astype(np.float32), goal, tuple(str(s) for s in skeleton), time.perf_counter() - t0,
                    {"skeletons": n + 1, "sampling_planner_calls": motion.used_sampler},
                )
        why = ", ".join(f"{k} x{v}" for k, v in sorted(self._failures.items(), key=lambda kv: -kv[1])) or "no skeleton"
        raise PlanningError(f"no plan for goal '{goal}' from this scene (stream failures: {why})")

    # ------------------------------------------------------------------ binding
    def _fail(self, what: str) -> None:
        self._failures[what] = self._failures.get(what, 0) + 1

    def _bind(self, manips: list[tuple[str, str]], scene: Scene, q: np.ndarray, motion: MotionPlanner, rng) -> list[_Bound] | None:
        """Depth-first binding of (block, destination) pick-and-places; None when exhausted."""
        if not manips:
            return []
        block, dest = manips[0]
        for grasp in itertools.islice(grasps(scene, block), self.max_candidates):
            pick = pick_kinematics(self.checker, scene, block, grasp)
            if pick is None:
                self._fail("pick kinematics")
                continue
            transit = motion.plan(q, pick.pre)
            if transit is None:
                self._fail("free motion")
                continue
            holding = Scene(scene.poses, (block, grasp))
            for placed in itertools.islice(self._placements(holding, block, dest, rng), self.max_candidates):
                place = place_kinematics(self.checker, holding, grasp, placed)
                if place is None:
                    self._fail("place kinematics")
                    continue
                carry = motion.plan(pick.pre, place.pre)
                if carry is None:
                    self._fail("holding motion")
                    continue
                after = Scene({**scene.poses, block: placed})
                rest = self._bind(manips[1:], after, place.pre, motion, rng)
                if rest is not None:
                    return [_Bound(block, grasp, pick, transit, place, carry, placed)] + rest
        return None

    def _placements(self, holding: Scene, block: str, dest: str, rng):
        """Resting poses for `block` on `dest`: a reference spot's own pose (its yaw, or the
        block's present one), or the kinematics' placements; free floor keeps off the spots."""
        spot = self._spots.get(dest)
        if spot is not None:
            yaw = math.radians(spot.yaw_deg) if spot.yaw_deg is not None else quaternion_yaw(holding.poses[block].orientation)
            for turn in (0.0, math.pi / 2, -math.pi / 2, math.pi):  # the same square footprint
                yield Pose(np.array([spot.x, spot.y, BLOCK_HEIGHT / 2]), yaw_quaternion(yaw + turn))
            return
        for pose in placements(holding, block, dest, rng):
            if dest != FLOOR or all(np.linalg.norm(pose.position[:2] - s.xy) >= SCENE_MIN_SEPARATION
                                    for s in self._spots.values() if s.block != block):
                yield pose

    # ------------------------------------------------------------------ trajectory
    def _trajectory(self, bound: list[_Bound], scene: Scene, q0: np.ndarray) -> np.ndarray:
        poses = dict(scene.poses)
        q = q0
        out = []
        ph = PHASES
        for b in bound:
            joints = [q[None]]
            joints.append(retime(b.transit, ph.transit + 1)[1:])
            joints.append(retime(b.pick.approach, ph.descend + 1)[1:])
            joints.append(np.repeat(b.pick.at[None], ph.grasp_dwell, axis=0))
            joints.append(retime(b.pick.approach[::-1], ph.lift + 1)[1:])
            joints.append(retime(b.carry, ph.carry + 1)[1:])
            joints.append(retime(b.place.approach, ph.place_descend + 1)[1:])
            joints.append(np.repeat(b.place.at[None], ph.release_dwell, axis=0))
            joints.append(retime(b.place.approach[::-1], ph.ascend + 1)[1:])
            joints = np.concatenate(joints)
            assert len(joints) == ph.length
            for t, qt in enumerate(joints):
                held = ph.grasp_index <= t < ph.release_index
                if held:
                    tool = self.world.tcp_pose(qt)
                    poses[b.block] = multiply(tool, b.grasp.block_in_tool)
                elif t >= ph.release_index:
                    poses[b.block] = b.placed
                out.append(LAYOUT.compose(
                    qt, {k: v.position for k, v in poses.items()}, {k: v.orientation for k, v in poses.items()},
                    {b.block: 1.0 if held else 0.0},
                ))
            q = joints[-1]
        return np.array(out)


def manipulations(skeleton: list[Step]) -> list[tuple[str, str]]:
    """(block, destination) per pick-and-place of a skeleton of alternating moves and manipulations."""
    out = []
    for step in skeleton:
        if step.action in ("stack", "put_down"):
            dest = step.args["s"] if step.action == "stack" else step.args["r"]
            out.append((step.args["b"], dest))
    return out
