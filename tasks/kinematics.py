"""The grasp, placement and inverse-kinematics primitives both planners use.

A `Scene` is where the blocks are (and which one the tool holds, with its grasp); `grasps` and
`placements` generate candidate grasps of a block and resting poses on another; the
`*_kinematics` functions find collision-free joint configurations for reaching them on a private
planning `World` (a `CollisionChecker`) whose bodies are teleported, never simulated. The
demonstrator (tasks.demonstrator.streams) adds motion planning on top; the Diffuser
(planner.conditioning) uses them for its keyframes.
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from tasks.bullet import p
from tasks.layout import BLOCK_HEIGHT, PHASES, SCENE_MAX_ANGLE, SCENE_MIN_SEPARATION, SCENE_RADIUS
from tasks.layout import quaternion_yaw
from tasks.world import HOME_JOINTS, Pose, World, invert, multiply, yaw_quaternion

GRASP_GAP = 0.004  # tool stops this far above the block's top face
PLACE_GAP = 0.004  # a held block is released this far above its support
APPROACH_HEIGHT = 0.15  # pre-grasp / pre-place tool height above the grasp / place
# Where the tool cannot rise that high (the top of a tower of seven or eight blocks is near the
# arm's reach), a shorter approach is tried.
LOW_APPROACH_HEIGHT = 0.07
# Other elbow and wrist poses IK starts from when the one nearest home finds nothing: the solver
# is local, and near the edge of reach one start is not enough.
IK_RESTS = ((0.0, 0.8, 0.0, -1.2, 0.0, 1.1, 0.0), (0.0, 0.1, 0.0, -1.9, 0.0, 1.1, 0.0),
            (0.0, 0.5, 0.0, -0.9, 0.0, 1.7, 0.0))
MARGIN = 0.01  # clearance kept during free and holding motions
RESOLUTION = 0.04  # rad, collision-check spacing along joint-space segments


def tool_down(position, yaw: float) -> Pose:
    """Tool pose pointing straight down with the given yaw."""
    return Pose(np.asarray(position, dtype=float), np.array(p.getQuaternionFromEuler([math.pi, 0.0, yaw])))


@dataclass(frozen=True)
class Grasp:
    """Where a held block sits in the tool frame."""

    block_in_tool: Pose


@dataclass(frozen=True)
class Kin:
    """Joint configurations above (pre) and at a grasp or place, and the straight path between."""

    pre: np.ndarray
    at: np.ndarray
    approach: np.ndarray  # (n, 7), pre -> at


class Scene:
    """Block poses as the plan goes, plus what is held. Mirrors itself into the planning world."""

    def __init__(self, poses: dict[str, Pose], held: tuple[str, Grasp] | None = None) -> None:
        self.poses = dict(poses)
        self.held = held

    def copy(self) -> Scene:
        return Scene(self.poses, self.held)

    def top_of(self, name: str) -> float:
        return float(self.poses[name].position[2] + BLOCK_HEIGHT / 2)


class CollisionChecker:
    """Is a joint configuration free of collisions in a scene? (planning world, kinematic)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.scene: Scene | None = None

    def with_blocks(self, n: int) -> CollisionChecker:
        """This checker if its world holds `n` blocks, else a checker on a new world of `n` (this
        one's world is closed)."""
        if self.world.n_blocks == n:
            return self
        self.world.close()
        return CollisionChecker(World(n_blocks=n))

    def load(self, scene: Scene) -> None:
        self.scene = scene
        for name, pose in scene.poses.items():
            if scene.held is None or name != scene.held[0]:
                self.world.set_block_pose(name, pose.position, pose.orientation)

    def valid(self, q: np.ndarray, ignore: frozenset[str] = frozenset(), margin: float = MARGIN) -> bool:
        w, c = self.world, self.world.client
        tcp = w.tcp_pose(q)
        held = self.scene.held if self.scene else None
        obstacles = [b for b in w.layout.blocks if b not in ignore and (held is None or b != held[0])]
        # Links 1 and 2 stand on the base; anything from link 3 out must stay off the floor.
        for cp in p.getClosestPoints(w.robot, w.floor, margin, physicsClientId=c):
            if cp[3] >= 2:
                return False
        for b in obstacles:
            if p.getClosestPoints(w.robot, w.blocks[b], margin, physicsClientId=c):
                return False
        if held is not None:
            name, grasp = held
            pose = multiply(tcp, grasp.block_in_tool)
            w.set_block_pose(name, pose.position, pose.orientation)
            body = w.blocks[name]
            if p.getClosestPoints(body, w.floor, margin, physicsClientId=c):
                return False
            for b in obstacles:
                if p.getClosestPoints(body, w.blocks[b], margin, physicsClientId=c):
                    return False
            for cp in p.getClosestPoints(body, w.robot, 0.0, physicsClientId=c):
                if cp[4] <= 4:  # the wrist links hold it; the upper arm must not touch it
                    return False
        return True

    def segment_valid(self, qa: np.ndarray, qb: np.ndarray, ignore=frozenset(), margin: float = MARGIN) -> bool:
        n = max(2, int(math.ceil(np.max(np.abs(qb - qa)) / RESOLUTION)) + 1)
        return all(self.valid(qa + (qb - qa) * s, ignore, margin) for s in np.linspace(0, 1, n)[1:])

    def path_valid(self, path: np.ndarray, ignore=frozenset(), margin: float = MARGIN) -> bool:
        return all(self.segment_valid(a, b, ignore, margin) for a, b in zip(path[:-1], path[1:]))


