"""What the README promises of the window (issue 25): a tooltip on every control, Space plays and
pauses, Ctrl+P plans."""
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
    bare = []
    from PySide6.QtWidgets import QWidget

    for c in w.findChildren(QWidget):
        if not isinstance(c, CONTROLS) or not c.isVisibleTo(w) or isinstance(c.parent(), (QTabBar, QAbstractSpinBox, QComboBox)):
            continue  # a tab, or the arrows and editor inside a spin or combo box (the box has the tip)
        if type(c).__name__ in ("QScrollBar",) or c.objectName().startswith("qt_"):
            continue  # Qt's own scroll bars and dock buttons
        if not c.toolTip().strip():
            bare.append(f"{type(c).__name__} {c.objectName() or getattr(c, 'text', lambda: '')()!r}")
    assert not bare, "\n".join(bare)


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
