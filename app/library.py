"""The plan library: every plan kept in an HDF5 plans file, listed, replayed, renamed, deleted,
exported. The file is only ever appended to or edited in place (tasks.plans); an unreadable file
is reported and left alone."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QFileDialog, QHBoxLayout, QInputDialog, QLabel, QPushButton, QTableWidget,
    QTableWidgetItem, QVBoxLayout, QWidget,
)

from tasks.h5io import FileFormatError
from tasks.plans import Plan, append_plan, delete_plan, export_plan, list_plans, load_plan, rename_plan

COLUMNS = ("Name", "Goal", "Planner", "Settings", "Score", "Strict", "Plan s", "Created")


def _short_settings(plan: Plan) -> str:
    s = plan.settings
    if plan.planner == "diffuser":
        return f"{s.get('steps')} steps, {s.get('candidates')} cand., step {s.get('train_step')}"
    return f"TAMP {s.get('version', '')}".strip()


class LibraryPanel(QWidget):
    replayRequested = Signal(object)  # Plan with states
    compareRequested = Signal(list)  # Plans with states

    def __init__(self, path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = Path(path)
        self.plans: list[Plan] = []
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.doubleClicked.connect(lambda _: self.replay())
        self.message = QLabel()
        self.message.setStyleSheet("color: #b00020;")
        buttons = QHBoxLayout()
        actions = (("Replay", self.replay), ("Compare", self.compare), ("Rename", self.rename),
                   ("Delete", self.delete), ("Export", self.export))
        for text, slot in actions:
            b = QPushButton(text)
            b.clicked.connect(slot)
            buttons.addWidget(b)
        col = QVBoxLayout(self)
        col.addWidget(QLabel(f"Plans file: {self.path}"))
        col.addWidget(self.table)
        col.addLayout(buttons)
        col.addWidget(self.message)
        self.refresh()

    def refresh(self) -> None:
        self.message.setText("")
        try:
            self.plans = list_plans(self.path) if self.path.exists() else []
        except FileFormatError as e:
            self.plans = []
            self.message.setText(f"Cannot read the plans file (left untouched): {e}")
        self.table.setRowCount(len(self.plans))
        for row, plan in enumerate(self.plans):
            cells = (plan.name, str(plan.goal), plan.planner, _short_settings(plan), f"{plan.score:.0f}",
                     "yes" if plan.strict_success else "no", f"{plan.plan_seconds:.2f}", plan.created)
            for c, text in enumerate(cells):
                self.table.setItem(row, c, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()

    def add(self, plan: Plan) -> str | None:
        try:
            pid = append_plan(self.path, plan)
        except FileFormatError as e:
            self.message.setText(f"Plan not saved: {e}")
            return None
        self.refresh()
        return pid

    def selected(self) -> Plan | None:
        rows = self.selected_all()
        return rows[0] if rows else None

    def selected_all(self) -> list[Plan]:
        return [self.plans[r.row()] for r in sorted(self.table.selectionModel().selectedRows(), key=lambda r: r.row())]

    def select(self, *rows: int) -> None:
        self.table.clearSelection()
        model = self.table.selectionModel()
        from PySide6.QtCore import QItemSelectionModel

        for row in rows:
            model.select(self.table.model().index(row, 0),
                         QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows)

    def compare(self) -> None:
        chosen = self.selected_all()
        if len(chosen) < 2:
            self.message.setText("Select two or more plans to compare (Ctrl+click)")
            return
        self.compareRequested.emit([load_plan(self.path, p.id) for p in chosen])

    def replay(self) -> None:
        plan = self.selected()
        if plan is not None:
            self.replayRequested.emit(load_plan(self.path, plan.id))

    def rename(self, name: str | None = None) -> None:
        plan = self.selected()
        if plan is None:
            return
        if name is None:
            name, ok = QInputDialog.getText(self, "Rename plan", "Name", text=plan.name)
            if not ok:
                return
        rename_plan(self.path, plan.id, name)
        self.refresh()

    def delete(self) -> None:
        plan = self.selected()
        if plan is not None:
            delete_plan(self.path, plan.id)
            self.refresh()

    def export(self, out: str | None = None) -> None:
        plan = self.selected()
        if plan is None:
            return
        if out is None:
            out, _ = QFileDialog.getSaveFileName(self, "Export plan", f"{plan.id}.h5", "HDF5 (*.h5)")
            if not out:
                return
        try:
            export_plan(self.path, plan.id, out)
        except FileFormatError as e:
            self.message.setText(str(e))
