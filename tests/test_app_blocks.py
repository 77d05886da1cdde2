"""The app with any number of blocks (issue 20, point 6): the scene box's Blocks, a chip per block,
the top-down editor, typed goals, the 3-D view, the library and the compare window follow the
scene's blocks; a six-block tower built and taken apart."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PySide6.QtCore import QPointF, QSettings, Qt  # noqa: E402

from app.library import COLUMNS  # noqa: E402
from app.main_window import MainWindow  # noqa: E402
from tasks.goals import TowerOrder, parse_goal  # noqa: E402
from tasks.layout import block_names, layout_of  # noqa: E402
from tasks.plans import Plan, append_plan, list_plans  # noqa: E402
from tasks.reference import Reference  # noqa: E402
from tasks.scene import SymbolicScene  # noqa: E402
from tasks.world import initial_state  # noqa: E402
from tests.test_render import project  # noqa: E402
from tests.app_helpers import plan_goal  # noqa: E402

SIX = "red,green,blue,yellow,orange,purple"


_plan = plan_goal


def test_a_six_block_tower_is_built_and_taken_apart_by_the_diffuser(window, qtbot):
    """The Diffuser, with four candidates a move, builds the tower and, continuing from its end,
    takes it apart (until the physics check played candidates as the execution does, a
    lift off this tower knocked the block below it down in the execution: planner/check.py). The
    demonstrator's six-block towers are tested in test_demonstrator.py."""
    panel = window.planner_panel
    panel.planner_choice.setCurrentIndex(panel.planner_choice.findData("diffuser"))
    panel.candidates.setValue(4)
    window.seed.setValue(3)
    window.blocks.setValue(6)  # a new scene of six blocks
    assert layout_of(window.state).blocks == block_names(6) and "scene 3 of 6 blocks" in window.scene_box.origin.text()
    built, result = _plan(window, qtbot, SIX)
    assert result.strict_success and result.score == 100, window.result_label.text()
    assert SymbolicScene.read(result.final_state).tallest[1] == 6
    window.continue_from_here()
    assert layout_of(window.state).blocks == block_names(6)  # the continued start keeps its blocks
    cleared, result = _plan(window, qtbot, "clear")
    assert isinstance(cleared.goal, Reference) and result.strict_success, window.result_label.text()
    assert SymbolicScene.read(result.final_state).tallest[1] == 1  # every block back on the floor
    stored = {p.id: p for p in list_plans(window.library.path)}
    assert stored[cleared.id].parent == built.id
    assert all(layout_of(stored[p.id].states).blocks == block_names(6) for p in (built, cleared))
    assert [window.library.table.item(r, COLUMNS.index("Blocks")).text() for r in range(2)] == ["6", "6"]


def test_the_blocks_box_makes_a_scene_of_n_blocks_with_a_chip_each_and_is_remembered(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    files = dict(plans_file=tmp_path / "plans.h5", dataset_file=tmp_path / "demos.h5")
    w = MainWindow(prefs=settings, **files)
    qtbot.addWidget(w)
    w.resize(1000, 700)
    w.show()
    qtbot.waitExposed(w)
    editor = w.goal_editor
    assert list(editor.chips) == list(block_names(4))
    editor.set_text("red,purple")
    assert editor.goal is None and "does not have" in editor.message.text()
    w.blocks.setValue(8)
    assert np.allclose(w.state, initial_state(w.seed.value(), 8))
    assert list(editor.chips) == list(block_names(8)) and list(editor.topdown.rois) == list(block_names(8))
    assert editor.goal == TowerOrder(("red", "purple")) and w.planner_panel.plan_button.isEnabled()  # fits now
    qtbot.mouseClick(editor.chips["pink"], Qt.MouseButton.LeftButton)
    assert editor.text.text() == "red,purple,pink"
    # the 3-D view draws every block of the scene: a click on cyan picks it
    view = w.view
    u, v = project(view.camera, w.state[layout_of(w.state).block("cyan").position], view.width(), view.height())
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPointF(u * view.width(), v * view.height()).toPoint())
    assert editor.text.text() == "red,purple,pink,cyan"
    editor.mode.setCurrentText("Arrangement")
    editor.topdown.drop("cyan", editor.topdown.centre("orange"))
    assert editor.goal.pairs == (("cyan", "orange"),)
    editor.set_text("red,purple,pink,cyan")
    w.blocks.setValue(3)  # the goal shown is checked against the new scene's blocks
    assert list(editor.chips) == ["red", "green", "blue"] and len(editor.topdown.rois) == 3
    assert editor.goal is None and "names 'purple', which this scene of 3 blocks" in editor.message.text()
    assert not w.planner_panel.plan_button.isEnabled()
    editor.set_text("tallest")
    assert "all 3 blocks (2 moves" in editor.hint.text()
    w.close()
    again = MainWindow(prefs=settings, **files)
    qtbot.addWidget(again)
    assert again.blocks.value() == 3 and len(layout_of(again.state).blocks) == 3


