"""Reference arrangements: floor spots, 'clear', any resting start, the demonstrator's plans."""
import math
from dataclasses import replace

import numpy as np
import pytest

import main
from tasks.demonstrator import Demonstrator
from tasks.execute import execute
from tasks.goals import GoalError, goal_from_json, parse_goal, sample_goal
from tasks.layout import BLOCK_HEIGHT, BLOCK_NAMES, LAYOUT
from tasks.reference import FloorSpot, Reference
from tasks.rewards import at_spot, on_floor, reward, strict_success
from tasks.scene import SymbolicScene
from tasks.starts import load_start_state, plan_end_state, resting_state, start_state
from tasks.world import yaw_quaternion


def test_text_and_json_forms_read_back_as_the_same_goal():
    g = parse_goal("red at 0.55,0.20,30deg; green on red, blue at -0.1,0.6")
    assert isinstance(g, Reference) and g.task == "arrangement"
    assert g.pairs == (("green", "red"),) and {s.block for s in g.spots} == {"red", "blue"}
    assert g.spot("red") == FloorSpot("red", 0.55, 0.2, 30.0)
    assert parse_goal(str(g)) == g and goal_from_json(g.to_json()) == g
    assert parse_goal("clear") == Reference(clear=True)
    assert isinstance(parse_goal("green on red; yellow on blue"), Reference)
    assert parse_goal("green on red, yellow on blue").task == "rearrangement"  # the paper's goal, unchanged


@pytest.mark.parametrize("text, message", [
    ("red at 0.90,0.00", "out of reach"),
    ("red at -0.6,0.0", "out of reach"),  # behind the robot, past joint 1's range
    ("red at 0.55,0.20; green at 0.56,0.25", "two blocks at one spot"),
    ("red at 0.55,0.20; green on red; red on green", "cycle"),
    ("red at 0.55,0.20; red on blue", "both on the floor at a spot and on another block"),
    ("red at 0.55,0.20; red at 0.0,0.6", "two floor spots"),
    ("clear; green on red", "'clear' puts every block on the floor"),
    ("magenta at 0.55,0.20", "unknown block 'magenta'"),
    ("red at 0.55; clear", "cannot read"),
])
def test_bad_references_name_the_problem(text, message):
    with pytest.raises(GoalError, match=message):
        parse_goal(text)


def test_bad_reference_json_names_the_problem():
    with pytest.raises(GoalError, match="'at' must be a list"):
        goal_from_json('{"at": {"red": [0.5, 0.2]}}')
    with pytest.raises(GoalError, match="must be numbers"):
        goal_from_json('{"at": [{"block": "red", "x": "near", "y": 0.2}]}')


def _state(positions: dict, yaws: dict | None = None) -> np.ndarray:
    pos = {b: np.array([0.3 * i - 0.5, 0.7, BLOCK_HEIGHT / 2]) for i, b in enumerate(BLOCK_NAMES)}
    pos.update({b: np.asarray(p, float) for b, p in positions.items()})
    orn = {b: yaw_quaternion((yaws or {}).get(b, 0.0)) for b in BLOCK_NAMES}
    return LAYOUT.compose(np.zeros(7), pos, orn)


def test_spot_tolerances_and_the_score():
    spot = FloorSpot("red", 0.55, 0.2, 30.0)
    h = BLOCK_HEIGHT / 2
    assert at_spot(_state({"red": [0.57, 0.2, h]}, {"red": math.radians(30 + 90 + 10)}), spot)  # square: 90 deg alike
    assert not at_spot(_state({"red": [0.59, 0.2, h]}, {"red": math.radians(30)}), spot)  # 4 cm off
    assert not at_spot(_state({"red": [0.55, 0.2, h]}, {"red": math.radians(50)}), spot)  # 20 degrees off
    assert not at_spot(_state({"red": [0.55, 0.2, 3 * h]}, {"red": math.radians(30)}), spot)  # not on the floor
    goal = Reference(pairs=(("green", "blue"),), spots=(spot,))
    half = _state({"red": [0.55, 0.2, h]}, {"red": math.radians(30)})
    assert reward(half, goal) == pytest.approx(1.5) and not strict_success(half, goal)
    tower = _state({"blue": [0.0, 0.6, h], "green": [0.0, 0.6, 3 * h], "red": [0.55, 0.2, h]}, {"red": math.radians(30)})
    assert reward(tower, goal) == 3.0 and strict_success(tower, goal)
    assert strict_success(_state({}), Reference(clear=True)) and all(on_floor(_state({}), b) for b in BLOCK_NAMES)
    assert not strict_success(tower, Reference(clear=True))


