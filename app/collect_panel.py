"""Collect demonstrations: the demonstrator on N random goals of a task (or on the editor's goal),
in scenes of the scene box's number of blocks, appended to the dataset the Diffuser trains on,
with progress and Cancel; the dataset's content; opening a demo; keeping a successful plan as a
demonstration, and removing a kept one."""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from PySide6.QtCore import QThread, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QLabel, QMessageBox, QProgressBar,
    QPushButton, QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from app.widgets import restore_values, save_values
from tasks.collect import collect, keep_plan
from tasks.dataset import load_states, read_index, remove_demo
from tasks.goals import TASKS, Goal, GoalError
from tasks.h5io import FileFormatError
from tasks.layout import DEFAULT_BLOCKS


def _kept_source(plan) -> str:
    """The source tasks.collect.keep_plan records for a kept plan."""
    return f"{plan.planner} {plan.id or 'plan'}"


class CollectWorker(QThread):
    """Runs tasks.collect.collect; emits progress(done, total, failures), then done(written, failures)
    or failed(message). Cancel stops after the episode in progress; what is written stays."""

    progress = Signal(int, int, int)
    done = Signal(int, list)
    failed = Signal(str)

    def __init__(self, path: Path, task: str, episodes: int, seed: int, workers: int, goal: Goal | None,
                 n_blocks: int) -> None:
        super().__init__()
        self.args = (path, task, episodes, seed, workers, goal)
        self.n_blocks = n_blocks
        self._stop = False

    def cancel(self) -> None:
        self._stop = True

    def run(self) -> None:
        path, task, episodes, seed, workers, goal = self.args
        try:
            written, failures = collect(
                path, task, episodes, seed, workers, goal,
                progress=lambda *a: self.progress.emit(*a), should_stop=lambda: self._stop, processes=True,
                n_blocks=self.n_blocks,
            )
            self.done.emit(written, failures)
        except (FileFormatError, GoalError, OSError) as e:
            self.failed.emit(str(e))


