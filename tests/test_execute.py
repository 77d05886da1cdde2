import numpy as np

from tasks.kinematics import CollisionChecker, Scene, grasps, kinematics
from tasks.world import invert, multiply
from tasks.execute import execute
from tasks.goals import TowerOrder
from tasks.layout import LAYOUT
from tasks.world import Pose, World, initial_state


def _with(state, joints, flags):
    s = state.copy()
    s[LAYOUT.joints] = joints
    for b in LAYOUT.blocks:
        s[LAYOUT.block(b).attached] = flags.get(b, 0.0)
    return s


def _grasp_and_lift(seed=0, block="red"):
    """Waypoints: go down onto `block`, close, lift, open. Returns (states, start)."""
    start = initial_state(seed)
    _, pos, orn, _ = LAYOUT.decompose(start)
    with World() as w:
        checker = CollisionChecker(w)
        scene = Scene({b: Pose(pos[b], orn[b]) for b in LAYOUT.blocks})
        checker.load(scene)
        for g in grasps(scene, block):
            kin = kinematics(checker, multiply(scene.poses[block], invert(g.block_in_tool)), frozenset({block}), 13)
            if kin is not None:
                break
    q0 = start[LAYOUT.joints]
    path = [q0 + (kin.pre - q0) * s for s in np.linspace(0, 1, 25)] + list(kin.approach[1:])
    states = [_with(start, q, {}) for q in path]
    states += [_with(start, kin.at, {block: 1.0})] * 4
    states += [_with(start, q, {block: 1.0}) for q in kin.approach[::-1]]
    states += [_with(start, kin.pre, {})] * 3
    return np.array(states), start


def test_closing_at_the_block_attaches_and_lifts_it_then_opening_drops_it():
    states, start = _grasp_and_lift()
    result = execute(states, TowerOrder(("red", "green")))
    red = LAYOUT.block("red")
    z0 = start[red.position][2]
    lifted = result.states[-4]  # last waypoint with the flag on
    assert lifted[red.attached] == 1.0
    assert lifted[red.position][2] > z0 + 0.1
    assert result.states[-1][red.attached] == 0.0
    assert abs(result.final_state[red.position][2] - z0) < 0.01  # fell back to the floor


def test_closing_in_mid_air_grasps_nothing():
    start = initial_state(0)
    states = np.array([start] + [_with(start, start[LAYOUT.joints], {"red": 1.0})] * 5)
    result = execute(states, TowerOrder(("red", "green")))
    assert np.all(result.states[:, LAYOUT.attached_dims] == 0)
    np.testing.assert_allclose(result.final_state[LAYOUT.block("red").position], start[LAYOUT.block("red").position], atol=1e-3)


def test_execution_is_deterministic():
    states, _ = _grasp_and_lift(seed=1, block="blue")
    a, b = execute(states, TowerOrder(("red", "blue"))), execute(states, TowerOrder(("red", "blue")))
    np.testing.assert_array_equal(a.states, b.states)
    np.testing.assert_array_equal(a.rewards, b.rewards)
