"""The app, offscreen (pytest-qt): goals by clicks, invalid goals, planning end to end."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import QPointF, QSettings, Qt, QTimer  # noqa: E402

from app.library import COLUMNS  # noqa: E402
from app.main_window import MainWindow  # noqa: E402
from tasks.goals import Arrangement, TowerOrder, Unconditional  # noqa: E402
from tasks.layout import LAYOUT  # noqa: E402
from tasks.reference import FloorSpot, Reference  # noqa: E402
from tests.test_render import project  # noqa: E402


def test_tower_order_by_chips_and_3d_picks(window, qtbot):
    editor = window.goal_editor
    qtbot.mouseClick(editor.chips["red"], Qt.MouseButton.LeftButton)
    assert editor.goal is None and not window.planner_panel.plan_button.isEnabled()  # one block is not a tower yet
    # pick green in the 3-D view: click where its centre projects
    view = window.view
    u, v = project(view.camera, window.state[LAYOUT.block("green").position], view.width(), view.height())
    pos = QPointF(u * view.width(), v * view.height()).toPoint()
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=pos)
    assert editor.goal == TowerOrder(("red", "green"))
    assert editor.text.text() == "red,green" and window.planner_panel.plan_button.isEnabled()
    qtbot.mouseClick(editor.undo_button, Qt.MouseButton.LeftButton)
    assert editor.order == ["red"]
    qtbot.mouseClick(editor.clear_button, Qt.MouseButton.LeftButton)
    assert editor.order == []


def test_arrangement_by_clicks_and_text(window, qtbot):
    editor = window.goal_editor
    editor.mode.setCurrentText("Arrangement")
    for name in ("green", "red", "yellow", "blue"):
        qtbot.mouseClick(editor.chips[name], Qt.MouseButton.LeftButton)
    assert editor.goal == Arrangement((("green", "red"), ("yellow", "blue")))
    editor.set_text("tallest")
    assert editor.goal == Unconditional() and editor.mode.currentText() == "Tallest tower"


def test_invalid_goal_is_explained_and_plan_disabled(window, qtbot):
    editor = window.goal_editor
    editor.set_text("red on green, green on red")
    assert editor.goal is None and not window.planner_panel.plan_button.isEnabled()
    assert "cycle red on green on red" in editor.message.text()
    editor.set_text("red,purple")
    assert "unknown block 'purple'" in editor.message.text()


@pytest.mark.parametrize("planner", ["demonstrator", "diffuser"])
def test_plan_from_button_to_playback_while_the_event_loop_runs(window, qtbot, planner):
    window.planner_panel.planner_choice.setCurrentIndex(window.planner_panel.planner_choice.findData(planner))
    window.planner_panel.candidates.setValue(4)
    window.goal_editor.set_text("red,green")
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)
    with qtbot.waitSignal(window.planFinished, timeout=120_000):
        qtbot.mouseClick(window.planner_panel.plan_button, Qt.MouseButton.LeftButton)
        assert window.worker is not None and window.planner_panel.cancel_button.isEnabled()
    timer.stop()
    assert len(ticks) > 5  # the GUI kept processing events while the plan was made
    assert window.plan is not None and window.plan.planner == planner
    assert "score" in window.result_label.text()
    n = len(window.viewer.frames)
    assert window.playback.length == n and n >= 128
    window.playback.set_playing(False)
    window.playback.set_frame(n - 1)
    np.testing.assert_allclose(window.view.state, window.viewer.frames[-1])
    qtbot.keyClick(window, Qt.Key.Key_Left)
    assert window.playback.frame == n - 2
    assert window.view.trail is not None and len(window.view.trail_pixels()) > 100  # the tool's path is drawn
    if planner == "diffuser":
        assert "moves: green on red" in window.result_label.text()
    if planner == "diffuser":  # the move model made it: its tool-distance curve is plotted per step
        segs = window.plan.segments
        assert segs[0].model == "mover" and len(segs[0].guide_values) == window.planner_panel.steps.value()
        assert window.guide_plot.isVisible() and len(window.guide_plot.getPlotItem().listDataItems()) == len(segs)
    if planner == "diffuser":  # watch the plan form: earlier denoising steps differ from the plan
        assert window.denoising.slider.isEnabled() and window.denoising.slider.maximum() == 9
        window.playback.set_frame(60)
        final = window.view.state.copy()
        window.denoising.slider.setValue(0)
        assert "step 1 of 10" in window.denoising.label.text()
        assert not np.allclose(window.view.state, final)
        window.denoising.slider.setValue(9)
        out = window.library.path.parent / "denoising.gif"  # the plan forming, as an animation
        with qtbot.waitSignal(window.exportFinished, timeout=240_000) as done:
            window.export_denoising(str(out))
        assert done.args == [True] and out.stat().st_size > 10_000


def test_cancel_stops_a_diffuser_plan_and_the_app_stays_usable(window, qtbot):
    window.planner_panel.steps.setValue(1000)  # slow on purpose: the paper's DDPM
    window.goal_editor.set_text("red,green,blue")
    qtbot.mouseClick(window.planner_panel.plan_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.planner_panel.progress.maximum() > 0, timeout=30_000)
    with qtbot.waitSignal(window.planFinished, timeout=30_000):
        qtbot.mouseClick(window.planner_panel.cancel_button, Qt.MouseButton.LeftButton)
    assert "cancelled" in window.statusBar().currentMessage().lower()
    assert window.plan is None and window.planner_panel.plan_button.isEnabled()


def test_library_keeps_plans_across_a_restart_and_replays_them(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    plans = tmp_path / "plans.h5"
    w = MainWindow(prefs=settings, plans_file=plans, dataset_file=tmp_path / "demos.h5")
    qtbot.addWidget(w)
    w.planner_panel.planner_choice.setCurrentIndex(w.planner_panel.planner_choice.findData("demonstrator"))
    w.goal_editor.set_text("green on red, yellow on blue")
    with qtbot.waitSignal(w.planFinished, timeout=60_000):
        w.start_plan()
    assert w.library.table.rowCount() == 1
    w.close()

    again = MainWindow(prefs=settings, plans_file=plans, dataset_file=tmp_path / "demos.h5")  # a restart
    qtbot.addWidget(again)
    assert again.planner_panel.planner_choice.currentData() == "demonstrator"  # settings persist too
    lib = again.library
    assert lib.table.rowCount() == 1 and lib.table.item(0, 1).text() == "green on red, yellow on blue"
    assert lib.table.item(0, COLUMNS.index("Score")).text() == "100"
    lib.select(0)
    lib.rename("two pairs")
    assert lib.table.item(0, 0).text() == "two pairs"
    with qtbot.waitSignal(again.replayFinished, timeout=60_000):
        lib.replay()
    assert again.viewer.frames is not None and len(again.viewer.frames) == 256 and "strict success" in again.result_label.text()
    lib.export(str(tmp_path / "one.h5"))
    assert (tmp_path / "one.h5").exists()
    lib.select(0)
    lib.delete(confirm=False)
    assert lib.table.rowCount() == 0


def _window_with_plans(qtbot, tmp_path, goals):
    from tasks.plans import Plan, append_plan
    from tasks.goals import parse_goal
    from tasks.world import initial_state

    plans = tmp_path / "plans.h5"
    for k, g in enumerate(goals):
        append_plan(plans, Plan(np.repeat(initial_state(k)[None], 3, 0), parse_goal(g), "demonstrator", seed=k, name=f"p{k}"))
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(prefs=settings, plans_file=plans, dataset_file=tmp_path / "demos.h5")
    qtbot.addWidget(w)
    return w, plans


def test_library_buttons_rename_export_delete_with_undo(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

    from tasks.plans import list_plans

    w, plans = _window_with_plans(qtbot, tmp_path, ["red,green", "blue on yellow", "tallest"])
    lib = w.library
    lib.select(1)
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("my plan", True))
    qtbot.mouseClick(lib.buttons["Rename"], Qt.MouseButton.LeftButton)
    assert [p.name for p in list_plans(plans)] == ["p0", "my plan", "p2"]
    out = tmp_path / "exported.h5"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), "Plans file (*.h5)"))
    qtbot.mouseClick(lib.buttons["Export"], Qt.MouseButton.LeftButton)
    assert [p.name for p in list_plans(out)] == ["my plan"]
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a) or QMessageBox.StandardButton.No)
    qtbot.mouseClick(lib.buttons["Delete"], Qt.MouseButton.LeftButton)
    assert len(asked) == 1 and len(list_plans(plans)) == 3  # "No" keeps it
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    qtbot.mouseClick(lib.buttons["Delete"], Qt.MouseButton.LeftButton)
    assert [p.name for p in list_plans(plans)] == ["p0", "p2"]
    qtbot.mouseClick(lib.buttons["Delete"], Qt.MouseButton.LeftButton)  # nothing selected now
    assert [p.name for p in list_plans(plans)] == ["p0", "p2"]
    qtbot.mouseClick(lib.undo_button, Qt.MouseButton.LeftButton)
    assert sorted(p.name for p in list_plans(plans)) == ["my plan", "p0", "p2"]
    assert lib.table.rowCount() == 3 and not lib.undo_button.isEnabled()


def test_selecting_a_plan_loads_its_goal_and_scene_into_the_editor(qtbot, tmp_path):
    from tasks.world import initial_state

    w, _ = _window_with_plans(qtbot, tmp_path, ["red,green", "blue on yellow"])
    w.library.select(1)
    assert str(w.goal_editor.goal) == "blue on yellow"
    assert np.allclose(w.state, initial_state(1), atol=1e-6)


def test_unreadable_plans_file_is_reported_and_left_alone(qtbot, tmp_path):
    plans = tmp_path / "plans.h5"
    plans.write_bytes(b"not hdf5")
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(prefs=settings, plans_file=plans, dataset_file=tmp_path / "demos.h5")
    qtbot.addWidget(w)
    assert "Cannot read the plans file" in w.library.message.text()
    assert plans.read_bytes() == b"not hdf5"


def test_compare_two_plans(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(prefs=settings, plans_file=tmp_path / "plans.h5", dataset_file=tmp_path / "demos.h5")
    qtbot.addWidget(w)
    w.planner_panel.candidates.setValue(4)
    w.goal_editor.set_text("red,green")
    for planner in ("demonstrator", "diffuser"):
        w.planner_panel.planner_choice.setCurrentIndex(w.planner_panel.planner_choice.findData(planner))
        with qtbot.waitSignal(w.planFinished, timeout=120_000):
            w.start_plan()
    frames = w.viewer.frames
    w.view.set_state(frames[0])
    before = w.view.frame().copy()
    lib = w.library
    lib.select(0)
    lib.compare()
    assert "two or more" in lib.message.text() and not w.compare_windows
    lib.select(0, 1)
    lib.compare()
    cmp = w.compare_windows[-1]
    qtbot.addWidget(cmp)
    assert len(cmp.views) == 2 and cmp.table.rowCount() == 2
    assert {cmp.table.item(r, 0).text() for r in range(2)} == {"demonstrator red,green", "diffuser red,green"}
    assert float(cmp.table.item(0, 5).text()) > 0  # path length
    joints_plot = cmp.plot_items[0]
    assert len(joints_plot.listDataItems()) == 14  # 7 joints x 2 plans
    cmp.playback.set_frame(60)
    for view, plan in zip(cmp.views, cmp.plans):
        np.testing.assert_allclose(view.state, plan.states[60])
    assert cmp.cursors[0].value() == pytest.approx(60 * 1 / 12)
    # overlay: one view, the second plan as a translucent ghost at the same time
    cmp.overlay_box.setChecked(True)
    assert cmp.overlay.isVisible() and not cmp.views[0].isVisible()
    np.testing.assert_allclose(cmp.overlay.state, cmp.plans[0].states[60])
    np.testing.assert_allclose(cmp.overlay.ghosts[0], cmp.plans[1].states[60])
    cmp.overlay.set_ghosts([])
    alone = cmp.overlay.frame().copy()
    cmp.overlay.set_ghosts([cmp.plans[1].states[60]])
    assert alone != cmp.overlay.frame()  # the ghost is drawn
    w.view.set_state(frames[1])
    w.view.frame()  # the main view draws between the compare windows' frames, as in use
    lib.compare()  # a second compare window, its views drawn
    for view in w.compare_windows[-1].views:
        view.frame()
    w.view.set_state(frames[0])
    # the main view still draws the scene, without ghosts (frames of the hardware renderer vary
    # by a few pixels from one call to the next; an empty scene differs everywhere)
    after = w.view.frame()
    assert np.mean(np.abs(_pixels(after) - _pixels(before)) > 0) < 0.03
    # A closed compare window stops playing (no drawing into hidden views), is deleted and let go.
    cmp.playback.set_playing(True)
    timer = cmp.playback.timer
    cmp.close()
    assert not timer.isActive()
    qtbot.waitUntil(lambda: len(w.compare_windows) == 1, timeout=5000)  # deleted, so let go


def _pixels(image) -> np.ndarray:
    return np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine()).astype(int)


def test_collect_two_demos_open_one_and_keep_a_plan(window, qtbot, tmp_path):
    panel = window.collector
    panel.task.setCurrentText("rearrangement")
    panel.episodes.setValue(2)
    with qtbot.waitSignal(panel.collectionFinished, timeout=120_000):
        qtbot.mouseClick(panel.collect_button, Qt.MouseButton.LeftButton)
    assert panel.table.rowCount() == 2 and "2 demos" in panel.summary.text()
    panel.open_demo(1)
    assert window.viewer.frames is not None and window.playback.length == len(window.viewer.frames)
    # the editor's goal, then a Diffuser plan kept as a demonstration
    window.goal_editor.set_text("red,green")
    panel.use_editor_goal.setChecked(True)
    panel.episodes.setValue(1)
    with qtbot.waitSignal(panel.collectionFinished, timeout=120_000):
        panel.start()
    assert panel.table.rowCount() == 3 and panel.table.item(2, 2).text() == "red,green"
    window.planner_panel.planner_choice.setCurrentIndex(window.planner_panel.planner_choice.findData("demonstrator"))
    with qtbot.waitSignal(window.planFinished, timeout=120_000):
        window.start_plan()
    assert window.keep_button.isEnabled()  # the plan succeeded strictly, so it may be kept
    qtbot.mouseClick(window.keep_button, Qt.MouseButton.LeftButton)
    assert panel.table.rowCount() == 4 and panel.table.item(3, 4).text().startswith("demonstrator plan_")


def test_a_failing_worker_shows_a_message_and_the_app_stays_usable(qtbot, tmp_path):
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(checkpoint=broken, prefs=settings, plans_file=tmp_path / "p.h5", dataset_file=tmp_path / "d.h5")
    qtbot.addWidget(w)
    w.goal_editor.set_text("red,green")
    with qtbot.waitSignal(w.planFinished, timeout=60_000):
        w.start_plan()
    assert "Planning failed" in w.result_label.text() and "not a readable checkpoint" in w.result_label.text()
    assert w.planner_panel.plan_button.isEnabled()
    w.planner_panel.planner_choice.setCurrentIndex(w.planner_panel.planner_choice.findData("demonstrator"))
    with qtbot.waitSignal(w.planFinished, timeout=60_000):
        w.start_plan()
    assert w.plan is not None and "score 100" in w.result_label.text()


def test_topdown_editor_drag_to_stack(window, qtbot):
    editor = window.goal_editor
    editor.mode.setCurrentText("Arrangement")
    top = editor.topdown
    assert top.isVisible()
    state = window.state
    red = state[LAYOUT.block("red").position][:2]
    blue = state[LAYOUT.block("blue").position][:2]
    top.drop("green", red + 0.03)  # dropped onto red
    assert editor.goal == Arrangement((("green", "red"),))
    top.drop("yellow", red)  # onto the red pile: lands on its top, green
    assert editor.goal == Arrangement((("green", "red"), ("yellow", "green")))
    top.drop("green", blue)  # green moves onto blue and takes yellow along
    assert sorted(editor.goal.pairs) == [("green", "blue"), ("yellow", "green")]
    assert np.linalg.norm(top.centre("yellow") - blue) < 0.1
    top.drop("green", np.array([0.0, -0.6]))  # set down on free floor: a spot; only yellow stays stacked
    assert editor.goal == Reference((("yellow", "green"),), (FloorSpot("green", 0.0, -0.6),))
    # a real drag: pyqtgraph moves the ROI and reports the drop
    roi = top.rois["blue"]
    roi.setPos(roi.pos() + (top.centre("green") - top.centre("blue")), finish=True)
    assert sorted(editor.goal.pairs) == [("blue", "yellow"), ("yellow", "green")]
    # pairs typed as text show up in the top-down view
    editor.set_text("red on blue")
    assert np.linalg.norm(top.centre("red") - top.centre("blue")) < 0.1


def test_missing_checkpoint_disables_the_diffuser_and_the_demonstrator_still_plans(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(checkpoint=tmp_path / "none.pt", prefs=settings, plans_file=tmp_path / "p.h5", dataset_file=tmp_path / "d.h5")
    qtbot.addWidget(w)
    assert w.planner_panel.planner_choice.currentData() == "demonstrator"
    assert not w.planner_panel.planner_choice.model().item(w.planner_panel.planner_choice.findData("diffuser")).isEnabled()
    assert "no Diffuser checkpoint" in w.planner_panel.planner_choice.toolTip()
    w.goal_editor.set_text("tallest")
    with qtbot.waitSignal(w.planFinished, timeout=60_000):
        w.start_plan()
    assert "score 100" in w.result_label.text()


def test_unreadable_dataset_is_reported_and_left_alone(qtbot, tmp_path):
    demos = tmp_path / "demos.h5"
    demos.write_bytes(b"garbage")
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(prefs=settings, plans_file=tmp_path / "p.h5", dataset_file=demos)
    qtbot.addWidget(w)
    assert "Cannot read the dataset" in w.collector.summary.text()
    w.collector.episodes.setValue(1)
    with qtbot.waitSignal(w.collector.collectionFinished, timeout=60_000):
        w.collector.start()
    assert "demos.h5" in w.collector.status.text() and "left untouched" in w.collector.status.text()
    assert demos.read_bytes() == b"garbage"


@pytest.mark.parametrize("speed", [4.0, 1.0])
def test_playback_follows_the_clock_at_any_speed(window, qtbot, speed):
    import time

    from tasks.world import CONTROL_PERIOD, initial_state

    n = int(round(10.0 / CONTROL_PERIOD)) + 1 if speed == 4.0 else int(round(2.0 / CONTROL_PERIOD)) + 1
    states = np.repeat(initial_state(0)[None], n, 0)
    states[:, LAYOUT.joints.start] = np.linspace(0, 1, n)  # the arm turns, so every frame redraws
    window.show_states(states)
    bar = window.playback
    bar.speed.setCurrentIndex(bar.speed.findData(speed))
    t0 = time.perf_counter()
    bar.set_playing(True)
    qtbot.waitUntil(lambda: not bar.timer.isActive(), timeout=20_000)
    took = time.perf_counter() - t0
    expected = (n - 1) * CONTROL_PERIOD / speed
    print(f"{speed}x: {n - 1} steps of plan time {(n - 1) * CONTROL_PERIOD:.2f} s played in {took:.2f} s")
    assert abs(took - expected) < 0.1 * expected
    assert bar.frame == n - 1


def test_the_window_fits_1280_by_720_in_every_goal_mode_and_the_view_does_not_jump(window, qtbot):
    window.resize(1280, 720)
    qtbot.wait(50)
    view = window.view.geometry()
    for mode in range(window.goal_editor.mode.count()):
        window.goal_editor.mode.setCurrentIndex(mode)
        qtbot.wait(50)
        hint = window.minimumSizeHint().expandedTo(window.minimumSize())
        print(f"goal mode {window.goal_editor.mode.currentText()}: minimum size {hint.width()} x {hint.height()}")
        assert hint.width() <= 1280 and hint.height() <= 720
        assert window.view.geometry() == view
    window.result_label.setText("<b>diffuser</b>: a long result<br>" * 6)
    qtbot.wait(50)
    assert window.view.geometry() == view
    # Every control can be reached: Plan is always in sight, the last control scrolls into sight.
    plan = window.planner_panel.plan_button
    assert plan.visibleRegion().boundingRect().size() == plan.size()
    window.side_scroll.ensureWidgetVisible(window.keep_button)
    qtbot.wait(50)
    top_left = window.keep_button.mapTo(window.side_scroll.viewport(), window.keep_button.rect().topLeft())
    assert window.side_scroll.viewport().rect().contains(top_left)


def test_void_qt_calls_do_not_drop_references_to_none(qtbot):
    """PySide6-Essentials 6.12.0 on CPython 3.11 drops one reference to None per Qt call that
    returns nothing, and the app dies with none_dealloc after a few thousand redraws."""
    import sys

    from PySide6.QtCore import QPointF
    from PySide6.QtWidgets import QLabel

    label = QLabel()
    qtbot.addWidget(label)
    point = QPointF()
    before = sys.getrefcount(None)
    for k in range(5000):
        label.setText(str(k))
        point.setX(k)
        label.update()
    assert sys.getrefcount(None) - before > -50, "Qt calls leak references to None (a PySide6 bug; pin another version)"


def test_soak_looped_playback_keeps_none_and_memory_flat(window, qtbot):
    import resource
    import sys

    from tasks.world import initial_state

    if window.warmup is not None:
        window.warmup.wait(120_000)  # the model loading beside the soak would count as growth
    states = np.repeat(initial_state(3)[None], 256, 0)
    states[:, LAYOUT.joints.start] = np.linspace(-1, 1, 256)
    window.show_states(states)
    bar = window.playback
    bar.loop.setChecked(True)
    frames, painted = 20_000, 0

    def rss_mb() -> float:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024

    for k in range(2000):  # warm up: caches, fonts, the renderer's buffers
        bar.set_frame(k % 256)
    qtbot.wait(20)
    none0, rss0 = sys.getrefcount(None), rss_mb()
    for k in range(frames):
        bar.set_frame(k % 256)  # what a playback tick does: slider, time label, 3-D view update
        if k % 50 == 0:
            window.view.repaint()  # a real render every 50 frames
            painted += 1
    qtbot.wait(20)
    none1, rss1 = sys.getrefcount(None), rss_mb()
    print(f"{frames} frames ({painted} rendered): refcount(None) {none0} -> {none1}, RSS {rss0:.0f} -> {rss1:.0f} MB "
          f"(peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")
    assert none1 - none0 > -100
    assert rss1 - rss0 < 50


def test_export_the_shown_plan_as_a_gif_and_a_comparison_as_png_and_csv(window, qtbot, tmp_path):
    window.planner_panel.planner_choice.setCurrentIndex(window.planner_panel.planner_choice.findData("demonstrator"))
    window.goal_editor.set_text("red,green")
    for _ in range(2):
        with qtbot.waitSignal(window.planFinished, timeout=120_000):
            window.start_plan()
    assert window.export_video_action.isEnabled() and not window.export_denoising_action.isEnabled()
    out = tmp_path / "plan.gif"
    with qtbot.waitSignal(window.exportFinished, timeout=240_000) as done:
        window.export_video(str(out))
    assert done.args == [True] and out.stat().st_size > 10_000
    from PIL import Image

    with Image.open(out) as gif:
        assert gif.n_frames > 10 and gif.size == (480, 360)
    window.library.select(0, 1)
    window.library.compare()
    cmp = window.compare_windows[-1]
    qtbot.addWidget(cmp)
    cmp.export_png(str(tmp_path / "plots.png"))
    cmp.export_csv(str(tmp_path / "data.csv"))
    assert (tmp_path / "plots.png").stat().st_size > 5_000
    table = np.genfromtxt(tmp_path / "data.csv", delimiter=",", names=True)
    assert len(table) == len(cmp.plans[0].states) and "plan2_tool_z" in table.dtype.names and "plan1_yellow_z" in table.dtype.names


def test_cancelled_export_leaves_no_file(window, qtbot, tmp_path):
    window.planner_panel.planner_choice.setCurrentIndex(window.planner_panel.planner_choice.findData("demonstrator"))
    window.goal_editor.set_text("red,green,blue,yellow")
    with qtbot.waitSignal(window.planFinished, timeout=120_000):
        window.start_plan()
    out = tmp_path / "plan.mp4"
    with qtbot.waitSignal(window.exportFinished, timeout=120_000) as done:
        window.export_video(str(out))
        qtbot.waitUntil(lambda: window._render_job.process.state() == window._render_job.process.ProcessState.Running)
        qtbot.wait(1500)
        window._render_job.cancel()
    assert done.args == [False]
    assert not out.exists() and not list(tmp_path.glob(".plan.partial*"))


def test_goal_camera_playback_and_collection_settings_survive_a_restart(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    files = dict(plans_file=tmp_path / "plans.h5", dataset_file=tmp_path / "demos.h5")
    w = MainWindow(prefs=settings, **files)
    qtbot.addWidget(w)
    w.goal_editor.set_text("green on red, yellow on blue")
    w.playback.speed.setCurrentIndex(w.playback.speed.findData(2.0))
    w.playback.loop.setChecked(True)
    w.view.set_camera(w.view.camera.orbit(30, -10).zoom(0.8))
    w.collector.task.setCurrentText("rearrangement")
    w.collector.episodes.setValue(7)
    camera = w.view.camera
    w.close()
    again = MainWindow(prefs=settings, **files)
    qtbot.addWidget(again)
    assert again.goal_editor.mode.currentText() == "Arrangement"
    assert str(again.goal_editor.goal) == "green on red, yellow on blue"
    assert again.playback.speed.currentData() == 2.0 and again.playback.loop.isChecked()
    assert again.view.camera == camera
    assert again.collector.task.currentText() == "rearrangement" and again.collector.episodes.value() == 7