def test_the_library_shows_each_plans_blocks_and_a_plan_of_another_n_switches_the_scene(window, qtbot, tmp_path):
    plans = window.library.path
    for n, goal in ((4, "red,green"), (6, "orange,purple")):
        states = np.repeat(initial_state(n, n)[None], 3, 0)
        states[:, 0] = [0.0, 0.5, 1.0]
        append_plan(plans, Plan(states, parse_goal(goal), "demonstrator", name=f"{n} blocks"))
    window.library.refresh()
    assert [window.library.table.item(r, COLUMNS.index("Blocks")).text() for r in range(2)] == ["4", "6"]
    window.library.select(1)
    assert window.blocks.value() == 6 and list(window.goal_editor.chips) == list(block_names(6))
    assert window.goal_editor.goal == TowerOrder(("orange", "purple"))
    np.testing.assert_allclose(window.state, initial_state(6, 6), atol=1e-6)
    window.view.frame()  # drawn
    window.new_scene()  # a new scene keeps the blocks shown
    assert len(layout_of(window.state).blocks) == 6
    window.library.select(0)
    assert window.blocks.value() == 4 and "purple" not in window.goal_editor.chips
    # compared side by side: each plan's own blocks in the plots, each colour named once
    window.library.select(0, 1)
    window.library.compare()
    cmp = window.compare_windows[-1]
    qtbot.addWidget(cmp)
    heights = cmp.plot_items[2]
    assert len(heights.listDataItems()) == 4 + 6
    assert sorted(label.text for _, label in heights.legend.items) == sorted(block_names(6))
    for k in (0, 2):
        cmp.playback.set_frame(k)
        for view, plan in zip(cmp.views, cmp.plans):
            np.testing.assert_allclose(view.state, plan.states[k])
            view.frame()
    cmp.overlay_box.setChecked(True)
    cmp.overlay.frame()  # the six-block plan as a ghost over the four-block one
    cmp.export_csv(str(tmp_path / "data.csv"))
    names = np.genfromtxt(tmp_path / "data.csv", delimiter=",", names=True).dtype.names
    assert "plan2_purple_z" in names and "plan1_yellow_z" in names and "plan1_purple_z" not in names


def test_a_scene_kept_by_name_keeps_its_blocks_and_a_plan_of_any_n_exports(window, qtbot, tmp_path):
    window.blocks.setValue(5)
    five = window.state.copy()
    window.save_scene("five")
    window.blocks.setValue(2)
    assert len(layout_of(window.state).blocks) == 2
    window.load_scene("five")
    assert window.blocks.value() == 5 and list(window.goal_editor.chips) == list(block_names(5))
    np.testing.assert_array_equal(window.state, five)
    states = np.repeat(initial_state(1, 7)[None], 30, 0)
    states[:, 0] = np.linspace(0, 1, 30)
    append_plan(window.library.path, Plan(states, parse_goal("cyan on red"), "demonstrator", name="seven"))
    window.library.refresh()
    window.library.select(0)
    assert window.blocks.value() == 7
    out = tmp_path / "seven.gif"  # rendered by `main.py render` in another process, as File > Export does
    with qtbot.waitSignal(window.exportFinished, timeout=120_000) as done:
        window.export_video(str(out))
    assert done.args == [True], window.statusBar().currentMessage()
    assert out.stat().st_size > 1000


def test_the_tallest_tower_of_five_blocks_takes_four_moves_the_diffuser_chooses(window, qtbot):
    window.planner_panel.candidates.setValue(4)
    window.seed.setValue(2)
    window.blocks.setValue(5)
    plan, result = _plan(window, qtbot, "tallest")
    assert "all 5 blocks (4 moves" in window.goal_editor.hint.text()
    assert result.strict_success and SymbolicScene.read(result.final_state).tallest[1] == 5, window.result_label.text()
    assert len(plan.segments) == 4 and "moves chosen by the Diffuser" in window.result_label.text()


def test_a_plan_of_another_n_than_the_dataset_is_not_kept_and_the_status_says_why(window, qtbot):
    from tests.test_app_issue21 import made_plan, planned

    planned(window, made_plan())  # four blocks: the dataset is made for four
    qtbot.mouseClick(window.keep_button, Qt.MouseButton.LeftButton)
    six = np.repeat(initial_state(0, 6)[None], 40, 0)
    six[:, 0] = np.linspace(0, 1, 40)
    planned(window, Plan(six, TowerOrder(("orange", "purple")), "demonstrator"))
    qtbot.mouseClick(window.keep_button, Qt.MouseButton.LeftButton)
    assert "Not kept" in window.statusBar().currentMessage() and "4 blocks" in window.statusBar().currentMessage()
    assert window.collector.table.rowCount() == 1
