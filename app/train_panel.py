"""The Train tab: fine-tune the move model (or train one from scratch) on demonstrations the app
collected and any other files, watch its training loss and held-out denoising error, stop and
resume it, evaluate it beside the model in use, and plan with it.

Training and evaluation run in a process of their own (tasks.train_job); this panel only starts
them and reads their reports every POLL_MS. Each model lives in the store (planner.model_store);
the shipped model is listed too and never written.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
    QListWidget, QListWidgetItem, QProgressBar, QPushButton, QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout,
    QWidget,
)

from app.widgets import last_folder, set_last_folder
from planner.config import ASSETS, MoverTrainConfig, PlannerSettings, meta
from planner.model_store import SHIPPED_NAME, ModelInfo, ModelStore
from tasks.goals import TASKS
from tasks.layout import DEFAULT_BLOCKS, MAX_BLOCKS, MIN_BLOCKS
from tasks.train_job import BackgroundJob, EvalSpec, TrainSpec, eval_child, train_child

POLL_MS = 200
SAMPLE = ASSETS / "sample_demos.h5"
SCRATCH = "__scratch__"
# The tab's defaults: a fine-tune of the model in use that a CPU does in minutes. A lower peak
# rate than a training from scratch, so the model keeps what it knew while it learns the new data.
DEFAULT_MINUTES, DEFAULT_BATCH, FINE_TUNE_LR, SCRATCH_LR = 10.0, 64, 1e-4, MoverTrainConfig.lr
COLUMNS = ("Model", "Started from", "Data", "Steps", "Held-out error", "State", "Last evaluation", "In use")
ERROR = "<span style='color:#b00020'>{}</span>"


def _count_demos(path: Path) -> str:
    from tasks.dataset import read_index
    from tasks.h5io import FileFormatError

    if not path.exists():
        return "no file yet"
    try:
        return f"{len(read_index(path))} demos"
    except FileFormatError as e:
        return f"unreadable: {e}"


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
        self._lay_out()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.poll)
        self.refresh()

    # ------------------------------------------------------------------ widgets
    def _make_widgets(self) -> None:
        self.data = QListWidget()
        self.data.setToolTip("The demonstrations to train on: ticked files are used")
        self.data.setMaximumHeight(90)
        self.add_file = QPushButton("Add files…")
        self.add_file.setToolTip("Add demonstrations files (.h5, as `collect` writes them)")
        self.add_file.clicked.connect(lambda _=False: self.pick_files())
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
        self.train_button.clicked.connect(lambda _=False: self.start_training())
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop at the next step; the last checkpoint is kept and Resume continues from it")
        self.stop_button.clicked.connect(lambda _=False: self.stop())
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Train the selected model further from its last checkpoint")
        self.resume_button.clicked.connect(lambda _=False: self.resume())
        self.progress = QProgressBar()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setLogMode(False, True)
        self.plot.setLabel("bottom", "training step")
        self.plot.setLabel("left", "loss, error")
        self.plot.setTitle("<span style='color:#1f77b4'>training loss</span> and "
                           "<span style='color:#d62728'>held-out denoising error</span>", size="9pt")
        self.plot.setMinimumHeight(150)
        self.loss_curve = self.plot.plot([], [], pen=pg.mkPen((31, 119, 180), width=1))
        self.valid_curve = self.plot.plot([], [], pen=pg.mkPen((214, 39, 40), width=2), symbol="o", symbolSize=5,
                                          symbolBrush=(214, 39, 40))
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.eval_task = QComboBox()
        self.eval_task.addItems(TASKS)
        self.eval_task.setCurrentText("conditional")
        self.eval_task.setToolTip("The task of the evaluation episodes (the test seed stream: scenes no "
                                  "collection draws)")
        self.eval_blocks = QSpinBox()
        self.eval_blocks.setRange(MIN_BLOCKS, MAX_BLOCKS)
        self.eval_blocks.setValue(DEFAULT_BLOCKS)
        self.eval_blocks.setToolTip("Blocks in the evaluation scenes")
        self.eval_episodes = QSpinBox()
        self.eval_episodes.setRange(1, 1000)
        self.eval_episodes.setValue(10)
        self.eval_episodes.setToolTip("Episodes per model: the same scenes and goals for both")
        self.eval_seed = QSpinBox()
        self.eval_seed.setRange(0, 2**31 - 1)
        self.eval_seed.setToolTip("Seed of the evaluation's test-stream episodes")
        self.eval_after = QCheckBox("Evaluate when training ends")
        self.eval_after.setChecked(True)
        self.eval_after.setToolTip("When a training run ends, evaluate the new model beside the model in use")
        self.eval_button = QPushButton("Evaluate beside the model in use")
        self.eval_button.setToolTip("Plan the same episodes with the selected model and with the model in use, "
                                    "with the planner's settings, executed in physics")
        self.eval_button.clicked.connect(lambda _=False: self.start_evaluation())
        self.use_button = QPushButton("Use this model")
        self.use_button.setToolTip("Plan with the selected model from now on (the window's Diffuser)")
        self.use_button.clicked.connect(lambda _=False: self.use_selected())

    def _lay_out(self) -> None:
        train = QGroupBox("Train")
        form = QFormLayout(train)
        files = QHBoxLayout()
        files.addWidget(self.data, 1)
        files.addWidget(self.add_file, 0, Qt.AlignmentFlag.AlignTop)
        form.addRow("Data", files)
        form.addRow("Start from", self.start_from)
        form.addRow("Device", self.device)
        form.addRow("Time budget", self.minutes)
        form.addRow("Batch size", self.batch)
        form.addRow("Learning rate", self.lr)
        buttons = QHBoxLayout()
        for b in (self.train_button, self.stop_button, self.resume_button):
            buttons.addWidget(b)
        form.addRow(buttons)
        form.addRow(self.progress)
        form.addRow(self.status)
        models = QGroupBox("Models")
        col = QVBoxLayout(models)
        col.addWidget(self.table, 1)
        evaluation = QHBoxLayout()
        for label, w in (("Task", self.eval_task), ("Blocks", self.eval_blocks), ("Episodes", self.eval_episodes),
                         ("Seed", self.eval_seed)):
            evaluation.addWidget(QLabel(label))
            evaluation.addWidget(w)
        evaluation.addStretch(1)
        col.addLayout(evaluation)
        actions = QHBoxLayout()
        actions.addWidget(self.eval_after)
        actions.addStretch(1)
        actions.addWidget(self.eval_button)
        actions.addWidget(self.use_button)
        col.addLayout(actions)
        row = QHBoxLayout(self)
        row.addWidget(train, 3)
        row.addWidget(self.plot, 3)
        row.addWidget(models, 4)

    # ------------------------------------------------------------------ what is shown
    def refresh(self) -> None:
        """The data files, the models and the buttons as the store and the job now are."""
        self._refresh_data()
        self.models = self.store.all()
        in_use = self.store.name_of(self.mover_in_use())
        selected = self.selected_name()
        self.table.setRowCount(len(self.models))
        for r, info in enumerate(self.models):
            state = info.state
            if state == "training" and not (self.job and self.job_model == info.name):
                state = "interrupted (Resume continues)"
            last = info.score_list()[-1] if info.scores else None
            files = [Path(d.split(":")[0]).name for d in info.data]  # a checkpoint's data: name:size:mtime
            cells = (info.name, self._origin(info), (files[0] if len(files) == 1 else f"{len(files)} files") if files else "—",
                     f"{info.step:,}", "—" if info.valid_loss is None else f"{info.valid_loss:.5f}", state,
                     f"{last.score:.1f} ± {last.sem:.1f} ({last.case})" if last else "—",
                     "yes" if info.name == in_use else "")
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 5 and info.message:
                    item.setToolTip(info.message)
                if c == 2:
                    item.setToolTip("\n".join(files))
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        names = [m.name for m in self.models]
        if selected in names:
            self.table.selectRow(names.index(selected))
        self._refresh_start_from(in_use)
        self._buttons()

    def _origin(self, info: ModelInfo) -> str:
        if info.shipped:
            return "shipped with the app"
        return "scratch" if not info.init_from else self.store.name_of(info.init_from)

    def _refresh_data(self) -> None:
        ticked = {self.data.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.data.count())
                  if self.data.item(i).checkState() == Qt.CheckState.Checked}
        known = [self.data.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.data.count())]
        first = not known
        paths = [str(self.demos_source())] + ([str(SAMPLE)] if SAMPLE.exists() else [])
        paths += [p for p in known if p not in paths]
        self.data.clear()
        for p in paths:
            label = {str(self.demos_source()): "the app's", str(SAMPLE): "shipped sample"}.get(p, "")
            item = QListWidgetItem(f"{Path(p).name} ({label + ', ' if label else ''}{_count_demos(Path(p))})")
            item.setData(Qt.ItemDataRole.UserRole, p)
            item.setToolTip(p)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if (first or p in ticked) else Qt.CheckState.Unchecked)
            self.data.addItem(item)

    def _refresh_start_from(self, in_use: str) -> None:
        keep = self.start_from.currentData()
        self.start_from.blockSignals(True)
        self.start_from.clear()
        for info in self.models:
            if info.state in ("finished", "stopped"):
                self.start_from.addItem(f"{info.name}" + (" (in use)" if info.name == in_use else ""), info.name)
        self.start_from.addItem("Scratch (a new model)", SCRATCH)
        index = self.start_from.findData(keep if keep is not None else in_use)
        self.start_from.setCurrentIndex(max(0, index))
        self.start_from.blockSignals(False)

    def _start_changed(self) -> None:
        self.lr.setValue(SCRATCH_LR if self.start_from.currentData() == SCRATCH else FINE_TUNE_LR)

    def selected_name(self) -> str | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows or rows[0].row() >= len(getattr(self, "models", [])):
            return None
        return self.models[rows[0].row()].name

    def select(self, name: str) -> None:
        names = [m.name for m in self.models]
        if name in names:
            self.table.selectRow(names.index(name))

    def _selection_changed(self) -> None:
        name = self.selected_name()
        if name is not None:
            info = self.models[[m.name for m in self.models].index(name)]
            self._show_curves(info)
        self._buttons()

    def _show_curves(self, info: ModelInfo) -> None:
        if info.losses:
            steps, values = zip(*[(s, v) for s, v in info.losses if v > 0 and math.isfinite(v)]) or ((), ())
            self.loss_curve.setData(list(steps), list(values))
        else:
            self.loss_curve.setData([], [])
        if info.valid:
            steps, values = zip(*info.valid)
            self.valid_curve.setData(list(steps), list(values))
        else:
            self.valid_curve.setData([], [])

    def _buttons(self) -> None:
        busy = self.job is not None
        name = self.selected_name()
        info = next((m for m in self.models if m.name == name), None)
        self.train_button.setEnabled(not busy)
        self.stop_button.setEnabled(busy)
        self.resume_button.setEnabled(not busy and info is not None and not info.shipped
                                      and info.state in ("stopped", "finished", "training", "failed")
                                      and (self.store.folder(info.name) / "checkpoint.pt").exists())
        usable = info is not None and Path(info.path).exists() and info.state in ("finished", "stopped", "training")
        self.eval_button.setEnabled(not busy and usable and not (info is not None and info.state == "training"
                                                                 and self.job_model == info.name))
        self.use_button.setEnabled(usable and info.name != self.store.name_of(self.mover_in_use())
                                   and not (busy and self.job_model == info.name))

    def ticked_data(self) -> list[str]:
        return [self.data.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.data.count())
                if self.data.item(i).checkState() == Qt.CheckState.Checked]

    def pick_files(self, paths: list[str] | None = None) -> None:
        """Add demonstrations files (asked for in a dialog when `paths` is None), ticked."""
        if paths is None:
            paths, _ = QFileDialog.getOpenFileNames(self, "Demonstrations to train on", last_folder(),
                                                    "Demonstrations (*.h5)")
            if paths:
                set_last_folder(str(Path(paths[0]).parent))
        for p in paths:
            if p not in [self.data.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.data.count())]:
                item = QListWidgetItem(p)
                item.setData(Qt.ItemDataRole.UserRole, str(p))
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Checked)
                self.data.addItem(item)
        self._refresh_data()

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
            self._show_curves(info)
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
        case = (f"{self.eval_task.currentText()}, {self.eval_blocks.value()} blocks, {self.eval_episodes.value()} "
                f"episodes, seed {self.eval_seed.value()}")
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
        for name, cast in (("minutes", float), ("batch", int), ("eval_episodes", int), ("eval_blocks", int),
                           ("eval_seed", int)):
            value = prefs.value(f"train/{name}")
            if value is not None:
                getattr(self, name).setValue(cast(value))
        task = prefs.value("train/eval_task")
        if task and self.eval_task.findText(task) >= 0:
            self.eval_task.setCurrentText(task)
        extra = prefs.value("train/files")
        if extra:
            self.pick_files([p for p in (extra if isinstance(extra, list) else [extra]) if Path(p).exists()])

    def save(self, prefs) -> None:
        for name in ("minutes", "batch", "eval_episodes", "eval_blocks", "eval_seed"):
            prefs.setValue(f"train/{name}", getattr(self, name).value())
        prefs.setValue("train/eval_task", self.eval_task.currentText())
        defaults = {str(self.demos_source()), str(SAMPLE)}
        prefs.setValue("train/files", [p for p in (self.data.item(i).data(Qt.ItemDataRole.UserRole)
                                                   for i in range(self.data.count())) if p not in defaults])
