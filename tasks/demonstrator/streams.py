"""Streams for domain.pddl: motions, on top of the shared grasp, placement and IK primitives.

Each stream is a generator that yields candidates until exhausted (the binder pulls from it and
backtracks); inverse kinematics and motion planning return a value or ``None``. Grasps,
placements and kinematics live in tasks.kinematics (the Diffuser uses them too); this module
adds retiming and OMPL motion planning.
"""
from __future__ import annotations


import numpy as np

from tasks.kinematics import RESOLUTION, CollisionChecker, min_jerk
from tasks.world import NUM_JOINTS


def retime(path: np.ndarray, n: int) -> np.ndarray:
    """Resample a joint path to n states: uniform in arc length, minimum jerk in time."""
    path = np.asarray(path, dtype=float)
    if len(path) == 1:
        return np.repeat(path, n, axis=0)
    seg = np.linalg.norm(np.diff(path, axis=0), axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    if cum[-1] < 1e-9:
        return np.repeat(path[:1], n, axis=0)
    s = min_jerk(n) * cum[-1]
    return np.stack([np.interp(s, cum, path[:, j]) for j in range(path.shape[1])], axis=1)


class MotionPlanner:
    """Collision-free joint-space motions: direct first, then OMPL's RRTConnect, simplified."""

    def __init__(self, checker: CollisionChecker, seed: int, time_limit: float = 2.0) -> None:
        self.checker = checker
        self.time_limit = time_limit
        self.seed = seed
        self.used_sampler = 0

    def plan(self, qa: np.ndarray, qb: np.ndarray) -> np.ndarray | None:
        """A path (k, 7) from qa to qb, or None if none was found within the time limit."""
        if self.checker.segment_valid(qa, qb):
            return np.stack([qa, qb])
        if not self.checker.valid(qb) or not self.checker.valid(qa, margin=0.0):
            return None
        self.used_sampler += 1
        return self._rrt(qa, qb)

    def _rrt(self, qa: np.ndarray, qb: np.ndarray) -> np.ndarray | None:
        from ompl import base as ob, geometric as og, util as ou

        ou.setLogLevel(ou.LogLevel.LOG_NONE)
        ou.RNG.setSeed(self.seed + self.used_sampler)
        world = self.checker.world
        space = ob.RealVectorStateSpace(NUM_JOINTS)
        bounds = ob.RealVectorBounds(NUM_JOINTS)
        for j in range(NUM_JOINTS):
            bounds.setLow(j, float(world.joint_lower[j]))
            bounds.setHigh(j, float(world.joint_upper[j]))
        space.setBounds(bounds)
        setup = og.SimpleSetup(space)
        setup.setStateValidityChecker(lambda s: self.checker.valid(np.array([s[j] for j in range(NUM_JOINTS)])))
        setup.getSpaceInformation().setStateValidityCheckingResolution(RESOLUTION / space.getMaximumExtent())
        start, goal = space.allocState(), space.allocState()
        for j in range(NUM_JOINTS):
            start[j], goal[j] = float(qa[j]), float(qb[j])
        setup.setStartAndGoalStates(start, goal)
        setup.setPlanner(og.RRTConnect(setup.getSpaceInformation()))
        if not setup.solve(self.time_limit) or not setup.haveExactSolutionPath():
            return None
        setup.simplifySolution(0.5)
        path = setup.getSolutionPath()
        out = np.array([[path.getState(i)[j] for j in range(NUM_JOINTS)] for i in range(path.getStateCount())])
        # The simplifier's smoothing may cut corners: keep the result only if it is still valid.
        return out if self.checker.path_valid(out, margin=0.0) else None
