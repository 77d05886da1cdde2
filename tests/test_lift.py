"""Lifting over towers (planner.lift): a transit or a carry through a block's column is raised
over it, smoothly and with the tool's axis kept; the start, the dwells and their approaches stay
exactly as they were, the carried block follows the tool, and a path clear of every block is
left alone."""
import numpy as np
import pytest
import torch

from planner.kinematics import ToolFK
from planner.guides import CLEARANCE_MARGIN as MARGIN, transit_and_carry
from planner.lift import Lifter, envelope, needed_rise
from planner.masks import grasp_dwell, release_dwell
from planner.moves import Move
from tasks.demonstrator import Demonstrator
from tasks.goals import parse_goal
from tasks.layout import BLOCK_HEIGHT, NUM_JOINTS, PHASES, layout_of
from tasks.world import World, initial_state


@pytest.fixture(scope="module")
def demonstrated():
    """A real pick-and-place (red onto green, three blocks) in the world frame, and a planning world."""
    state = initial_state(2, 3)
    states = Demonstrator().plan(state, parse_goal("red on green"), 0).states[:PHASES.length].astype(np.float64)
    world = World(n_blocks=3)
    yield states, world
    world.close()


def tool_path(states: np.ndarray) -> np.ndarray:
    return ToolFK()(torch.as_tensor(states[..., :NUM_JOINTS])).numpy()


@pytest.mark.parametrize("window", [0, 1], ids=["transit", "carry"])
def test_a_block_in_the_way_is_passed_over_smoothly(demonstrated, window):
    states, world = demonstrated
    tool = tool_path(states)
    middle = list(transit_and_carry()[window])[len(transit_and_carry()[window]) // 2]
    # blue stands right under the middle of the path, its top 4 cm above where the tool (or the slab it carries) passes
    below = 0.0 if window == 0 else BLOCK_HEIGHT + 0.01
    start = states[0].copy()
    blue = layout_of(start).block("blue").position
    start[blue] = [tool[middle, 0], tool[middle, 1], tool[middle, 2] - below + 0.04 - BLOCK_HEIGHT / 2]
    before = needed_rise(tool[None], start[blue][None])[0]
    assert before[middle] > 0.04 + MARGIN - 0.015

    lifted = Lifter().lift(states[None], start, Move("red", "green"), world)[0]
    after = tool_path(lifted)
    assert needed_rise(after[None], start[blue][None]).max() < 2e-3  # over it, with the margin
    assert after[middle, 2] > tool[middle, 2] + 0.04
    changed = np.flatnonzero(np.abs(lifted[:, :NUM_JOINTS] - states[:, :NUM_JOINTS]).max(1) > 0)
    assert middle in changed and set(changed) <= set(np.flatnonzero(envelope(PHASES.length)))
    untouched = [0, *grasp_dwell(), *release_dwell(), *range(PHASES.release_index, PHASES.length)]
    assert not set(changed) & set(untouched)  # the start, the dwells and what follows the release
    steps_before = np.abs(np.diff(states[:, :NUM_JOINTS], axis=0)).max()
    assert np.abs(np.diff(lifted[:, :NUM_JOINTS], axis=0)).max() < steps_before + 0.05  # faded in and out
    axis = lambda s: ToolFK().pose(torch.as_tensor(s[:, :NUM_JOINTS]))[1][:, :, 2].numpy()  # noqa: E731
    tilt = np.degrees(np.arccos(np.clip((axis(lifted) * axis(states)).sum(-1), -1, 1)))
    assert tilt.max() < 1.0
    red = layout_of(start).block("red").position
    if window == 1:  # the carried block rises with the tool
        assert lifted[middle, red][2] - states[middle, red][2] > 0.04


def test_a_path_clear_of_every_block_is_left_alone(demonstrated):
    states, world = demonstrated
    start = states[0].copy()
    layout = layout_of(start)
    start[layout.block("blue").position] = [-0.6, -0.3, 0.03]
    others = np.array([start[layout.block(b).position] for b in ("green", "blue")])
    assert needed_rise(tool_path(states)[None], others).max() == 0  # the demonstrator's path passes over green
    out = Lifter().lift(states[None], start, Move("red", "green"), world)
    assert np.array_equal(out[0], states)
