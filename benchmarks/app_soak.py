"""An hour of use: the real window driven through a user's rounds, watched for growth and freezes.

    python benchmarks/app_soak.py [--minutes 60] [--report-every 5] [--why]

Offscreen (no display needed), private prefs and files. Each round is what a user does: a goal
(tower orders, a reference with a floor spot, clear, the tallest tower) planned with the Diffuser
from where the last plan ended (Continue from here), or every sixth round from a new scene; the
plan plays for a few seconds; every fifth round the last two plans are compared (the window
played, then closed), every seventh the last plan's chain is replayed in physics. The user's
actions come CLICK_MS apart, as a person's clicks do (two actions in one turn of the event loop
would be measured as one stall). A 20 ms timer on the GUI thread measures how late it fires: a frozen window shows as a long delay.
Prints, per period: rounds, failures, the median plan seconds, the process's memory (RSS) and
the longest GUI delay; at the end, memory growth from the first period to the last. With --why,
a watcher thread samples where the GUI thread is while its tick is overdue, and the end lists
the places it was found most (each sample is 5 ms of a stall).
"""
from __future__ import annotations

import argparse
import collections
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import planner as _thread_policy  # noqa: E402,F401  (sets PyTorch's thread policy before torch loads)
from PySide6.QtCore import QElapsedTimer, QEventLoop, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

GOALS = ("red,green,blue,yellow", "yellow,blue,green,red", "clear", "red at 0.55,0.20; green on red",
         "blue on yellow, red on green", "tallest")
TICK_MS = 20
CLICK_MS = 150  # a user's actions come at least this far apart: each one is its own turn of the event loop


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wait(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def wait_for(signal, start, timeout_ms: int = 300_000) -> None:
    """Call `start` and return when `signal` fires (or after the timeout)."""
    loop = QEventLoop()
    signal.connect(loop.quit)
    QTimer.singleShot(timeout_ms, loop.quit)
    start()
    loop.exec()
    signal.disconnect(loop.quit)


class Lateness:
    """The GUI thread's longest delay beyond a 20 ms tick, since the last `take`."""

    def __init__(self) -> None:
        self.clock, self.worst = QElapsedTimer(), 0.0
        self.clock.start()
        self.timer = QTimer()
        self.timer.timeout.connect(self._tick)
        self.timer.start(TICK_MS)

    def _tick(self) -> None:
        self.worst = max(self.worst, self.clock.restart() - TICK_MS)
        self.last = time.monotonic()

    def take(self) -> float:
        worst, self.worst = self.worst, 0.0
        return worst


class Stalls(threading.Thread):
    """Where the GUI thread is while its tick is more than STALL_MS overdue: the innermost frames
    of this project's code on its stack, sampled every SAMPLE_S."""

    STALL_MS, SAMPLE_S = 30, 0.005

    def __init__(self, late: Lateness) -> None:
        super().__init__(name="stalls", daemon=True)
        self.late, self.seen = late, collections.Counter()
        late.last = time.monotonic()

    def run(self) -> None:
        gui = threading.main_thread().ident
        while True:
            time.sleep(self.SAMPLE_S)
            if (time.monotonic() - self.late.last) * 1000 > TICK_MS + self.STALL_MS:
                self.seen[where(sys._current_frames().get(gui))] += 1


def where(frame) -> str:
    """The two innermost frames of this project's code (not this benchmark) on a stack; with
    none, the innermost frame: in the event loop (Qt's own work, such as painting, or a wait for
    Python's lock or for a CPU) or in a library."""
    ours, innermost = [], frame
    while frame is not None and len(ours) < 2:
        path = Path(frame.f_code.co_filename)
        if ROOT in path.parents and "benchmarks" not in path.parts and ".venv" not in path.parts:
            ours.append(f"{path.relative_to(ROOT)}:{frame.f_code.co_name}")
        frame = frame.f_back
    if ours:
        return " < ".join(ours)
    if innermost is None:
        return "(no Python frame)"
    return f"(outside the project's code) {Path(innermost.f_code.co_filename).name}:{innermost.f_code.co_name}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--report-every", type=float, default=5.0, help="minutes per printed row")
    ap.add_argument("--why", action="store_true", help="sample where the GUI thread is when it is late")
    args = ap.parse_args()
    _qt = QApplication.instance() or QApplication(sys.argv)  # kept alive while the window exists
    from app.launch import freeze_startup_objects
    from app.main_window import MainWindow

    tmp = Path(tempfile.mkdtemp())
    w = MainWindow(prefs=QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat), plans_file=tmp / "p.h5",
                   dataset_file=tmp / "d.h5")
    freeze_startup_objects()  # as app.launch does once the window is made
    w.resize(1280, 720)
    w.show()
    if w.warmup is not None:
        w.warmup.wait(120_000)
    late = Lateness()
    stalls = Stalls(late) if args.why else None
    if stalls is not None:
        stalls.start()
    t0 = time.monotonic()
    rows, period = [], {"rounds": 0, "failed": 0, "plan_s": [], "rss": []}
    print(f"{'minute':>6} {'rounds':>6} {'failed':>6} {'plan s (median)':>15} {'RSS MB':>8} {'longest GUI delay ms':>21}",
          flush=True)
    k = 0
    while time.monotonic() - t0 < args.minutes * 60:
        if k % 6 == 0 or w.plan is None:
            w.seed.setValue(k)
            w.new_scene()
        else:
            w.continue_from_here()
        wait(CLICK_MS)
        w.goal_editor.set_text(GOALS[k % len(GOALS)])
        wait(CLICK_MS)
        wait_for(w.planFinished, w.start_plan)
        period["rounds"] += 1
        if w.plan is None or w.last_result is None:
            period["failed"] += 1
        else:
            period["plan_s"].append(w.plan.plan_seconds)
        wait(3000)  # watching it play
        if k % 5 == 4 and w.library.table.rowCount() >= 2:
            w.library.select(0, 1)
            wait(CLICK_MS)
            w.library.compare()
            wait(CLICK_MS)
            window = w.compare_windows[-1]
            window.playback.set_playing(True)
            wait(2000)
            window.close()
        if k % 7 == 6 and w.plan is not None:
            w.library.select(0)
            wait(CLICK_MS)
            wait_for(w.replayFinished, w.library.replay_chain)
        period["rss"].append(rss_mb())
        k += 1
        minute = (time.monotonic() - t0) / 60
        if minute >= (len(rows) + 1) * args.report_every:
            median = statistics.median(period["plan_s"]) if period["plan_s"] else float("nan")
            row = (minute, period["rounds"], period["failed"], median, max(period["rss"]), late.take())
            rows.append(row)
            print(f"{row[0]:6.1f} {row[1]:6d} {row[2]:6d} {row[3]:15.2f} {row[4]:8.0f} {row[5]:21.0f}", flush=True)
            period = {"rounds": 0, "failed": 0, "plan_s": [], "rss": []}
    w.close()
    if rows:
        print(f"{k} rounds in {(time.monotonic() - t0) / 60:.1f} min; RSS {rows[0][4]:.0f} MB in the first period, "
              f"{rows[-1][4]:.0f} MB in the last; longest GUI delay {max(r[5] for r in rows):.0f} ms")
    if stalls is not None:
        print(f"where the GUI thread was while late (samples of {Stalls.SAMPLE_S * 1000:.0f} ms):")
        for place, n in stalls.seen.most_common(12):
            print(f"{n:6d}  {place}")


if __name__ == "__main__":
    main()
