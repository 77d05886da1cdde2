"""The Train tab's parts: the demonstrations files it trains on (DataFiles) and the models it lists,
with the evaluation's settings and the buttons that act on the selected model (ModelList). What
they do when pressed is the tab's (app/train_panel.py)."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QComboBox, QGroupBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton,
    QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from app.widgets import last_folder, restore_values, save_values, set_last_folder
from planner.model_store import ModelInfo, ModelStore
from tasks.goals import TASKS
from tasks.layout import DEFAULT_BLOCKS, MAX_BLOCKS, MIN_BLOCKS

COLUMNS = ("Model", "Started from", "Data", "Steps", "Held-out error", "State", "Last evaluation", "In use")


def count_demos(path: Path) -> str:
    from tasks.dataset import read_index
    from tasks.h5io import FileFormatError

    if not path.exists():
        return "no file yet"
    try:
        return f"{len(read_index(path))} demos"
    except FileFormatError as e:
        return f"unreadable: {e}"


class DataFiles(QWidget):
    """A list of demonstrations files to tick: the `defaults` (path -> what it is) first, then the
    files the user added."""

    def __init__(self, defaults, parent: QWidget | None = None) -> None:
        """`defaults()` gives {path: label} (the app's demonstrations, the shipped sample)."""
        super().__init__(parent)
        self.defaults = defaults
        self.list = QListWidget()
        self.list.setToolTip("The demonstrations to train on: ticked files are used")
        self.list.setMaximumHeight(90)
        self.add_button = QPushButton("Add files…")
        self.add_button.setToolTip("Add demonstrations files (.h5, as `collect` writes them)")
        self.add_button.clicked.connect(lambda _=False: self.add())
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.list, 1)
        row.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignTop)

    def paths(self) -> list[str]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def ticked(self) -> list[str]:
        return [p for i, p in enumerate(self.paths()) if self.list.item(i).checkState() == Qt.CheckState.Checked]

    def added(self) -> list[str]:
        """The files the user added (not the defaults)."""
        return [p for p in self.paths() if p not in self.defaults()]

    def refresh(self, also: list[str] = ()) -> None:
        """The defaults, the files listed before and `also` (ticked), each with its demo count."""
        known, ticked = self.paths(), set(self.ticked()) | set(also)
        labels = self.defaults()
        paths = list(labels) + [p for p in known + list(also) if p not in labels]
        self.list.clear()
        for p in dict.fromkeys(paths):
            label = labels.get(p, "")
            item = QListWidgetItem(f"{Path(p).name} ({label + ', ' if label else ''}{count_demos(Path(p))})")
            item.setData(Qt.ItemDataRole.UserRole, p)
            item.setToolTip(p)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            checked = not known or p in ticked  # at first every default is ticked
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
            self.list.addItem(item)

    def add(self, paths: list[str] | None = None) -> None:
        """Add demonstrations files (asked for in a dialog when `paths` is None), ticked."""
        if paths is None:
            from PySide6.QtWidgets import QFileDialog

            paths, _ = QFileDialog.getOpenFileNames(self, "Demonstrations to train on", last_folder(),
                                                    "Demonstrations (*.h5)")
            if paths:
                set_last_folder(str(Path(paths[0]).parent))
        self.refresh([str(p) for p in paths])


