"""The app, offscreen: a chain of plans, each continuing where the last ended, kept and replayed."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tasks.plans import list_plans, list_scenes  # noqa: E402
from tasks.reference import Reference  # noqa: E402
from tasks.scene import SymbolicScene  # noqa: E402
from tests.app_helpers import plan_goal  # noqa: E402


@pytest.fixture
def window(window):
    """The app's window (conftest), planning with the demonstrator (exact and fast)."""
    window.planner_panel.planner_choice.setCurrentIndex(window.planner_panel.planner_choice.findData("demonstrator"))
    return window


_plan = plan_goal


def test_build_continue_reverse_continue_clear(window, qtbot):
    window.seed.setValue(3)
    window.new_scene()
    assert "scene 3" in window.scene_box.origin.text()
    built, result = _plan(window, qtbot, "red,green,blue,yellow")
    assert result.strict_success and result.score == 100
    assert window.scene_box.continue_button.isEnabled()
    window.continue_from_here()
    assert f"the end of '{built.name}'" in window.scene_box.origin.text() and built.name
    np.testing.assert_allclose(window.state, result.final_state, atol=1e-6)  # starts where physics left it
    reversed_, result = _plan(window, qtbot, "yellow,blue,green,red")
    assert result.strict_success and reversed_.parent == built.id
    window.continue_from_here()
    cleared, result = _plan(window, qtbot, "clear")
    assert isinstance(cleared.goal, Reference) and window.goal_editor.mode.currentText() == "Reference (typed)"
    assert result.strict_success and SymbolicScene.read(result.final_state).tallest[1] == 1
    stored = {p.id: p for p in list_plans(window.library.path)}
    assert stored[cleared.id].parent == reversed_.id and stored[reversed_.id].parent == built.id
    assert stored[built.id].parent == "" and stored[cleared.id].start == f"the end of {reversed_.id}"
    # the library replays the chain end to end, each plan from where the one before left the blocks
    window.library.select([p.id for p in window.library.plans].index(cleared.id))
    with qtbot.waitSignal(window.replayFinished, timeout=120_000):
        window.library.replay_chain()
    frames = window.viewer.frames
    assert len(frames) == sum(len(p.states) for p in (built, reversed_, cleared))
    assert window.last_result.strict_success


def test_scenes_are_kept_by_name(window, qtbot):
    window.seed.setValue(5)
    window.new_scene()
    start = window.state.copy()
    window.save_scene("five")
    window.seed.setValue(6)
    window.new_scene()
    assert list_scenes(window.library.path) == ["five"]
    window.load_scene("five")
    np.testing.assert_array_equal(window.state, start)
    assert "scene 'five'" in window.scene_box.origin.text()
    window.load_scene("nope")  # a name that is not there: said in the status bar, nothing changes
    assert "no scene 'nope'" in window.statusBar().currentMessage()
    np.testing.assert_array_equal(window.state, start)


def test_a_block_dropped_on_the_floor_in_the_top_down_editor_goes_there(window, qtbot):
    window.seed.setValue(3)
    window.new_scene()
    editor = window.goal_editor
    editor.mode.setCurrentText("Arrangement")
    editor.topdown.drop("red", [0.55, -0.30])  # on the floor: a spot
    editor.topdown.drop("green", editor.topdown.centre("red"))  # on red: stacked, as before
    goal = editor.goal
    assert isinstance(goal, Reference) and goal.pairs == (("green", "red"),) and goal.spot("red").x == 0.55
    assert editor.text.text() == str(goal)
    editor.topdown.drop("blue", [0.95, 0.0])
    assert editor.goal is None and "out of reach" in editor.message.text()
    editor.topdown.drop("blue", editor.topdown.centre("green"))  # blue on green instead
    with qtbot.waitSignal(window.planFinished, timeout=120_000):
        window.start_plan()
    assert window.last_result is not None and window.last_result.strict_success, window.result_label.text()
