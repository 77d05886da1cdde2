"""The main window's furniture: the central area (the side panel beside the 3-D view, with Plan
always in sight), the docks, the menu and the keyboard shortcuts, and the prefs it saves."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QAbstractScrollArea, QDockWidget, QGroupBox, QHBoxLayout, QVBoxLayout, QWidget

from app.widgets import last_folder, scrolling, side_panel

SIDE_WIDTH = 360


def central(w) -> QWidget:
    """The side panel (scene, goal, planner settings, result: it scrolls) over Plan, Cancel and
    the progress (never scrolled away), beside the plan view."""
    goal_box = QGroupBox("Goal")
    QVBoxLayout(goal_box).addWidget(w.goal_editor)
    w.side_scroll = side_panel((w.scene_box, goal_box, w.planner_panel, w.result_label, w.keep_button), SIDE_WIDTH)
    side = QWidget()
    column = QVBoxLayout(side)
    column.setContentsMargins(0, 0, 0, 0)
    column.addWidget(w.side_scroll, 1)
    w.planner_panel.actions.setFixedWidth(w.side_scroll.width())
    column.addWidget(w.planner_panel.actions)
    body = QWidget()
    layout = QHBoxLayout(body)
    layout.addWidget(side)
    layout.addWidget(w.viewer, 1)
    return body


def add_docks(w) -> None:
    docks = []
    for title, name, widget in (("Plan library", "library", w.library),
                                ("Demonstrations", "demonstrations", w.collector),
                                ("Constraints and guides", "constraints", w.viewer.constraints),
                                ("Train", "train", w.trainer)):
        dock = QDockWidget(title, w)
        dock.setObjectName(name)  # saveState() restores docks by name
        dock.setWidget(widget if isinstance(widget, QAbstractScrollArea) else scrolling(widget))  # a tree scrolls itself
        w.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        docks.append(dock)
    w.library_dock, w.constraints_dock = docks[0], docks[2]
    for other in docks[1:]:
        w.tabifyDockWidget(docks[0], other)
    w.library_dock.raise_()


def add_menu_and_shortcuts(w) -> None:
    file_menu = w.menuBar().addMenu("&File")
    w.export_video_action = file_menu.addAction("Export plan as video or GIF…", w.export_video)
    w.export_denoising_action = file_menu.addAction("Export denoising animation…", w.export_denoising)
    for action in (w.export_video_action, w.export_denoising_action):
        action.setEnabled(False)
    file_menu.addSeparator()
    file_menu.addAction("Quit", QKeySequence.StandardKey.Quit, w.close)
    # A focused slider or spin box keeps its arrow keys (app.widgets.tame_inputs).
    for key, slot in ((Qt.Key.Key_Space, w.playback.toggle), (Qt.Key.Key_Left, lambda: w.playback.step(-1)),
                      (Qt.Key.Key_Right, lambda: w.playback.step(1)), ("Ctrl+P", w.start_plan)):
        QShortcut(QKeySequence(key), w, slot)


def save_prefs(w) -> None:
    """What the user set, for the next run: the planner, goal, view, collection, window layout,
    files and the folder file dialogs open in."""
    w.planner_panel.save()
    for part in (w.goal_editor, w.viewer, w.collector, w.trainer):
        part.save(w.prefs)
    for key, value in (("geometry", w.saveGeometry()), ("window_state", w.saveState()),
                       ("plans_file", str(w.library.path)), ("dataset_file", str(w.collector.path)),
                       ("scene_seed", w.seed.value()), ("scene_blocks", w.blocks.value()), ("last_folder", last_folder())):
        w.prefs.setValue(key, value)