def test_resting_starts_hold_towers_and_are_seeded():
    heights = []
    for seed in range(8):
        s = resting_state(seed)
        assert np.array_equal(s, resting_state(seed))
        assert np.all(s[LAYOUT.attached_dims] == 0)
        heights.append(SymbolicScene.read(s).tallest[1])
    assert max(heights) >= 3 and min(heights) <= 2  # towers of several heights, all resting strictly
    assert np.allclose(start_state("conditional", 3)[:7], start_state("arrangement", 3)[:7], atol=1e-3)  # the arm at home


def test_the_demonstrator_unstacks_rebuilds_and_clears_from_where_the_last_plan_ended():
    demo = Demonstrator()
    state = start_state("arrangement", 5)
    for text in ("red,green,blue,yellow", "yellow,blue,green,red", "red at 0.55,0.20; green on red", "clear"):
        goal = parse_goal(text)
        plan = demo.plan(state, goal, 0)
        result = execute(plan.states, goal, start=state)
        assert result.strict_success and result.score == 100.0, text
        state = result.final_state.astype(np.float64)
    demo.close()
    assert SymbolicScene.read(state).tallest[1] == 1


def test_sampled_references_avoid_the_start_and_the_diffuser_plans_floor_moves(tmp_path, capsys):
    rng = np.random.default_rng(0)
    start = start_state("arrangement", 11)
    for _ in range(20):
        g = sample_goal("arrangement", rng, start)
        for s in g.spots:
            assert all(np.linalg.norm(start[LAYOUT.block(b).position][:2] - s.xy) >= 0.32 for b in BLOCK_NAMES)
    code = main.main(["plan", "--planner", "diffuser", "--goal", "red at 0.55,0.20", "--seed", "2", "--out",
                      str(tmp_path / "p.h5"), "--candidates", "2", "--extra-segments", "0"])
    out = capsys.readouterr().out
    assert code == 0 and "red to the floor at 0.550,0.200" in out
    from tasks.plans import load_plan

    plan = load_plan(tmp_path / "p.h5", "plan_00000")
    assert "in physics: score 100, strict success yes" in out and plan.score == 100 and plan.strict_success
    assert plan.planner == "diffuser" and plan.segments[-1].achieved and plan.settings["candidates"] == 2
    # With the physics check, a placement draws up to --batches batches until one candidate is
    # predicted to land on its spot; without the check, one batch as the paper.
    from planner.config import PlannerSettings
    from planner.plan import DiffuserPlanner

    # The model alone (no tool guide, no settling), so that a candidate can miss: the guided,
    # settled sample lands on the spot at once.
    planner = DiffuserPlanner(main.SHIPPED_CHECKPOINT, PlannerSettings(candidates=1, batches=3, extra_segments=0,
                                                                       settle=False, clearance=0.0, guide_scale=0.0,
                                                                       rescues=0))  # the rescue: test_check.py
    goal, state = parse_goal("red at 0.55,0.20"), start_state("conditional", 2)
    # green lies near the spot and is put aside first; seed 7: red's first two candidates are predicted to miss
    drawn = planner.plan(state, goal, seed=7).segments[-1].sampled
    planner.config = replace(planner.config, batches=1)
    one_batch = planner.plan(state, goal, seed=7).segments[-1].sampled
    planner.config = replace(planner.config, batches=3, physics_check=False)
    assert drawn == 3 and one_batch == 1 and planner.plan(state, goal, seed=7).segments[-1].sampled == 1
    planner.close()


def test_floor_moves_read_from_demonstrations_and_planned_from_towers():
    from planner.choice import goal_moves
    from planner.moves import COND_DIM, Move, demonstrated_move, move_condition

    start = start_state("arrangement", 3)  # blue on yellow, green on blue: a three-block tower
    goal = parse_goal("yellow at 0.55,-0.30; clear")
    moves = goal_moves(start, goal)
    assert [m.block for m in moves] == ["green", "blue", "yellow"]  # unstacked from the top
    assert all(m.onto == "floor" for m in moves) and moves[-1].at[:2] == (0.55, -0.3)
    cond = move_condition(start, moves[-1])
    assert np.isfinite(cond).all() and cond.shape == (COND_DIM,)
    plan = Demonstrator().plan(start, goal, 0)
    seg = plan.states[:128].astype(np.float64)
    first = demonstrated_move(seg)
    assert first.block == "green" and first.onto == "floor"
    assert np.linalg.norm(np.array(first.at[:2]) - seg[-1][LAYOUT.block("green").position][:2]) < 1e-6
    assert demonstrated_move(np.asarray(Demonstrator().plan(start_state("conditional", 1), parse_goal("green,red"), 0)
                                        .states[:128], float)) == Move("red", "green")


