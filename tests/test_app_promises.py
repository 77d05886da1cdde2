"""What the README promises of the window (issue 25): a tooltip on every control, Space plays and
pauses, Ctrl+P plans, and what the user set survives a restart."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import (  # noqa: E402
    QAbstractButton, QAbstractSlider, QAbstractSpinBox, QComboBox, QLineEdit, QTabBar,
)

from tests.app_helpers import library_window  # noqa: E402

CONTROLS = (QAbstractButton, QAbstractSlider, QAbstractSpinBox, QComboBox, QLineEdit)


def make_window(qtbot, tmp_path):
    return library_window(qtbot, tmp_path, 1, states=40)


def test_every_visible_control_has_a_tooltip(qtbot, tmp_path):
    w = make_window(qtbot, tmp_path)
    from PySide6.QtWidgets import QDockWidget

    bare: set[str] = set()
    for dock in w.findChildren(QDockWidget):  # each tab of the docks in turn, the Train tab too
        dock.raise_()
        qtbot.waitUntil(lambda dock=dock: dock.widget().isVisibleTo(w), timeout=5_000)
        bare |= bare_controls(w)
    assert not bare, "\n".join(sorted(bare))


def bare_controls(w) -> set[str]:
    bare = set()
    from PySide6.QtWidgets import QWidget

    for c in w.findChildren(QWidget):
        if not isinstance(c, CONTROLS) or not c.isVisibleTo(w) or isinstance(c.parent(), (QTabBar, QAbstractSpinBox, QComboBox)):
            continue  # a tab, or the arrows and editor inside a spin or combo box (the box has the tip)
        if type(c).__name__ in ("QScrollBar",) or c.objectName().startswith("qt_"):
            continue  # Qt's own scroll bars and dock buttons
        if not c.toolTip().strip():
            bare.add(f"{type(c).__name__} {c.objectName() or getattr(c, 'text', lambda: '')()!r}")
    return bare


def test_space_plays_and_pauses_and_ctrl_p_plans(qtbot, tmp_path):
    w = make_window(qtbot, tmp_path)
    w.library.table.selectRow(0)
    qtbot.waitUntil(lambda: len(w.viewer.frames) == 40, timeout=10_000)
    w.view.setFocus()  # not the library's table, which takes Space to select
    qtbot.waitUntil(w.view.hasFocus)
    assert not w.playback.timer.isActive()
    qtbot.keyClick(w, Qt.Key.Key_Space)
    assert w.playback.timer.isActive()
    qtbot.keyClick(w, Qt.Key.Key_Space)
    assert not w.playback.timer.isActive()
    w.planner_panel.planner_choice.setCurrentIndex(1)  # the demonstrator: the quickest real plan
    w.goal_editor.text.setText("red,green")
    qtbot.waitUntil(lambda: w.goal_editor.goal is not None, timeout=5_000)
    w.view.setFocus()
    assert w.worker is None
    qtbot.keyClick(w, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    assert w.worker is not None  # Ctrl+P started the plan
    qtbot.waitUntil(lambda: w.worker is None, timeout=60_000)  # and it ran to its end
    assert "ready" in w.statusBar().currentMessage()


def test_planner_view_train_layout_and_files_survive_a_restart(qtbot, tmp_path):
    """The settings test_app.py's restart test does not cover: the trail, the scene seed, the
    planner and its settings, the Train tab's, the window's layout and the files."""
    from PySide6.QtCore import QSettings

    from app.main_window import MainWindow

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    w = MainWindow(prefs=settings, plans_file=tmp_path / "mine.h5", dataset_file=tmp_path / "my_demos.h5",
                   models_dir=tmp_path / "models")
    qtbot.addWidget(w)
    p = w.planner_panel
    p.steps.setValue(23)
    p.candidates.setValue(5)
    p.guide_scale.setValue(3.5)
    p.plan_seed.setValue(77)
    p.planner_choice.setCurrentIndex(p.planner_choice.findData("demonstrator"))
    w.trail_box.setChecked(False)
    w.seed.setValue(12)
    w.trainer.minutes.setValue(3.5)
    w.trainer.eval_blocks.setValue(6)
    w.trainer.eval_task.setCurrentText("arrangement")
    w.constraints_dock.hide()
    w.close()
    again = MainWindow(prefs=settings, models_dir=tmp_path / "models")  # no files given: the remembered ones
    qtbot.addWidget(again)
    q = again.planner_panel
    assert (q.steps.value(), q.candidates.value(), q.guide_scale.value(), q.plan_seed.value()) == (23, 5, 3.5, 77)
    assert q.name == "demonstrator"
    assert not again.trail_box.isChecked() and again.seed.value() == 12
    t = again.trainer
    assert (t.minutes.value(), t.eval_blocks.value(), t.eval_task.currentText()) == (3.5, 6, "arrangement")
    assert again.constraints_dock.isHidden()
    assert again.library.path == tmp_path / "mine.h5" and again.collector.path == tmp_path / "my_demos.h5"


def test_the_comparison_exports_as_a_side_by_side_video(qtbot, tmp_path):
    import imageio.v2 as imageio
    import numpy as np

    w = library_window(qtbot, tmp_path, 2, states=6)
    w.library.select(0, 1)
    w.library.compare()
    compare = w.compare_windows[-1]
    out = tmp_path / "comparison.gif"
    compare.export_video(str(out))
    qtbot.waitUntil(lambda: compare._render_job is None, timeout=120_000)
    assert out.exists(), compare.status.text()
    frames = imageio.mimread(out)
    single = np.asarray(imageio.mimread(out)[0])
    assert len(frames) >= 2 and single.shape[1] == 2 * single.shape[0] * 4 // 3  # two 4:3 views side by side
    left, right = single[:, : single.shape[1] // 2], single[:, single.shape[1] // 2:]
    assert not np.array_equal(left, right)  # two scenes, not one drawn twice


def test_the_diffuser_is_loaded_in_the_worker_before_the_first_plan(qtbot, tmp_path):
    from tasks import jobs

    w = library_window(qtbot, tmp_path, 0)
    assert w.warmup is not None
    qtbot.waitUntil(lambda: "Diffuser ready" in w.statusBar().currentMessage(), timeout=120_000)
    loaded = jobs.submit(jobs.loaded_diffusers).result(timeout=30)
    key = (str(w.planner_panel.checkpoint), w.planner_panel.settings())
    assert key in loaded and key in jobs.submit(jobs.warmed_diffusers).result(timeout=30)
