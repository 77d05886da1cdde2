"""The guides' values are the quantities their docstrings name, to the number: a guide that is off
by a sign, a square or a tolerance still pulls "uphill" in a gradient test, so these check the
values themselves (planner.guides). The clearance guide judges the transit and the carry only,
never the grasp and the release, where the tool must come close to blocks."""
import math

import numpy as np
import pytest
import torch

from planner.guides import CLEARANCE_MARGIN, LINK_RADIUS, SLAB_RADIUS, Clearance, PlacedAt, PlacedOn, ToolAt
from planner.masks import grasp_dwell, release_dwell
from tasks.layout import BLOCK_HEIGHT, LAYOUT, NUM_JOINTS, PHASES
from tasks.world import HOME_JOINTS

RED, GREEN = LAYOUT.block("red"), LAYOUT.block("green")


def stacked(offset=(0.0, 0.0, 0.0), held: float = 0.0) -> torch.Tensor:
    """A (1, 128, 39) segment: green on red, displaced by `offset` over the release."""
    x = torch.zeros(1, PHASES.length, LAYOUT.dim)
    x[..., RED.position] = torch.tensor([0.6, 0.0, BLOCK_HEIGHT / 2])
    x[..., GREEN.position] = torch.tensor([0.6, 0.0, 1.5 * BLOCK_HEIGHT]) + torch.tensor(offset)
    x[..., GREEN.attached] = held
    return x


def test_placed_on_is_minus_the_squared_misplacement_and_the_held_flag():
    guide = PlacedOn("green", "red")
    assert float(guide(stacked())) == pytest.approx(0.0, abs=1e-9)
    assert float(guide(stacked((0.03, 0.04, 0.0)))) == pytest.approx(-0.05 ** 2, rel=1e-4)  # xy: 5 cm
    assert float(guide(stacked((0.0, 0.0, 0.02)))) == pytest.approx(-0.02 ** 2, rel=1e-4)  # 2 cm above rest
    assert float(guide(stacked((0.0, 0.0, -0.02)))) == pytest.approx(-0.02 ** 2, rel=1e-4)  # 2 cm into red
    assert float(guide(stacked(held=1.0))) == pytest.approx(-1.0, rel=1e-6)  # still held


def spot_segment(dx: float, yaw: float, held: float = 0.0) -> torch.Tensor:
    x = torch.zeros(1, 3, LAYOUT.dim)
    x[..., RED.position] = torch.tensor([0.55 + dx, 0.2, BLOCK_HEIGHT / 2])
    x[..., RED.orientation] = torch.tensor([0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)])
    x[..., RED.attached] = held
    return x


def test_placed_at_counts_each_error_in_its_tolerance_and_a_quarter_turn_as_none():
    guide = PlacedAt("red", (0.55, 0.2), 0.3, xy_tolerance=0.02, yaw_tolerance=0.1)
    assert guide.errors(spot_segment(0.01, 0.3)).numpy()[0] == pytest.approx([0.5, 0.0, 0.0], abs=1e-4)
    assert guide.errors(spot_segment(0.0, 0.35)).numpy()[0] == pytest.approx([0.0, 0.5, 0.0], abs=1e-4)
    assert guide.errors(spot_segment(0.0, 0.3 + math.pi / 2)).numpy()[0] == pytest.approx([0, 0, 0], abs=1e-4)
    assert guide.errors(spot_segment(0.0, 0.3, held=1.0)).numpy()[0] == pytest.approx([0, 0, 1], abs=1e-4)
    both = spot_segment(0.04, 0.5)  # 2 and 2 tolerances off
    assert float(guide(both)) == pytest.approx(-(2.0 ** 2 + 2.0 ** 2), rel=1e-3)
    assert guide.met(torch.cat([spot_segment(0.019, 0.39), spot_segment(0.021, 0.3), spot_segment(0.0, 0.41),
                                spot_segment(0.0, 0.3, held=0.6)])).tolist() == [True, False, False, False]


def home_channels(steps: int = PHASES.length) -> torch.Tensor:
    x = torch.zeros(1, steps, NUM_JOINTS + 1)
    x[..., :NUM_JOINTS] = torch.tensor(HOME_JOINTS, dtype=torch.float32)
    return x


def test_tool_at_is_minus_the_mean_squared_distance_over_both_dwells():
    x = home_channels()
    probe = ToolAt(np.zeros(3), np.zeros(3))
    tool = probe.fk(x[:, :1, :NUM_JOINTS])[0, 0].numpy()
    on = ToolAt(tool, tool)
    assert float(on(x)) == pytest.approx(0.0, abs=1e-9)
    off = ToolAt(tool + [0.03, 0.0, 0.0], tool + [0.0, 0.0, 0.05])  # 3 cm off at the grasp, 5 at the release
    assert off.errors(x).numpy()[0] == pytest.approx([0.03, 0.05], abs=1e-5)
    g, r = len(list(grasp_dwell())), len(list(release_dwell()))
    assert float(off(x)) == pytest.approx(-(g * 0.03 ** 2 + r * 0.05 ** 2) / (g + r), rel=1e-3)


def test_clearance_overlap_is_reach_times_depth_below_the_column_top():
    point = torch.tensor([[[[0.6, 0.0, 0.05]]]])  # (B, T, P, 3)
    column = torch.tensor([[0.6 + 0.02, 0.0, 0.09]])  # a block centre 2 cm aside, its top at 0.12
    depth = 0.09 + BLOCK_HEIGHT / 2 + CLEARANCE_MARGIN - 0.05
    expected = (LINK_RADIUS + SLAB_RADIUS - 0.02) * depth
    assert float(Clearance._overlap(point, column, LINK_RADIUS)) == pytest.approx(expected, rel=1e-5)
    above = point + torch.tensor([0.0, 0.0, depth + 0.01])
    assert float(Clearance._overlap(above, column, LINK_RADIUS)) == 0.0


def test_clearance_judges_the_transit_and_the_carry_and_never_the_grasp_or_the_release():
    x = home_channels()
    away = x.clone()
    away[..., 0] += math.pi  # joint 1 turned round: the arm far from the column below
    probe = Clearance(np.zeros((0, 3)))
    tool = probe.fk(x[:, :1, :NUM_JOINTS])[0, 0].numpy()
    guide = Clearance([[tool[0], tool[1], tool[2]]])  # a block centred at the tool: the arm passes through it
    judged = []
    for t in range(PHASES.length):
        y = away.clone()
        y[:, t] = x[:, t]
        judged.append(float(guide(y)) < 0)
    carry_start = PHASES.grasp_index + PHASES.grasp_dwell + PHASES.lift
    expected = [1 <= t < 1 + PHASES.transit or carry_start <= t < carry_start + PHASES.carry
                for t in range(PHASES.length)]
    assert judged == expected
    assert float(guide(away)) == 0.0
