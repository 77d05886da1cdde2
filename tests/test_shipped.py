"""The shipped whole-state Diffuser: its tower segment, the paper's setting, the move scores, one
plan per seed, the thread policy, and plans from two threads."""
import os
import subprocess
import sys

import numpy as np
import pytest
import planner as _thread_policy  # noqa: F401  (sets PyTorch's thread policy before torch loads)
import torch

from planner.checkpoint import load
from planner.config import SHIPPED_CHECKPOINT
from planner.masks import keyframe_mask, moved_block, start_mask
from tasks.dataset import load_states
from tasks.layout import BLOCK_HEIGHT, LAYOUT, PHASES
from tasks.plans import Proposal
from tasks.scene import SymbolicScene

from tests.model_helpers import ROOT, SAMPLE


SHIPPED = str(SHIPPED_CHECKPOINT)


def test_shipped_checkpoint_plans_a_tower_segment_on_the_cpu():
    from planner.plan import DiffuserPlanner
    from planner.config import PlannerSettings
    from tasks.goals import TowerOrder
    from tasks.world import initial_state

    planner = DiffuserPlanner(SHIPPED, PlannerSettings.whole_state(candidates=8, max_checks=2, extra_segments=0))
    state = initial_state(3)
    plan = planner.plan(state, TowerOrder(("red", "green")), seed=0)
    planner.close()
    assert plan.states.shape == (PHASES.length, LAYOUT.dim)
    np.testing.assert_allclose(plan.states[0], state, atol=1e-5)
    seg = plan.segments[0]
    assert seg.move == "green on red" and seg.keyframes
    # the keyframes hold: the green block is held from the grasp to the release, nothing else is
    green = plan.states[:, LAYOUT.block("green").attached]
    assert np.all(green[PHASES.grasp_index:PHASES.release_index] == 1) and green[: PHASES.grasp_index].max() == 0
    assert plan.settings["train_step"] > 0
    # while held, green rides with the tool: its height follows the tool's, rigidly
    from tasks.metrics import tool_heights
    from tasks.world import World

    with World() as w:
        tool = tool_heights(plan.states, w)
    held = slice(PHASES.grasp_index, PHASES.release_index)
    gap = plan.states[held, LAYOUT.block("green").position][:, 2] - tool[held]
    assert np.ptp(gap) < 0.01
    # and executed in physics, the segment stacks green on red
    from tasks.execute import execute

    result = execute(plan.states, TowerOrder(("red", "green")), start=state)
    assert seg.achieved and result.strict_success and result.score == 100


def test_paper_setting_unconditional_samples_from_the_start_state_alone():
    from dataclasses import replace

    from planner.plan import DiffuserPlanner
    from planner.config import PlannerSettings
    from tasks.goals import Unconditional
    from tasks.world import initial_state

    settings = replace(PlannerSettings.paper(), steps=4)  # the paper's shape, few steps for the test
    planner = DiffuserPlanner(SHIPPED, settings)
    state = initial_state(4)
    plan = planner.plan(state, Unconditional(), seed=1)
    planner.close()
    segs = plan.segments
    assert len(segs) == 3 and plan.states.shape == (3 * PHASES.length, LAYOUT.dim)
    assert all(s.proposal == Proposal.SAMPLED and not s.keyframes and s.checked == 0 for s in segs)
    np.testing.assert_allclose(plan.states[0], state, atol=1e-5)


def test_unconditional_moves_are_chosen_by_the_models_scores():
    from planner.choice import grows_tower
    from planner.moves import Move
    from planner.plan import DiffuserPlanner
    from planner.config import PlannerSettings
    from tasks.goals import Unconditional
    from tasks.rewards import strictly_on
    from tasks.world import initial_state

    planner = DiffuserPlanner(SHIPPED, PlannerSettings.whole_state(candidates=4, max_checks=2, extra_segments=0))
    state = initial_state(3)
    plan = planner.plan(state, Unconditional(), seed=2)
    planner.close()
    first = plan.segments[0]
    scores = first.move_scores
    assert len(scores) == 12  # four clear blocks: every ordered pair
    finite = {m: v for m, v in scores.items() if np.isfinite(v)}
    assert len(finite) >= 10 and len(set(finite.values())) == len(finite)  # scores tell the moves apart
    # at the start every move grows the tower, so the model's best-scored move is the one planned
    assert first.proposal == Proposal.DIFFUSER and first.move == min(finite, key=finite.get)
    top, onto = first.move.split(" on ")
    assert grows_tower(SymbolicScene.read(state), Move(top, onto))
    assert strictly_on(plan.states[PHASES.length - 1], top, onto)


def test_denoising_error_prefers_each_demonstrated_segment_to_a_wrong_flag():
    from tasks.layout import BLOCK_NAMES

    loaded = load(SHIPPED, torch.device("cpu"))
    states = next(iter(load_states(SAMPLE, ["demo_0"]).values())).astype(np.float64)
    start = torch.as_tensor(start_mask(128))
    for k in range(3):
        seg = states[k * PHASES.length:(k + 1) * PHASES.length]
        held = moved_block(seg)
        other = [b for b in BLOCK_NAMES if b != held][k]
        wrong = seg.copy()  # the other block's flag rises instead: it "holds" a block that never moves
        a, b = LAYOUT.block(held).attached, LAYOUT.block(other).attached
        wrong[:, [a, b]] = wrong[:, [b, a]]
        x = torch.as_tensor(loaded.normaliser.normalise(np.stack([seg, wrong])).astype(np.float32))
        err = loaded.diffusion.denoising_error(x, start, 8, torch.Generator().manual_seed(0))
        assert err[1] > 1.5 * err[0], (k, err)
    every = torch.ones(128, LAYOUT.dim, dtype=torch.bool)
    assert float(loaded.diffusion.denoising_error(x, every).abs().max()) == 0.0  # nothing free, nothing to err


