"""The plan library: every plan kept in an HDF5 plans file, listed, replayed, renamed, deleted,
exported. The file is only ever appended to or edited in place (tasks.plans); an unreadable file
is reported and left alone."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import re

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QInputDialog, QLabel, QMessageBox, QPushButton, QTableWidget,
    QTableWidgetItem, QVBoxLayout, QWidget,
)

from app.plan_text import short_settings
from app.widgets import ask_save_path, file_stem
from tasks.h5io import FileFormatError
from tasks.layout import layout_of
from tasks.plans import (
    Plan, append_plan, delete_plan, export_plan, list_plans, load_plan, plan_chain, rename_plan,
)

_PLAN_ID = re.compile(r"\bplan_\d{5}\b")
COLUMNS = ("Name", "Goal", "Blocks", "Start", "Planner", "Settings", "Score", "Strict", "Plan s", "Created")


class LibraryPanel(QWidget):
    replayRequested = Signal(object)  # Plan with states
    compareRequested = Signal(list)  # Plans with states
    planSelected = Signal(object)  # Plan with states: its goal and start scene go back to the editor
    chainRequested = Signal(list)  # Plans with states, first to last, each continuing the one before

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
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self._deleted: Plan | None = None  # the last deleted plan, with states, for Undo
        buttons = QHBoxLayout()
        actions = (
            ("Replay", self.replay, "Execute the selected plan in physics and play it (or double-click a row)"),
            ("Replay chain", self.replay_chain, "Replay the selected plan after every plan it continued, end to end"),
            ("Compare", self.compare, "Compare two or more selected plans side by side (Ctrl+click to select)"),
            ("Rename", self.rename, "Give the selected plan a new name"),
            ("Delete", self.delete, "Delete the selected plan from the plans file (asks first; Undo restores it)"),
            ("Export", self.export, "Copy the selected plan into another plans file"),
        )
        self.buttons: dict[str, QPushButton] = {}
        for text, slot, tip in actions:
            b = QPushButton(text)
            b.setToolTip(tip)
            # clicked(bool) would arrive as the slot's first optional argument.
            b.clicked.connect(lambda _checked=False, slot=slot: slot())
            buttons.addWidget(b)
            self.buttons[text] = b
        self.undo_button = QPushButton("Undo delete")
        self.undo_button.setToolTip("Put the last deleted plan back into the plans file")
        self.undo_button.clicked.connect(lambda _checked=False: self.undo_delete())
        self.undo_button.setEnabled(False)
        buttons.addWidget(self.undo_button)
        # One row of buttons above the table, the file's name at its end: the table gets the height.
        buttons.addStretch(1)
        file_label = QLabel(f"Plans file: {self.path.name}")
        file_label.setToolTip(str(self.path))
        buttons.addWidget(file_label)
        col = QVBoxLayout(self)
        col.setContentsMargins(4, 2, 4, 2)
        col.addLayout(buttons)
        col.addWidget(self.table, 1)
        col.addWidget(self.message)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 6)  # compact rows
        self.refresh()

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setStyleSheet("color: #b00020;" if error else "")
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def name_of(self, pid: str) -> str:
        return next((p.name for p in self.plans if p.id == pid), "a deleted plan")

    def describe(self, text: str) -> str:
        """`text` (a plan's start, "the end of plan_00002") with the plans' names for their ids."""
        return _PLAN_ID.sub(lambda m: f"'{self.name_of(m.group(0))}'", text)

    def refresh(self) -> None:
        self._say("")
        try:
            plans = list_plans(self.path) if self.path.exists() else []
        except FileFormatError as e:
            plans = []
            self._say(f"Cannot read the plans file (left untouched): {e}", error=True)
        # In the order they were made: a plan put back by Undo delete returns to its place.
        self.plans = sorted(plans, key=lambda p: (p.created, p.id))
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.plans))
        for row, plan in enumerate(self.plans):
            self._fill_row(row, plan)
        self.table.blockSignals(False)
        self.table.resizeColumnsToContents()
        self._enable_buttons()

    def _fill_row(self, row: int, plan: Plan) -> None:
        cells = (plan.name, str(plan.goal), str(len(layout_of(plan.states).blocks)), self.describe(plan.start),
                 plan.planner, short_settings(plan), f"{plan.score:.0f}",
                 "yes" if plan.strict_success else "no", f"{plan.plan_seconds:.2f}", plan.created)
        for c, text in enumerate(cells):
            self.table.setItem(row, c, QTableWidgetItem(text))

    def _append_row(self, plan: Plan) -> None:
        """A plan just kept, put last (re-reading every plan's metadata grew with the library and
        held the window after each plan)."""
        self.plans.append(replace(plan, states=plan.states[:0], denoising=None))  # its metadata, as refresh keeps
        row = len(self.plans) - 1
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.plans))
        self._fill_row(row, plan)
        self.table.blockSignals(False)
        for c in range(self.table.columnCount()):  # wide enough for the new row too
            need = self.table.fontMetrics().horizontalAdvance(self.table.item(row, c).text()) + 16
            self.table.setColumnWidth(c, max(need, self.table.columnWidth(c)))
        self._enable_buttons()

    def _enable_buttons(self) -> None:
        """Each button enabled only when it has something to act on."""
        n = len(self.table.selectionModel().selectedRows())
        for text, b in self.buttons.items():
            b.setEnabled(n >= 2 if text == "Compare" else n == 1)

    def row_of(self, pid: str) -> int | None:
        return next((r for r, p in enumerate(self.plans) if p.id == pid), None)

    def show_plan(self, pid: str) -> None:
        """Select and scroll to plan `pid` without loading it again (a plan just made or put back)."""
        row = self.row_of(pid)
        if row is None:
            return
        self.table.blockSignals(True)
        self.select(row)
        self.table.blockSignals(False)
        self._enable_buttons()
        self.table.scrollToItem(self.table.item(row, 0))

    def store(self, plan: Plan) -> Plan:
        """Write `plan` to the plans file; it comes back as kept (id, name, time). Safe off the GUI
        thread (a plan worker keeps its plan so, the window only shows the row). FileFormatError
        if the file cannot take it."""
        pid = append_plan(self.path, plan)
        kept = load_plan(self.path, pid, with_states=False)  # the name and time the file gave it
        return replace(plan, id=pid, name=kept.name, created=kept.created)

    def add(self, plan: Plan) -> str | None:
        """Keep `plan` and show it; its id, or None (said in the library) when it could not be kept."""
        put_back = bool(plan.created)
        try:
            plan = self.store(plan)
        except FileFormatError as e:
            self._say(f"Plan not saved: {e}", error=True)
            return None
        self.added(plan, put_back)
        return plan.id

    def added(self, plan: Plan, put_back: bool = False) -> None:
        """Show a plan that `store` kept: its row (last; in its place if `put_back` by Undo), selected."""
        if put_back and self.plans and self.plans[-1].created > plan.created:
            self.refresh()  # not the newest: in its place
        else:
            self._say("")
            self._append_row(plan)
        self.show_plan(plan.id)

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
            self._say("Select two or more plans to compare (Ctrl+click)")
            return
        self.compareRequested.emit([load_plan(self.path, p.id) for p in chosen])

    def replay(self) -> None:
        plan = self.selected()
        if plan is not None:
            self.replayRequested.emit(load_plan(self.path, plan.id))

    def replay_chain(self) -> None:
        """The selected plan and every plan it continued, executed one after the other."""
        plan = self.selected()
        if plan is None:
            return
        chain = plan_chain(self.plans, plan.id)
        self._say(f"Replaying a chain of {len(chain)} plans: " + " → ".join(f"'{p.name}'" for p in chain))
        self.chainRequested.emit([load_plan(self.path, p.id) for p in chain])

    def _selection_changed(self) -> None:
        self._enable_buttons()
        chosen = self.selected_all()
        if len(chosen) == 1:
            try:
                self.planSelected.emit(load_plan(self.path, chosen[0].id))
            except FileFormatError as e:
                self._say(str(e), error=True)

    def rename(self, name: str | None = None) -> None:
        """Rename the selected plan; without `name`, ask for it in a dialog."""
        plan = self.selected()
        if plan is None:
            self._say("Select a plan to rename")
            return
        if name is None:
            name, ok = QInputDialog.getText(self, "Rename plan", "New name:", text=plan.name)
            if not ok:
                return
        name = name.strip()
        if not name:
            self._say("A plan's name cannot be empty", error=True)
            return
        rename_plan(self.path, plan.id, name)
        self.refresh()
        self.show_plan(plan.id)
        self._say(f"Renamed to '{name}'")

    def delete(self, confirm: bool = True) -> None:
        """Delete the selected plan after asking; Undo puts it back. Nothing stays selected, so
        a second click cannot delete another plan by accident."""
        plan = self.selected()
        if plan is None:
            self._say("Select a plan to delete")
            return
        if confirm:
            answer = QMessageBox.question(self, "Delete plan", f"Delete '{plan.name}' from {self.path.name}?")
            if answer != QMessageBox.StandardButton.Yes:
                return
        self._deleted = load_plan(self.path, plan.id)
        delete_plan(self.path, plan.id)
        self.table.blockSignals(True)
        self.refresh()
        self.table.clearSelection()
        self.table.blockSignals(False)
        self.undo_button.setEnabled(True)
        self._say(f"Deleted '{plan.name}'. Undo delete puts it back.")

    def undo_delete(self) -> None:
        if self._deleted is None:
            return
        plan, self._deleted = self._deleted, None
        if self.add(plan) is not None:
            self._say(f"Restored '{plan.name}'")
        self.undo_button.setEnabled(False)

    def export(self, out: str | None = None) -> None:
        """Copy the selected plan into another plans file; without `out`, ask for it."""
        plan = self.selected()
        if plan is None:
            self._say("Select a plan to export")
            return
        if out is None:
            out = ask_save_path(self, "Export plan", f"{file_stem(plan.name)}.h5", "Plans file (*.h5)")
            if not out:
                return
        try:
            pid = export_plan(self.path, plan.id, out)
        except FileFormatError as e:
            self._say(f"Not exported: {e}", error=True)
            return
        self._say(f"Exported '{plan.name}' to {out} as {pid}")
