"""Any number of blocks: layouts, scenes, rewards, files and bad input for N = 2 to 8."""
import h5py
import numpy as np
import pytest

import main
from tasks.dataset import Demo, append_demo, load_states, read_index
from tasks.execute import execute
from tasks.goals import Unconditional, parse_goal
from tasks.h5io import FileFormatError
from tasks.layout import BLOCK_HEIGHT, LAYOUT, MAX_BLOCKS, PALETTE, block_names, layout_for, layout_of
from tasks.plans import Plan, append_plan, list_plans, load_plan
from tasks.rewards import reward, strict_success
from tasks.world import HOME_JOINTS, World, episode_seed, initial_state, sample_scene, yaw_quaternion


@pytest.mark.parametrize("n", range(2, MAX_BLOCKS + 1))
def test_a_scene_of_n_blocks_has_the_first_n_and_its_width_says_so(n):
    state = initial_state(episode_seed(0, n, "test"), n)
    assert layout_of(state).blocks == PALETTE[:n] == block_names(n) and state.shape == (7 + 8 * n,)
    xy = [p.position[:2] for p in sample_scene(n, n).values()]
    assert all(np.linalg.norm(a - b) >= 0.32 for i, a in enumerate(xy) for b in xy[i + 1:])
    with World(n_blocks=n) as w:
        w.set_state(state)
        np.testing.assert_allclose(w.get_state(), state, atol=1e-6)


def test_layouts_of_other_widths_and_counts_are_refused():
    with pytest.raises(ValueError, match="2 to 8 blocks, got 9"):
        layout_for(9)
    with pytest.raises(ValueError, match="not 40 numbers"):
        layout_of(np.zeros(40))
    with World(n_blocks=6) as w, pytest.raises(ValueError, match="state of 39 numbers given to a world of 6 blocks"):
        w.set_state(initial_state(0))


def _tower(n: int) -> np.ndarray:
    """All n blocks in one tower, in palette order from the floor."""
    layout = layout_for(n)
    pos = {b: np.array([0.6, 0.0, BLOCK_HEIGHT / 2 + i * BLOCK_HEIGHT]) for i, b in enumerate(layout.blocks)}
    return layout.compose(HOME_JOINTS, pos, {b: yaw_quaternion(0.0) for b in layout.blocks})


@pytest.mark.parametrize("n", [2, 6, 8])
def test_the_tallest_tower_of_n_blocks_scores_full_marks_and_a_half_tower_half(n):
    tower = _tower(n)
    assert reward(tower, Unconditional()) == 3.0 and strict_success(tower, Unconditional())
    half = tower.copy()
    layout = layout_for(n)
    for k, b in enumerate(layout.blocks[n // 2 + 1:]):  # the upper blocks put on the floor, apart
        half[layout.block(b).position] = [-0.5, 0.4 * k - 1.0, BLOCK_HEIGHT / 2]
    assert reward(half, Unconditional()) == pytest.approx(3.0 * (n // 2) / (n - 1))


def test_files_record_their_blocks_and_four_block_files_still_open(tmp_path):
    six = initial_state(3, 6)
    demos = tmp_path / "six.h5"
    append_demo(demos, Demo(np.repeat(six[None], 4, 0), parse_goal("orange on red"), "rearrangement", 3, 0, 0, True),
                "test")
    with h5py.File(demos) as f:
        assert list(f.attrs["blocks"]) == list(block_names(6))
    assert next(iter(load_states(demos).values())).shape == (4, layout_for(6).dim)
    with pytest.raises(FileFormatError, match="holds scenes of 6 blocks"):
        append_demo(demos, Demo(np.repeat(initial_state(0)[None], 4, 0), parse_goal("green on red"), "rearrangement",
                                0, 0, 0, True), "test")
    # the shipped sample predates the attribute: four blocks
    assert len(read_index("assets/sample_demos.h5")) and next(iter(load_states("assets/sample_demos.h5").values())).shape[1] == 39
    plans = tmp_path / "plans.h5"
    for state in (initial_state(0), six):
        append_plan(plans, Plan(np.repeat(state[None], 2, 0), parse_goal("green on red"), "demonstrator"))
    assert [layout_of(p.states).blocks for p in list_plans(plans)] == [block_names(4), block_names(6)]
    assert load_plan(plans, "plan_00001").states.shape == (2, layout_for(6).dim)
    with h5py.File(plans) as f:
        assert list(f.attrs["blocks"]) == list(block_names(6))


def _run(argv: list[str]) -> int:
    try:
        return main.main(argv)
    except SystemExit as e:  # argparse's own refusals
        return e.code


def test_cli_bad_block_counts_goals_and_starts_are_one_line_and_write_nothing(tmp_path, capsys):
    out = tmp_path / "plans.h5"
    cases = (
        (["plan", "--goal", "red,green", "--blocks", "9", "--out", str(out)], "argument --blocks: must be between 2 and 8"),
        (["collect", "--task", "conditional", "--episodes", "1", "--blocks", "1", "--out", str(tmp_path / "d.h5")],
         "argument --blocks: must be between 2 and 8"),
        (["plan", "--goal", "red,cyan", "--blocks", "5", "--out", str(out)],
         "the goal names 'cyan', which this scene of 5 blocks does not have"),
    )
    for argv, message in cases:
        assert _run(argv) == 2
        assert message in capsys.readouterr().err
    six = tmp_path / "six.npy"
    np.save(six, execute(np.repeat(initial_state(1, 6)[None], 2, 0), Unconditional()).final_state)
    assert main.main(["plan", "--goal", "red,green", "--start-state", str(six), "--blocks", "4", "--out", str(out)]) == 2
    assert "a state of 6 blocks, but the scene asked for has 4" in capsys.readouterr().err
    assert not out.exists()


def test_train_and_test_streams_never_share_a_scene():
    train = {episode_seed(s, k, "train") for s in range(3) for k in range(200)}
    test = {episode_seed(s, k, "test") for s in range(3) for k in range(200)}
    assert not train & test and len(train) == len(test) == 600
    assert LAYOUT is layout_for(4)
