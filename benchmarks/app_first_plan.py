"""The app's first plan against its second, in a fresh process (offscreen, no display needed).

    python benchmarks/app_first_plan.py [--goal red,green,blue,yellow] [--no-warmup-wait]

Opens the main window, waits for the background warm-up (unless --no-warmup-wait: then Plan is
pressed at once, as an impatient user would), plans the goal twice with the Diffuser, and prints
how long the window took to open, the warm-up, and each plan from button to result.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import planner as _thread_policy  # noqa: E402,F401  (sets PyTorch's thread policy before torch loads)
from PySide6.QtCore import QEventLoop, QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--goal", default="red,green,blue,yellow")
    ap.add_argument("--no-warmup-wait", action="store_true")
    args = ap.parse_args()
    t0 = time.perf_counter()
    app = QApplication.instance() or QApplication(sys.argv)
    from app.main_window import MainWindow

    tmp = Path(tempfile.mkdtemp())
    w = MainWindow(prefs=QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat), plans_file=tmp / "p.h5",
                   dataset_file=tmp / "d.h5")
    w.show()
    app.processEvents()
    opened = time.perf_counter() - t0
    print(f"window open: {opened:.2f} s after start")
    if not args.no_warmup_wait and w.warmup is not None:
        t1 = time.perf_counter()
        while w.warmup.isRunning():
            app.processEvents()
            time.sleep(0.01)
        print(f"background warm-up finished {time.perf_counter() - t1 + opened:.2f} s after start")
    w.goal_editor.set_text(args.goal)
    for k in (1, 2):
        loop = QEventLoop()
        w.planFinished.connect(loop.quit)
        t = time.perf_counter()
        w.start_plan()
        loop.exec()
        w.planFinished.disconnect(loop.quit)
        print(f"plan {k}: {time.perf_counter() - t:.2f} s from Plan to result "
              f"(planning {w.plan.plan_seconds:.2f} s; score {w.plan.score:.0f})")
    w.close()


if __name__ == "__main__":
    main()
