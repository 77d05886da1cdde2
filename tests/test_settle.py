"""Settling the dwells (planner.settle): the tool ends exactly on the guide's targets, the block
turns as a floor spot asks, and the motion stays as smooth as the sample."""
import numpy as np
import pytest
import torch

from planner.kinematics import tool_yaw
from planner.masks import grasp_dwell, release_dwell
from planner.move_data import load
from planner.settle import Settler, quarter_wrap, ramp
from tasks.layout import NUM_JOINTS


@pytest.fixture(scope="module")
def settler():
    return Settler()


@pytest.fixture(scope="module")
def demonstrated():
    """Four demonstrated pick-and-places (canonical channels), the demonstrator's exact dwells."""
    return load("assets/sample_demos.h5").channels[:4].astype(np.float64)


def dwell_pose(settler, channels, dwell):
    q = torch.as_tensor(channels[:, list(dwell), :NUM_JOINTS].mean(1))
    return settler.fk.pose(q)


def test_ramp_is_one_through_the_dwell_zero_at_the_start_and_fades_smoothly():
    w = ramp(128, range(45, 50), 12, 12)
    assert w[0] == 0 and (w[45:50] == 1).all() and w[:33].sum() == 0 and w[62:].sum() == 0
    assert (np.diff(w[32:46]) > 0).all() and (np.diff(w[49:63]) < 0).all()
    assert np.abs(np.diff(w)).max() < 0.25  # no jump into the dwell


def test_settled_dwells_reach_the_targets_and_the_turn(settler, demonstrated):
    grasp, grasp_rot = dwell_pose(settler, demonstrated, grasp_dwell())
    release, release_rot = dwell_pose(settler, demonstrated, release_dwell())
    shove = torch.tensor([0.04, -0.03, 0.02], dtype=torch.float64)  # targets a few centimetres from where the demos go
    turn_now = quarter_wrap(tool_yaw(release_rot) - tool_yaw(grasp_rot))
    for i, c in enumerate(demonstrated):
        disturbed = c[None].copy()
        settled = settler.settle(disturbed, grasp[i] + shove, release[i] - shove, float(turn_now[i]) + 0.3)
        g, g_rot = dwell_pose(settler, settled, grasp_dwell())
        r, r_rot = dwell_pose(settler, settled, release_dwell())
        assert float(torch.linalg.norm(g[0] - (grasp[i] + shove))) < 2e-3
        assert float(torch.linalg.norm(r[0] - (release[i] - shove))) < 2e-3
        twist = quarter_wrap(tool_yaw(r_rot[0]) - tool_yaw(g_rot[0]) - (turn_now[i] + 0.3))
        assert abs(float(twist)) < np.radians(1.0)
        assert np.array_equal(settled[0, 0], c[0])  # the start state is never changed
        assert np.array_equal(settled[0, :, NUM_JOINTS], c[:, NUM_JOINTS])  # nor the gripper
        # the correction is faded in and out: no joint step grows by more than a few hundredths of a radian
        step_before = np.abs(np.diff(c[:, :NUM_JOINTS], axis=0)).max()
        step_after = np.abs(np.diff(settled[0, :, :NUM_JOINTS], axis=0)).max()
        assert step_after < step_before + 0.05


def test_no_turn_asked_leaves_the_yaw_free(settler, demonstrated):
    release, _ = dwell_pose(settler, demonstrated, release_dwell())
    grasp, _ = dwell_pose(settler, demonstrated, grasp_dwell())
    for i, c in enumerate(demonstrated):
        settled = settler.settle(c[None], grasp[i], release[i], None)
        # already on target: settling moves nothing measurable
        assert np.abs(settled[0] - c).max() < 1e-3
