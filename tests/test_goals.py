import numpy as np
import pytest

from tasks.goals import (
    Arrangement, GoalError, TowerOrder, Unconditional, goal_from_json, parse_goal, sample_goal,
)


def test_parse_each_form():
    assert parse_goal("red,green,blue,yellow") == TowerOrder(("red", "green", "blue", "yellow"))
    assert parse_goal(" Green on Red, yellow on blue ") == Arrangement((("green", "red"), ("yellow", "blue")))
    assert parse_goal("tallest") == Unconditional()
    assert TowerOrder(("red", "green", "blue")).pairs == (("green", "red"), ("blue", "green"))


@pytest.mark.parametrize("text, message", [
    ("red,magenta", "unknown block 'magenta'"),
    ("red,green,red", "'red' used twice"),
    ("red", "2 to 8 blocks"),
    ("", "empty goal"),
    ("red,,green", "empty block name"),
    ("red on red", "cannot be on itself"),
    ("red on green, red on blue", "cannot be on two blocks"),
    ("red on green, blue on green", "two blocks cannot be on 'green'"),
    ("red on green, green on red", "cycle red on green on red"),
    ("red on green, green on blue, blue on red", "cycle"),
    ("red on green, red on green", "given twice"),
    ("red over green", "expected 'TOP on BOTTOM'"),
    ("magenta on red", "unknown block 'magenta'"),
])
def test_bad_goals_name_the_problem(text, message):
    with pytest.raises(GoalError, match=message):
        parse_goal(text)


@pytest.mark.parametrize("goal", [
    Unconditional(), TowerOrder(("blue", "red")), Arrangement((("green", "red"), ("yellow", "blue"))),
])
def test_json_round_trip(goal):
    assert goal_from_json(goal.to_json()) == goal


def test_bad_json_goal():
    with pytest.raises(GoalError):
        goal_from_json("{not json")
    with pytest.raises(GoalError):
        goal_from_json('{"colour": 1}')


def test_samplers_are_seeded_and_valid():
    for task, kind in [("conditional", TowerOrder), ("rearrangement", Arrangement), ("unconditional", Unconditional)]:
        goals = [sample_goal(task, np.random.default_rng(s)) for s in range(50)]
        assert all(isinstance(g, kind) for g in goals)
        assert goals == [sample_goal(task, np.random.default_rng(s)) for s in range(50)]
    orders = {sample_goal("conditional", np.random.default_rng(s)).order for s in range(200)}
    assert len(orders) > 15  # random permutations, not a fixed few
    sizes = {len(sample_goal("rearrangement", np.random.default_rng(s)).pairs) for s in range(200)}
    assert sizes == {1, 2, 3}
    with pytest.raises(GoalError, match="unknown task"):
        sample_goal("juggling", np.random.default_rng(0))


def test_arrangement_towers():
    g = parse_goal("green on red, blue on green, yellow on blue")
    assert g.towers() == [("red", "green", "blue", "yellow")]