class CollectPanel(QWidget):
    openDemo = Signal(str, object)  # the demo's name, its (T, dim) states
    collectionFinished = Signal()
    demoRemoved = Signal(str)  # its name

    def __init__(self, path: Path, goal_source, blocks_source=lambda: DEFAULT_BLOCKS, parent: QWidget | None = None) -> None:
        """`goal_source()` returns the goal in the editor (or None), `blocks_source()` the number
        of blocks of the scene (the collected scenes have as many)."""
        super().__init__(parent)
        self.path = Path(path)
        self.goal_source, self.blocks_source = goal_source, blocks_source
        self.worker: CollectWorker | None = None
        self.task = QComboBox()
        self.task.addItems(TASKS)
        self.episodes = QSpinBox()
        self.episodes.setRange(1, 100_000)
        self.episodes.setValue(10)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.workers = QSpinBox()
        self.workers.setRange(1, max(1, os.cpu_count() or 1))  # more processes than cores only slow it
        self.workers.setValue(1)
        self.use_editor_goal = QCheckBox("Use the goal in the editor")
        self.collect_button = QPushButton("Collect")
        self.collect_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        for widget, tip in (
            (self.task, "The task whose goals the demonstrator is given (as `collect --task`)"),
            (self.episodes, "How many demonstrations to collect"),
            (self.seed, "The collection's seed: the same seed gives the same scenes (the training stream)"),
            (self.workers, "Worker processes that plan at once; the file is the same with any number"),
            (self.use_editor_goal, "Give every episode the goal in the editor instead of the task's random goals"),
            (self.collect_button, "Collect with the demonstrator into the demonstrations file (appended, resumable)"),
            (self.cancel_button, "Stop the collection; every demonstration already written is kept"),
        ):
            widget.setToolTip(tip)
        self.progress = QProgressBar()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.summary = QLabel()
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(("Demo", "Task", "Goal", "States", "Source"))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.doubleClicked.connect(lambda index: self.open_demo(index.row()))
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Remove the selected kept plan from the demonstrations (asks first)")
        self.remove_button.setEnabled(False)
        self.remove_button.clicked.connect(lambda _checked=False: self.remove())
        form = QFormLayout()
        form.addRow("Task", self.task)
        form.addRow("Episodes", self.episodes)
        form.addRow("Seed", self.seed)
        form.addRow("Worker processes", self.workers)
        form.addRow(self.use_editor_goal)
        buttons = QHBoxLayout()
        buttons.addWidget(self.collect_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(self.remove_button)
        col = QVBoxLayout(self)
        col.addWidget(QLabel(f"Dataset: {self.path}"))
        col.addWidget(self.summary)
        col.addLayout(form)
        col.addLayout(buttons)
        col.addWidget(self.progress)
        col.addWidget(self.status)
        col.addWidget(self.table, 1)
        self.refresh()

    def refresh(self) -> None:
        self.names: list[str] = []
        self.sources: list[str] = []
        self.remove_button.setEnabled(False)
        if not self.path.exists():
            self.summary.setText("No demonstrations yet")
            self.table.setRowCount(0)
            return
        try:
            index = read_index(self.path)
        except FileFormatError as e:
            self.summary.setText(f"<span style='color:#b00020'>Cannot read the dataset (left untouched): {e}</span>")
            self.table.setRowCount(0)
            return
        tasks = Counter(d.task for d in index)
        self.summary.setText(f"{len(index)} demos, {sum(d.num_samples for d in index)} states: "
                             + ", ".join(f"{k} {v}" for k, v in sorted(tasks.items())))
        self.table.setRowCount(len(index))
        for row, d in enumerate(index):
            for c, text in enumerate((d.name, d.task, str(d.goal), str(d.num_samples), d.source)):
                self.table.setItem(row, c, QTableWidgetItem(text))
        self.names, self.sources = [d.name for d in index], [d.source for d in index]

    def start(self) -> None:
        goal = self.goal_source() if self.use_editor_goal.isChecked() else None
        if self.use_editor_goal.isChecked() and goal is None:
            self.status.setText("The editor holds no valid goal")
            return
        task, n_blocks = goal.task if goal is not None else self.task.currentText(), self.blocks_source()
        self.worker = CollectWorker(self.path, task, self.episodes.value(), self.seed.value(), self.workers.value(), goal,
                                    n_blocks)
        self.worker.progress.connect(self._progress)
        self.worker.done.connect(self._done)
        self.worker.failed.connect(lambda m: self.status.setText(f"<span style='color:#b00020'>{m}</span>"))
        self.worker.finished.connect(self._finished)
        self.collect_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, self.episodes.value())
        self.status.setText(f"Collecting {task} demonstrations in scenes of {n_blocks} blocks…")
        self.worker.start()

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.status.setText("Stopping after the episode in progress…")

    def _progress(self, done: int, total: int, failures: int) -> None:
        self.progress.setValue(done)
        self.status.setText(f"Episode {done} of {total}" + (f", {failures} unsolved" if failures else ""))

    def _done(self, written: int, failures: list) -> None:
        self.status.setText(f"Wrote {written} demos" + (f"; unsolved: {'; '.join(failures)}" if failures else ""))

    def _finished(self) -> None:
        self.worker = None
        self.collect_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.refresh()
        self.collectionFinished.emit()

    def open_demo(self, row: int) -> None:
        name = self.names[row]
        self.openDemo.emit(name, load_states(self.path, [name])[name])

    def _selection_changed(self) -> None:
        """Remove is for the plans kept here, never for the demonstrator's own demonstrations."""
        rows = self.table.selectionModel().selectedRows()
        self.remove_button.setEnabled(len(rows) == 1 and self.sources[rows[0].row()] != "demonstrator")

    def remove(self, confirm: bool = True) -> str | None:
        """Remove the selected kept demonstration after asking; its name, or None."""
        rows = self.table.selectionModel().selectedRows()
        if len(rows) != 1 or self.sources[rows[0].row()] == "demonstrator":
            return None
        name, source = self.names[rows[0].row()], self.sources[rows[0].row()]
        if confirm and QMessageBox.question(self, "Remove demonstration", f"Remove {name} ({source}) from "
                                            f"{self.path.name}?") != QMessageBox.StandardButton.Yes:
            return None
        try:
            remove_demo(self.path, name)
        except FileFormatError as e:
            self.status.setText(f"<span style='color:#b00020'>Not removed: {e}</span>")
            return None
        self.refresh()
        self.status.setText(f"Removed {name} ({source})")
        self.demoRemoved.emit(name)
        return name

    def has_kept(self, plan) -> bool:
        """Whether `plan` (of the plans file) is already among the demonstrations."""
        return bool(plan.id) and self.path.exists() and any(d.source == _kept_source(plan) for d in self._index())

    def _index(self) -> list:
        try:
            return read_index(self.path)
        except FileFormatError:
            return []

    def keep(self, plan, scene_seed: int) -> str | None:
        """Keep a successful plan as a demonstration (once); its name there, or None (`why` says
        why: kept already, or a dataset of another number of blocks)."""
        if self.has_kept(plan):
            self.why = f"'{plan.name}' is already a demonstration"
            self.status.setText(self.why)
            return None
        try:
            name = keep_plan(self.path, plan, scene_seed)
        except (GoalError, FileFormatError) as e:
            self.why = f"Not kept: {e}"
            self.status.setText(f"<span style='color:#b00020'>{self.why}</span>")
            return None
        self.status.setText(f"Kept '{plan.name}' as {name}")
        self.refresh()
        return name

    def restore(self, prefs) -> None:
        """The collection settings as the user left them."""
        restore_values(prefs, "collect", self._persisted())

    def save(self, prefs) -> None:
        save_values(prefs, "collect", self._persisted())

    def _persisted(self) -> dict:
        return {"episodes": self.episodes, "seed": self.seed, "workers": self.workers, "task": self.task,
                "use_editor_goal": self.use_editor_goal}
