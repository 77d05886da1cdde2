"""The clearance guide (planner.guides.Clearance): a carry through a tower is penalised, and its
gradient lifts the arm; a carry high above every block costs nothing."""
import numpy as np
import torch

from planner.guides import Clearance
from planner.move_data import load
from tasks.layout import NUM_JOINTS


def carry_tool(guide, x):
    return guide.fk(torch.as_tensor(x[:, guide.carry, :NUM_JOINTS]))


def test_a_tower_under_the_carry_is_penalised_and_the_gradient_lifts_the_tool():
    x = torch.as_tensor(load("assets/sample_demos.h5").channels[:1])
    probe = Clearance(np.zeros((0, 3)))
    tool = carry_tool(probe, x)[0]
    middle = tool[len(tool) // 2].numpy()
    # a tower of slabs right under the middle of the carry, reaching 5 cm above the tool
    tower = [[middle[0], middle[1], z] for z in np.arange(0.03, middle[2] + 0.05, 0.06)]
    guide = Clearance(tower)
    value, grad = guide.gradients(x)
    assert float(value) < -1e-3
    moved = x + 1e-2 * grad / grad.abs().max()
    assert float(guide(moved)) > float(value)  # uphill on the guide ...
    assert float(carry_tool(guide, moved)[0, :, 2].mean()) > float(tool[:, 2].mean())  # ... is upwards


def test_blocks_far_below_or_aside_cost_nothing():
    x = torch.as_tensor(load("assets/sample_demos.h5").channels[:1])
    assert float(Clearance(np.zeros((0, 3)))(x)) == 0.0
    assert float(Clearance([[5.0, 5.0, 0.03]])(x)) == 0.0
