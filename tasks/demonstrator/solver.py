"""The demonstrator: the task layer's moves, bound by the streams, made dense.

`Demonstrator.solve(state, goal, seed)` asks the task layer (tasks.taskplan, Fast Downward over
tasks/moves.pddl) for the sequence of moves, binds each move's grasp, placement, inverse
kinematics and motions by depth-first search over stream outputs (backtracking when a stream is
exhausted), and turns the bound plan into a state trajectory: one pick-and-place per
`SEGMENT_LENGTH` states.
"""
from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field

import numpy as np

from tasks.demonstrator.streams import MotionPlanner, retime
from tasks.execute import Execution, play, remember, scored, settle
from tasks.kinematics import (
    CollisionChecker, Grasp, Kin, Scene, grasps, pick_kinematics, place_kinematics, placements,
)
from tasks.goals import Goal, GoalError, TowerOrder, Unconditional, check_fits
from tasks.layout import BLOCK_HEIGHT, PHASES, SEGMENT_LENGTH, layout_of
from tasks.plans import Plan
from tasks.reference import Reference
from tasks.scene import FLOOR
from tasks.taskplan import plan_moves, spot_region
from tasks.layout import quaternion_yaw
from tasks.world import Pose, World, multiply, yaw_quaternion

GENERATOR_VERSION = "demonstrator-2"  # 2: moves from the task layer (Fast Downward), any number of blocks
ATTEMPTS = 3  # seeds tried (seed, seed + 1, ...) until a plan, replayed in physics, meets its goal
DRIFT = 0.01  # metres a block may end from its planned place before the rest is planned again from physics
MAX_REPAIRS = 8  # times the rest of one attempt is planned again


class PlanningError(RuntimeError):
    """The demonstrator found no plan; the message says which part failed."""


@dataclass(frozen=True)
class Solution:
    states: np.ndarray  # (T, dim), T = SEGMENT_LENGTH * number of pick-and-places
    goal: Goal  # the goal as solved (the drawn tower order for an unconditional goal)
    skeleton: tuple[str, ...]  # the task layer's moves
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


def _drift(layout, reached: np.ndarray, planned: np.ndarray) -> float:
    """The largest distance, metres, between a block's place in physics and in the plan."""
    return max(float(np.linalg.norm(reached[layout.block(b).position] - planned[layout.block(b).position]))
               for b in layout.blocks)


