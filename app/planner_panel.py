"""The planner's controls: which planner, the Diffuser's settings, Plan / Cancel and progress.

Ranges and defaults come from planner.config.PlannerSettings; what the user set is remembered in
the app's prefs. The Diffuser itself is loaded and kept in the worker process (tasks.jobs).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import (
    QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSpinBox,
    QVBoxLayout, QWidget,
)

from app.workers import WarmupWorker
from planner.config import PlannerSettings, meta, shipped_mover

TIPS = {
    "planner_choice": "Diffuser: the learned planner. Demonstrator: the task-and-motion planner that made the "
                      "training data.",
    "steps": "Denoising steps per segment (10 is fast; 1000 is the paper's DDPM)",
    "candidates": "Trajectories sampled at once per segment; the best-ranked one is kept",
    "guide_scale": "How hard the tool guide pulls the sampled arm onto the block at the grasp and above its target at "
                   "the release, at every denoising step (0 = the model alone). Its value per step shows in the "
                   "denoising plot.",
    "plan_seed": "Seed of the sampling noise: the same seed, scene and goal give the same plan",
    "device": "Where the Diffuser runs",
}
PERSISTED = ("steps", "candidates", "guide_scale", "plan_seed")


def setting_box(box, name: str, high: float | None = None):
    """A spin box with the range and default of PlannerSettings' field `name`."""
    m = meta(PlannerSettings, name)
    box.setRange(m["low"], min(m["high"], high or m["high"]))
    box.setValue(m["default"])
    return box


