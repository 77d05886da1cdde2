"""Nothing of the app or of a command outlives it, however it ends: SIGTERM, SIGINT or SIGKILL,
while its physics worker plans or while a collection's workers work (issue 21, defect 12).

Each test starts the real program as a process, waits until its worker processes run, records
every process descended from it (pid and start time, read from /proc), ends it, and checks that
none of them is still alive a few seconds later (an orphan is handed to another parent, so it
is looked for by pid and start time, not by ancestry)."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")

# The app as main.py starts it (app.launch.run), with a demonstrator plan started once it shows:
# the physics worker is busy planning when the signal comes.
APP_PLANNING = """
import sys
from PySide6.QtCore import QTimer
import app.main_window as mw

show = mw.MainWindow.show
def show_and_plan(self):
    show(self)
    def plan():
        self.planner_panel.planner_choice.setCurrentIndex(self.planner_panel.planner_choice.findData("demonstrator"))
        self.goal_editor.set_text("red,green,blue,yellow")
        self.start_plan()
        print("planning", flush=True)
    QTimer.singleShot(0, plan)
mw.MainWindow.show = show_and_plan
from app.launch import run
sys.exit(run([sys.argv[0]]))
"""


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time) of a live process, or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    if fields[0] == "Z":  # a zombie has ended; only its parent has not read its status yet
        return None
    return int(fields[1]), int(fields[19])


def descendants(root: int) -> set[tuple[int, int]]:
    """(pid, start time) of every live process descended from `root`."""
    parents: dict[int, list[int]] = {}
    starts = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (st := _stat(int(entry))) is not None:
            parents.setdefault(st[0], []).append(int(entry))
            starts[int(entry)] = st[1]
    found, todo = set(), [root]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.add((child, starts[child]))
            todo.append(child)
    return found


def alive(procs: set[tuple[int, int]]) -> set[tuple[int, int]]:
    return {(pid, start) for pid, start in procs if (st := _stat(pid)) is not None and st[1] == start}


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def workers(root: int) -> list[int]:
    return [pid for pid, _ in descendants(root) if "multiprocessing" in cmdline(pid) and "resource_tracker" not in cmdline(pid)]


def start(argv: list[str], tmp_path: Path) -> subprocess.Popen:
    """The program, its output in files (a pipe would stay open as long as an orphan lives)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "config"),
               XDG_DATA_HOME=str(tmp_path / "data"), HOME=str(tmp_path))
    with open(tmp_path / "stdout", "w") as out, open(tmp_path / "stderr", "w") as err:
        # SIGINT at its default, as a terminal starts a command (a background job's is ignored).
        proc = subprocess.Popen([sys.executable, *argv], cwd=ROOT, env=env, stdout=out, stderr=err,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    proc.output = lambda name="stderr": (tmp_path / name).read_text()[-2000:]
    return proc


def wait_until(proc: subprocess.Popen, ready, what: str, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, proc.output()
        assert time.monotonic() < end, f"no {what} after {timeout} s"
        time.sleep(0.2)


def wait_for_workers(proc: subprocess.Popen, n: int) -> None:
    wait_until(proc, lambda: len(workers(proc.pid)) >= n, f"{n} worker processes")


def end_and_check(proc: subprocess.Popen, sig: int, exit_code: int | None, timeout: float = 60) -> None:
    """Send `sig`; the program exits (with `exit_code` unless None) and leaves no process."""
    family = descendants(proc.pid)
    assert family
    proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        for pid, _ in alive(family):
            os.kill(pid, signal.SIGKILL)
        proc.kill()
        proc.wait()
        pytest.fail(f"still running {timeout} s after {signal.Signals(sig).name}: {proc.output()}")
    if exit_code is not None:
        assert proc.returncode == exit_code, proc.output()
    end = time.monotonic() + 3  # the kernel ends a bound child at once; its watcher within half a second
    while alive(family) and time.monotonic() < end:
        time.sleep(0.1)
    left = alive(family)
    for pid, _ in left:  # no litter for the next test
        os.kill(pid, signal.SIGKILL)
    assert not left, [cmdline(pid) for pid, _ in left]


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGKILL, None)], ids=["SIGTERM", "SIGKILL"])
def test_the_app_started_by_main_leaves_no_process(tmp_path, sig, code):
    proc = start(["main.py"], tmp_path)
    wait_for_workers(proc, 1)
    end_and_check(proc, sig, code)


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGKILL, None)], ids=["SIGINT", "SIGKILL"])
def test_the_app_ended_during_a_plan_leaves_no_process(tmp_path, sig, code):
    proc = start(["-c", APP_PLANNING], tmp_path)
    wait_until(proc, lambda: "planning" in proc.output("stdout"), "plan started")
    wait_for_workers(proc, 1)
    time.sleep(1.0)  # the worker is planning
    end_and_check(proc, sig, code)


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGKILL, None)], ids=["SIGTERM", "SIGKILL"])
def test_a_collection_ended_leaves_no_process(tmp_path, sig, code):
    proc = start(["main.py", "collect", "--task", "conditional", "--episodes", "20", "--workers", "2", "--seed", "0",
                  "--out", str(tmp_path / "demos.h5")], tmp_path)
    wait_for_workers(proc, 2)
    time.sleep(1.0)
    end_and_check(proc, sig, code, timeout=120)
