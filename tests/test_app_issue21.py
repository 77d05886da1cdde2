"""The app as a new user finds it (issue 21): every control does what it shows. One test per
defect; the processes' test is test_app_processes.py, the frictions' test_app_frictions.py."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from types import SimpleNamespace  # noqa: E402

import numpy as np  # noqa: E402
from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QWheelEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.goal_editor import REFERENCE  # noqa: E402
from app.main_window import MainWindow  # noqa: E402
from tasks.goals import Arrangement, TowerOrder  # noqa: E402
from tasks.layout import BLOCK_HEIGHT  # noqa: E402
from tasks.plans import Plan, Proposal, SegmentReport  # noqa: E402
from tasks.world import initial_state  # noqa: E402


def wheel(widget, dy: int = -120) -> None:
    centre = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(centre, widget.mapToGlobal(centre), QPoint(), QPoint(0, dy), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def made_plan(n: int = 40, goal=TowerOrder(("red", "green")), guide: bool = False, denoising: bool = False, **kw) -> Plan:
    """A plan as a planner returns it (no id or name yet): the arm's first joint turning."""
    states = np.repeat(initial_state(0)[None], n, 0)
    states[:, 0] = np.linspace(0, 1, n)
    segs = (SegmentReport("green on red", Proposal.GOAL, "mover", False, 0.1, 0, 1, True,
                          guide_values=(-0.01, -0.001, -0.0001)),) if guide else ()
    snaps = np.repeat(states[None, None], 3, 1) if denoising else None
    return Plan(states, goal, "demonstrator", segments=segs, denoising=snaps, **kw)


def executed(plan: Plan, strict: bool = True):
    return SimpleNamespace(states=plan.states, final_state=plan.states[-1], score=100.0 if strict else 0.0,
                           strict_success=strict)


def planned(window, plan: Plan, strict: bool = True) -> None:
    """As when a plan worker is done: stored in the library and shown."""
    window._plan_done(plan.with_result(100.0 if strict else 0.0, strict), executed(plan, strict))


def test_1_the_wheel_changes_a_setting_only_when_it_has_focus(window, qtbot):
    steps = window.planner_panel.steps
    before = steps.value()
    window.view.setFocus()
    wheel(steps)
    assert steps.value() == before  # scrolling the side panel over it changes nothing
    steps.setFocus()
    qtbot.waitUntil(steps.hasFocus)
    wheel(steps)
    assert steps.value() == before - 1


def test_2_typing_keeps_the_mode_the_user_chose(window, qtbot):
    editor = window.goal_editor
    editor.mode.setCurrentText(REFERENCE)
    text = "red on green, green on red"
    for k in range(len(text)):
        qtbot.keyClicks(editor.text, text[k])
        assert editor.mode.currentText() == REFERENCE, text[: k + 1]
        if text[: k + 1] == "red on green":
            assert editor.goal == Arrangement((("red", "green"),))
    assert editor.goal is None and "cycle" in editor.message.text()


def test_3_an_emptied_or_invalid_goal_leaves_nothing_behind(window, qtbot):
    editor = window.goal_editor
    editor.mode.setCurrentText("Arrangement")
    editor.set_text("red on green")
    editor.text.selectAll()
    qtbot.keyClick(editor.text, Qt.Key.Key_Backspace)
    assert editor.goal is None and "red" not in editor.hint.text() and editor.topdown.pairs() == []
    editor.topdown.drop("yellow", editor.topdown.centre("blue"))
    assert editor.goal == Arrangement((("yellow", "blue"),))  # the deleted pair does not come back
    editor.mode.setCurrentText("Tower order")
    editor.set_text("red,green,blue,yellow")
    editor.text.selectAll()
    qtbot.keyClicks(editor.text, "red,pur")
    assert editor.goal is None and "yellow" not in editor.hint.text()


def test_4_the_top_down_editor_draws_and_grabs_the_top_block_of_a_stack(window, state_factory):
    editor = window.goal_editor
    state = state_factory({"green": [0.55, 0.0, BLOCK_HEIGHT / 2], "red": [0.55, 0.0, 1.5 * BLOCK_HEIGHT]})
    window._set_start(state, "test")
    editor.mode.setCurrentText("Arrangement")
    rois = editor.topdown.rois
    assert rois["red"].zValue() > rois["green"].zValue()  # red stands on green: red is seen
    editor.topdown.drop("blue", editor.topdown.centre("green"))
    assert editor.goal == Arrangement((("blue", "red"),))  # dropped on the pile: onto the block seen