class PlannerPanel(QGroupBox):
    """Emits planClicked and cancelClicked; the window starts and stops the work."""

    planClicked = Signal()
    cancelClicked = Signal()

    def __init__(self, prefs: QSettings, checkpoint: Path) -> None:
        super().__init__("Planner")
        self.prefs, self.checkpoint = prefs, Path(checkpoint)
        self.mover: str | None = shipped_mover()  # the move model; the Train tab's "Use this model" changes it
        self.mover_label = QLabel()
        self.mover_label.setWordWrap(True)
        self.mover_label.setToolTip("The move model that makes each segment's motion (the Train tab lists the "
                                    "models and switches between them)")
        self.planner_choice = QComboBox()
        self.planner_choice.addItem("Diffuser", "diffuser")
        self.planner_choice.addItem("Demonstrator (TAMP)", "demonstrator")
        self.steps = setting_box(QSpinBox(), "steps")
        self.candidates = setting_box(QSpinBox(), "candidates")
        self.guide_scale = setting_box(QDoubleSpinBox(), "guide_scale", high=10_000)
        self.plan_seed = QSpinBox()
        self.plan_seed.setRange(0, 2**31 - 1)
        self.device = QComboBox()
        self.device.addItem("CPU", "cpu")
        import torch

        if torch.cuda.is_available():
            self.device.addItem("CUDA", "cuda")
        if not self.checkpoint.exists():
            self.planner_choice.model().item(0).setEnabled(False)
            self.planner_choice.setCurrentIndex(1)
            self.planner_choice.setToolTip(f"no Diffuser checkpoint at {self.checkpoint}; the demonstrator still plans")
        for name, tip in TIPS.items():
            widget = getattr(self, name)
            widget.setToolTip(widget.toolTip() or tip)  # a reason set above (no checkpoint) stays
        self.plan_button = QPushButton("Plan")
        self.plan_button.setToolTip("Plan the goal from the current scene (Ctrl+P)")
        self.plan_button.clicked.connect(self.planClicked)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.setToolTip("Stop the plan under way (it stops at its next denoising step; nothing is kept)")
        self.cancel_button.clicked.connect(self.cancelClicked)
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)  # the label below says what is going on
        self.progress_label = QLabel()
        self.progress_label.setWordWrap(True)
        self._lay_out()
        self.planner_choice.currentIndexChanged.connect(lambda _: self._choice_changed())
        self.restore()
        self._choice_changed()

    def _lay_out(self) -> None:
        """The settings in the group box; Plan, Cancel and the progress in `actions`, which the
        window keeps in sight (never scrolled away with the settings)."""
        form = QFormLayout(self)
        for label, widget in (("Planner", self.planner_choice), ("Sampling steps", self.steps),
                              ("Candidates", self.candidates), ("Guide scale", self.guide_scale),
                              ("Plan seed", self.plan_seed), ("Device", self.device), ("Move model", self.mover_label)):
            form.addRow(label, widget)
        self.actions = QWidget()
        col = QVBoxLayout(self.actions)
        col.setContentsMargins(0, 0, 0, 0)
        buttons = QHBoxLayout()
        buttons.addWidget(self.plan_button)
        buttons.addWidget(self.cancel_button)
        col.addLayout(buttons)
        col.addWidget(self.progress)
        col.addWidget(self.progress_label)

    # ------------------------------------------------------------------ what is chosen
    @property
    def name(self) -> str:
        return self.planner_choice.currentData()

    @property
    def diffuser_available(self) -> bool:
        return self.planner_choice.model().item(0).isEnabled()

    def settings(self) -> PlannerSettings:
        """The Diffuser's settings as the panel shows them (read on the GUI thread)."""
        return PlannerSettings(steps=self.steps.value(), candidates=self.candidates.value(),
                               guide_scale=self.guide_scale.value(), device=self.device.currentData(), mover=self.mover)

    def use_mover(self, path: str | None) -> None:
        """Plan with the move model at `path` from now on (remembered)."""
        self.mover = path
        self.mover_label.setText("none" if path is None else
                                 "shipped" if path == shipped_mover() else Path(path).parent.name)

    def start_warmup(self, say) -> WarmupWorker | None:
        """Have the worker process load the Diffuser, so the first plan does not wait for it;
        `say` shows what happens (the status bar)."""
        if not self.diffuser_available:
            return None
        settings = self.settings()
        warmup = WarmupWorker(self.checkpoint, settings)
        warmup.ready.connect(lambda s: say(f"Diffuser ready (loaded in {s:.1f} s)", 5000))
        warmup.failed.connect(lambda m: say(f"Diffuser not loaded: {m}"))
        warmup.start()
        say("Loading the Diffuser in the background…")
        return warmup

    def _choice_changed(self) -> None:
        for w in (self.steps, self.candidates, self.guide_scale, self.plan_seed, self.device):
            w.setEnabled(self.name == "diffuser")

    # ------------------------------------------------------------------ running
    def started(self, goal) -> None:
        self.plan_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, 0)  # busy until the first progress report
        self.progress_label.setText(f"Planning '{goal}' with the {self.planner_choice.currentText()}…")

    def show_progress(self, seg: int, segs: int, k: int, steps: int) -> None:
        self.progress.setRange(0, segs * steps)
        self.progress.setValue((seg - 1) * steps + k)
        self.progress_label.setText(f"Segment {seg} of up to {segs}, denoising step {k} of {steps}")

    def finished(self) -> None:
        self.cancel_button.setEnabled(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress_label.setText("")

    # ------------------------------------------------------------------ prefs
    def restore(self) -> None:
        for name in PERSISTED:
            value = self.prefs.value(f"planner/{name}")
            if value is not None:
                widget = getattr(self, name)
                widget.setValue(type(widget.value())(value))
        mover = self.prefs.value("planner/mover")
        self.use_mover(mover if mover and Path(mover).is_file() else shipped_mover())  # a deleted model: the shipped one
        chosen = self.planner_choice.findData(self.prefs.value("planner/name"))
        if chosen >= 0 and self.planner_choice.model().item(chosen).isEnabled():
            self.planner_choice.setCurrentIndex(chosen)

    def save(self) -> None:
        for name in PERSISTED:
            self.prefs.setValue(f"planner/{name}", getattr(self, name).value())
        self.prefs.setValue("planner/name", self.name)
        self.prefs.setValue("planner/mover", self.mover or "")
