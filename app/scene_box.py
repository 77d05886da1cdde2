"""The scene controls: the scene's seed, a new scene, back to the start of the shown plan."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFormLayout, QGroupBox, QHBoxLayout, QPushButton, QSpinBox


class SceneBox(QGroupBox):
    newScene = Signal()
    reset = Signal()

    def __init__(self, seed: int = 0) -> None:
        super().__init__("Scene")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setValue(seed)
        self.seed.setToolTip("Seed of the random scene")
        self.new_scene_button = QPushButton("New scene")
        self.new_scene_button.clicked.connect(self.newScene)
        self.reset_button = QPushButton("Reset to start")
        self.reset_button.clicked.connect(self.reset)
        form = QFormLayout(self)
        form.addRow("Seed", self.seed)
        row = QHBoxLayout()
        row.addWidget(self.new_scene_button)
        row.addWidget(self.reset_button)
        form.addRow(row)
