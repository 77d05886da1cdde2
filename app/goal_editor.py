"""The goal editor: tower order, "top on bottom" pairs, or tallest tower; by clicks, by dragging
blocks in a top-down view (arrangements), or as text.

Clicks on the colour chips (one per block of the scene, or blocks picked in the 3-D view,
through `click_block`) build the goal; the text field shows it in the CLI's syntax and can be
edited directly. An invalid goal, or one naming a block the scene lacks, is explained beside the
editor and `goalChanged` carries None, so Plan stays disabled.
"""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget,
)

from app.topdown import TopDownEditor
from tasks.goals import Arrangement, Goal, GoalError, TowerOrder, Unconditional, check_fits, parse_goal
from tasks.reference import FloorSpot, Reference
from tasks.layout import BLOCK_COLOURS, DEFAULT_BLOCKS, block_names, layout_of

MODES = ("Tower order", "Arrangement", "Tallest tower", "Reference (typed)")
REFERENCE = MODES[3]
EMPTY_HINT = ("Or type a goal: a tower (red,green,blue), pairs (green on red), tallest, or a reference "
              "arrangement (red at 0.55,0.20; green on red; clear)")


class GoalEditor(QWidget):
    goalChanged = Signal(object)  # Goal or None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.order: list[str] = []
        self.pairs: list[tuple[str, str]] = []
        self.spots: list[tuple[str, float, float]] = []  # blocks set down on the floor in the top-down editor
        self._scene = None
        self.pending_top: str | None = None
        self.goal: Goal | None = None
        self.mode = QComboBox()
        self.mode.addItems(MODES)
        self.mode.currentIndexChanged.connect(self._mode_changed)
        self.blocks: tuple[str, ...] = ()  # the scene's: a chip each, and the goal may name only these
        self.chips: dict[str, QPushButton] = {}
        self.chip_rows = QGridLayout()
        self._make_chips(block_names(DEFAULT_BLOCKS))
        self.undo_button = QPushButton("Undo")
        self.undo_button.clicked.connect(self.undo)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.clear)
        self.text = QLineEdit()
        self.text.setPlaceholderText("red,green,blue  |  green on red  |  tallest  |  red at 0.55,0.20; clear")
        self.text.textEdited.connect(self._text_edited)
        self.topdown = TopDownEditor()
        self.topdown.setMinimumHeight(260)
        self.topdown.pairsChanged.connect(self._topdown_pairs)
        self.hint = QLabel()
        self.hint.setWordWrap(True)  # a tower of eight blocks is a long line
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.mode.setToolTip("Tower order: click blocks bottom to top. Arrangement: click a top block, then the "
                             "block it goes on (or drag in the top-down view). Tallest tower: any order. "
                             "Reference: type floor spots, pairs or 'clear' (red at 0.55,0.20; green on red).")
        self.undo_button.setToolTip("Take back the last click")
        self.clear_button.setToolTip("Start the goal again")
        self.text.setToolTip("Or type the goal")
        buttons = QHBoxLayout()
        buttons.addWidget(self.undo_button)
        buttons.addWidget(self.clear_button)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.addWidget(self.mode)
        col.addLayout(self.chip_rows)
        col.addWidget(self.hint)
        col.addWidget(self.topdown)
        col.addLayout(buttons)
        col.addWidget(self.text)
        col.addWidget(self.message)
        self._refresh()

    # ------------------------------------------------------------------ editing
    def restore(self, prefs) -> None:
        """The goal and its mode as the user left them."""
        mode = prefs.value("goal/mode")
        if mode is not None and self.mode.findText(mode) >= 0:
            self.mode.setCurrentIndex(self.mode.findText(mode))
        text = prefs.value("goal/text")
        if text:
            self.set_text(str(text))

    def save(self, prefs) -> None:
        prefs.setValue("goal/mode", self.mode.currentText())
        prefs.setValue("goal/text", self.text.text())

    def click_block(self, name: str) -> None:
        mode = self.mode.currentText()
        if mode == "Tower order":
            if name in self.order:
                self.message.setText(f"{name} is already in the tower")
                return
            self.order.append(name)
        elif mode == "Arrangement":
            if self.pending_top is None:
                self.pending_top = name
            else:
                self.pairs.append((self.pending_top, name))
                self.pending_top = None
        self._refresh()

    def set_scene(self, state) -> None:
        """The scene's blocks as chips, and in the top-down editor where they are in the scene;
        the goal is checked again when the scene has other blocks."""
        self._scene = state
        self.spots = []
        self.topdown.set_scene(state)
        self.topdown.set_pairs(self.pairs)
        blocks = layout_of(state).blocks
        if blocks != self.blocks:
            self._make_chips(blocks)
            if self.text.text().strip():  # the goal as shown, checked against the new blocks
                self._apply_text(self.text.text(), follow_mode=False)
            else:
                self._refresh()

    def _make_chips(self, blocks: tuple[str, ...]) -> None:
        """A colour chip per block, in rows of four."""
        for chip in self.chips.values():
            self.chip_rows.removeWidget(chip)
            chip.hide()
            chip.deleteLater()
        self.blocks, self.chips = tuple(blocks), {}
        for k, name in enumerate(blocks):  # in rows of four, in columns
            r, g, b, _ = (int(255 * c) for c in BLOCK_COLOURS[name])
            chip = QPushButton(name)
            ink = "black" if 0.299 * r + 0.587 * g + 0.114 * b > 150 else "white"  # legible on its colour
            chip.setStyleSheet(f"background-color: rgb({r},{g},{b}); color: {ink};")
            chip.setToolTip(f"Add {name} to the goal")
            chip.clicked.connect(lambda _=False, n=name: self.click_block(n))
            self.chip_rows.addWidget(chip, k // 4, k % 4)
            self.chips[name] = chip
        mode = self.mode.currentText()
        for chip in self.chips.values():
            chip.setEnabled(mode not in ("Tallest tower", REFERENCE))

    def _topdown_pairs(self, pairs: list) -> None:
        if self.mode.currentText() != "Arrangement":
            return
        self.pairs, self.pending_top = list(pairs), None
        self.spots = self.topdown.floor_spots()
        self._refresh()

    def undo(self) -> None:
        if self.mode.currentText() == "Tower order" and self.order:
            self.order.pop()
        elif self.pending_top is not None:
            self.pending_top = None
        elif self.pairs:
            self.pairs.pop()
        self._refresh()

    def clear(self) -> None:
        self.order, self.pairs, self.spots, self.pending_top = [], [], [], None
        if self._scene is not None:  # the dragged blocks go back to where they are
            self.topdown.set_scene(self._scene)
        self._refresh()

    def set_text(self, text: str) -> None:
        """Show a goal given as text (a plan's, the prefs'); the mode follows the goal's kind."""
        self.text.setText(text)
        self._apply_text(text, follow_mode=True)

    def _mode_changed(self) -> None:
        self.clear()

    def _text_edited(self, text: str) -> None:
        """Typed by the user: the goal follows the text, the mode the user chose stays."""
        self._apply_text(text, follow_mode=False)

    def _apply_text(self, text: str, follow_mode: bool) -> None:
        self.order, self.pairs, self.spots, self.pending_top = [], [], [], None
        try:
            goal, why = (parse_goal(text), "") if text.strip() else (None, EMPTY_HINT)
        except GoalError as e:
            goal, why = None, str(e)
        mode = self.mode.currentText()
        if goal is not None and follow_mode:
            mode = ("Tower order" if isinstance(goal, TowerOrder) else "Arrangement" if isinstance(goal, Arrangement)
                    else REFERENCE if isinstance(goal, Reference) else "Tallest tower")
            self.mode.blockSignals(True)
            self.mode.setCurrentText(mode)
            self.mode.blockSignals(False)
        if isinstance(goal, TowerOrder) and mode == "Tower order":
            self.order = list(goal.order)
        elif isinstance(goal, Arrangement) and mode == "Arrangement":
            self.pairs = list(goal.pairs)
        self._sync_topdown()
        self._set_goal(goal, why, error=bool(text.strip()) and goal is None)
        self._hint()

    # ------------------------------------------------------------------ state
    def _sync_topdown(self) -> None:
        """The top-down editor shows the pairs (from the scene as it is, when they changed)."""
        arrangement = self.mode.currentText() == "Arrangement"
        self.topdown.setVisible(arrangement)
        if arrangement and (sorted(self.topdown.pairs()) != sorted(self.pairs) or self.topdown.floor_spots() != self.spots):
            self.topdown.blockSignals(True)
            if self._scene is not None:
                self.topdown.set_scene(self._scene)
            self.topdown.set_pairs(self.pairs)
            self.topdown.blockSignals(False)

    def _refresh(self) -> None:
        mode = self.mode.currentText()
        self._sync_topdown()
        for w in (*self.chips.values(), self.undo_button, self.clear_button):
            w.setEnabled(mode not in ("Tallest tower", REFERENCE))
        if mode == REFERENCE:  # the typed text is the goal
            self._refresh_reference()
            return
        error = False  # a hint says what to do next; an error says what is wrong
        try:
            if mode == "Tower order":
                goal = TowerOrder(tuple(self.order)) if self.order else None
                why = "" if self.order else f"Click blocks bottom to top. {EMPTY_HINT}"
                if self.order and len(self.order) < 2:
                    goal, why = None, "A tower needs at least 2 blocks: click the next one up."
            elif mode == "Arrangement" and self.spots:  # blocks set down on the floor: a reference
                goal = Reference(tuple(self.pairs), tuple(FloorSpot(*s) for s in self.spots))
                why = ""
            elif mode == "Arrangement":
                goal = Arrangement(tuple(self.pairs)) if self.pairs else None
                why = "" if self.pairs else ("Click a top block, then the block it goes on (or drag it in the view "
                                             f"below). {EMPTY_HINT}")
            else:
                goal, why = Unconditional(), ""
        except GoalError as e:
            goal, why, error = None, str(e), True
        self.text.setText(str(goal) if isinstance(goal, Reference) else self._goal_text())
        self._set_goal(goal, why, error)
        self._hint()

    def _refresh_reference(self) -> None:
        try:
            typed = parse_goal(self.text.text()) if self.text.text().strip() else None
        except GoalError:
            typed = None
        if not isinstance(typed, Reference):
            self.text.setText("")
        why = "" if typed is not None else "Type floor spots, pairs or 'clear': red at 0.55,0.20; green on red"
        self._set_goal(typed if isinstance(typed, Reference) else None, why, error=False)
        self._hint()

    def _goal_text(self) -> str:
        mode = self.mode.currentText()
        if mode == "Tower order":
            return ",".join(self.order)
        if mode == "Arrangement":
            return ", ".join(f"{t} on {b}" for t, b in self.pairs)
        return "tallest"

    def _hint(self) -> None:
        """What the goal is now, in words (nothing left over from an earlier goal)."""
        mode, goal = self.mode.currentText(), self.goal
        if mode == "Tower order" and (self.order or goal is None):
            self.hint.setText("Tower, bottom to top: " + (" → ".join(self.order) or "—"))
        elif mode == "Arrangement" and (self.pairs or self.spots or self.pending_top or goal is None):
            shown = [f"{t} on {b}" for t, b in self.pairs] + ([f"{self.pending_top} on …"] if self.pending_top else [])
            shown += [f"{b} on the floor at {x:.2f}, {y:.2f} m" for b, x, y in self.spots]
            self.hint.setText("Goal: " + (", ".join(shown) or "—"))
        elif mode == "Tallest tower" and goal is not None:
            n = len(self.blocks)
            self.hint.setText(f"Build the tallest tower, any order: all {n} blocks ({n - 1} moves from the floor)")
        else:
            self.hint.setText(f"Goal: {goal}" if goal is not None else "Goal: —")

    def _set_goal(self, goal: Goal | None, why: str, error: bool = True) -> None:
        if goal is not None and self.blocks:
            try:
                check_fits(goal, self.blocks)
            except GoalError as e:
                goal, why, error = None, str(e), True
        self.goal = goal
        self.message.setStyleSheet("color: #b00020;" if error else "color: palette(mid);")
        self.message.setText(why)
        self.goalChanged.emit(goal)