class ModelList(QGroupBox):
    """The store's models in a table (one selected at a time), the evaluation's case, and the
    Evaluate and Use buttons; emits selectionChanged(name or "")."""

    selectionChanged = Signal(str)
    PERSISTED = ("eval_task", "eval_blocks", "eval_episodes", "eval_seed")

    def __init__(self, store: ModelStore, parent: QWidget | None = None) -> None:
        super().__init__("Models", parent)
        self.store = store
        self.models: list[ModelInfo] = []
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(lambda: self.selectionChanged.emit(self.selected_name() or ""))
        self.eval_task = QComboBox()
        self.eval_task.addItems(TASKS)
        self.eval_task.setCurrentText("conditional")
        self.eval_task.setToolTip("The task of the evaluation episodes (the test seed stream: scenes no "
                                  "collection draws)")
        self.eval_blocks = QSpinBox()
        self.eval_blocks.setRange(MIN_BLOCKS, MAX_BLOCKS)
        self.eval_blocks.setValue(DEFAULT_BLOCKS)
        self.eval_blocks.setToolTip("Blocks in the evaluation scenes")
        self.eval_episodes = QSpinBox()
        self.eval_episodes.setRange(1, 1000)
        self.eval_episodes.setValue(10)
        self.eval_episodes.setToolTip("Episodes per model: the same scenes and goals for both")
        self.eval_seed = QSpinBox()
        self.eval_seed.setRange(0, 2**31 - 1)
        self.eval_seed.setToolTip("Seed of the evaluation's test-stream episodes")
        self.eval_after = QCheckBox("Evaluate when training ends")
        self.eval_after.setChecked(True)
        self.eval_after.setToolTip("When a training run ends, evaluate the new model beside the model in use")
        self.eval_button = QPushButton("Evaluate beside the model in use")
        self.eval_button.setToolTip("Plan the same episodes with the selected model and with the model in use, "
                                    "with the planner's settings, executed in physics")
        self.use_button = QPushButton("Use this model")
        self.use_button.setToolTip("Plan with the selected model from now on (the window's Diffuser)")
        col = QVBoxLayout(self)
        col.addWidget(self.table, 1)
        case = QHBoxLayout()
        for label, w in (("Task", self.eval_task), ("Blocks", self.eval_blocks), ("Episodes", self.eval_episodes),
                         ("Seed", self.eval_seed)):
            case.addWidget(QLabel(label))
            case.addWidget(w)
        case.addStretch(1)
        col.addLayout(case)
        actions = QHBoxLayout()
        actions.addWidget(self.eval_after)
        actions.addStretch(1)
        actions.addWidget(self.eval_button)
        actions.addWidget(self.use_button)
        col.addLayout(actions)

    def case(self) -> str:
        """The evaluation's case as planner.model_store.Score.case writes it."""
        return (f"{self.eval_task.currentText()}, {self.eval_blocks.value()} blocks, {self.eval_episodes.value()} "
                f"episodes, seed {self.eval_seed.value()}")

    def refresh(self, in_use: str, running: str = "") -> None:
        """The store's models; `in_use` is marked, `running` is the one a job trains now."""
        selected = self.selected_name()
        self.models = self.store.all()
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.models))
        for r, info in enumerate(self.models):
            state = info.state
            if state == "training" and info.name != running:
                state = "interrupted (Resume continues)"
            last = info.score_list()[-1] if info.scores else None
            files = [Path(d.split(":")[0]).name for d in info.data]  # a checkpoint's data: name:size:mtime
            cells = (info.name, self.origin(info), (files[0] if len(files) == 1 else f"{len(files)} files") if files else "—",
                     f"{info.step:,}", "—" if info.valid_loss is None else f"{info.valid_loss:.5f}", state,
                     f"{last.score:.1f} ± {last.sem:.1f} ({last.case})" if last else "—",
                     "yes" if info.name == in_use else "")
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip({2: "\n".join(files), 5: info.message}.get(c, ""))
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        self.table.blockSignals(False)
        if selected is not None:
            self.select(selected)

    def origin(self, info: ModelInfo) -> str:
        if info.shipped:
            return "shipped with the app"
        return "scratch" if not info.init_from else self.store.name_of(info.init_from)

    def info_of(self, name: str | None) -> ModelInfo | None:
        return next((m for m in self.models if m.name == name), None)

    def selected_name(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.models):
            return None
        return self.models[rows[0].row()].name

    def select(self, name: str) -> None:
        names = [m.name for m in self.models]
        if name in names:
            self.table.selectRow(names.index(name))

    def restore(self, prefs) -> None:
        restore_values(prefs, "train", {n: getattr(self, n) for n in self.PERSISTED})

    def save(self, prefs) -> None:
        save_values(prefs, "train", {n: getattr(self, n) for n in self.PERSISTED})
