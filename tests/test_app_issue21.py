"""The app as a new user finds it (issue 21): every control does what it shows. One test per
defect; the processes' test is test_app_processes.py, the frictions' test_app_frictions.py."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from dataclasses import replace  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import numpy as np  # noqa: E402
from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QWheelEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.goal_editor import REFERENCE  # noqa: E402
from app.library import COLUMNS  # noqa: E402
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
    """Rendered by the render command in a child process, as the app does: a second EGL renderer
    in this process would leave the app's shared one drawing nothing (or crash it)."""
    import subprocess
    import sys
    from pathlib import Path

    import imageio.v2 as imageio

    from tasks.plans import append_plan

    plans, out = tmp_path / "plans.h5", tmp_path / "compare.gif"
    ids = [append_plan(plans, made_plan(8, name=name)) for name in ("first", "second")]
    main = Path(__file__).resolve().parents[1] / "main.py"
    r = subprocess.run([sys.executable, str(main), "render", "--plans", str(plans), "--id", *ids, "--out", str(out),
                        "--size", "160", "120", "--speed", "4"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    frame = np.asarray(imageio.mimread(out)[0])[..., :3].astype(int)
    for left in (0, 160):  # a dark band with light text at the top left of each view
        band = frame[2:18, left + 2:left + 30]
        assert band.mean() < 90 and band.max() > 150


def test_6_a_plan_is_kept_as_a_demonstration_once_and_only_when_it_has_moves(window, qtbot):
    from tasks.dataset import read_index

    planned(window, made_plan(1))
    assert not window.keep_button.isEnabled()  # one state: nothing to learn from
    planned(window, made_plan(), strict=False)
    assert not window.keep_button.isEnabled()  # no strict success: not a demonstration
    planned(window, made_plan())
    assert window.keep_button.isEnabled()
    qtbot.mouseClick(window.keep_button, Qt.MouseButton.LeftButton)
    assert not window.keep_button.isEnabled()
    assert window.collector.keep(window.plan, 0) is None  # asked again: refused
    assert len(read_index(window.collector.path)) == 1
    window.library.select(window.library.row_of(window.plan.id))  # shown again from the library
    assert not window.keep_button.isEnabled()


def test_6_a_kept_demonstration_can_be_removed_after_asking(window, qtbot, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from tasks.dataset import Demo, append_demo, read_index

    panel = window.collector
    demo = made_plan()
    append_demo(panel.path, Demo(demo.states, demo.goal, "conditional", 0, 0, 0, True), "test")  # the demonstrator's
    planned(window, made_plan())
    qtbot.mouseClick(window.keep_button, Qt.MouseButton.LeftButton)
    assert [d.name for d in read_index(panel.path)] == ["demo_0", "demo_1"]
    panel.table.selectRow(0)
    assert not panel.remove_button.isEnabled()  # the demonstrator's own demonstrations stay
    panel.table.selectRow(1)
    assert panel.remove_button.isEnabled()
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a) or QMessageBox.StandardButton.No)
    qtbot.mouseClick(panel.remove_button, Qt.MouseButton.LeftButton)
    assert len(asked) == 1 and len(read_index(panel.path)) == 2  # "No" keeps it
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    qtbot.mouseClick(panel.remove_button, Qt.MouseButton.LeftButton)
    assert [d.name for d in read_index(panel.path)] == ["demo_0"] and panel.table.rowCount() == 1
    assert "Removed demo_1" in panel.status.text() and not panel.remove_button.isEnabled()
    assert window.keep_button.isEnabled()  # the shown plan may be kept again
    qtbot.mouseClick(window.keep_button, Qt.MouseButton.LeftButton)
    assert [d.name for d in read_index(panel.path)] == ["demo_0", "demo_2"]  # a new name, never demo_1 again


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
    starts = [window.library.table.item(r, COLUMNS.index("Start")).text() for r in range(window.library.table.rowCount())]
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


def test_11_the_carried_block_follows_the_noisy_arm_in_the_denoising_view(window):
    from tasks.layout import layout_of
    from tasks.world import Pose, invert, multiply

    plan = made_plan(128, denoising=True)
    layout = layout_of(plan.states)
    red = layout.block("red")
    snaps = plan.denoising.copy()  # (1 segment, 3 steps, 128, dim)
    world = window.view.renderer.world
    for t in range(128):  # the plan holds red 5 cm under the tool from state 60 on
        planned_state = snaps[0, -1, t]
        if t >= 60:
            planned_state[red.attached] = 1.0
            planned_state[red.position] = world.tcp_pose(planned_state[layout.joints]).position - [0, 0, 0.05]
    snaps[0, :2, :, 1] += 0.4  # the earlier steps' arm is elsewhere (joint 2 off by 0.4 rad)
    snaps[0, :2, :, red.position] = snaps[0, -1, :, red.position]  # but their red stayed where the plan has it
    planned(window, replace(plan, denoising=snaps))
    window.playback.set_playing(False)

    def grip(state) -> Pose:
        """Red's pose in the tool's frame."""
        tool = world.tcp_pose(state[layout.joints])
        return multiply(invert(tool), Pose(state[red.position], state[red.orientation]))

    window.playback.set_frame(80)
    window.denoising.slider.setValue(0)
    shown, made = window.view.state, snaps[0, -1, 80]
    assert not np.allclose(shown[layout.joints], made[layout.joints])  # the noisy arm
    np.testing.assert_allclose(grip(shown).position, grip(made).position, atol=1e-6)  # red in its grip
    np.testing.assert_allclose(np.abs(grip(shown).orientation), np.abs(grip(made).orientation), atol=1e-6)
    window.playback.set_frame(30)  # before the grasp: red stays where the step has it
    np.testing.assert_allclose(window.view.state[red.position], snaps[0, 0, 30, red.position])