class Demonstrator:
    """PDDLStream-style task and motion planner for the block world."""

    name = "demonstrator"

    def __init__(self, max_candidates: int = 6, motion_time_limit: float = 2.0, max_bindings: int = 400) -> None:
        self.world = World()
        self.checker = CollisionChecker(self.world)
        self.max_candidates = max_candidates
        # Backtracking is depth-first over every move's candidates: where a late move cannot be
        # bound at all, it would try every combination of the earlier ones. Kinematics calls
        # beyond this budget end the search.
        self.max_bindings = max_bindings
        self.motion_time_limit = motion_time_limit

    @property
    def settings(self) -> dict:
        return {
            "max_candidates": self.max_candidates, "max_bindings": self.max_bindings,
            "motion_time_limit": self.motion_time_limit, "attempts": ATTEMPTS, "drift": DRIFT, "version": GENERATOR_VERSION,
        }

    def close(self) -> None:
        self.world.close()

    def _use_blocks(self, n: int) -> None:
        """A planning world of `n` blocks (made anew when the scene's count changes)."""
        self.checker = self.checker.with_blocks(n)
        self.world = self.checker.world

    def plan(self, state: np.ndarray, goal: Goal, seed: int) -> Plan:
        """Plan in closed loop (`_closed_loop`, whose physics is the execution's): a plan that
        misses the goal is made again with the next seed, up to ATTEMPTS; the best one is
        returned, in the shared Plan type (not yet executed by the caller: score is NaN)."""
        t0 = time.perf_counter()
        best, best_score, error = None, -1.0, None
        for attempt in range(ATTEMPTS):
            try:
                states, played = self._closed_loop(state, goal, seed + attempt)
            except PlanningError as e:
                error = error or e
                continue
            if played.score > best_score:
                best, best_score = (states, played), played.score
            if played.strict_success:
                break
        if best is None:
            raise error
        remember(best[0], goal, state, best[1])  # the caller's execute() of this plan is this one
        return Plan(best[0], goal, self.name, self.settings, time.perf_counter() - t0, seed)

    def _closed_loop(self, state: np.ndarray, goal: Goal, seed: int) -> tuple[np.ndarray, Execution]:
        """`solve`, played in physics move by move as the execution plays the states; where a
        block ends more than DRIFT from where the plan put it (a parked tower leaning a little
        further at each move, until a grasp on it missed), the rest is solved again from the
        state physics reached. The states of every part end to end (float32, as a Plan keeps
        them), and their execution (what `tasks.execute.execute` of them from `state` returns)."""
        T = SEGMENT_LENGTH
        pieces: list[np.ndarray] = []
        current = np.asarray(state, dtype=np.float64)
        layout = layout_of(current)
        last = current.astype(np.float32)
        realised: list[np.ndarray] = []
        with World.for_state(current) as world:
            world.set_state(current)
            for repair in range(MAX_REPAIRS + 1):
                states = self.solve(current, goal, seed + repair).states
                moves = len(states) // T
                for i in range(moves):
                    chunk = states[i * T:(i + 1) * T]
                    # play() drives through states[1:]: after the first state of all, every
                    # state is a waypoint (a part's first state is the hold at the boundary)
                    first = not pieces and i == 0
                    reached = play(world, chunk if first else np.concatenate([last[None], chunk]))
                    realised.append(reached if first else reached[1:])
                    last = chunk[-1]
                    if i < moves - 1 and repair < MAX_REPAIRS and _drift(layout, reached[-1], last) > DRIFT:
                        pieces.append(states[:(i + 1) * T])
                        current = reached[-1]
                        break
                else:
                    pieces.append(states)
                    break
            if not realised:  # the goal already met: one still state
                realised.append(world.get_state()[None])
            return np.concatenate(pieces).astype(np.float32), scored(np.concatenate(realised), settle(world), goal)

    def solve(self, state: np.ndarray, goal: Goal, seed: int) -> Solution:
        """Plan from `state` (nothing held) to `goal`; raises PlanningError saying why not."""
        t0 = time.perf_counter()
        rng = np.random.default_rng(seed)
        layout = layout_of(np.asarray(state))
        blocks = layout.blocks
        self._use_blocks(len(blocks))
        if isinstance(goal, Unconditional):
            goal = TowerOrder(tuple(blocks[i] for i in rng.permutation(len(blocks))))
        check_fits(goal, blocks)
        joints, pos, orn, att = layout.decompose(np.asarray(state, dtype=np.float64))
        if any(v > 0.5 for v in att.values()):
            raise PlanningError("the demonstrator plans from a state with no block held")
        scene = Scene({b: Pose(pos[b].copy(), orn[b] / np.linalg.norm(orn[b])) for b in blocks})
        self._spots = {spot_region(s.block): s for s in goal.spots} if isinstance(goal, Reference) else {}
        self._failures: dict[str, int] = {}
        self._bindings = 0
        motion = MotionPlanner(self.checker, seed, self.motion_time_limit)
        moves = plan_moves(state, goal)
        if not moves:  # already satisfied: one still state
            states = np.asarray(state, dtype=np.float32)[None]
            return Solution(states, goal, (), time.perf_counter() - t0, {})
        bound = self._bind([(m.block, m.dest) for m in moves], scene, joints, motion, rng)
        if bound is None and any(k.startswith("no free floor") for k in self._failures):
            # Eight blocks and a reference's spots can fill the reachable ring: park on blocks instead.
            try:
                moves = plan_moves(state, goal, floor=False)
            except GoalError:
                moves = []
            if moves:
                self._bindings = 0
                bound = self._bind([(m.block, m.dest) for m in moves], scene, joints, motion, rng)
        if bound is not None:
            states = self._trajectory(bound, scene, joints)
            return Solution(states.astype(np.float32), goal, tuple(str(m) for m in moves), time.perf_counter() - t0,
                            {"sampling_planner_calls": motion.used_sampler})
        why = ", ".join(f"{k} x{v}" for k, v in sorted(self._failures.items(), key=lambda kv: -kv[1]))
        raise PlanningError(f"no plan for goal '{goal}' from this scene (moves {', '.join(map(str, moves))}; "
                            f"stream failures: {why})")

    # ------------------------------------------------------------------ binding
    def _fail(self, what: str) -> None:
        self._failures[what] = self._failures.get(what, 0) + 1

    def _bind(self, manips: list[tuple[str, str]], scene: Scene, q: np.ndarray, motion: MotionPlanner, rng) -> list[_Bound] | None:
        """Depth-first binding of (block, destination) pick-and-places; None when exhausted."""
        if not manips:
            return []
        block, dest = manips[0]
        for grasp in itertools.islice(grasps(scene, block), self.max_candidates):
            if self._bindings >= self.max_bindings:
                self._fail("binding budget")
                return None
            self._bindings += 1
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
                if self._bindings >= self.max_bindings:
                    break
                self._bindings += 1
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
        found = False
        for pose in placements(holding, block, dest, rng, avoid=tuple(s.xy for s in self._spots.values() if s.block != block)):
            found = True
            yield pose
        if not found:
            self._fail(f"no free floor for {block}" if dest == FLOOR else f"no placement on {dest}")

    # ------------------------------------------------------------------ trajectory
    def _trajectory(self, bound: list[_Bound], scene: Scene, q0: np.ndarray) -> np.ndarray:
        layout = self.world.layout
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
                out.append(layout.compose(
                    qt, {k: v.position for k, v in poses.items()}, {k: v.orientation for k, v in poses.items()},
                    {b.block: 1.0 if held else 0.0},
                ))
            q = joints[-1]
        return np.array(out)

