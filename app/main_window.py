"""The main window: it wires the scene and goal controls, the planner panel, the 3-D view and the
docks (window_parts makes and places them) and runs the plan, replay and warm-up workers."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import QMainWindow

from app.compare import CompareWindow
from app.launch import APP_NAME
from app.plan_text import result_text
from app.scene_box import load_scene_dialog, save_scene_dialog
from app.export import export_plan
from app.widgets import set_last_folder, tame_inputs
from app.window_parts import add_docks, add_menu_and_shortcuts, central, make_widgets, save_prefs
from app.workers import ExecuteWorker, PlanWorker
from planner.config import SHIPPED_CHECKPOINT
from tasks import jobs
from tasks.layout import DEFAULT_BLOCKS, layout_of
from tasks.world import initial_state


class MainWindow(QMainWindow):
    planFinished = Signal()  # a planning run ended (done, failed or cancelled)
    replayFinished = Signal()
    exportFinished = Signal(bool)

    def __init__(
        self, checkpoint: Path = SHIPPED_CHECKPOINT, prefs: QSettings | None = None, plans_file: Path | None = None,
        dataset_file: Path | None = None, models_dir: Path | None = None,
    ) -> None:
        super().__init__()
        self.prefs = prefs or QSettings(APP_NAME, "app")
        self.worker: PlanWorker | None = None
        self._replay_worker: ExecuteWorker | None = None
        self._render_job = None
        self.plan, self.plan_scene_seed = None, 0
        self.compare_windows: list = []
        self._shown_seed: int | None = None  # the seed of the scene shown (New scene goes on from it)
        make_widgets(self, Path(checkpoint), plans_file, dataset_file, models_dir)
        self._connect()
        self.setCentralWidget(central(self))
        add_docks(self)
        add_menu_and_shortcuts(self)
        tame_inputs(self)
        set_last_folder(self.prefs.value("last_folder"))
        geometry = self.prefs.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
            self.restoreState(self.prefs.value("window_state"))
        else:
            self.resize(1280, 720)
            self.resizeDocks([self.library_dock], [190], Qt.Orientation.Vertical)  # the 3-D view gets the height
        self.show_scene()
        for part in (self.goal_editor, self.viewer, self.collector, self.trainer):  # as the user left them
            part.restore(self.prefs)
        self._goal_changed(self.goal_editor.goal)
        self._title()
        self.planner_panel.planner_choice.currentIndexChanged.connect(lambda _: self._title())
        jobs.pool()  # the physics worker starts from the GUI thread, which lives as long as the app
        self.warmup = self.planner_panel.start_warmup(self.statusBar().showMessage)

    def _connect(self) -> None:
        """The widgets' signals to the window's slots (window_parts.make_widgets made the widgets)."""
        self.goal_editor.goalChanged.connect(self._goal_changed)
        self.view.blockClicked.connect(self.goal_editor.click_block)
        self.library.replayRequested.connect(self.replay)
        self.library.chainRequested.connect(lambda plans: self.replay(plans[-1], plans))
        self.library.compareRequested.connect(self.compare)
        self.library.planSelected.connect(self.load_into_editor)
        self.collector.openDemo.connect(lambda name, states: self.show_states(states, name))
        self.collector.demoRemoved.connect(lambda _: self.keep_button.setEnabled(self._keepable(self.plan)))
        self.scene_box.newScene.connect(self.new_scene)
        self.scene_box.blocksChanged.connect(lambda _: self.show_scene())
        self.scene_box.reset.connect(lambda: self.playback.set_frame(0))
        self.scene_box.continueHere.connect(self.continue_from_here)
        self.scene_box.saveScene.connect(self.save_scene)
        self.scene_box.loadScene.connect(self.load_scene)
        self.planner_panel.planClicked.connect(self.start_plan)
        self.planner_panel.cancelClicked.connect(self.cancel_plan)
        self.trainer.useModel.connect(self.use_mover)
        self.collector.collectionFinished.connect(self.trainer.refresh)  # the data list shows the new count
        self.keep_button.clicked.connect(self.keep_plan)

    def _title(self) -> None:
        self.setWindowTitle(f"Kuka block stacking — {self.planner_panel.planner_choice.currentText()} planner")

    # ------------------------------------------------------------------ scene and goal
    def _set_start(self, state: np.ndarray, origin: str, parent: str = "") -> None:
        """Where the next plan starts, and where that came from (a seed, a plan's end, a kept scene)."""
        self.state, self.start_origin, self.start_parent = np.asarray(state, dtype=np.float64), origin, parent
        self.plan, self.last_result = None, None
        self.keep_button.setEnabled(False)
        self.result_label.setText("")
        self.scene_box.continue_button.setEnabled(False)
        self.scene_box.set_origin(self.library.describe(origin))
        self.scene_box.show_blocks(len(layout_of(self.state).blocks))  # a plan's or kept scene's N
        self.viewer.show_scene(self.state)
        self.goal_editor.set_scene(self.state)

    def show_scene(self) -> None:
        """The scene of the seed in the seed box, with the blocks in the blocks box."""
        self._shown_seed, n = self.seed.value(), self.blocks.value()
        name = f"scene {self._shown_seed}" + ("" if n == DEFAULT_BLOCKS else f" of {n} blocks")
        self._set_start(initial_state(self._shown_seed, n), name)
        self.statusBar().showMessage(f"{name.capitalize()}: click blocks or chips to set a goal")

    def new_scene(self) -> None:
        """The next seed's scene (or the seed the user typed, when it is not the one shown)."""
        if self.seed.value() == self._shown_seed:
            self.seed.setValue(self.seed.value() + 1)
        self.show_scene()

    def load_into_editor(self, plan) -> None:
        """A plan chosen in the library: its start scene and goal go back into the editor, and
        the plan as stored is shown (Replay executes it again in physics)."""
        if self.worker is not None:
            return
        self._set_start(plan.states[0], f"the start of {plan.id}", plan.parent)
        self.goal_editor.set_text(str(plan.goal))
        self.plan = plan
        self.keep_button.setEnabled(self._keepable(plan))
        self._enable_exports(plan)
        verdict = "strict success" if plan.strict_success else "no strict success"
        self.result_label.setText(f"<b>{plan.planner}</b>: '{plan.goal}', as stored: score {plan.score:.0f} / 100, "
                                  f"{verdict}, {len(plan.states)} states")
        self.viewer.show_frames(plan.states, plan)
        self.statusBar().showMessage(f"'{plan.name}' as stored: Space plays it, Replay executes it again, "
                                     "Plan plans its goal from its start")

    def continue_from_here(self) -> None:
        """The next plan starts where the shown one ended (as physics left the blocks)."""
        if self.plan is None or self.last_result is None or self.worker is not None:
            return
        plan = self.plan
        self._set_start(self.last_result.final_state, f"the end of {plan.id or plan.name}", plan.id)
        self.statusBar().showMessage(f"Continuing from where '{plan.name}' ended: set the next goal")

    def save_scene(self, name: str | None = None) -> None:
        """Keep the present start in the plans file (asks for a name unless given)."""
        self.statusBar().showMessage(save_scene_dialog(self, self.library.path, self.state, name))

    def load_scene(self, name: str | None = None) -> None:
        """Start from a scene kept by name (asks which unless given)."""
        chosen = load_scene_dialog(self, self.library.path, name)
        if isinstance(chosen, str):
            self.statusBar().showMessage(chosen)
        elif chosen is not None:
            self._set_start(chosen[1], f"scene '{chosen[0]}'")
            self.statusBar().showMessage(f"Scene '{chosen[0]}' loaded: click blocks or chips to set a goal")

    def keep_plan(self) -> None:
        """The shown plan into the demonstrations, once."""
        if self.plan is not None and self.collector.keep(self.plan, self.plan_scene_seed) is not None:
            self.keep_button.setEnabled(False)
            self.statusBar().showMessage(f"'{self.plan.name}' kept as a demonstration")
        elif self.plan is not None:  # a dataset of another number of blocks, say
            self.statusBar().showMessage(self.collector.why)

    def _keepable(self, plan) -> bool:
        return plan is not None and bool(plan.strict_success) and len(plan.states) > 1 and not self.collector.has_kept(plan)

    def _enable_exports(self, plan) -> None:
        self.export_video_action.setEnabled(plan is not None and bool(plan.id))
        self.export_denoising_action.setEnabled(plan is not None and bool(plan.id) and plan.denoising is not None)

    def _goal_changed(self, goal) -> None:
        self.planner_panel.plan_button.setEnabled(goal is not None and self.worker is None)

    # ------------------------------------------------------------------ planning
    def start_plan(self) -> None:
        goal = self.goal_editor.goal
        if goal is None or self.worker is not None:
            return
        panel = self.planner_panel
        settings = panel.settings()
        origin, parent = self.start_origin, self.start_parent
        self.worker = PlanWorker(panel.name, panel.checkpoint, settings, self.state, goal, panel.plan_seed.value(),
                                 keep=lambda plan: self.library.store(replace(plan, start=origin, parent=parent)))
        self.worker.progress.connect(panel.show_progress)
        self.worker.done.connect(self._plan_done)
        self.worker.failed.connect(self._plan_failed)
        self.worker.cancelled.connect(lambda: self.statusBar().showMessage("Planning cancelled"))
        self.worker.finished.connect(self._worker_finished)
        panel.started(goal)
        self.statusBar().showMessage("Planning…")
        self.worker.start()

    def cancel_plan(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.planner_panel.progress_label.setText("Cancelling…")

    def _plan_done(self, plan, result) -> None:
        """Show a plan made; the worker kept it in the library already (or it is kept here)."""
        if plan.id:
            self.library.added(plan)
        else:
            plan = replace(plan, start=self.start_origin, parent=self.start_parent)
            pid = self.library.add(plan)
            plan = replace(plan, id=pid or "", name=self.library.name_of(pid) if pid else plan.name)
        self._show_result(plan, result)

    def show_states(self, states: np.ndarray, name: str = "demonstration") -> None:
        """Play states as they are (a demonstration)."""
        self.plan, self.last_result = None, None
        self.keep_button.setEnabled(False)
        self.scene_box.continue_button.setEnabled(False)
        self._enable_exports(None)
        self.viewer.show_frames(states)
        self.result_label.setText(f"Demonstration {name}, {len(states)} states")
        self.statusBar().showMessage(f"Demonstration {name}: Space plays it, arrows step")

    def _show_result(self, plan, result) -> None:
        self.plan, self.last_result = plan, result
        self.plan_scene_seed = self.seed.value()
        self.scene_box.continue_button.setEnabled(True)
        self.keep_button.setEnabled(self._keepable(plan.with_result(result.score, result.strict_success)))
        self.state = result.states[0].astype(np.float64)
        self._enable_exports(plan)
        self.result_label.setText(result_text(plan, result))
        self.statusBar().showMessage(f"'{plan.name}' ready: Space plays it, arrows step")
        self.viewer.show_frames(result.states, plan, play=True)

    def replay(self, plan, chain: list | None = None) -> None:
        """Replay a stored plan (or a chain ending with it): execute it in physics (off the GUI
        thread) and play it."""
        if self._replay_worker is not None:
            return
        self.statusBar().showMessage(f"Replaying '{plan.name}'…")
        self._replay_worker = ExecuteWorker(plan, chain)
        self._replay_worker.done.connect(self._show_result)
        self._replay_worker.failed.connect(self._plan_failed)
        self._replay_worker.finished.connect(self._replay_finished)
        self._replay_worker.start()

    def compare(self, plans: list) -> None:
        window = CompareWindow(plans, self.library.path)  # deleted when closed, and let go here then
        window.destroyed.connect(lambda _=None, w=window: self.compare_windows.remove(w))
        self.compare_windows.append(window)
        window.show()

    def _replay_finished(self) -> None:
        self._replay_worker = None
        self.replayFinished.emit()

    def _plan_failed(self, message: str) -> None:
        self.result_label.setText(f"<span style='color:#b00020'>Planning failed: {message}</span>")
        self.statusBar().showMessage("Planning failed; the app is still usable")

    def _worker_finished(self) -> None:
        self.worker = None
        self.planner_panel.finished()
        self._goal_changed(self.goal_editor.goal)
        self.planFinished.emit()

    def use_mover(self, path: str) -> None:
        """Plan with the move model at `path` (the Train tab's "Use this model"), loaded now."""
        self.planner_panel.use_mover(path)
        self.planner_panel.save()
        if self.warmup is not None:
            self.warmup.stop()
        self.warmup = self.planner_panel.start_warmup(self.statusBar().showMessage)

    def closeEvent(self, event) -> None:  # noqa: N802
        if self.warmup is not None:  # the worker process loads on; this thread stops waiting
            self.warmup.stop()
        if self.worker is not None:
            self.worker.cancel()
            self.worker.wait(5000)
        save_prefs(self)
        self.trainer.shutdown()  # a training keeps its last checkpoint; Resume continues it
        if self.collector.worker is not None:
            self.collector.worker.cancel()
            self.collector.worker.wait(30000)
        super().closeEvent(event)

    # ------------------------------------------------------------------ export
    def export_video(self, out: str | None = None) -> None:
        """The shown plan (as stored in the library) as MP4 or GIF, rendered in another process."""
        self._export(out, denoising=False)

    def export_denoising(self, out: str | None = None) -> None:
        self._export(out, denoising=True)

    def _export(self, out: str | None, denoising: bool) -> None:
        if self.plan is not None and self.plan.id and self._render_job is None:
            speed = None if denoising else self.playback.speed.currentData()
            self._render_job = export_plan(self, self.library.path, self.plan, out, speed, self._export_done)

    def _export_done(self, ok: bool, message: str) -> None:
        self._render_job = None
        self.statusBar().showMessage(message if ok else f"Export failed: {message}", 10_000)
        self.exportFinished.emit(ok)