def test_5_the_compare_window_fits_the_screen_and_exports_readable_plots(window, qtbot, tmp_path):
    from PIL import Image

    from app.compare import CompareWindow

    plans = [made_plan(name="first"), made_plan(30, name="second")]
    compare = CompareWindow(plans)
    qtbot.addWidget(compare)
    screen = compare.screen().availableGeometry()
    assert compare.width() <= screen.width() and compare.height() <= screen.height()
    compare.resize(1280, 720 - 40)
    compare.show()
    qtbot.waitExposed(compare)
    for item in compare.plot_items:
        assert item.getViewBox().height() > 100  # not a strip under its legend
    compare.export_png(str(tmp_path / "plots.png"))
    assert min(Image.open(tmp_path / "plots.png").size) >= 900


def test_5_a_compare_video_names_each_plan_on_its_view(tmp_path):
    import imageio.v2 as imageio

    from app.video import render_plans

    out = tmp_path / "compare.gif"
    render_plans([made_plan(8, name="first"), made_plan(8, name="second")], out, size=(160, 120), speed=4.0)
    frame = np.asarray(imageio.mimread(out)[0])[..., :3].astype(int)
    for left in (0, 160):  # a dark band with light text at the top left of each view
        band = frame[2:18, left + 2:left + 30]
        assert band.mean() < 90 and band.max() > 150


def test_6_a_plan_is_kept_as_a_demonstration_once_and_only_when_it_has_moves(window, qtbot):
    from tasks.dataset import read_index

    planned(window, made_plan(1))
    assert not window.keep_button.isEnabled()  # one state: nothing to learn from
    planned(window, made_plan())
    assert window.keep_button.isEnabled()
    qtbot.mouseClick(window.keep_button, Qt.MouseButton.LeftButton)
    assert not window.keep_button.isEnabled()
    assert window.collector.keep(window.plan, 0) is None  # asked again: refused
    assert len(read_index(window.collector.path)) == 1
    window.library.select(window.library.row_of(window.plan.id))  # shown again from the library
    assert not window.keep_button.isEnabled()


def test_7_the_title_names_the_planner_chosen_also_after_a_restart(window, qtbot, tmp_path):
    choice = window.planner_panel.planner_choice
    choice.setCurrentIndex(choice.findData("demonstrator"))
    assert "Demonstrator" in window.windowTitle() and "Diffuser" not in window.windowTitle()
    window.close()
    again = MainWindow(prefs=window.prefs, plans_file=tmp_path / "plans.h5", dataset_file=tmp_path / "demos.h5")
    qtbot.addWidget(again)
    assert "Demonstrator" in again.windowTitle()


def test_8_status_lines_describe_what_is_shown_by_the_names_the_user_sees(window, qtbot):
    status = window.statusBar().currentMessage
    planned(window, made_plan())
    name = window.plan.name
    assert name and name in status()
    window.continue_from_here()
    assert f"'{name}' ended" in status() and f"'{name}'" in window.scene_box.origin.text()
    planned(window, made_plan(goal=TowerOrder(("blue", "yellow"))))
    starts = [window.library.table.item(r, 2).text() for r in range(window.library.table.rowCount())]
    assert starts[-1] == f"the end of '{name}'" and "plan_0" not in " ".join(starts)
    window.collector.keep(window.plan, 0)
    window.save_scene("kept")
    window.load_scene("kept")
    assert "kept" in status() and "Scene 0" not in status()
    window.collector.open_demo(0)
    assert "Demonstration demo_0" in status() and window.plan is None


def test_9_new_scene_gives_a_new_scene(window, qtbot):
    seed, state = window.seed.value(), window.state.copy()
    qtbot.mouseClick(window.scene_box.new_scene_button, Qt.MouseButton.LeftButton)
    assert window.seed.value() == seed + 1 and not np.allclose(window.state, state)
    window.seed.setValue(7)  # a seed typed by hand is the one shown
    qtbot.mouseClick(window.scene_box.new_scene_button, Qt.MouseButton.LeftButton)
    assert window.seed.value() == 7 and np.allclose(window.state, initial_state(7))


def test_10_the_3d_view_keeps_its_size_when_a_diffuser_result_appears(window, qtbot):
    window.resize(1280, 720)
    qtbot.wait(50)
    before = window.view.size()
    planned(window, made_plan(guide=True))
    qtbot.wait(50)
    assert window.guide_plot.getPlotItem().listDataItems()
    assert window.view.size() == before


def test_11_arrow_keys_step_the_denoising_slider_when_it_has_focus(window, qtbot):
    planned(window, made_plan(denoising=True))
    window.playback.set_playing(False)
    window.playback.set_frame(5)
    slider = window.denoising.slider
    slider.setFocus()
    qtbot.waitUntil(slider.hasFocus)
    top = slider.value()
    qtbot.keyClick(slider, Qt.Key.Key_Left)
    assert slider.value() == top - 1 and window.playback.frame == 5
    window.view.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_Left)
    assert window.playback.frame == 4  # elsewhere the arrows step the playback
