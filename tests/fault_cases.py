"""Hostile but realistic command lines, the files they meet, and what must come back.

One list serves two readers: `tests/test_faults.py` runs every case (through `main.main`, or a
real process where a signal is sent) and asserts the message, the exit code and that the watched
files are byte-for-byte unchanged; `scripts/fault_table.py` runs each as a shell command and
writes the table in docs/hostile-input.md.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from planner.config import SHIPPED_CHECKPOINT

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "assets" / "sample_demos.h5"
HUGE_SEED = str(2**70)
LONG_GOAL = "red on " * 1500 + "green"


@dataclass(frozen=True)
class Case:
    name: str  # what the user did
    argv: tuple[str, ...]  # main.py's arguments; {d} is the folder made by make_files
    message: str  # a part of the one line the user must see
    code: int = 2
    watch: tuple[str, ...] = ()  # files in {d} that must stay byte-for-byte the same
    send: tuple[int, float] | None = None  # (signal, seconds after its progress bar appears): stop it mid-work

    def args(self, d: Path) -> list[str]:
        return [a.replace("{d}", str(d)) for a in self.argv]


CASES = [
    # 1. a seed too large for HDF5
    Case("collect, seed too large for HDF5", ("collect", "--task", "conditional", "--episodes", "1", "--seed", HUGE_SEED,
         "--out", "{d}/demos.h5"), "argument --seed: must be between 0 and 4294967295", watch=("demos.h5",)),
    Case("plan, seed too large for HDF5", ("plan", "--planner", "demonstrator", "--goal", "red,green", "--seed", HUGE_SEED,
         "--out", "{d}/plans.h5"), "argument --seed: must be between 0 and 4294967295", watch=("plans.h5",)),
    # 2. evaluation output
    Case("evaluate into a folder whose episodes.h5 is foreign", ("evaluate", "--planner", "demonstrator", "--task",
         "conditional", "--episodes", "1", "--out", "{d}/foreign_eval"), "not an episodes file",
         watch=("foreign_eval/episodes.h5",)),
    Case("evaluate into a folder whose episodes.h5 is corrupt", ("evaluate", "--planner", "demonstrator", "--task",
         "conditional", "--episodes", "1", "--out", "{d}/corrupt_eval"), "not an HDF5 episodes file",
         watch=("corrupt_eval/episodes.h5",)),
    Case("evaluate --out is a file", ("evaluate", "--planner", "demonstrator", "--task", "conditional", "--out",
         "{d}/notes.txt"), "is a file, not a folder for the results", watch=("notes.txt",)),
    Case("evaluate --out under a file", ("evaluate", "--planner", "demonstrator", "--task", "conditional", "--out",
         "{d}/notes.txt/run"), "is not a writable folder", watch=("notes.txt",)),
    # 3. plans into foreign files
    Case("plan --out a demonstrations file", ("plan", "--planner", "demonstrator", "--goal", "red,green", "--out",
         "{d}/demos.h5"), "not a plans file", watch=("demos.h5",)),
    Case("plan --out a checkpoint", ("plan", "--planner", "demonstrator", "--goal", "red,green", "--out",
         "{d}/model.pt"), "not an HDF5 plans file", watch=("model.pt",)),
    Case("plan --out a folder", ("plan", "--planner", "demonstrator", "--goal", "red,green", "--out", "{d}"),
         "is a folder, not a plans file"),
    Case("plan --out under a file", ("plan", "--planner", "demonstrator", "--goal", "red,green", "--out",
         "{d}/notes.txt/plans.h5"), "is not a writable folder", watch=("notes.txt",)),
    # 4. training output
    Case("train --out cannot be written", ("train", "--data", "{d}/demos.h5", "--out", "{d}/notes.txt/model.pt",
         "--steps", "1"), "is not a writable folder", watch=("notes.txt", "demos.h5")),
    Case("train-classifier --out cannot be written", ("train-classifier", "--data", "{d}/demos.h5", "--out",
         "{d}/notes.txt/clf.pt", "--steps", "1"), "is not a writable folder", watch=("notes.txt",)),
    Case("train-classifier --out is another kind of checkpoint", ("train-classifier", "--data", "{d}/demos.h5",
         "--out", "{d}/model.pt", "--steps", "1"), "not a stack-classifier checkpoint", watch=("model.pt",)),
    Case("train-mover --out is a folder", ("train-mover", "--data", "{d}/demos.h5", "--out", "{d}", "--steps", "1"),
         "is a folder, not a checkpoint file"),
    Case("train --save-every 0", ("train", "--data", "{d}/demos.h5", "--out", "{d}/new.pt", "--save-every", "0"),
         "argument --save-every: must be between 1 and"),
    # 5. workers
    Case("collect --workers 500", ("collect", "--task", "conditional", "--episodes", "1", "--workers", "500", "--out",
         "{d}/demos.h5"), "argument --workers: must be between 1 and", watch=("demos.h5",)),
    # 6. tracebacks before
    Case("train --data with the wrong state layout", ("train", "--data", "{d}/wrong_layout.h5", "--out",
         "{d}/new.pt", "--steps", "1"), "state layout differs", watch=("wrong_layout.h5",)),
    Case("train --data internally corrupt", ("train", "--data", "{d}/corrupt.h5", "--out", "{d}/new.pt", "--steps",
         "1"), "demonstrations file damaged", watch=("corrupt.h5",)),
    # The damage is met inside the append: the record is not written and the file is left untouched.
    Case("collect --out internally corrupt", ("collect", "--task", "conditional", "--episodes", "1", "--out",
         "{d}/corrupt.h5"), "the file is damaged or not in this program's layout", watch=("corrupt.h5",)),
    Case("collect --out truncated", ("collect", "--task", "conditional", "--episodes", "1", "--out",
         "{d}/truncated.h5"), "cannot open demonstrations file", watch=("truncated.h5",)),
    Case("collect with a negative seed", ("collect", "--task", "conditional", "--episodes", "1", "--seed", "-1",
         "--out", "{d}/demos.h5"), "argument --seed: must be between 0", watch=("demos.h5",)),
    Case("plan --candidates 0", ("plan", "--goal", "red,green", "--candidates", "0", "--out", "{d}/plans.h5"),
         "argument --candidates: must be between 1 and 1024, got 0", watch=("plans.h5",)),
    Case("plan --sampling-steps -3", ("plan", "--goal", "red,green", "--sampling-steps", "-3"),
         "argument --sampling-steps: must be between 1 and 1000, got -3"),
    Case("plan --guide-scale nan", ("plan", "--goal", "red,green", "--guide-scale", "nan"),
         "argument --guide-scale: must be a finite number"),
    Case("train --horizon 100", ("train", "--data", "{d}/demos.h5", "--out", "{d}/new.pt", "--horizon", "100"),
         "horizon 100 must be divisible by 8"),
    Case("train --lr nan", ("train", "--data", "{d}/demos.h5", "--out", "{d}/new.pt", "--lr", "nan"),
         "argument --lr: must be a finite number"),
    Case("plan --seed abc", ("plan", "--goal", "red,green", "--seed", "abc"), "argument --seed: expected a whole number"),
    # 7. nonsense accepted before
    Case("plan --sampling-steps 0", ("plan", "--goal", "red,green", "--sampling-steps", "0"),
         "argument --sampling-steps: must be between 1 and 1000, got 0"),
    Case("plan --max-checks 0", ("plan", "--goal", "red,green", "--max-checks", "0"),
         "argument --max-checks: must be between 1 and 1024, got 0"),
    Case("plan --smooth -1", ("plan", "--goal", "red,green", "--smooth", "-1"),
         "argument --smooth: must be between 0 and 1000, got -1"),
    Case("plan --guide-scale -5", ("plan", "--goal", "red,green", "--guide-scale", "-5"),
         "argument --guide-scale: must be between 0 and"),
    Case("train resumes a checkpoint with another --horizon", ("train", "--data", "{d}/demos.h5", "--out",
         "{d}/model.pt", "--horizon", "64"), "resuming a model trained with horizon 128 (asked 64)",
         watch=("model.pt", "demos.h5")),
    # 8. smaller
    Case("plan with a 10,000-character goal", ("plan", "--goal", LONG_GOAL, "--out", "{d}/plans.h5"),
         "goal of 10505 characters; a goal is at most 200", watch=("plans.h5",)),
    Case("train --data is a folder", ("train", "--data", "{d}", "--out", "{d}/new.pt", "--steps", "1"),
         "is a folder, not a demonstrations file"),
    Case("render --plans is a folder", ("render", "--plans", "{d}", "--out", "{d}/x.gif"),
         "is a folder, not a plans file"),
    # own cases
    Case("plan a goal with a cycle", ("plan", "--goal", "red on green, green on red", "--out", "{d}/plans.h5"),
         "cycle red on green on red", watch=("plans.h5",)),
    Case("plan a goal with an unknown block", ("plan", "--goal", "red,magenta", "--out", "{d}/plans.h5"),
         "unknown block 'magenta'", watch=("plans.h5",)),
    Case("plan a tower order naming a block twice", ("plan", "--goal", "red,green,red", "--out", "{d}/plans.h5"),
         "'red' used twice", watch=("plans.h5",)),
    Case("plan with a missing --checkpoint", ("plan", "--planner", "diffuser", "--goal", "tallest", "--checkpoint",
         "{d}/missing.pt", "--out", "{d}/plans.h5"), "no such checkpoint", watch=("plans.h5",)),
    Case("plan a goal naming a block the scene lacks", ("plan", "--goal", "red,purple", "--out", "{d}/plans.h5"),
         "the goal names 'purple', which this scene of 4 blocks does not have", watch=("plans.h5",)),
    Case("plan with --blocks out of range", ("plan", "--goal", "red,green", "--blocks", "9", "--out", "{d}/plans.h5"),
         "--blocks", watch=("plans.h5",)),
    Case("plan with a demonstrations file as --checkpoint", ("plan", "--planner", "diffuser", "--goal", "red,green",
         "--checkpoint", "{d}/demos.h5", "--out", "{d}/plans.h5"), "not a readable checkpoint",
         watch=("plans.h5", "demos.h5")),
    Case("plan with the Diffuser as --mover", ("plan", "--planner", "diffuser", "--goal", "red,green", "--mover",
         "{d}/model.pt", "--out", "{d}/plans.h5"), "not a move-model checkpoint", watch=("plans.h5", "model.pt")),
    Case("render a plan id that is not there", ("render", "--plans", "{d}/plans.h5", "--id", "plan_99999", "--out",
         "{d}/x.gif"), "no plan 'plan_99999'", watch=("plans.h5",)),
    Case("train-mover --data is a text file", ("train-mover", "--data", "{d}/notes.npz", "--out", "{d}/mover.pt",
         "--steps", "1"), "not a readable move-segments file", watch=("notes.npz",)),
    Case("train-mover --data is missing", ("train-mover", "--data", "{d}/none.h5", "--out", "{d}/mover.pt"),
         "no such demonstrations or move-segments file"),
    Case("collect --out a plans file", ("collect", "--task", "conditional", "--episodes", "1", "--out",
         "{d}/plans.h5"), "not a demonstrations file", watch=("plans.h5",)),
    Case("evaluate an unknown task", ("evaluate", "--task", "juggling", "--out", "{d}/eval"),
         "argument --task: invalid choice: 'juggling'"),
    Case("plan --device cuda without CUDA", ("plan", "--planner", "diffuser", "--goal", "red,green", "--device",
         "cuda", "--out", "{d}/plans.h5"), "no CUDA device is available", watch=("plans.h5",)),
    # signals (a real process; the signal arrives while it works)
    Case("evaluate stopped by Ctrl+C beside a finished run", ("evaluate", "--planner", "demonstrator", "--task",
         "conditional", "--episodes", "40", "--out", "{d}/eval"),
         "stopped by SIGINT (Ctrl+C)", 130, watch=("eval/results.json", "eval/episodes.h5"),
         send=(signal.SIGINT, 1.5)),
    Case("collect with 2 workers stopped by SIGTERM", ("collect", "--task", "conditional", "--episodes", "40",
         "--workers", "2", "--seed", "5", "--out", "{d}/demos.h5"), "stopped by SIGTERM", 143,
         send=(signal.SIGTERM, 1.5)),
    Case("train stopped by SIGTERM", ("train", "--data", "{d}/demos.h5", "--out", "{d}/small.pt", "--steps", "100000",
         "--dim", "8", "--dim-mults", "1", "2", "--save-every", "100000"), "stopped by SIGTERM; checkpoint saved", 143,
         send=(signal.SIGTERM, 1.0)),
    Case("collect stopped by Ctrl+C", ("collect", "--task", "conditional", "--episodes", "40", "--seed", "6", "--out",
         "{d}/new_demos.h5"), "stopped by SIGINT (Ctrl+C)", 130, send=(signal.SIGINT, 1.5)),
    Case("evaluate stopped by SIGTERM", ("evaluate", "--planner", "demonstrator", "--task", "conditional", "--episodes",
         "40", "--out", "{d}/eval_term"), "stopped by SIGTERM", 143, send=(signal.SIGTERM, 1.5)),
    Case("train-mover stopped by Ctrl+C", ("train-mover", "--data", "{d}/demos.h5", "--out", "{d}/mover.pt", "--steps",
         "100000", "--save-every", "100000"), "stopped by SIGINT (Ctrl+C); checkpoint saved in", 130,
         watch=("demos.h5",), send=(signal.SIGINT, 1.0)),
    Case("render stopped by Ctrl+C", ("render", "--plans", "{d}/plans.h5", "--out", "{d}/video.mp4", "--speed", "1",
         "--size", "640", "480"), "no partial video is left", 130, watch=("plans.h5",), send=(signal.SIGINT, 1.0)),
    Case("train-classifier stopped by SIGTERM", ("train-classifier", "--data", "{d}/demos.h5", "--out",
         "{d}/classifier.pt", "--steps", "100000"), "stopped by SIGTERM", 143, watch=("demos.h5",),
         send=(signal.SIGTERM, 1.0)),
    # export-dataset and --ray (issue 23)
    Case("export-dataset of a truncated demonstrations file", ("export-dataset", "--data", "{d}/truncated.h5",
         "--format", "lerobot", "--out", "{d}/lerobot_out"), "cannot open demonstrations file", watch=("truncated.h5",)),
    Case("export-dataset onto an existing file", ("export-dataset", "--data", "{d}/demos.h5", "--format", "robomimic",
         "--out", "{d}/plans.h5"), "a file of that name exists", watch=("demos.h5", "plans.h5")),
    Case("export-dataset in an unknown format", ("export-dataset", "--data", "{d}/demos.h5", "--format", "zarr",
         "--out", "{d}/x"), "argument --format: invalid choice: 'zarr'", watch=("demos.h5",)),
    Case("collect --ray at an address where no cluster answers", ("collect", "--task", "conditional", "--episodes", "1",
         "--ray", "127.0.0.1:1", "--out", "{d}/demos.h5"), "cannot be reached", watch=("demos.h5",)),
]


def start_signalled(case: Case, d: Path, before: Callable[[subprocess.Popen], None] | None = None,
                    ignore_sigint: bool = False) -> tuple[subprocess.Popen, Callable[[], str]]:
    """Start the case's command as a real process and send its signal `case.send[1]` seconds
    after its progress bar first appears (when it works, not while it still imports: a loaded
    machine takes seconds to import). Returns the process and a function giving all its stderr
    once it has ended. `before(proc)` runs just before the signal is sent; `ignore_sigint` starts
    it as a shell starts a background job (`cmd &`: SIGINT ignored)."""
    # As a terminal starts a foreground command (SIGINT as default), whatever this process
    # inherited: run from a background job (`bash .ci/run &`) it would start with SIGINT ignored.
    disposition = signal.SIG_IGN if ignore_sigint else signal.SIG_DFL
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), *case.args(d)], cwd=ROOT, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, disposition))
    chunks: list[str] = []
    working = threading.Event()

    def read() -> None:
        while chunk := proc.stderr.read(1):
            chunks.append(chunk)
            if chunk == "|" and "%" in "".join(chunks[-8:]):
                working.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    working.wait(120)
    time.sleep(case.send[1])
    if before is not None:
        before(proc)
    proc.send_signal(case.send[0])

    def stderr() -> str:
        reader.join(300)
        return "".join(chunks)

    return proc, stderr


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "absent"


def make_files(d: Path) -> None:
    """The files the cases meet: ours, foreign, corrupt, and a finished evaluation."""
    from tasks.demonstrator import Demonstrator
    from tasks.evaluate import evaluate
    from tasks.plans import Plan, append_plan
    from tasks.dataset import load_states
    from tasks.goals import TowerOrder

    d.mkdir(parents=True, exist_ok=True)
    shutil.copy(SAMPLE, d / "demos.h5")
    shutil.copy(SHIPPED_CHECKPOINT, d / "model.pt")
    (d / "notes.txt").write_text("a user's notes\n")
    (d / "notes.npz").write_text("not numpy\n")
    states = next(iter(load_states(SAMPLE, names=["demo_0"]).values()))
    append_plan(d / "plans.h5", Plan(states, TowerOrder(("red", "green")), "demonstrator", seed=0))
    data = SAMPLE.read_bytes()
    broken = bytearray(data)
    broken[4096:8192] = b"\0" * 4096  # inside the file's metadata
    (d / "corrupt.h5").write_bytes(bytes(broken))
    (d / "truncated.h5").write_bytes(data[: len(data) // 2])
    with h5py.File(d / "wrong_layout.h5", "w") as f:
        g = f.create_group("data")
        g.attrs["env_args"] = json.dumps({"state_names": [f"x{i}" for i in range(20)]})
        g.create_group("demo_0").create_dataset("states", data=np.zeros((200, 20), np.float32))
    (d / "foreign_eval").mkdir()
    shutil.copy(SAMPLE, d / "foreign_eval" / "episodes.h5")
    (d / "corrupt_eval").mkdir()
    (d / "corrupt_eval" / "episodes.h5").write_bytes(b"half an episodes file, cut off by a full disk")
    evaluate(Demonstrator(), "conditional", 1, 0, d / "eval")  # a finished run the cases must not touch