def test_start_options_and_bad_start_states(tmp_path, capsys):
    plans = tmp_path / "p.h5"
    assert main.main(["plan", "--planner", "demonstrator", "--goal", "green,red", "--seed", "4", "--out", str(plans)]) == 0
    assert main.main(["plan", "--planner", "demonstrator", "--goal", "clear", "--start", f"{plans}:plan_00000",
                      "--out", str(plans)]) == 0
    assert "from the end of p.h5:plan_00000" in capsys.readouterr().out
    from tasks.plans import list_plans, load_plan

    first, cleared = list_plans(plans)
    assert cleared.start == "the end of p.h5:plan_00000"
    # It starts where the stored plan left the blocks (red on green), not from the seed's scene,
    # and takes that tower apart: one move, strictly met.
    states = load_plan(plans, cleared.id).states
    start = states[0].astype(np.float64)
    assert np.allclose(start, plan_end_state(plans, first.id), atol=1e-4)
    assert SymbolicScene.read(start).tallest == ("red", 2)
    assert len(states) == 128 and cleared.score == 100 and cleared.strict_success
    assert main.main(["plan", "--planner", "demonstrator", "--goal", "clear", "--start", f"{plans}:plan_00000",
                      "--start-state", str(plans), "--out", str(plans)]) == 2
    assert "give --start or --start-state, not both" in capsys.readouterr().err
    assert len(list_plans(plans)) == 2
    good = tmp_path / "s.npy"
    np.save(good, start_state("arrangement", 1))
    assert np.allclose(load_start_state(good), np.load(good), atol=0.02)
    for name, value, message in (("shape.npy", np.zeros(12), "8 numbers per block (39 for four blocks)"),
                                 ("held.npy", _held(), "holds no block"),
                                 ("floating.npy", _floating(), "not a resting state")):
        np.save(tmp_path / name, value)
        assert main.main(["plan", "--goal", "clear", "--start-state", str(tmp_path / name), "--out", str(plans)]) == 2
        assert message in capsys.readouterr().err
    assert main.main(["plan", "--goal", "clear", "--start", str(plans), "--out", str(plans)]) == 2
    assert "expected FILE.h5:PLAN_ID" in capsys.readouterr().err


def _held() -> np.ndarray:
    s = start_state("conditional", 1)
    s[LAYOUT.block("red").attached] = 1.0
    return s


def _floating() -> np.ndarray:
    s = start_state("conditional", 1)
    s[LAYOUT.block("red").position][2] += 0.3
    return s


