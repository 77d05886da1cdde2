"""The app, offscreen (pytest-qt): the plan library, comparing plans, collecting and keeping
demonstrations, exports."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import QSettings, Qt  # noqa: E402

from app.compare import TABLE_COLUMNS  # noqa: E402
from app.library import COLUMNS  # noqa: E402
from app.main_window import MainWindow  # noqa: E402


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
    with qtbot.waitSignal(again.replayFinished, timeout=60_000):
        lib.replay()
    assert again.viewer.frames is not None and len(again.viewer.frames) == 256
    assert "score 100 / 100, strict success, 256 states" in again.result_label.text()


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

    from tasks.plans import list_plans, load_plan

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
    # the plan put back is the plan deleted: its states, goal, seed and name
    back = next(p for p in list_plans(plans) if p.name == "my plan")
    restored = load_plan(plans, back.id)
    assert str(restored.goal) == "blue on yellow" and restored.seed == 1
    np.testing.assert_array_equal(restored.states, load_plan(out, list_plans(out)[0].id).states)


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
    assert float(cmp.table.item(0, TABLE_COLUMNS.index("Path (rad)")).text()) > 0
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


def test_export_the_shown_plan_as_a_gif_and_a_comparison_as_png_and_csv(window, qtbot, tmp_path):
    from tests.test_app_issue21 import made_plan, planned

    for n in (40, 50):  # two short plans, stored and shown as when a planner returns them
        planned(window, made_plan(n))
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
    assert len(table) == max(len(p.states) for p in cmp.plans)  # the shorter plan held at its end
    assert "plan2_tool_z" in table.dtype.names and "plan1_yellow_z" in table.dtype.names


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