def test_the_tower_growing_moves(state_factory):
    from planner.choice import grows_tower, moves_between_clear
    from planner.moves import Move

    h = BLOCK_HEIGHT / 2
    state = state_factory({"red": [0.6, 0, h], "green": [0.6, 0, 3 * h]})  # green on red; blue, yellow apart
    scene = SymbolicScene.read(state)
    assert scene.height("green") == 2 and scene.height("blue") == 1 and scene.tallest == ("green", 2)
    moves = moves_between_clear(scene)
    assert Move("red", "green") not in moves and len(moves) == 6  # red is covered
    assert {m for m in moves if grows_tower(scene, m)} == {Move("blue", "green"), Move("yellow", "green")}
    empty = SymbolicScene.read(state_factory({}))
    assert all(grows_tower(empty, m) for m in moves_between_clear(empty))


def test_smoothing_keeps_pinned_cells_and_removes_jumps():
    from planner.postprocess import smooth_joints

    demo = next(iter(load_states(SAMPLE, ["demo_0"]).values()))[:128].astype(np.float64)
    mask = keyframe_mask(128, moved_block(demo))
    free = ~mask[:, LAYOUT.joints]
    noisy = np.repeat(demo[None], 2, axis=0)
    noisy[:, :, LAYOUT.joints] += np.where(free, np.random.default_rng(0).normal(0, 0.3, (2, 128, 7)), 0)
    out = smooth_joints(noisy, mask, 30)
    assert np.array_equal(out[:, mask], noisy[:, mask])
    assert np.array_equal(out[..., 7:], noisy[..., 7:])  # only joints are touched
    step = lambda x: np.abs(np.diff(x[..., LAYOUT.joints], axis=1)).max()  # noqa: E731
    assert step(out) < step(noisy) / 3
    error = lambda x: np.abs(x[..., LAYOUT.joints] - demo[..., LAYOUT.joints]).mean()  # noqa: E731
    assert error(out) < error(noisy) / 2  # closer to the smooth motion the noise hid
    assert np.array_equal(smooth_joints(noisy, mask, 0), noisy)


def test_a_demonstrated_segment_reads_as_its_own_move_at_every_tower_height():
    from planner.choice import read_move
    from tasks.rewards import strictly_on

    states = next(iter(load_states(SAMPLE, ["demo_0"]).values())).astype(np.float64)
    for k in range(3):  # towers of 1, 2 and 3 blocks
        seg = states[k * PHASES.length:(k + 1) * PHASES.length]
        move = read_move(seg, seg[0])
        assert move is not None and move.block == moved_block(seg), k
        assert strictly_on(seg[-1], move.block, move.onto), k


@pytest.mark.parametrize("entry", ["import main", "import app.main_window", "import planner.plan"])
def test_every_entry_point_sets_the_thread_policy_before_torch_loads(entry):
    """Spinning OpenMP threads made plans 3 to 40 times slower beside any busy process; the policy
    only counts if it is set before torch is imported, whichever module a program imports first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMP_")}
    code = f"{entry}\nimport os, torch\nprint(torch.get_num_threads(), os.environ['OMP_WAIT_POLICY'])"
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["1", "PASSIVE"]


def test_a_plan_is_the_same_from_its_seed_whatever_was_planned_before():
    """Each plan gets a fresh physics world: a used one keeps contact and solver caches that
    changed which candidate passed the physics check."""
    from planner.plan import DiffuserPlanner
    from planner.config import PlannerSettings
    from tasks.goals import parse_goal
    from tasks.starts import start_state

    planner = DiffuserPlanner(SHIPPED, PlannerSettings(candidates=2))
    state, goal = start_state("arrangement", 7), parse_goal("yellow,green,red")
    first = planner.plan(state, goal, seed=1).states
    planner.plan(start_state("arrangement", 8), parse_goal("clear"), seed=2)
    again = planner.plan(state, goal, seed=1).states
    np.testing.assert_array_equal(first, again)
    # A candidate past joint 1's limit is ranked after every feasible one, however smooth.
    from planner.conditioning import SegmentConditions

    segs = np.stack([first[:128], first[128:256]]).astype(np.float64)
    segs[0, 60:, 0] = 3.0  # past +170 degrees
    assert planner.within_limits(segs).tolist() == [False, True]
    order, _ = planner._rank(segs, SegmentConditions(None, np.zeros((128, 39), bool), segs[0], None))
    planner.close()
    assert order.tolist() == [1, 0]


def test_plans_from_two_threads_take_turns_and_close_waits_for_the_plan():
    """The app's warm-up and the user's first plan may use one planner at once, and a change of
    settings closes the old planner: neither may pull the physics world from under a plan."""
    import threading

    from planner.plan import DiffuserPlanner
    from planner.config import PlannerSettings
    from tasks.goals import parse_goal
    from tasks.world import initial_state

    planner = DiffuserPlanner(SHIPPED, PlannerSettings(candidates=2, extra_segments=0))
    goal, state = parse_goal("red,green"), initial_state(4)
    alone = planner.plan(state, goal, seed=3).states
    results, started = [], threading.Event()

    def plan() -> None:
        results.append(planner.plan(state, goal, seed=3, progress=lambda *a: started.set()).states)

    threads = [threading.Thread(target=plan) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2 and all(np.array_equal(r, alone) for r in results)  # in turn, not interleaved
    started.clear()
    results.clear()
    one = threading.Thread(target=plan)
    one.start()
    assert started.wait(60)
    planner.close()  # waits for the plan under way
    one.join()
    assert len(results) == 1 and np.array_equal(results[0], alone)