def test_floor_candidates_are_ranked_by_where_they_leave_the_block():
    import torch

    from planner.choice import achieved
    from planner.guides import PlacedAt
    from planner.moves import FREE_XY, Move
    from planner.segment import placement_guide
    from tasks.rewards import SPOT_XY, SPOT_YAW

    h = BLOCK_HEIGHT / 2
    spot = Move("red", "floor", (0.55, 0.2, math.radians(30)))
    free = Move("red", "floor", (0.55, 0.2, None), free=True)
    near_turned = _state({"red": [0.57, 0.2, h]}, {"red": math.radians(30 + 90 + 10)})  # within both tolerances
    off = _state({"red": [0.59, 0.2, h]}, {"red": math.radians(30)})  # 4 cm off
    turned = _state({"red": [0.55, 0.2, h]}, {"red": math.radians(50)})  # 20 degrees off
    x = torch.as_tensor(np.stack([np.repeat(s[None], 3, 0) for s in (near_turned, off, turned)]), dtype=torch.float32)
    value = placement_guide(spot, near_turned)(x).numpy()
    assert value[0] > -1 > max(value[1], value[2])  # each error in units of its tolerance
    assert [achieved(near_turned, s, spot) for s in (near_turned, off, turned)] == [True, False, False]
    # A free put-down only clears the way: any yaw, FREE_XY of slack.
    assert all(achieved(near_turned, s, free) for s in (off, turned))
    far = _state({"red": [0.55 + FREE_XY + 0.01, 0.2, h]})
    assert not achieved(near_turned, far, free)
    assert placement_guide(free, near_turned)(x).numpy().min() > -1
    assert placement_guide(spot, near_turned).met(x).tolist() == [True, False, False]
    assert placement_guide(free, near_turned).met(x).tolist() == [True, True, True]
    assert "near 0.550,0.200" in str(free) and "30deg" in str(spot)
    # A stacking: let go centred over its support (within 3 cm), whatever the turn.
    green = np.array([0.0, 0.6, h])
    stacked = [_state({"green": green, "red": green + [dx, 0, 2 * h]}, {"red": 0.3}) for dx in (0.02, 0.05)]
    xs = torch.as_tensor(np.stack([np.repeat(s[None], 3, 0) for s in stacked]), dtype=torch.float32)
    assert placement_guide(Move("red", "green"), stacked[0]).met(xs).tolist() == [True, False]
    assert PlacedAt("red", (0.55, 0.2), None, SPOT_XY, SPOT_YAW)(x).numpy()[2] > -1  # no yaw asked: any yaw


def test_without_free_floor_the_diffuser_parks_blocks_on_blocks_as_the_demonstrator_does():
    """A held-out eight-block reference whose blocks and spots fill the reachable ring: the
    Diffuser's moves (one task layer) park what is in the way on a block, as the demonstrator's."""
    from planner.choice import NO_FREE_FLOOR, _bind_floor, goal_moves
    from tasks.taskplan import plan_moves
    from tasks.world import episode_seed

    s = episode_seed(0, 85, "test")
    state = start_state("arrangement", s, 8)
    goal = sample_goal("arrangement", np.random.default_rng(s), state)
    with pytest.raises(GoalError, match=NO_FREE_FLOOR):
        _bind_floor(state, goal, plan_moves(state, goal))
    moves = goal_moves(state, goal)
    parked = plan_moves(state, goal, floor=False)
    assert [(m.block, m.onto) for m in moves] == [(t.block, "floor" if t.dest.startswith("spot") else t.dest)
                                                 for t in parked]
    assert not any(m.free for m in moves) and ("pink", "orange") == (moves[0].block, moves[0].onto)


def test_free_put_downs_go_to_free_floor_near_the_block():
    from planner.choice import goal_moves

    start = start_state("arrangement", 3)  # a three-block tower: two blocks are put aside
    moves = goal_moves(start, parse_goal("yellow at 0.55,-0.30; clear"))
    aside = [m for m in moves if m.free]
    assert [m.block for m in aside] == ["green", "blue"] and not moves[-1].free and moves[-1].at[2] is None
    tower = start[LAYOUT.block("green").position][:2]
    taken = [start[LAYOUT.block(b).position][:2] for b in BLOCK_NAMES] + [np.array([0.55, -0.30])]
    for m in aside:
        xy = np.array(m.at[:2])
        assert all(np.linalg.norm(xy - t) >= 0.32 for t in taken)
        assert np.linalg.norm(xy - tower) < 0.75  # the nearest of several free spots, not any
        taken.append(xy)


def test_a_block_put_aside_stays_on_its_side_of_the_robot_s_cut():
    """Joint 1 cannot turn through its cut behind the robot: a spot just across it is almost a
    full turn away, so a block put aside goes to free floor on its own side, even where the
    floor across the cut is nearer in a straight line."""
    from planner.choice import carry_length, near_free_spot

    def at(deg: float, r: float = 0.6) -> np.ndarray:
        return np.array([r * math.cos(math.radians(deg)), r * math.sin(math.radians(deg))])

    assert carry_length(at(175), at(-175)) > 3.0 > 10 * np.linalg.norm(at(175) - at(-175))
    assert carry_length(at(175), at(90)) < 1.0
    block = at(-145)  # a tower behind the robot, right of the cut; the floor beside it is taken
    taken = [block] + [at(a) for a in range(-120, -50, 30)]
    for seed in range(5):
        xy = near_free_spot(np.random.default_rng(seed), taken, block)
        assert math.atan2(xy[1], xy[0]) < 0, (seed, xy)  # round the front on its own side, not across the cut
