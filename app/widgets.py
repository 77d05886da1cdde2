"""Small widget helpers shared by the app's windows."""
from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QAbstractSlider, QAbstractSpinBox, QComboBox, QProxyStyle, QScrollArea, QScrollBar, QSlider, QStyle, QVBoxLayout,
    QWidget,
)


def scrolling(widget: QWidget) -> QScrollArea:
    """`widget` in a scroll area, so a dock can shrink below its content's height."""
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    return area


def side_panel(widgets, width: int) -> QScrollArea:
    """`widgets` stacked in a panel of fixed width that scrolls vertically.

    The controls scroll rather than set the window's minimum height: at 1280 x 720 (or with the
    arrangement editor open, or a long result) nothing falls off the screen, and the 3-D view
    keeps its size when the panel's content grows."""
    panel = QWidget()
    column = QVBoxLayout(panel)
    for w in widgets:
        column.addWidget(w)
    column.addStretch(1)
    area = scrolling(panel)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    panel.setFixedWidth(width)
    area.setFixedWidth(width + area.verticalScrollBar().sizeHint().width() + 4)
    return area


ARROWS = (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down)


class _JumpStyle(QProxyStyle):
    """A slider's groove, clicked, puts the handle there (not one page towards the click)."""

    def styleHint(self, hint, option=None, widget=None, data=None):  # noqa: N802 (Qt's name)
        if hint == QStyle.StyleHint.SH_Slider_AbsoluteSetButtons:
            return Qt.MouseButton.LeftButton.value
        return super().styleHint(hint, option, widget, data)


class _InputGuard(QObject):
    """A spin box, combo box or slider takes the wheel only when it has focus (scrolling a panel
    over it changes nothing), and keeps its arrow keys when it has focus (the window's arrow
    shortcuts step the playback only when no such control has the focus)."""

    def eventFilter(self, obj, event) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Wheel and not obj.hasFocus():
            event.ignore()  # goes on to the parent: the panel scrolls
            return True
        if event.type() == QEvent.Type.ShortcutOverride and event.key() in ARROWS:
            event.accept()  # the control's own key, not the window's shortcut
        return False


def tame_inputs(root: QWidget) -> None:
    """Guard every spin box, combo box and slider under `root` (see _InputGuard)."""
    guard = root.findChild(_InputGuard)
    if guard is None:
        guard = _InputGuard(root)
    style = _JumpStyle()
    style.setParent(root)
    for w in root.findChildren(QWidget):
        if isinstance(w, QScrollBar) or not isinstance(w, (QAbstractSpinBox, QComboBox, QAbstractSlider)):
            continue
        w.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # not WheelFocus: the wheel gives no focus
        w.installEventFilter(guard)
        if isinstance(w, QSlider):
            w.setStyle(style)


# ---------------------------------------------------------------------- file dialogs
_last_folder: str | None = None  # where the user last saved or opened a file (the window keeps it in its prefs)


def last_folder() -> str:
    """The folder file dialogs open in: the last one used, else the user's documents (never the
    process's working folder)."""
    from PySide6.QtCore import QStandardPaths

    if _last_folder and Path(_last_folder).is_dir():
        return _last_folder
    return QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation) or str(Path.home())


def set_last_folder(folder: str | None) -> None:
    global _last_folder
    _last_folder = folder


def file_stem(name: str) -> str:
    """A plan's name as a file name: letters, digits, - and _ kept, the rest _."""
    return re.sub(r"[^\w\-]+", "_", name).strip("_") or "plan"


def ask_save_path(parent: QWidget, title: str, suggested: str, filters: str) -> str | None:
    """Ask where to save, starting in the last folder used; remembers the folder chosen."""
    from PySide6.QtWidgets import QFileDialog

    path, _ = QFileDialog.getSaveFileName(parent, title, str(Path(last_folder()) / suggested), filters)
    if not path:
        return None
    set_last_folder(str(Path(path).parent))
    return path


# ---------------------------------------------------------------------- remembered settings
def restore_values(prefs, group: str, widgets: dict) -> None:
    """Set each widget (spin box, combo box by its text, check box) to `group/name` in the prefs,
    where the prefs hold a usable value; the others keep their defaults."""
    from PySide6.QtWidgets import QAbstractButton, QComboBox

    for name, w in widgets.items():
        value = prefs.value(f"{group}/{name}")
        if value is None:
            continue
        if isinstance(w, QComboBox):
            if w.findText(str(value)) >= 0:
                w.setCurrentText(str(value))
        elif isinstance(w, QAbstractButton):
            w.setChecked(str(value).lower() == "true")
        else:
            try:
                w.setValue(type(w.value())(value))
            except (TypeError, ValueError):
                pass  # a damaged prefs file: the default stays


def save_values(prefs, group: str, widgets: dict) -> None:
    """Keep each widget's value (as restore_values reads it) under `group/name`."""
    from PySide6.QtWidgets import QAbstractButton, QComboBox

    for name, w in widgets.items():
        if isinstance(w, QComboBox):
            prefs.setValue(f"{group}/{name}", w.currentText())
        elif isinstance(w, QAbstractButton):
            prefs.setValue(f"{group}/{name}", w.isChecked())
        else:
            prefs.setValue(f"{group}/{name}", w.value())
