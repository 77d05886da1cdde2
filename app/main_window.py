"""The main window: scene, goal, planner settings, Plan / Cancel, the 3-D view and playback."""
from __future__ import annotations

import json
import sys
import threading
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication, QCheckBox, QComboBox, QDockWidget, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
    QMainWindow, QProgressBar, QPushButton, QScrollArea, QSlider, QSpinBox, QVBoxLayout, QWidget,
)

from app.collect_panel import CollectPanel
from app.goal_editor import GoalEditor
from app.library import LibraryPanel
from app.playback import PlaybackBar
from app.view import SceneView
from app.workers import ExecuteWorker, PlanWorker, WarmupWorker
from planner.config import SHIPPED_CHECKPOINT, PlannerSettings, meta
from tasks.plans import Proposal
from tasks.world import initial_state

def setting_box(box, name: str, high: float | None = None):
    """A spin box with the range and default of PlannerSettings' field `name`."""
    m = meta(PlannerSettings, name)
    box.setRange(m["low"], min(m["high"], high or m["high"]))
    box.setValue(m["default"])
    return box
APP_NAME = "kuka-diffuser"


def app_data_dir() -> Path:
    """Where the app keeps its plans and demonstrations unless the settings name other files."""
    from PySide6.QtCore import QStandardPaths

    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation) or str(Path.home() / f".{APP_NAME}")
    Path(base).mkdir(parents=True, exist_ok=True)
    return Path(base)


def default_plans_file() -> Path:
    return app_data_dir() / "plans.h5"


