"""The Train tab: fine-tune the move model (or train one from scratch) on demonstrations the app
collected and any other files, watch its training loss and held-out denoising error, stop and
resume it, evaluate it beside the model in use, and plan with it.

Training and evaluation run in a process of their own (tasks.train_job); this panel only starts
them and reads their reports every POLL_MS. Each model lives in the store (planner.model_store);
the shipped model is listed too and never written. The data list and the models' table are
app/train_parts.py's, the form and the plot app/train_form.py's.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QWidget

from app.train_form import SCRATCH, CurvePlot, TrainForm
from app.train_parts import ModelList
from planner.config import MoverTrainConfig, PlannerSettings, meta
from planner.model_store import CHECKPOINT, SHIPPED_NAME, ModelInfo, ModelStore
from tasks.train_job import BackgroundJob, EvalSpec, TrainSpec, eval_child, train_child

POLL_MS = 200
ERROR = "<span style='color:#b00020'>{}</span>"


class TrainPanel(QWidget):
    """Emits useModel(checkpoint path) when the user asks to plan with a model."""

    useModel = Signal(str)
    jobFinished = Signal(str)  # "done", "stopped" or "failed"

    def __init__(self, store: ModelStore, demos_source, mover_in_use, settings_source=PlannerSettings,
                 parent: QWidget | None = None) -> None:
        """`demos_source()` is the app's demonstrations file, `mover_in_use()` the checkpoint the
        planner uses, `settings_source()` the planner's settings (evaluations plan with them)."""
        super().__init__(parent)
        self.store, self.demos_source, self.mover_in_use = store, demos_source, mover_in_use
        self.settings_source = settings_source
        self.job: BackgroundJob | None = None
        self.job_kind, self.job_model = "", ""
        self._make_widgets()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.poll)
        self.refresh()

    # ------------------------------------------------------------------ widgets
    def _make_widgets(self) -> None:
        self.form = f = TrainForm(self.demos_source)
        f.train_button.clicked.connect(lambda _=False: self.start_training())
        f.stop_button.clicked.connect(lambda _=False: self.stop())
        f.resume_button.clicked.connect(lambda _=False: self.resume())
        self.plot = CurvePlot()
        self.model_list = m = ModelList(self.store)
        m.selectionChanged.connect(lambda _: self._selection_changed())
        m.eval_button.clicked.connect(lambda _=False: self.start_evaluation())
        m.use_button.clicked.connect(lambda _=False: self.use_selected())
        # The parts' controls, named here for the tests and the scripts that drive the tab.
        self.files, self.data, self.table = f.files, f.files.list, m.table
        self.start_from, self.device, self.minutes, self.batch, self.lr = f.start_from, f.device, f.minutes, f.batch, f.lr
        self.train_button, self.stop_button, self.resume_button = f.train_button, f.stop_button, f.resume_button
        self.progress, self.status = f.progress, f.status
        self.loss_curve, self.valid_curve = self.plot.loss_curve, self.plot.valid_curve
        self.eval_task, self.eval_blocks, self.eval_episodes, self.eval_seed, self.eval_after = (
            m.eval_task, m.eval_blocks, m.eval_episodes, m.eval_seed, m.eval_after)
        self.eval_button, self.use_button = m.eval_button, m.use_button
        row = QHBoxLayout(self)
        row.addWidget(f, 3)
        row.addWidget(self.plot, 3)
        row.addWidget(m, 4)

    # ------------------------------------------------------------------ what is shown
    def refresh(self) -> None:
        """The data files, the models and the buttons as the store and the job now are."""
        self.files.refresh()
        in_use = self.store.name_of(self.mover_in_use())
        self.model_list.refresh(in_use, self.job_model if self.job_kind == "train" else "")
        self.models = self.model_list.models
        self.form.refresh_start_from(self.models, in_use)
        self._buttons()

    def selected_name(self) -> str | None:
        return self.model_list.selected_name()

    def select(self, name: str) -> None:
        self.model_list.select(name)

    def _selection_changed(self) -> None:
        info = self.model_list.info_of(self.selected_name())
        if info is not None:
            self.plot.show_model(info)
        self._buttons()

    def _buttons(self) -> None:
        busy = self.job is not None
        info = self.model_list.info_of(self.selected_name())
        self.train_button.setEnabled(not busy)
        self.stop_button.setEnabled(busy)
        self.resume_button.setEnabled(not busy and info is not None and not info.shipped
                                      and info.state in ("stopped", "finished", "training", "failed")
                                      and (self.store.folder(info.name) / CHECKPOINT).exists())
        usable = info is not None and Path(info.path).exists() and info.state in ("finished", "stopped", "training")
        self.eval_button.setEnabled(not busy and usable and not (info is not None and info.state == "training"
                                                                 and self.job_model == info.name))
        self.use_button.setEnabled(usable and info.name != self.store.name_of(self.mover_in_use())
                                   and not (busy and self.job_model == info.name))

    def ticked_data(self) -> list[str]:
        return self.files.ticked()

    def pick_files(self, paths: list[str] | None = None) -> None:
        """Add demonstrations files (asked for in a dialog when `paths` is None), ticked."""
        self.files.add(paths)

    # ------------------------------------------------------------------ jobs
    def _why_not_train(self, data: list[str]) -> str | None:
        if not data:
            return "Tick at least one demonstrations file"
        missing = [p for p in data if not Path(p).is_file()]
        if missing:
            app_file = str(self.demos_source())
            extra = " (collect some in the Demonstrations tab first)" if app_file in missing else ""
            return f"No demonstrations file at {', '.join(missing)}{extra}"
        from tasks.dataset import read_index
        from tasks.h5io import FileFormatError

        for p in data:
            try:
                if not read_index(p):
                    return f"{p}: holds no demonstrations"
            except FileFormatError as e:
                return f"Cannot train on {p}: {e}"
        return None

    def start_training(self, steps: int | None = None) -> str | None:
        """Train a new model as the form says; its name, or None (the status says why).
        `steps` caps the run's steps (the time budget still applies)."""
        data = self.ticked_data()
        why = self._why_not_train(data)
        if why:
            self.status.setText(ERROR.format(why))
            return None
        base = self.start_from.currentData()
        init_from = None if base in (SCRATCH, None) else str(self.store.path_of(base))
        spec_settings = dict(minutes=self.minutes.value(), steps=steps or int(meta(MoverTrainConfig, "steps")["default"]),
                             batch_size=self.batch.value(), lr=self.lr.value(), device=self.device.currentData())
        info = self.store.new(data, init_from, spec_settings)
        self._train(info)
        return info.name

    def resume(self, steps: int | None = None) -> None:
        """Train the selected model further, for the form's time budget (and up to `steps` in all)."""
        name = self.selected_name()
        if name is None or name == SHIPPED_NAME:
            return
        info = self.store.info(name)
        settings = {**info.settings, "minutes": self.minutes.value(), **({"steps": steps} if steps else {})}
        info.settings = settings
        self.store.write(info)
        self._train(info)

    def _train(self, info: ModelInfo) -> None:
        s = info.settings
        spec = TrainSpec(str(self.store.root), info.name, tuple(info.data), info.init_from, float(s["minutes"]),
                         int(s["steps"]), int(s["batch_size"]), float(s["lr"]), s.get("device", "auto"))
        try:
            spec.config()  # the options' own checks, before a process starts
        except ValueError as e:
            self.status.setText(ERROR.format(e))
            return
        self.job, self.job_kind, self.job_model = BackgroundJob(train_child, spec), "train", info.name
        self.progress.setRange(0, max(1, int(spec.minutes * 60)))
        self.progress.setValue(0)
        self._started_at_step = info.step
        self._budget_s = spec.minutes * 60
        self.status.setText(f"Training {info.name} on {len(info.data)} file(s) (loading the data)…")
        self.refresh()
        self.select(info.name)
        self._t0 = time.monotonic()
        self.timer.start(POLL_MS)

    def start_evaluation(self, name: str | None = None) -> bool:
        """Evaluate model `name` (default: the selected one) beside the model in use."""
        name = name or self.selected_name()
        if name is None or self.job is not None:
            return False
        in_use = self.store.name_of(self.mover_in_use())
        names = (name,) if name == in_use or self.store.check_name(in_use) else (name, in_use)
        spec = EvalSpec(str(self.store.root), names, self.eval_task.currentText(), self.eval_blocks.value(),
                        self.eval_episodes.value(), self.eval_seed.value(), self.settings_source())
        self.job, self.job_kind, self.job_model = BackgroundJob(eval_child, spec), "eval", name
        self._eval_names = names
        self.progress.setRange(0, spec.episodes * len(names))
        self.progress.setValue(0)
        self.status.setText(f"Evaluating {' and '.join(names)}: {spec.episodes} {spec.task} episodes of "
                            f"{spec.blocks} blocks (loading)…")
        self._buttons()
        self.timer.start(POLL_MS)
        return True

    def stop(self) -> None:
        if self.job is not None:
            self.job.stop()
            self.status.setText("Stopping at the next step (the last checkpoint is kept)…"
                                if self.job_kind == "train" else "Stopping after the episode in progress…")

    def poll(self) -> None:
        """Read the job's reports; when it ended, say how and move on."""
        if self.job is None:
            self.timer.stop()
            return
        end = None
        for message in self.job.messages():
            kind = message[0]
            if kind == "train":
                self._train_report(*message[1:])
            elif kind == "eval":
                self._eval_report(*message[1:])
            else:
                end = message
        if end is None and not self.job.alive:
            end = ("failed", f"the {'training' if self.job_kind == 'train' else 'evaluation'} process ended "
                             f"unexpectedly (exit code {self.job.process.exitcode})")
        if end is not None:
            self._finish(*end)

    def _train_report(self, step: int, steps: int, loss: float, valid: float | None) -> None:
        elapsed = time.monotonic() - self._t0
        self.progress.setValue(min(self.progress.maximum(), int(elapsed)))
        info = self.store.info(self.job_model)
        if self.selected_name() == self.job_model:
            self.plot.show_model(info)
        rate = (step - self._started_at_step) / elapsed if elapsed > 0 else 0.0
        held = "" if info.valid_loss is None else f", held-out error {info.valid_loss:.5f}"
        loss_text = "no loss yet" if math.isnan(loss) else f"loss {loss:.4f}"
        self.status.setText(f"Training {self.job_model}: step {step:,} ({rate:.1f} steps/s), {loss_text}{held}; "
                            f"{elapsed / 60:.1f} of {self._budget_s / 60:.1f} min")

    def _eval_report(self, name: str, k: int, total: int, mean: float) -> None:
        done_before = self._eval_names.index(name) * total
        self.progress.setValue(done_before + k)
        self.status.setText(f"Evaluating {name}: episode {k} of {total}, score so far {mean:.1f}")

    def _finish(self, kind: str, what) -> None:
        job_kind, name = self.job_kind, self.job_model
        self.job.process.join(5)
        self.job, self.job_kind, self.job_model = None, "", ""
        self.timer.stop()
        self.progress.setValue(self.progress.maximum() if kind == "done" else self.progress.value())
        if kind == "failed":
            self.status.setText(ERROR.format(f"{'Training' if job_kind == 'train' else 'Evaluation'} failed: {what}"))
        elif job_kind == "train":
            info = self.store.info(name)
            self.status.setText(f"{name}: {'stopped' if kind == 'stopped' else 'trained'} at step {info.step:,}, "
                                f"held-out error {info.valid_loss if info.valid_loss is None else round(info.valid_loss, 5)}"
                                + (" (Resume continues)" if kind == "stopped" else ""))
        else:
            self.status.setText(self._comparison_text(name) if kind == "done" else str(what))
        self.refresh()
        self.select(name)
        self.jobFinished.emit(kind)
        if job_kind == "train" and kind == "done" and self.eval_after.isChecked():
            self.start_evaluation(name)

    def _comparison_text(self, name: str) -> str:
        case = self.model_list.case()
        parts = []
        for n in self._eval_names:
            s = self.store.info(n).score_on(case)
            if s is not None:
                parts.append(f"{n}: {s.score:.1f} ± {s.sem:.1f} ({100 * s.strict:.0f} % strict)")
        return f"Evaluated on {case}: " + "; ".join(parts)

    def use_selected(self) -> None:
        name = self.selected_name()
        if name is None:
            return
        self.useModel.emit(str(self.store.path_of(name)))
        self.status.setText(f"Planning with {name} from now on")
        self.refresh()

    def shutdown(self) -> None:
        """(Closing) stop the job: a training saves its checkpoint if it can within seconds."""
        if self.job is not None:
            self.job.kill(grace=3.0)
            self.job = None
        self.timer.stop()

    # ------------------------------------------------------------------ prefs
    def restore(self, prefs) -> None:
        self.form.restore(prefs)
        self.model_list.restore(prefs)

    def save(self, prefs) -> None:
        self.form.save(prefs)
        self.model_list.save(prefs)