# ------------------------------------------------------------------------- streams
def grasps(scene: Scene, block: str) -> Iterator[Grasp]:
    """Top-down grasps at the centre of the top face; four yaws (the block is square)."""
    pose = scene.poses[block]
    top = pose.position + np.array([0, 0, BLOCK_HEIGHT / 2 + GRASP_GAP])
    base_yaw = quaternion_yaw(pose.orientation)
    # Facing the tool along the radial direction keeps joint 7 near the middle of its range.
    radial = math.atan2(pose.position[1], pose.position[0])
    for yaw in square_yaws(base_yaw, radial):
        yield Grasp(multiply(invert(tool_down(top, yaw)), pose))


def placements(scene: Scene, block: str, surface: str, rng: np.random.Generator,
               avoid: tuple[np.ndarray, ...] = (), tries: int = 1000) -> Iterator[Pose]:
    """Stable poses of `block`: centred and aligned on a block (the four square-equivalent yaws,
    least turn from the block's yaw first), or free floor within reach, clear of the other blocks
    and of the points in `avoid` (a reference's spots). Floor draws: `tries` (with eight blocks and
    their spots on the ring, 200 draws could all land too near one)."""
    if surface != "floor":
        support = scene.poses[surface]
        centre = np.array([support.position[0], support.position[1], scene.top_of(surface) + BLOCK_HEIGHT / 2])
        for yaw in square_yaws(quaternion_yaw(support.orientation), quaternion_yaw(scene.poses[block].orientation)):
            yield Pose(centre, yaw_quaternion(yaw))
        return
    others = [q.position[:2] for b, q in scene.poses.items() if b != block] + [np.asarray(a)[:2] for a in avoid]
    for _ in range(tries):
        r = rng.uniform(*SCENE_RADIUS)
        a = rng.uniform(-SCENE_MAX_ANGLE, SCENE_MAX_ANGLE)
        xy = np.array([r * math.cos(a), r * math.sin(a)])
        if all(np.linalg.norm(xy - o) >= SCENE_MIN_SEPARATION for o in others):
            yield Pose(np.array([xy[0], xy[1], BLOCK_HEIGHT / 2]), yaw_quaternion(rng.uniform(-math.pi / 4, math.pi / 4)))


def wrap_angle(a: float) -> float:
    return (a + math.pi) % (2 * math.pi) - math.pi


def square_yaws(yaw: float, towards: float) -> list[float]:
    """The four yaws a square block looks the same at, nearest to `towards` first."""
    return sorted((yaw + k * math.pi / 2 for k in range(4)), key=lambda y: abs(wrap_angle(y - towards)))


def _rest_for(position) -> np.ndarray:
    rest = HOME_JOINTS.copy()
    rest[0] = math.atan2(position[1], position[0])
    return rest


def inverse_kinematics(checker: CollisionChecker, tool: Pose, ignore: frozenset[str], seed=None) -> np.ndarray | None:
    """A collision-free configuration putting the tool at `tool`, or None."""
    w = checker.world
    rest = _rest_for(tool.position) if seed is None else seed
    q = w.inverse_kinematics(tool, rest)
    if q is None and seed is not None:
        q = w.inverse_kinematics(tool, _rest_for(tool.position))
    azimuth = math.atan2(tool.position[1], tool.position[0])
    for other in IK_RESTS:
        if q is not None:
            break
        q = w.inverse_kinematics(tool, np.array(other) + np.eye(7)[0] * azimuth)
    if q is None or not checker.valid(q, ignore, margin=0.0):
        return None
    return q


def kinematics(checker: CollisionChecker, tool_at: Pose, ignore: frozenset[str], steps: int) -> Kin | None:
    """IK at the grasp/place and above it, and a straight vertical path between them."""
    for height in (APPROACH_HEIGHT, LOW_APPROACH_HEIGHT):
        pre_tool = Pose(tool_at.position + np.array([0, 0, height]), tool_at.orientation)
        pre = inverse_kinematics(checker, pre_tool, ignore=frozenset())
        if pre is not None:
            break
    if pre is None:
        return None
    path = [pre]
    for s in min_jerk(steps)[1:]:
        tool = Pose(pre_tool.position + (tool_at.position - pre_tool.position) * s, tool_at.orientation)
        q = checker.world.inverse_kinematics(tool, path[-1])
        if q is None or np.max(np.abs(q - path[-1])) > 0.3:
            return None
        path.append(q)
    path = np.array(path)
    if not checker.path_valid(path, ignore, margin=0.0):
        return None
    return Kin(pre=pre, at=path[-1], approach=path)


def min_jerk(n: int) -> np.ndarray:
    """n samples of the minimum-jerk time scaling from 0 to 1."""
    t = np.linspace(0.0, 1.0, n)
    return 10 * t**3 - 15 * t**4 + 6 * t**5


def pick_kinematics(checker: CollisionChecker, scene: Scene, block: str, grasp: Grasp) -> Kin | None:
    """Kinematics of taking `block` where it lies with `grasp` (the block itself may be touched)."""
    checker.load(scene)
    tool = multiply(scene.poses[block], invert(grasp.block_in_tool))
    return kinematics(checker, tool, frozenset({block}), PHASES.descend + 1)


def place_kinematics(checker: CollisionChecker, holding: Scene, grasp: Grasp, placed: Pose) -> Kin | None:
    """Kinematics of releasing the held block PLACE_GAP above its resting pose `placed`."""
    checker.load(holding)
    release = Pose(placed.position + np.array([0, 0, PLACE_GAP]), placed.orientation)
    return kinematics(checker, multiply(release, invert(grasp.block_in_tool)), frozenset(), PHASES.place_descend + 1)


