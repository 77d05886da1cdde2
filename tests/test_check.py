"""The physics check predicts the execution (planner/check.py): the planner's world ends where the
plan's execution ends, and a candidate that pushes a block it did not move does not pass."""
import numpy as np
import pytest

from planner.check import as_executed, others_in_place
from planner.moves import Move
from tasks.goals import parse_goal
from tasks.layout import layout_of
from tasks.world import initial_state



@pytest.mark.parametrize("check", [False, True], ids=["single sample", "physics check"])
def test_the_planners_world_ends_where_the_execution_ends(check):
    """Before, the check played float64 candidates without the boundary's hold: the planner's
    world ended 1.7 mm (single sample) and 7 mm (the check) from the execution on this goal, and on
    a six-block tower the difference decided whether a block was knocked off."""
    from planner.config import SHIPPED_CHECKPOINT, SHIPPED_MOVER, PlannerSettings
    from planner.plan import DiffuserPlanner
    from tasks.execute import execute

    settings = PlannerSettings(candidates=2 if check else 1, physics_check=check, mover=str(SHIPPED_MOVER))
    planner = DiffuserPlanner(str(SHIPPED_CHECKPOINT), settings)
    start, goal = initial_state(5, 5), parse_goal("yellow,orange,red")
    try:
        plan = planner.plan(start, goal, seed=1)
        world_end = planner.world.get_state()
    finally:
        planner.close()
    assert len(plan.segments) >= 2  # a boundary between segments was crossed
    result = execute(plan.states, goal, start=start)
    np.testing.assert_allclose(world_end, result.states[-1], atol=1e-6)


def test_a_block_the_move_did_not_take_must_stay_in_place():
    before = initial_state(3, 4)
    layout = layout_of(before)
    move = Move("red", "green")
    after = before.copy()
    after[layout.block("red").position] += [0.3, 0.0, 0.06]  # the moved block may go anywhere
    assert others_in_place(before, after, move)
    after[layout.block("blue").position][0] += 0.015  # nudged: within 2 cm
    assert others_in_place(before, after, move)
    after[layout.block("blue").position][0] += 0.01  # pushed 2.5 cm
    assert not others_in_place(before, after, move)
    dropped = before.copy()
    dropped[layout.block("yellow").position][2] -= 0.02  # fell
    assert not others_in_place(before, dropped, move)


def test_candidates_are_played_as_stored_with_the_boundarys_hold():
    traj = np.random.default_rng(0).normal(size=(3, 5, 39))
    first, later = as_executed(traj, hold=False), as_executed(traj, hold=True)
    assert first.dtype == np.float32 and first.shape == (3, 5, 39)
    assert later.shape == (3, 6, 39) and (later[:, 0] == later[:, 1]).all()
    np.testing.assert_array_equal(later[:, 1:], traj.astype(np.float32))


def test_when_no_ranked_candidate_passes_the_rest_and_then_a_new_batch_are_tried():
    """The rescue (`--rescues`): the first max_checks fail, then the rest of the batch, then the
    batch `more` gives is checked; without `more` the best failed candidate is played."""
    from planner.check import commit
    from planner.choice import achieved, read_move
    from tasks.dataset import load_states
    from tasks.layout import PHASES
    from tasks.world import World
    from tests.model_helpers import SAMPLE

    seg = next(iter(load_states(SAMPLE, ["demo_0"]).values()))[:PHASES.length].astype(np.float64)
    start, move = seg[0], read_move(seg, seg[0])
    goal = parse_goal(f"{move.block} on {move.onto}")
    idle = np.repeat(seg[:1], len(seg), 0)  # the arm stays where it is: the move is not made
    failing = np.stack([idle] * 3)
    asked = []

    def more():
        asked.append(True)
        return (seg[None], np.array([0])) if len(asked) == 1 else None

    world = World.for_state(start)
    try:
        world.set_state(start)
        chosen, tried, every = commit(world, failing, np.arange(3), move, start, goal, 2, hold=False, more=more)
        assert (chosen, tried, len(every)) == (3, 4, 4) and asked == [True]  # 2 ranked, the rest, the new one
        assert achieved(start, world.get_state(), move)
        world.set_state(start)
        chosen, tried, every = commit(world, failing, np.arange(3), move, start, goal, 2, hold=False)
        assert (tried, len(every)) == (2, 3) and not achieved(start, world.get_state(), move)
        from tasks.stopping import Cancelled

        with pytest.raises(Cancelled):  # the app's Cancel between two candidates
            commit(world, failing, np.arange(3), move, start, goal, 2, hold=False, more=more, should_stop=lambda: True)
    finally:
        world.close()


def test_the_planner_rescues_a_segment_whose_candidates_all_fail_and_keeps_the_denoising(monkeypatch):
    """End to end through DiffuserPlanner: the first batch's two candidates are made to fail the
    check, so the rescue draws a batch, one of whose candidates is chosen and kept with its
    denoising steps."""
    import planner.check as check
    from planner.config import SHIPPED_CHECKPOINT, SHIPPED_MOVER, PlannerSettings
    from planner.plan import DiffuserPlanner

    calls = []

    def fail_the_first_two(before, after, move):
        calls.append(move)
        return len(calls) > 2

    monkeypatch.setattr(check, "others_in_place", fail_the_first_two)
    settings = PlannerSettings(candidates=2, max_checks=1, rescues=1, extra_segments=0, mover=str(SHIPPED_MOVER))
    planner = DiffuserPlanner(str(SHIPPED_CHECKPOINT), settings)
    try:
        plan = planner.plan(initial_state(5, 4), parse_goal("red on green"), seed=1, keep_denoising=True)
    finally:
        planner.close()
    seg = plan.segments[0]
    assert (seg.sampled, seg.checked) == (4, 3) and seg.chosen in (2, 3) and seg.achieved
    assert plan.denoising is not None and plan.denoising.shape[1] == settings.steps


def test_a_move_retried_after_its_rescue_failed_is_not_rescued_again():
    """Red out of the arm's reach: no candidate can pass. The first segment tries its batch and
    the rescue's; the retry of the same move checks its first max_checks only (eight-block references
    spent up to 275 s a plan rescuing one hopeless move again and again)."""
    from planner.config import SHIPPED_CHECKPOINT, SHIPPED_MOVER, PlannerSettings
    from planner.plan import DiffuserPlanner

    state = initial_state(5, 2)
    state[layout_of(state).block("red").position] = [0.0, 1.1, state[layout_of(state).block("red").position][2]]
    settings = PlannerSettings(candidates=2, max_checks=1, rescues=1, batches=1, extra_segments=1,
                               mover=str(SHIPPED_MOVER))
    planner = DiffuserPlanner(str(SHIPPED_CHECKPOINT), settings)
    try:
        plan = planner.plan(state, parse_goal("red on green"), seed=1)
    finally:
        planner.close()
    assert [(s.move, s.achieved, s.sampled, s.checked) for s in plan.segments] == [
        ("red on green", False, 4, 4), ("red on green", False, 2, 1)]
