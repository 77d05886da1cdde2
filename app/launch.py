"""Starting the app: its name, where it keeps its files, and the event loop."""
from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

APP_NAME = "kuka-diffuser"


def app_data_dir() -> Path:
    """Where the app keeps its plans and demonstrations unless the prefs name other files."""
    from PySide6.QtCore import QStandardPaths

    base = (QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
            or str(Path.home() / f".{APP_NAME}"))
    Path(base).mkdir(parents=True, exist_ok=True)
    return Path(base)


def default_plans_file() -> Path:
    return app_data_dir() / "plans.h5"


def run(argv: list[str] | None = None) -> int:
    from tasks import jobs

    app = QApplication.instance() or QApplication(argv or sys.argv)
    app.setApplicationName(APP_NAME)
    from app.main_window import MainWindow

    window = MainWindow()
    window.show()
    code = app.exec()
    jobs.shutdown()
    return code
