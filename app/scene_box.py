"""The scene controls: the scene's seed, its number of blocks and where the start came from, a
new scene, back to the start of the shown plan, continue from where the shown plan ended, and
scenes kept by name."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFormLayout, QGridLayout, QGroupBox, QHBoxLayout, QInputDialog, QLabel, QPushButton, QSpinBox, QWidget

from tasks.h5io import FileFormatError
from tasks.layout import DEFAULT_BLOCKS, MAX_BLOCKS, MIN_BLOCKS
from tasks.plans import list_scenes, load_scene, save_scene


class SceneBox(QGroupBox):
    newScene = Signal()
    blocksChanged = Signal(int)  # the user chose another number of blocks
    reset = Signal()
    continueHere = Signal()
    saveScene = Signal()
    loadScene = Signal()

    def __init__(self, seed: int = 0, blocks: int = DEFAULT_BLOCKS) -> None:
        super().__init__("Scene")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setValue(seed)
        self.seed.setToolTip("Seed of the random scene")
        self.blocks = QSpinBox()
        self.blocks.setRange(MIN_BLOCKS, MAX_BLOCKS)
        self.blocks.setValue(min(max(blocks, MIN_BLOCKS), MAX_BLOCKS))
        self.blocks.setToolTip(f"Blocks in the scene ({MIN_BLOCKS} to {MAX_BLOCKS}): another number makes the "
                               "seed's scene with that many blocks")
        self.blocks.valueChanged.connect(self.blocksChanged)
        self.origin = QLabel()
        self.origin.setWordWrap(True)
        self.origin.setToolTip("Where the next plan starts")
        buttons = (
            ("new_scene_button", "New scene", self.newScene, "A new random scene from the seed"),
            ("reset_button", "Reset to start", self.reset, "Back to the start of the shown plan"),
            ("continue_button", "Continue from here", self.continueHere,
             "Plan the next goal from where the shown plan ended (the library keeps the chain)"),
            ("save_button", "Save scene…", self.saveScene, "Keep the present start in the plans file by name"),
            ("load_button", "Load scene…", self.loadScene, "Start from a scene kept by name"),
        )
        grid = QGridLayout()
        for k, (attr, text, signal, tip) in enumerate(buttons):
            b = QPushButton(text)
            b.setToolTip(tip)
            b.clicked.connect(signal)
            setattr(self, attr, b)
            grid.addWidget(b, k // 2, k % 2)
        self.continue_button.setEnabled(False)
        form = QFormLayout(self)
        top = QHBoxLayout()
        top.addWidget(self.seed, 1)
        top.addWidget(QLabel("Blocks"))
        top.addWidget(self.blocks)
        form.addRow("Seed", top)
        form.addRow(self.origin)
        form.addRow(grid)

    def set_origin(self, text: str) -> None:
        self.origin.setText(f"Start: {text}")

    def show_blocks(self, n: int) -> None:
        """The number of blocks of the scene shown (a plan's, a kept scene's), without a new scene."""
        self.blocks.blockSignals(True)
        self.blocks.setValue(n)
        self.blocks.blockSignals(False)


def save_scene_dialog(parent: QWidget, path: Path, state: np.ndarray, name: str | None = None) -> str:
    """Keep `state` in the plans file under a name (asked for unless given); what happened, in words."""
    if name is None:
        name, ok = QInputDialog.getText(parent, "Save scene", "Name:")
        if not ok:
            return ""
    try:
        save_scene(path, name, state)
    except FileFormatError as e:
        return f"Scene not saved: {e}"
    return f"Scene '{name}' kept in {Path(path).name}"


def load_scene_dialog(parent: QWidget, path: Path, name: str | None = None) -> tuple[str, np.ndarray] | str | None:
    """(name, state) of a kept scene (asked for unless given), a message if there is none, or None."""
    try:
        names = list_scenes(path)
        if name is None:
            if not names:
                return "No scenes kept yet: Save scene… keeps the present start"
            name, ok = QInputDialog.getItem(parent, "Load scene", "Scene:", names, 0, False)
            if not ok:
                return None
        return name, load_scene(path, name)
    except FileFormatError as e:
        return f"Scene not loaded: {e}"
