"""The PyBullet scene: a Kuka iiwa fixed at the origin, a floor and N blocks (4 by default).

`World` owns one PyBullet client (DIRECT by default). It resets from a seed, reads and writes
the state through its :class:`tasks.layout.StateLayout`, and holds blocks to the end-effector
with fixed constraints (the paper's protocol has no gripper fingers).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from tasks.bullet import p, pybullet_data, quiet_stdio
from tasks.layout import (
    BLOCK_COLOURS, BLOCK_HALF_EXTENTS, BLOCK_HEIGHT, DEFAULT_BLOCKS, NUM_JOINTS, SCENE_MAX_ANGLE,
    SCENE_MIN_SEPARATION, SCENE_RADIUS, StateLayout, block_names, layout_for, layout_of,
)

ROBOT_URDF = "kuka_iiwa/model.urdf"
EE_LINK = 6
# The flange face lies 0.048 m along link 7's z axis; the tool point sits just past it.
TCP_OFFSET = 0.05
PHYSICS_HZ = 240
SUBSTEPS = 20  # physics steps per waypoint
CONTROL_PERIOD = SUBSTEPS / PHYSICS_HZ  # seconds between states
BLOCK_MASS = 0.2
JOINT_FORCE = 300.0  # the URDF's effort limit
# Elbow up, tool pointing down, above the floor in front of the robot.
HOME_JOINTS = np.array([0.0, 0.35, 0.0, -1.6, 0.0, 1.2, 0.0])



@dataclass(frozen=True)
class Pose:
    position: np.ndarray
    orientation: np.ndarray  # quaternion xyzw


def multiply(a: Pose, b: Pose) -> Pose:
    pos, orn = p.multiplyTransforms(a.position, a.orientation, b.position, b.orientation)
    return Pose(np.array(pos), np.array(orn))


def invert(a: Pose) -> Pose:
    pos, orn = p.invertTransform(a.position, a.orientation)
    return Pose(np.array(pos), np.array(orn))


def yaw_quaternion(yaw: float) -> np.ndarray:
    return np.array([0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)])


# Draws in a row that find no free place before a scene starts again from its first block: with
# eight blocks the first few can leave no room for the rest (tests/test_world.py measures it).
SCENE_RESTART = 400


def sample_scene(seed: int, n_blocks: int = DEFAULT_BLOCKS) -> dict[str, Pose]:
    """N blocks on the floor at random, non-overlapping, reachable places; same seed, same scene."""
    names = block_names(n_blocks)
    rng = np.random.default_rng(seed)
    poses: dict[str, Pose] = {}
    misses = 0
    while len(poses) < len(names):
        name = names[len(poses)]
        r = rng.uniform(*SCENE_RADIUS)
        a = rng.uniform(-SCENE_MAX_ANGLE, SCENE_MAX_ANGLE)
        xy = np.array([r * math.cos(a), r * math.sin(a)])
        if any(np.linalg.norm(xy - q.position[:2]) < SCENE_MIN_SEPARATION for q in poses.values()):
            misses += 1
            if misses >= SCENE_RESTART:
                poses, misses = {}, 0
            continue
        misses = 0
        yaw = rng.uniform(-math.pi / 4, math.pi / 4)
        poses[name] = Pose(np.array([xy[0], xy[1], BLOCK_HEIGHT / 2]), yaw_quaternion(yaw))
    return poses


# Collection draws its scenes from one seed stream and evaluation from another, so no evaluation
# episode is a training scene whatever seeds are typed.
SEED_STREAMS = {"train": 0x7EA1, "test": 0x7E57}


def episode_seed(seed: int, episode: int, stream: str) -> int:
    """Scene seed of episode `episode` of a run started with `seed` in `stream` ('train':
    collection, 'test': evaluation); the two streams never share a scene."""
    return int(np.random.SeedSequence([SEED_STREAMS[stream], seed, episode]).generate_state(1)[0])


def initial_state(seed: int, n_blocks: int = DEFAULT_BLOCKS) -> np.ndarray:
    """The state `World.reset(seed)` produces, computed without a physics client."""
    poses = sample_scene(seed, n_blocks)
    return layout_for(n_blocks).compose(
        HOME_JOINTS, {b: q.position for b, q in poses.items()}, {b: q.orientation for b, q in poses.items()}
    )


class World:
    """One PyBullet client with the robot, floor and blocks."""

    def __init__(self, gui: bool = False, egl: bool = False, n_blocks: int = DEFAULT_BLOCKS) -> None:
        """`egl`: load PyBullet's EGL renderer plugin (offscreen OpenGL); it only draws bodies
        created after it, so it must come first. `self.egl` says whether it loaded."""
        self.layout: StateLayout = layout_for(n_blocks)
        self.client = p.connect(p.GUI if gui else p.DIRECT)
        c = self.client
        self.egl = False
        if egl:
            import pkgutil

            plugin = pkgutil.get_loader("eglRenderer")
            with quiet_stdio():
                self.egl = plugin is not None and p.loadPlugin(plugin.get_filename(), "_eglRendererPlugin", physicsClientId=c) >= 0
        p.setAdditionalSearchPath(pybullet_data.getDataPath(), physicsClientId=c)
        p.setGravity(0, 0, -9.81, physicsClientId=c)
        p.setTimeStep(1.0 / PHYSICS_HZ, physicsClientId=c)
        self.floor = p.loadURDF("plane.urdf", physicsClientId=c)
        self.robot = p.loadURDF(ROBOT_URDF, [0, 0, 0], useFixedBase=True, physicsClientId=c)
        self.joint_lower = np.array([p.getJointInfo(self.robot, j, physicsClientId=c)[8] for j in range(NUM_JOINTS)])
        self.joint_upper = np.array([p.getJointInfo(self.robot, j, physicsClientId=c)[9] for j in range(NUM_JOINTS)])
        col = p.createCollisionShape(p.GEOM_BOX, halfExtents=BLOCK_HALF_EXTENTS, physicsClientId=c)
        self.blocks: dict[str, int] = {}
        for i, name in enumerate(self.layout.blocks):
            vis = p.createVisualShape(
                p.GEOM_BOX, halfExtents=BLOCK_HALF_EXTENTS, rgbaColor=BLOCK_COLOURS[name], physicsClientId=c
            )
            body = p.createMultiBody(BLOCK_MASS, col, vis, basePosition=[1.0 + i, 2.0, BLOCK_HEIGHT / 2], physicsClientId=c)
            p.changeDynamics(body, -1, lateralFriction=0.8, physicsClientId=c)
            self.blocks[name] = body
        self._constraints: dict[str, int] = {}
        self.seed: int | None = None

    # ---------------------------------------------------------------- state
    @classmethod
    def for_state(cls, state: np.ndarray, **kwargs) -> World:
        """A world with the blocks of `state` (its width says how many)."""
        return cls(n_blocks=len(layout_of(np.asarray(state)).blocks), **kwargs)

    @property
    def n_blocks(self) -> int:
        return len(self.layout.blocks)

    def reset(self, seed: int) -> np.ndarray:
        """Robot at home, no block held, blocks drawn from `seed`. Returns the state."""
        self.release_all()
        self.seed = seed
        self.set_joints(HOME_JOINTS)
        for name, pose in sample_scene(seed, self.n_blocks).items():
            self.set_block_pose(name, pose.position, pose.orientation)
        return self.get_state()

    def get_state(self) -> np.ndarray:
        joints = np.array([s[0] for s in p.getJointStates(self.robot, range(NUM_JOINTS), physicsClientId=self.client)])
        pos, orn = {}, {}
        for name, body in self.blocks.items():
            x, q = p.getBasePositionAndOrientation(body, physicsClientId=self.client)
            pos[name], orn[name] = np.array(x), np.array(q)
        att = {name: float(name in self._constraints) for name in self.blocks}
        return self.layout.compose(joints, pos, orn, att)

    def set_state(self, state: np.ndarray) -> None:
        """Teleport robot and blocks to `state` (velocities zero); attaches blocks flagged > 0.5."""
        state = np.asarray(state, dtype=np.float64)
        if state.shape[-1] != self.layout.dim:
            raise ValueError(f"a state of {state.shape[-1]} numbers given to a world of {self.n_blocks} blocks "
                             f"({self.layout.dim} numbers)")
        joints, pos, orn, att = self.layout.decompose(state)
        self.release_all()
        self.set_joints(joints)
        for name in self.blocks:
            self.set_block_pose(name, pos[name], orn[name] / np.linalg.norm(orn[name]))
        for name, flag in att.items():
            if flag > 0.5:
                self.attach(name)

    @contextmanager
    def saved(self) -> Iterator[Callable[[], None]]:
        """Keep the physics state as it is now; the block gets a function that goes back to it
        (to try several futures from one present). The saved copy is freed on leaving."""
        saved = p.saveState(physicsClientId=self.client)
        try:
            yield lambda: p.restoreState(saved, physicsClientId=self.client)
        finally:
            p.removeState(saved, physicsClientId=self.client)

    def set_joints(self, joints) -> None:
        for j in range(NUM_JOINTS):
            p.resetJointState(self.robot, j, float(joints[j]), 0.0, physicsClientId=self.client)
        # Hold the arm where it was put rather than letting it fall on the next physics step.
        p.setJointMotorControlArray(
            self.robot, range(NUM_JOINTS), p.POSITION_CONTROL, targetPositions=list(map(float, joints)),
            forces=[JOINT_FORCE] * NUM_JOINTS, physicsClientId=self.client,
        )

    def set_block_pose(self, name: str, position, orientation) -> None:
        body = self.blocks[name]
        p.resetBasePositionAndOrientation(body, list(map(float, position)), list(map(float, orientation)), physicsClientId=self.client)
        p.resetBaseVelocity(body, [0, 0, 0], [0, 0, 0], physicsClientId=self.client)

    def block_pose(self, name: str) -> Pose:
        x, q = p.getBasePositionAndOrientation(self.blocks[name], physicsClientId=self.client)
        return Pose(np.array(x), np.array(q))

    # ---------------------------------------------------------------- kinematics
    def tcp_pose(self, joints=None) -> Pose:
        """Tool point pose; with `joints`, the arm is moved there first (kinematically)."""
        if joints is not None:
            for j in range(NUM_JOINTS):
                p.resetJointState(self.robot, j, float(joints[j]), physicsClientId=self.client)
        ls = p.getLinkState(self.robot, EE_LINK, computeForwardKinematics=True, physicsClientId=self.client)
        frame_pos, frame_orn = np.array(ls[4]), np.array(ls[5])
        rot = np.array(p.getMatrixFromQuaternion(frame_orn)).reshape(3, 3)
        return Pose(frame_pos + rot[:, 2] * TCP_OFFSET, frame_orn)

    def inverse_kinematics(self, tcp: Pose, rest=None, iterations: int = 200) -> np.ndarray | None:
        """Joints that put the tool point at `tcp`, or None if none within 2 mm / 0.02 rad."""
        rest = HOME_JOINTS if rest is None else np.asarray(rest)
        rot = np.array(p.getMatrixFromQuaternion(tcp.orientation)).reshape(3, 3)
        frame_pos = np.asarray(tcp.position) - rot[:, 2] * TCP_OFFSET
        self.set_joints(rest)
        c = self.client
        q = p.calculateInverseKinematics(
            self.robot, EE_LINK, list(frame_pos), list(tcp.orientation),
            lowerLimits=list(self.joint_lower), upperLimits=list(self.joint_upper),
            jointRanges=list(self.joint_upper - self.joint_lower), restPoses=list(rest),
            maxNumIterations=iterations, residualThreshold=1e-6, physicsClientId=c,
        )
        q = np.array(q[:NUM_JOINTS])
        if np.any(q < self.joint_lower - 1e-6) or np.any(q > self.joint_upper + 1e-6):
            return None
        got = self.tcp_pose(q)
        pos_err = np.linalg.norm(got.position - tcp.position)
        ang_err = 2 * math.acos(min(1.0, abs(float(np.dot(got.orientation, tcp.orientation)))))
        if pos_err > 2e-3 or ang_err > 0.02:
            return None
        return q

    # ---------------------------------------------------------------- holding
    def attach(self, name: str) -> None:
        """Hold block `name` rigidly where it is relative to the tool (fixed constraint)."""
        if name in self._constraints:
            return
        c = self.client
        ls = p.getLinkState(self.robot, EE_LINK, computeForwardKinematics=True, physicsClientId=c)
        # Link state [0:2] is the link's inertial frame, which is what constraints attach to.
        com_pos, com_orn = ls[0], ls[1]
        bpos, born = p.getBasePositionAndOrientation(self.blocks[name], physicsClientId=c)
        inv_pos, inv_orn = p.invertTransform(com_pos, com_orn)
        rel_pos, rel_orn = p.multiplyTransforms(inv_pos, inv_orn, bpos, born)
        cid = p.createConstraint(
            self.robot, EE_LINK, self.blocks[name], -1, p.JOINT_FIXED, [0, 0, 0],
            parentFramePosition=rel_pos, childFramePosition=[0, 0, 0], parentFrameOrientation=rel_orn,
            childFrameOrientation=[0, 0, 0, 1], physicsClientId=c,
        )
        p.changeConstraint(cid, maxForce=2000, physicsClientId=c)
        # A held block does not collide with the link holding it (as with a real gripper).
        p.setCollisionFilterPair(self.robot, self.blocks[name], EE_LINK, -1, 0, physicsClientId=c)
        self._constraints[name] = cid

    def release(self, name: str) -> None:
        cid = self._constraints.pop(name, None)
        if cid is not None:
            p.removeConstraint(cid, physicsClientId=self.client)
            p.setCollisionFilterPair(self.robot, self.blocks[name], EE_LINK, -1, 1, physicsClientId=self.client)

    def release_all(self) -> None:
        for name in list(self._constraints):
            self.release(name)

    @property
    def held(self) -> list[str]:
        return list(self._constraints)

    # ---------------------------------------------------------------- physics
    def command_joints(self, joints) -> None:
        p.setJointMotorControlArray(
            self.robot, range(NUM_JOINTS), p.POSITION_CONTROL, targetPositions=list(map(float, joints)),
            forces=[JOINT_FORCE] * NUM_JOINTS, physicsClientId=self.client,
        )

    def step(self, n: int = 1) -> None:
        for _ in range(n):
            p.stepSimulation(physicsClientId=self.client)

    def close(self) -> None:
        if self.client is not None and p.isConnected(self.client):
            with quiet_stdio():  # the EGL plugin says goodbye on stdout
                p.disconnect(self.client)
        self.client = None

    def __enter__(self) -> World:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
