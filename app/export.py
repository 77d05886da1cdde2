"""Exports from the app: videos and GIFs through `python main.py render` in a separate process
(with a progress dialog and Cancel), and a comparison's plots as PNG and data as CSV."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QProcess, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from app.widgets import ask_save_path, file_stem

ROOT = Path(__file__).resolve().parents[1]
_PROGRESS = re.compile(r"(\d+)/(\d+)")


class RenderJob(QObject):
    """`main.py render ARGS` in a child process; reports progress(done, total) and finished(ok,
    message). Cancelling ends the child, which removes its partial file."""

    progress = Signal(int, int)
    finished = Signal(bool, str)

    def __init__(self, args: list[str], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.process = QProcess(self)
        self.process.setProgram(sys.executable)
        # Bound to the app (tasks.lifeline): ended with it, even when the app is killed.
        self.process.setArguments(["-m", "tasks.lifeline", str(ROOT / "main.py"), "render", *args])
        self.process.setWorkingDirectory(str(ROOT))
        self.process.readyReadStandardError.connect(self._read)
        self.process.finished.connect(self._done)
        self._err = ""
        self.cancelled = False

    def start(self) -> None:
        self.process.start()

    def cancel(self) -> None:
        self.cancelled = True
        self.process.terminate()

    def _read(self) -> None:
        text = bytes(self.process.readAllStandardError()).decode(errors="replace")
        self._err = (self._err + text)[-2000:]
        found = _PROGRESS.findall(text)
        if found:
            done, total = found[-1]
            self.progress.emit(int(done), int(total))

    def _done(self, code: int, _status) -> None:
        out = bytes(self.process.readAllStandardOutput()).decode(errors="replace").strip()
        if self.cancelled:
            self.finished.emit(False, "Export cancelled")
        elif code == 0:
            self.finished.emit(True, out.splitlines()[-1] if out else "done")
        else:
            lines = [ln for ln in self._err.replace("\r", "\n").splitlines() if ln.startswith("error")]
            self.finished.emit(False, lines[-1] if lines else f"render failed (exit code {code})")


def run_render(parent: QWidget, args: list[str], title: str, on_done=None) -> RenderJob:
    """Start a render with a progress dialog that can cancel it; `on_done(ok, message)` after."""
    dialog = QProgressDialog(title, "Cancel", 0, 0, parent)
    dialog.setWindowTitle("Export")
    dialog.setMinimumDuration(0)
    job = RenderJob(args, parent)

    def progress(done: int, total: int) -> None:
        dialog.setMaximum(total)
        dialog.setValue(done)

    def finished(ok: bool, message: str) -> None:
        dialog.reset()
        dialog.close()
        if on_done is not None:
            on_done(ok, message)

    job.progress.connect(progress)
    job.finished.connect(finished)
    dialog.canceled.connect(job.cancel)
    job.start()
    return job


def export_plan(parent: QWidget, plans: Path, plan, out: str | None, speed: float | None, on_done) -> RenderJob | None:
    """Render stored `plan` to a video in another process (asking where, unless `out`); with
    `speed` None, its denoising animation instead. `on_done(ok, message)` says what became of it,
    by the plan's name. None if the user cancelled the dialog."""
    out = out or ask_video_path(parent, f"{file_stem(plan.name)}{'-denoising' if speed is None else ''}.mp4")
    if not out:
        return None
    args = ["--plans", str(plans), "--id", plan.id, "--out", out]
    args += ["--denoising"] if speed is None else ["--speed", str(speed)]
    what = "the denoising of " if speed is None else ""
    return run_render(parent, args, f"Rendering {Path(out).name}…",
                      lambda ok, message: on_done(ok, f"Saved {what}'{plan.name}' as {out}" if ok else message))


def ask_video_path(parent: QWidget, suggested: str) -> str | None:
    path = ask_save_path(parent, "Export video", suggested, "MP4 video (*.mp4);;GIF animation (*.gif)")
    if not path:
        return None
    if Path(path).suffix.lower() not in (".mp4", ".gif"):
        path += ".mp4"
    return path


def comparison_csv(plans: list, path: str | Path, tool_heights_of) -> None:
    """One row per state: time, then per plan (plan1, plan2, ... in the comparison's order) its 7
    joints, tool height and the heights of its blocks; a plan that ended holds its last state."""
    from tasks.layout import layout_of
    from tasks.metrics import block_heights
    from tasks.world import CONTROL_PERIOD

    n = max(len(p.states) for p in plans)
    cols, header = [np.arange(n) * CONTROL_PERIOD], ["time_s"]
    for k, plan in enumerate(plans):
        states = np.asarray(plan.states)
        pad = lambda a: np.concatenate([a, np.repeat(a[-1:], n - len(a), 0)])  # noqa: E731 (held at the end)
        tag = f"plan{k + 1}"
        layout = layout_of(states)
        for j in range(layout.joints.stop):
            cols.append(pad(states[:, j]))
            header.append(f"{tag}_joint_{j + 1}")
        cols.append(pad(tool_heights_of(states)))
        header.append(f"{tag}_tool_z")
        heights = block_heights(states)
        for b, name in enumerate(layout.blocks):
            cols.append(pad(heights[:, b]))
            header.append(f"{tag}_{name}_z")
    np.savetxt(path, np.column_stack(cols), delimiter=",", header=",".join(header), comments="", fmt="%.6f")
