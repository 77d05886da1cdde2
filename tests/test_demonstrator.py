import numpy as np
import pytest

from tasks.demonstrator import Demonstrator, PlanningError
from tasks.demonstrator.symbolic import SymbolicPlanner, initial_facts
from tasks.execute import execute
from tasks.goals import TowerOrder, parse_goal, sample_goal
from tasks.layout import BLOCK_NAMES, LAYOUT, SEGMENT_LENGTH
from tasks.world import episode_seed, initial_state


@pytest.fixture(scope="module")
def demonstrator():
    d = Demonstrator()
    yield d
    d.close()


@pytest.mark.parametrize("task", ["unconditional", "conditional", "rearrangement"])
@pytest.mark.parametrize("k", range(3))
def test_solves_and_replays_with_strict_success(demonstrator, task, k):
    seed = episode_seed(11, k)
    goal = sample_goal(task, np.random.default_rng(seed))
    result = demonstrator.solve(initial_state(seed), goal, seed)
    moves = 3 if task != "rearrangement" else len(goal.pairs)
    assert result.states.shape == (moves * SEGMENT_LENGTH, LAYOUT.dim)
    replay = execute(result.states, goal)
    assert replay.score == 100 and replay.strict_success


def test_unstacks_what_is_in_the_way(demonstrator):
    seed = 5
    tower = demonstrator.solve(initial_state(seed), TowerOrder(("red", "green", "yellow")), seed)
    stacked = tower.states[-1].astype(np.float64)
    goal = parse_goal("red on yellow")  # yellow is on green on red: both must come off first
    result = demonstrator.solve(stacked, goal, seed)
    assert len(result.states) == 3 * SEGMENT_LENGTH
    replay = execute(result.states, goal)
    assert replay.strict_success


def test_symbolic_skeleton_alternates_moves_and_manipulations():
    plan = next(SymbolicPlanner().plans(initial_facts({b: "floor" for b in BLOCK_NAMES}), frozenset({("on", "green", "red")})))
    assert [s.action for s in plan] == ["move_free", "pick", "move_holding", "stack"]
    assert plan[1].args["b"] == "green" and plan[3].args["s"] == "red"


def test_refuses_to_start_while_holding(demonstrator):
    s = initial_state(0)
    s[LAYOUT.block("red").attached] = 1.0
    with pytest.raises(PlanningError, match="no block held"):
        demonstrator.solve(s, parse_goal("red on green"), 0)
