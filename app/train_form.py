"""The Train tab's training form (what to train on, from where, for how long; Train, Stop, Resume;
progress) and its plot of the training loss and held-out denoising error. What the buttons do
is the tab's (app/train_panel.py)."""
from __future__ import annotations

import math
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtWidgets import (
    QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSpinBox,
    QWidget,
)

from app.train_parts import DataFiles
from app.widgets import restore_values, save_values
from planner.config import ASSETS, MoverTrainConfig, meta
from planner.model_store import ModelInfo

SAMPLE = ASSETS / "sample_demos.h5"
SCRATCH = "__scratch__"
# The tab's defaults: a fine-tune of the model in use that a CPU does in minutes. A lower peak
# rate than a training from scratch, so the model keeps what it knew while it learns the new data.
DEFAULT_MINUTES, DEFAULT_BATCH, FINE_TUNE_LR, SCRATCH_LR = 10.0, 64, 1e-4, MoverTrainConfig.lr


class TrainForm(QGroupBox):
    """The training's settings, buttons, progress and status line."""

    def __init__(self, demos_source, parent: QWidget | None = None) -> None:
        """`demos_source()` is the app's demonstrations file (listed first, with the sample)."""
        super().__init__("Train", parent)
        self.files = DataFiles(lambda: {str(demos_source()): "the app's",
                                        **({str(SAMPLE): "shipped sample"} if SAMPLE.exists() else {})})
        self.start_from = QComboBox()
        self.start_from.setToolTip("Fine-tune a model (its weights and scales are the start), or train a new one "
                                   "from scratch (hours on a CPU)")
        self.start_from.currentIndexChanged.connect(lambda _: self._start_changed())
        self.device = QComboBox()
        self.device.addItem("Automatic (GPU when there is one)", "auto")
        self.device.addItem("CPU", "cpu")
        self.device.setToolTip("Where training runs; on the CPU it leaves one core to the window and its plans")
        self.minutes = QDoubleSpinBox()
        self.minutes.setRange(0.1, 24 * 60)
        self.minutes.setDecimals(1)
        self.minutes.setValue(DEFAULT_MINUTES)
        self.minutes.setSuffix(" min")
        self.minutes.setToolTip("Training time of this run; the learning rate decays over it. Resume trains "
                                "for this long again.")
        self.batch = QSpinBox()
        self.batch.setRange(1, int(meta(MoverTrainConfig, "batch_size")["high"]))
        self.batch.setValue(DEFAULT_BATCH)
        self.batch.setToolTip("Segments per step")
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(6)
        self.lr.setRange(1e-6, 1e-2)
        self.lr.setSingleStep(1e-5)
        self.lr.setValue(FINE_TUNE_LR)
        self.lr.setToolTip("Peak learning rate, cosine-decayed over the time budget")
        self.train_button = QPushButton("Train")
        self.train_button.setToolTip("Train a new model on the ticked data (a new entry in the list)")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop at the next step; the last checkpoint is kept and Resume continues from it")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Train the selected model further from its last checkpoint")
        self.progress = QProgressBar()
        self.status = QLabel()
        self.status.setWordWrap(True)
        form = QFormLayout(self)
        for label, widget in (("Data", self.files), ("Start from", self.start_from), ("Device", self.device),
                              ("Time budget", self.minutes), ("Batch size", self.batch), ("Learning rate", self.lr)):
            form.addRow(label, widget)
        buttons = QHBoxLayout()
        for b in (self.train_button, self.stop_button, self.resume_button):
            buttons.addWidget(b)
        form.addRow(buttons)
        form.addRow(self.progress)
        form.addRow(self.status)

    def refresh_start_from(self, models: list[ModelInfo], in_use: str) -> None:
        """The models a training can start from (finished or stopped ones), and scratch; the
        choice stays, else the model in use."""
        keep = self.start_from.currentData()
        self.start_from.blockSignals(True)
        self.start_from.clear()
        for info in models:
            if info.state in ("finished", "stopped"):
                self.start_from.addItem(f"{info.name}" + (" (in use)" if info.name == in_use else ""), info.name)
        self.start_from.addItem("Scratch (a new model)", SCRATCH)
        index = self.start_from.findData(keep if keep is not None else in_use)
        self.start_from.setCurrentIndex(max(0, index))
        self.start_from.blockSignals(False)

    def _start_changed(self) -> None:
        self.lr.setValue(SCRATCH_LR if self.start_from.currentData() == SCRATCH else FINE_TUNE_LR)

    def restore(self, prefs) -> None:
        restore_values(prefs, "train", {"minutes": self.minutes, "batch": self.batch})
        extra = prefs.value("train/files")
        if extra:
            self.files.add([p for p in (extra if isinstance(extra, list) else [extra]) if Path(p).exists()])

    def save(self, prefs) -> None:
        save_values(prefs, "train", {"minutes": self.minutes, "batch": self.batch})
        prefs.setValue("train/files", self.files.added())


class CurvePlot(pg.PlotWidget):
    """A model's training loss and held-out denoising error against its steps (log scale)."""

    def __init__(self) -> None:
        super().__init__(background="w")
        self.setLogMode(False, True)
        self.setLabel("bottom", "training step")
        self.setLabel("left", "loss, error")
        self.setTitle("<span style='color:#1f77b4'>training loss</span> and "
                      "<span style='color:#d62728'>held-out denoising error</span>", size="9pt")
        self.setMinimumHeight(150)
        self.loss_curve = self.plot([], [], pen=pg.mkPen((31, 119, 180), width=1))
        self.valid_curve = self.plot([], [], pen=pg.mkPen((214, 39, 40), width=2), symbol="o", symbolSize=5,
                                     symbolBrush=(214, 39, 40))

    def show_model(self, info: ModelInfo) -> None:
        losses = [(s, v) for s, v in info.losses if v > 0 and math.isfinite(v)]
        self.loss_curve.setData([s for s, _ in losses], [v for _, v in losses])
        self.valid_curve.setData([s for s, _ in info.valid], [v for _, v in info.valid])