class MainWindow(QMainWindow):
    planFinished = Signal()  # a planning run ended (done, failed or cancelled)
    replayFinished = Signal()
    exportFinished = Signal(bool)

    def __init__(
        self, checkpoint: Path = SHIPPED_CHECKPOINT, prefs: QSettings | None = None, plans_file: Path | None = None,
        dataset_file: Path | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle("Kuka block stacking — Diffuser planner")
        self.prefs = prefs or QSettings(APP_NAME, "app")
        self.checkpoint = Path(checkpoint)
        self._planners: dict[tuple, object] = {}
        self._planners_lock = threading.Lock()  # the warm-up thread and plan workers share them
        self.worker: PlanWorker | None = None
        self.plan = None
        self.frames: np.ndarray | None = None

        self.view = SceneView()
        self.playback = PlaybackBar()
        self.playback.frameChanged.connect(self._show_frame)
        self.trail_box = QCheckBox("Tool trail")
        self.trail_box.setChecked(True)
        self.trail_box.toggled.connect(lambda _: self._update_trail())
        self.denoise = QSlider(Qt.Orientation.Horizontal)
        self.denoise.setEnabled(False)
        self.denoise.valueChanged.connect(self._show_denoising)
        self.denoise_label = QLabel("Denoising: —")
        # Wide enough for its longest text, so the slider beside it never moves.
        self.denoise_label.setFixedWidth(self.denoise_label.fontMetrics().horizontalAdvance(
            "Denoising: step 1000 of 1000, segment 10") + 8)
        self.denoise.setToolTip("Watch the plan form: each denoising step of the segment under the cursor")
        self.guide_plot = _guide_plot()
        self.goal_editor = GoalEditor()
        self.goal_editor.goalChanged.connect(self._goal_changed)
        self.view.blockClicked.connect(self.goal_editor.click_block)
        plans_file = plans_file or Path(self.prefs.value("plans_file", str(default_plans_file())))
        self.library = LibraryPanel(plans_file)
        self.library.replayRequested.connect(self.replay)
        self.library.compareRequested.connect(self.compare)
        self.library.planSelected.connect(self.load_into_editor)
        dataset_file = dataset_file or Path(self.prefs.value("dataset_file", str(app_data_dir() / "demos.h5")))
        self.collector = CollectPanel(dataset_file, lambda: self.goal_editor.goal)
        self.collector.openDemo.connect(self.show_states)
        self.compare_windows: list = []
        self._replay_worker: ExecuteWorker | None = None

        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setValue(int(self.prefs.value("scene_seed", 0)))
        self.new_scene_button = QPushButton("New scene")
        self.new_scene_button.clicked.connect(self.new_scene)
        self.reset_button = QPushButton("Reset to start")
        self.reset_button.clicked.connect(lambda: self.playback.set_frame(0))

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

        tips = {
            self.planner_choice: "Diffuser: the learned planner. Demonstrator: the task-and-motion planner that made "
                                 "the training data.",
            self.steps: "Denoising steps per segment (10 is fast; 1000 is the paper's DDPM)",
            self.candidates: "Trajectories sampled at once per segment; the best-ranked one is kept",
            self.guide_scale: "How hard the tool guide pulls the sampled arm onto the block at the grasp and above "
                              "its target at the release, at every denoising step (0 = the model alone). Its value per "
                              "step shows in the denoising plot.",
            self.plan_seed: "Seed of the sampling noise: the same seed, scene and goal give the same plan",
            self.device: "Where the Diffuser runs",
            self.seed: "Seed of the random scene",
        }
        for widget, tip in tips.items():
            widget.setToolTip(widget.toolTip() or tip)  # a reason set above (no checkpoint) stays
        self.planner_choice.currentIndexChanged.connect(lambda _: self._planner_changed())
        self._restore_planner_settings()
        self.plan_button = QPushButton("Plan")
        self.plan_button.setToolTip("Plan the goal from the current scene (Ctrl+P)")
        self.plan_button.clicked.connect(self.start_plan)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_plan)
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)  # the label below says what is going on
        self.progress_label = QLabel()
        self.progress_label.setWordWrap(True)
        self.result_label = QLabel()
        self.result_label.setWordWrap(True)  # long goals and move lists wrap instead of widening the panel
        self.keep_button = QPushButton("Keep as demonstration")
        self.keep_button.setEnabled(False)
        self.keep_button.clicked.connect(lambda: self.collector.keep(self.plan, self.plan_scene_seed))

        scene_box = QGroupBox("Scene")
        scene_form = QFormLayout(scene_box)
        scene_form.addRow("Seed", self.seed)
        row = QHBoxLayout()
        row.addWidget(self.new_scene_button)
        row.addWidget(self.reset_button)
        scene_form.addRow(row)
        goal_box = QGroupBox("Goal")
        QVBoxLayout(goal_box).addWidget(self.goal_editor)
        plan_box = QGroupBox("Planner")
        form = QFormLayout(plan_box)
        form.addRow("Planner", self.planner_choice)
        form.addRow("Sampling steps", self.steps)
        form.addRow("Candidates", self.candidates)
        form.addRow("Guide scale", self.guide_scale)
        form.addRow("Plan seed", self.plan_seed)
        form.addRow("Device", self.device)
        buttons = QHBoxLayout()
        buttons.addWidget(self.plan_button)
        buttons.addWidget(self.cancel_button)
        form.addRow(buttons)
        form.addRow(self.progress)
        form.addRow(self.progress_label)
        side = QVBoxLayout()
        for w in (scene_box, goal_box, plan_box):
            side.addWidget(w)
        side.addWidget(self.result_label)
        side.addWidget(self.keep_button)
        side.addStretch(1)
        centre = QVBoxLayout()
        centre.addWidget(self.view, 1)
        centre.addWidget(self.playback)
        watch = QHBoxLayout()
        watch.addWidget(self.trail_box)
        watch.addWidget(self.denoise_label)
        watch.addWidget(self.denoise, 1)
        centre.addLayout(watch)
        centre.addWidget(self.guide_plot)
        body = QWidget()
        layout = QHBoxLayout(body)
        panel = QWidget()
        panel.setLayout(side)
        # The controls scroll rather than set the window's minimum height: at 1280 x 720 (or with
        # the arrangement editor open, or a long result) nothing falls off the screen, and the
        # 3-D view keeps its size when the panel's content grows.
        self.side_scroll = QScrollArea()
        self.side_scroll.setWidget(panel)
        self.side_scroll.setWidgetResizable(True)
        self.side_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.side_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        panel.setFixedWidth(360)
        self.side_scroll.setFixedWidth(360 + self.side_scroll.verticalScrollBar().sizeHint().width() + 4)
        layout.addWidget(self.side_scroll)
        layout.addLayout(centre, 1)
        self.setCentralWidget(body)
        dock = QDockWidget("Plan library", self)
        dock.setObjectName("library")
        dock.setWidget(_scrolling(self.library))
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        demos = QDockWidget("Demonstrations", self)
        demos.setObjectName("demonstrations")
        demos.setWidget(_scrolling(self.collector))
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, demos)
        self.tabifyDockWidget(dock, demos)
        dock.raise_()

        file_menu = self.menuBar().addMenu("&File")
        self.export_video_action = file_menu.addAction("Export plan as video or GIF…", self.export_video)
        self.export_denoising_action = file_menu.addAction("Export denoising animation…", self.export_denoising)
        for action in (self.export_video_action, self.export_denoising_action):
            action.setEnabled(False)
        file_menu.addSeparator()
        file_menu.addAction("Quit", QKeySequence.StandardKey.Quit, self.close)
        self._render_job = None
        QShortcut(QKeySequence(Qt.Key.Key_Space), self, self.playback.toggle)
        QShortcut(QKeySequence(Qt.Key.Key_Left), self, lambda: self.playback.step(-1))
        QShortcut(QKeySequence(Qt.Key.Key_Right), self, lambda: self.playback.step(1))
        QShortcut(QKeySequence("Ctrl+P"), self, self.start_plan)
        geometry = self.prefs.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
            self.restoreState(self.prefs.value("window_state"))
        else:
            self.resize(1280, 720)
            self.resizeDocks([dock], [190], Qt.Orientation.Vertical)  # the 3-D view gets the height
        self.new_scene()
        self._restore_view_settings()
        self._planner_changed()
        self._goal_changed(self.goal_editor.goal)
        self.warmup: WarmupWorker | None = None
        if self.planner_choice.model().item(0).isEnabled():
            settings = self._planner_settings()
            self.warmup = WarmupWorker(lambda: self._planner(settings))
            self.warmup.ready.connect(lambda s: self.statusBar().showMessage(f"Diffuser ready (loaded in {s:.1f} s)", 5000))
            self.warmup.failed.connect(lambda m: self.statusBar().showMessage(f"Diffuser not loaded: {m}"))
            self.warmup.start()
            self.statusBar().showMessage("Loading the Diffuser in the background…")

    _PERSISTED = ("steps", "candidates", "guide_scale", "plan_seed")

    def _restore_planner_settings(self) -> None:
        for name in self._PERSISTED:
            value = self.prefs.value(f"planner/{name}")
            if value is not None:
                widget = getattr(self, name)
                widget.setValue(type(widget.value())(value))
        chosen = self.planner_choice.findData(self.prefs.value("planner/name"))
        if chosen >= 0 and self.planner_choice.model().item(chosen).isEnabled():
            self.planner_choice.setCurrentIndex(chosen)

    def _save_planner_settings(self) -> None:
        for name in self._PERSISTED:
            self.prefs.setValue(f"planner/{name}", getattr(self, name).value())
        self.prefs.setValue("planner/name", self.planner_choice.currentData())
        self.prefs.setValue("goal/mode", self.goal_editor.mode.currentText())
        self.prefs.setValue("goal/text", self.goal_editor.text.text())
        self.prefs.setValue("playback/speed", self.playback.speed.currentData())
        self.prefs.setValue("playback/loop", self.playback.loop.isChecked())
        self.prefs.setValue("playback/trail", self.trail_box.isChecked())
        self.prefs.setValue("view/camera", json.dumps(asdict(self.view.camera)))
        c = self.collector
        for name in ("episodes", "seed", "workers"):
            self.prefs.setValue(f"collect/{name}", getattr(c, name).value())
        self.prefs.setValue("collect/task", c.task.currentText())
        self.prefs.setValue("collect/use_editor_goal", c.use_editor_goal.isChecked())

    def _restore_view_settings(self) -> None:
        """The goal, its mode and the playback options as the user left them."""
        mode = self.prefs.value("goal/mode")
        if mode is not None and self.goal_editor.mode.findText(mode) >= 0:
            self.goal_editor.mode.setCurrentIndex(self.goal_editor.mode.findText(mode))
        text = self.prefs.value("goal/text")
        if text:
            self.goal_editor.set_text(str(text))
        speed = self.prefs.value("playback/speed")
        if speed is not None and self.playback.speed.findData(float(speed)) >= 0:
            self.playback.speed.setCurrentIndex(self.playback.speed.findData(float(speed)))
        self.playback.loop.setChecked(str(self.prefs.value("playback/loop", "false")).lower() == "true")
        self.trail_box.setChecked(str(self.prefs.value("playback/trail", "true")).lower() == "true")
        camera = self.prefs.value("view/camera")
        if camera:
            from app.render import OrbitCamera

            try:
                self.view.set_camera(OrbitCamera(**{k: tuple(v) if isinstance(v, list) else v
                                                    for k, v in json.loads(camera).items()}))
            except (TypeError, ValueError):
                pass  # a camera saved by another version: keep the default view
        c = self.collector
        for name in ("episodes", "seed", "workers"):
            value = self.prefs.value(f"collect/{name}")
            if value is not None:
                getattr(c, name).setValue(int(value))
        task = self.prefs.value("collect/task")
        if task and c.task.findText(task) >= 0:
            c.task.setCurrentText(task)
        c.use_editor_goal.setChecked(str(self.prefs.value("collect/use_editor_goal", "false")).lower() == "true")

    # ------------------------------------------------------------------ scene and goal
    # ------------------------------------------------------------------ export
    def export_video(self, out: str | None = None) -> None:
        """The shown plan (as stored in the library) as MP4 or GIF, rendered in another process."""
        self._export(out, denoising=False)

    def export_denoising(self, out: str | None = None) -> None:
        self._export(out, denoising=True)

    def _export(self, out: str | None, denoising: bool) -> None:
        from app.export import ask_video_path, run_render

        plan = self.plan
        if plan is None or not plan.id or self._render_job is not None:
            return
        out = out or ask_video_path(self, f"{plan.id}{'-denoising' if denoising else ''}.mp4")
        if not out:
            return
        args = ["--plans", str(self.library.path), "--id", plan.id, "--out", out]
        args += ["--denoising"] if denoising else ["--speed", str(self.playback.speed.currentData())]

        def done(ok: bool, message: str) -> None:
            self._render_job = None
            self.statusBar().showMessage(message if ok else f"Export failed: {message}", 10_000)
            self.exportFinished.emit(ok)

        self._render_job = run_render(self, args, f"Rendering {Path(out).name}…", done)

    def _planner_changed(self) -> None:
        diffuser = self.planner_choice.currentData() == "diffuser"
        for w in (self.steps, self.candidates, self.guide_scale, self.plan_seed, self.device):
            w.setEnabled(diffuser)

    def new_scene(self) -> None:
        self.state = initial_state(self.seed.value())
        self.plan, self.frames = None, None
        self.keep_button.setEnabled(False)
        self.playback.set_length(0)
        self.result_label.setText("")
        self.view.set_state(self.state)
        self.view.set_trail(None)
        self.goal_editor.set_scene(self.state)
        self.statusBar().showMessage(f"Scene {self.seed.value()}: click blocks or chips to set a goal")

    def load_into_editor(self, plan) -> None:
        """A plan chosen in the library: its start scene and its goal go back into the editor."""
        if self.worker is not None:
            return
        self.state = np.asarray(plan.states[0], dtype=np.float64)
        self.plan, self.frames = None, None
        self.playback.set_length(0)
        self.view.set_state(self.state)
        self.view.set_trail(None)
        self.goal_editor.set_scene(self.state)
        self.goal_editor.set_text(str(plan.goal))
        self.keep_button.setEnabled(False)
        self.statusBar().showMessage(f"'{plan.name}': its start scene and goal are in the editor; Replay plays it")

    def _goal_changed(self, goal) -> None:
        self.plan_button.setEnabled(goal is not None and self.worker is None)

    def _show_frame(self, k: int) -> None:
        if self.frames is not None and len(self.frames):
            self.view.set_state(self.frames[min(k, len(self.frames) - 1)])
            if self.denoise.isEnabled() and self.denoise.value() < self.denoise.maximum():
                self._show_denoising(self.denoise.value())

    def _tool_path(self, states: np.ndarray) -> np.ndarray:
        from tasks.metrics import tool_positions

        return tool_positions(states, self.view.renderer.world)

    def _update_trail(self) -> None:
        show = self.trail_box.isChecked() and self.frames is not None and len(self.frames) > 1
        self.view.set_trail(self._tool_path(self.frames) if show else None)

    def _plot_guide(self, plan) -> None:
        """The tool's distance from its grasp and release targets in each segment's predicted
        plan, step by denoising step: what the guide scale pulls down (and the model alone does)."""
        item = self.guide_plot.getPlotItem()
        item.clear()
        segs = plan.segments if plan is not None else ()
        curves = [np.sqrt(np.maximum(-np.asarray(s.guide_values), 1e-8)) * 100 for s in segs if s.guide_values]
        for k, cm in enumerate(curves):
            item.plot(np.arange(1, len(cm) + 1), np.log10(cm), pen=pg.mkPen(_SEGMENT_PENS[k % len(_SEGMENT_PENS)], width=2),
                      symbol="o", symbolSize=4, name=f"segment {k + 1}")
        self.guide_plot.setVisible(bool(curves))

    def _show_denoising(self, k: int) -> None:
        """Step k of the denoising of the segment under the playback cursor: its tool path as the
        trail and the arm at the cursor's time (the last step is the plan itself)."""
        snaps = getattr(self.plan, "denoising", None)
        if snaps is None:
            return
        seg_len = snaps.shape[2]
        frame = self.playback.frame
        seg = min(frame // seg_len, len(snaps) - 1)
        states = snaps[seg, k]
        self.denoise_label.setText(f"Denoising: step {k + 1} of {snaps.shape[1]}, segment {seg + 1}")
        if k == snaps.shape[1] - 1:
            self._update_trail()
            return
        self.view.set_state(states[min(frame - seg * seg_len, seg_len - 1)])
        self.view.set_trail(self._tool_path(states) if self.trail_box.isChecked() else None)

    # ------------------------------------------------------------------ planning
    def _planner_settings(self) -> PlannerSettings:
        """The Diffuser's settings as the panel shows them (read on the GUI thread)."""
        return PlannerSettings(
            steps=self.steps.value(), candidates=self.candidates.value(),
            guide_scale=self.guide_scale.value(), device=self.device.currentData(),
        )

    def _planner(self, settings=None):
        """The Diffuser planner for `settings` (default: the panel's); any thread may call it."""
        from planner.plan import DiffuserPlanner

        settings = settings or self._planner_settings()
        key = ("diffuser", settings)
        with self._planners_lock:
            if key not in self._planners:
                # One Diffuser planner at a time: each holds the weights and two physics clients.
                for old in [k for k in self._planners if k[0] == "diffuser"]:
                    self._planners.pop(old).close()
                self._planners[key] = DiffuserPlanner(self.checkpoint, settings)
            return self._planners[key]

    def start_plan(self) -> None:
        goal = self.goal_editor.goal
        if goal is None or self.worker is not None:
            return
        settings = self._planner_settings()
        self.worker = PlanWorker(self.planner_choice.currentData(), lambda: self._planner(settings), self.state, goal,
                                 self.plan_seed.value())
        self.worker.progress.connect(self._progress)
        self.worker.done.connect(self._plan_done)
        self.worker.failed.connect(self._plan_failed)
        self.worker.cancelled.connect(self._plan_cancelled)
        self.worker.finished.connect(self._worker_finished)
        self.plan_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, 0)  # busy until the first progress report
        self.progress_label.setText(f"Planning '{goal}' with the {self.planner_choice.currentText()}…")
        self.statusBar().showMessage("Planning…")
        self.worker.start()

    def cancel_plan(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.progress_label.setText("Cancelling…")

    def _progress(self, seg: int, segs: int, k: int, steps: int) -> None:
        self.progress.setRange(0, segs * steps)
        self.progress.setValue((seg - 1) * steps + k)
        self.progress_label.setText(f"Segment {seg} of up to {segs}, denoising step {k} of {steps}")

    def _plan_done(self, plan, result) -> None:
        pid = self.library.add(plan)
        self._show_result(replace(plan, id=pid or ""), result)

    def show_states(self, states: np.ndarray) -> None:
        """Play states as they are (a demonstration)."""
        self.plan, self.frames = None, np.asarray(states)
        self.keep_button.setEnabled(False)
        self.playback.set_length(len(self.frames))
        self._show_frame(0)
        self._update_trail()
        self.denoise.setEnabled(False)
        self.result_label.setText(f"Demonstration, {len(self.frames)} states")

    def _show_result(self, plan, result) -> None:
        self.plan = plan
        self.plan_scene_seed = self.seed.value()
        self.keep_button.setEnabled(bool(result.strict_success))
        self.state = result.states[0].astype(np.float64)
        self.frames = result.states
        self.playback.set_length(len(self.frames))
        self.playback.set_frame(0)
        self._show_frame(0)
        self._update_trail()
        self._plot_guide(plan)
        snaps = getattr(plan, "denoising", None)
        self.denoise.blockSignals(True)
        self.denoise.setEnabled(snaps is not None)
        self.denoise.setRange(0, 0 if snaps is None else snaps.shape[1] - 1)
        self.denoise.setValue(self.denoise.maximum())
        self.denoise.blockSignals(False)
        self.denoise_label.setText("Denoising: watch the plan form" if snaps is not None else "Denoising: —")
        self.export_video_action.setEnabled(bool(plan.id))
        self.export_denoising_action.setEnabled(bool(plan.id) and snaps is not None)
        verdict = "strict success" if result.strict_success else "no strict success"
        self.result_label.setText(
            f"<b>{plan.planner}</b>: '{plan.goal}' in {plan.plan_seconds:.2f} s<br>"
            f"score {result.score:.0f} / 100, {verdict}, {len(self.frames)} states{_moves_line(plan)}"
        )
        self.statusBar().showMessage("Plan ready: Space plays it, arrows step")
        self.playback.set_playing(True)

    def replay(self, plan) -> None:
        """Replay a stored plan: execute it in physics (off the GUI thread) and play it."""
        if self._replay_worker is not None:
            return
        self.statusBar().showMessage(f"Replaying {plan.name}…")
        self._replay_worker = ExecuteWorker(plan)
        self._replay_worker.done.connect(self._show_result)
        self._replay_worker.failed.connect(self._plan_failed)
        self._replay_worker.finished.connect(self._replay_finished)
        self._replay_worker.start()

    def compare(self, plans: list) -> None:
        from app.compare import CompareWindow

        window = CompareWindow(plans, self.library.path)
        window.show()
        self.compare_windows.append(window)

    def _replay_finished(self) -> None:
        self._replay_worker = None
        self.replayFinished.emit()

    def _plan_failed(self, message: str) -> None:
        self.result_label.setText(f"<span style='color:#b00020'>Planning failed: {message}</span>")
        self.statusBar().showMessage("Planning failed; the app is still usable")

    def _plan_cancelled(self) -> None:
        self.statusBar().showMessage("Planning cancelled")

    def _worker_finished(self) -> None:
        self.worker = None
        self.cancel_button.setEnabled(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress_label.setText("")
        self._goal_changed(self.goal_editor.goal)
        self.planFinished.emit()

    def closeEvent(self, event) -> None:  # noqa: N802
        if self.warmup is not None:
            self.warmup.wait(60_000)
        if self.worker is not None:
            self.worker.cancel()
            self.worker.wait(5000)
        self._save_planner_settings()
        self.prefs.setValue("geometry", self.saveGeometry())
        self.prefs.setValue("window_state", self.saveState())
        self.prefs.setValue("plans_file", str(self.library.path))
        self.prefs.setValue("dataset_file", str(self.collector.path))
        if self.collector.worker is not None:
            self.collector.worker.cancel()
            self.collector.worker.wait(30000)
        self.prefs.setValue("scene_seed", self.seed.value())
        super().closeEvent(event)


def run(argv: list[str] | None = None) -> int:
    from tasks import jobs

    app = QApplication.instance() or QApplication(argv or sys.argv)
    app.setApplicationName(APP_NAME)
    window = MainWindow()
    window.show()
    code = app.exec()
    jobs.shutdown()
    return code


_SEGMENT_PENS = [(0, 114, 178), (213, 94, 0), (0, 158, 115), (204, 121, 167)]


def _guide_plot() -> pg.PlotWidget:
    plot = pg.PlotWidget(background="w")
    plot.setFixedHeight(130)
    item = plot.getPlotItem()
    item.setTitle("Tool distance from the grasp and release targets (median candidate), by denoising step", size="9pt")
    item.setLabel("left", "cm")
    item.setLabel("bottom", "denoising step")
    item.getAxis("bottom").setTickSpacing(major=1, minor=1)  # steps are whole numbers
    # A log scale drawn by hand (log10 of cm, labelled in cm): pyqtgraph's own log axis labels
    # every minor tick, and they overlap in a plot this low.
    item.getAxis("left").setTicks([[(v, f"{10.0 ** v:g}") for v in (-1, 0, 1, 2, 3)], []])
    item.addLegend(offset=(-10, 2), colCount=4)  # one row at the top, off the curves
    plot.setToolTip("RMS distance of the tool from the block's top face at the grasp and from the target at the "
                    "release, in each step's predicted plan (the median candidate). A guide scale above 0 pulls it "
                    "down during denoising.")
    plot.setVisible(False)
    return plot


def _scrolling(widget: QWidget) -> QScrollArea:
    """`widget` in a scroll area, so a dock can shrink below its content's height."""
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    return area


def _moves_line(plan) -> str:
    """The plan's pick-and-places in order, and how many the Diffuser chose itself (tallest tower)."""
    segs = plan.segments
    if not segs:
        return ""
    chosen = sum(s.proposal in (Proposal.DIFFUSER, Proposal.DIFFUSER_RULE) for s in segs)
    if not chosen:
        head = "moves"
    elif chosen == len(segs):
        head = "moves chosen by the Diffuser"
    else:
        head = f"moves ({chosen} chosen by the Diffuser)"
    return f"<br>{head}: " + " → ".join(s.move for s in segs)
