"""Starting the app: its name, where it keeps its files, and the event loop.

SIGINT (Ctrl+C in the terminal) and SIGTERM (a logout, `kill`) close the window as its Quit does:
the work in progress is cancelled, the settings are kept and no worker process (the planning and
physics worker, the render process) is left behind.
"""
from __future__ import annotations

import gc
import os
import signal
import sys
import threading
import time
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

APP_NAME = "kuka-diffuser"
SIGNAL_POLL_MS = 200  # Python runs its signal handlers only when the event loop hands it control


def app_data_dir() -> Path:
    """Where the app keeps its plans and demonstrations unless the prefs name other files."""
    from PySide6.QtCore import QStandardPaths

    base = (QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
            or str(Path.home() / f".{APP_NAME}"))
    Path(base).mkdir(parents=True, exist_ok=True)
    return Path(base)


def default_plans_file() -> Path:
    return app_data_dir() / "plans.h5"


def freeze_startup_objects() -> None:
    """Collect the start-up's garbage once and leave everything alive then (torch, Qt's wrappers,
    pyqtgraph, the window) out of the collector's full passes: each pass scanned those 220,000
    objects and held the GUI thread up to 80 ms a few times a minute (measured in the soak)."""
    gc.collect()
    gc.freeze()


class QuitOnSignal:
    """Closes every window and ends the event loop on SIGINT or SIGTERM; `signum` says which
    came. A timer hands Python control every SIGNAL_POLL_MS, so that its handler runs."""

    def __init__(self, app: QApplication) -> None:
        self.app, self.signum = app, None
        self.timer = QTimer()
        self.timer.timeout.connect(lambda: None)
        self.timer.start(SIGNAL_POLL_MS)
        for sig in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(sig) is not signal.SIG_IGN:  # a background job's SIGINT stays ignored
                signal.signal(sig, self._handle)

    def _handle(self, signum: int, _frame) -> None:
        self.signum = signum
        self.app.closeAllWindows()
        self.app.quit()

    @property
    def exit_code(self) -> int | None:
        return None if self.signum is None else 128 + int(self.signum)


def run(argv: list[str] | None = None) -> int:
    from tasks import jobs

    app = QApplication.instance() or QApplication(argv or sys.argv)
    app.setApplicationName(APP_NAME)
    quitter = QuitOnSignal(app)
    from app.main_window import MainWindow

    window = MainWindow()
    freeze_startup_objects()
    try:
        if quitter.signum is None:  # a signal while the window was being made: do not show it
            window.show()
            code = app.exec()
        else:
            window.close()
            code = 0
    finally:
        from app.render import close_shared_renderer

        # The settings are saved when the window closes; what is left is ending processes. Should
        # any of that (or Python's own joins at exit) hang, the app still ends: a closing app
        # that stays is worse than one that ends a stuck child (tasks.lifeline ends the rest).
        threading.Thread(target=_exit_after, args=(EXIT_DEADLINE, quitter.exit_code or 0), daemon=True).start()
        jobs.shutdown()
        close_shared_renderer()
    return quitter.exit_code or code


EXIT_DEADLINE = 20.0  # seconds from the window's close to a forced end of the process


def _exit_after(seconds: float, code: int) -> None:
    time.sleep(seconds)
    sys.stderr.write(f"the app did not end {seconds:.0f} s after its window closed; ending it now\n")
    sys.stderr.flush()
    os._exit(code or 1)
