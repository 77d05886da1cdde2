"""The main window's parts and furniture: its widgets, the central area (the side panel beside the
3-D view, with Plan always in sight), the docks, the menu and the keyboard shortcuts, and the prefs
it saves."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractScrollArea, QDockWidget, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget,
)

from app.collect_panel import CollectPanel
from app.goal_editor import GoalEditor
from app.launch import app_data_dir, default_plans_file
from app.library import LibraryPanel
from app.plan_view import PlanView
from app.planner_panel import PlannerPanel
from app.scene_box import SceneBox
from app.train_panel import TrainPanel
from app.widgets import last_folder, scrolling, side_panel
from planner.model_store import ModelStore
from tasks.layout import DEFAULT_BLOCKS

SIDE_WIDTH = 360


def make_widgets(w, checkpoint: Path, plans_file: Path | None, dataset_file: Path | None,
                 models_dir: Path | None) -> None:
    """The window's widgets, on files given or remembered in its prefs; the window connects their signals."""
    w.viewer = PlanView()
    # The viewer's parts, named here for the shortcuts, the prefs and the tests.
    v = w.viewer
    w.view, w.playback, w.trail_box, w.denoising, w.guide_plot = v.view, v.playback, v.trail_box, v.denoising, v.guide_plot
    w.goal_editor = GoalEditor()
    w.library = LibraryPanel(plans_file or Path(w.prefs.value("plans_file", str(default_plans_file()))))
    dataset_file = dataset_file or Path(w.prefs.value("dataset_file", str(app_data_dir() / "demos.h5")))
    w.collector = CollectPanel(dataset_file, lambda: w.goal_editor.goal, lambda: w.blocks.value())
    w.scene_box = SceneBox(int(w.prefs.value("scene_seed", 0)), int(w.prefs.value("scene_blocks", DEFAULT_BLOCKS)))
    w.seed, w.blocks = w.scene_box.seed, w.scene_box.blocks
    w.planner_panel = PlannerPanel(w.prefs, checkpoint)
    store = ModelStore(models_dir or Path(w.prefs.value("models_dir", str(app_data_dir() / "models"))))
    w.trainer = TrainPanel(store, lambda: w.collector.path, lambda: w.planner_panel.mover, w.planner_panel.settings)
    w.result_label = QLabel()
    w.result_label.setWordWrap(True)  # long goals and move lists wrap instead of widening the panel
    w.keep_button = QPushButton("Keep as demonstration")
    w.keep_button.setEnabled(False)
    w.keep_button.setToolTip("Add the shown plan to the demonstrations (a plan that succeeded strictly, once)")


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
