import numpy as np
import pytest

from tasks.demonstrator import Demonstrator, PlanningError
from tasks.execute import execute
from tasks.goals import GoalError, TowerOrder, parse_goal, sample_goal
from tasks.layout import LAYOUT, SEGMENT_LENGTH, layout_for
from tasks.world import episode_seed, initial_state


@pytest.fixture(scope="module")
def demonstrator():
    d = Demonstrator()
    yield d
    d.close()


@pytest.mark.parametrize("task", ["unconditional", "conditional", "rearrangement"])
@pytest.mark.parametrize("k", range(3))
def test_solves_and_replays_with_strict_success(demonstrator, task, k):
    seed = episode_seed(11, k, "train")
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


@pytest.mark.parametrize("n", [2, 6])
def test_any_number_of_blocks_stacks_one_tower(demonstrator, n):
    seed = episode_seed(3, n, "train")
    state = initial_state(seed, n)
    goal = sample_goal("conditional", np.random.default_rng(seed), state)
    assert len(goal.order) == n
    result = demonstrator.solve(state, goal, seed)
    assert result.states.shape == ((n - 1) * SEGMENT_LENGTH, layout_for(n).dim)
    replay = execute(result.states, goal)
    assert replay.strict_success


def test_a_goal_naming_a_block_the_scene_lacks_is_refused(demonstrator):
    with pytest.raises(GoalError, match="'orange', which this scene of 4 blocks does not have"):
        demonstrator.solve(initial_state(0), parse_goal("orange on red"), 0)


def test_refuses_to_start_while_holding(demonstrator):
    s = initial_state(0)
    s[LAYOUT.block("red").attached] = 1.0
    with pytest.raises(PlanningError, match="no block held"):
        demonstrator.solve(s, parse_goal("red on green"), 0)


def test_free_floor_keeps_clear_of_the_blocks_and_of_the_spots_it_is_told_to_avoid():
    """Free floor is drawn clear of the other blocks and of a reference's spots in one loop (with
    eight blocks and two spots, drawing first and filtering after left the demonstrator with no
    candidate and no reason); where nothing is free, nothing comes."""
    import itertools
    import math

    from tasks.kinematics import Scene, placements
    from tasks.layout import SCENE_MIN_SEPARATION, SCENE_RADIUS
    from tasks.world import Pose

    layout = layout_for(8)
    _, pos, orn, _ = layout.decompose(initial_state(1, 8))
    scene = Scene({b: Pose(pos[b], orn[b]) for b in layout.blocks})
    rng = np.random.default_rng(0)
    spots = tuple(p.position[:2] for p in itertools.islice(placements(scene, "red", "floor", rng), 1))  # on free floor
    found = list(placements(scene, "red", "floor", rng, avoid=spots))
    assert found
    others = [pos[b][:2] for b in layout.blocks if b != "red"] + list(spots)
    for pose in found:
        assert SCENE_RADIUS[0] <= np.linalg.norm(pose.position[:2]) <= SCENE_RADIUS[1]
        assert min(np.linalg.norm(pose.position[:2] - o) for o in others) >= SCENE_MIN_SEPARATION
    ring = [np.array([r * math.cos(a), r * math.sin(a)]) for r in np.linspace(*SCENE_RADIUS, 4)
            for a in np.linspace(-math.pi, math.pi, 90)]
    assert not list(placements(scene, "red", "floor", rng, avoid=tuple(ring)))


def test_where_physics_left_a_block_off_its_place_the_rest_is_planned_again_from_there(monkeypatch):
    """A parked tower leaned a little further at each move until a grasp on it missed (eight-block
    references): the demonstrator plays its plan move by move and, past DRIFT, plans the rest
    from the state physics reached. Here every move counts as drifted."""
    from tasks.demonstrator import solver

    monkeypatch.setattr(solver, "DRIFT", -1.0)
    d = Demonstrator()
    starts = []
    solve = d.solve
    monkeypatch.setattr(d, "solve", lambda state, goal, seed: starts.append(np.array(state)) or solve(state, goal, seed))
    state, goal = initial_state(2), TowerOrder(("red", "green", "blue", "yellow"))
    try:
        states, played = d._closed_loop(state, goal, 0)
    finally:
        d.close()
    assert len(starts) == 3 and len(states) == 3 * SEGMENT_LENGTH  # one solve per move, end to end
    result = execute(states, goal, start=state)  # its physics was the execution's
    assert result.strict_success and played.strict_success and played.score == result.score
    np.testing.assert_array_equal(played.states, result.states)
    np.testing.assert_array_equal(played.final_state, result.final_state)
    # each later part starts where physics was when its move ended (realised, not planned)
    for k, start in enumerate(starts[1:], 1):
        np.testing.assert_allclose(start, result.states[k * SEGMENT_LENGTH - 1], atol=1e-6)
        assert np.array_equal(states[k * SEGMENT_LENGTH], start.astype(np.float32))


def test_the_plans_execution_is_played_once_and_is_what_physics_gives(demonstrator):
    """The closed loop's physics answers the caller's execute() of the same plan (tasks.execute
    keeps it); run again from nothing, physics gives the same."""
    from tasks import execute as ex

    state, goal = initial_state(4), parse_goal("blue on red, yellow on green")
    plan = demonstrator.plan(state, goal, 0)
    kept = execute(plan.states, goal, start=state)
    assert kept is execute(plan.states, goal, start=state)  # no physics run twice
    ex._known.clear()
    again = execute(plan.states, goal, start=state)
    assert again is not kept and again.strict_success and again.score == kept.score
    np.testing.assert_array_equal(again.states, kept.states)
    np.testing.assert_array_equal(again.final_state, kept.final_state)
    np.testing.assert_array_equal(again.rewards, kept.rewards)
    ex.remember(plan.states, goal, state, kept)  # other inputs run physics
    assert execute(plan.states.astype(np.float64), goal, start=state) is not kept
    assert execute(plan.states, parse_goal("red on blue"), start=state) is not kept
    assert execute(plan.states, goal) is not kept  # from its own first state, in float32
