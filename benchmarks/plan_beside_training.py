"""How much a training slows planning: the Diffuser's seconds per segment (benchmarks/plan_speed.py
in a fresh process, default settings) on an otherwise idle machine, beside the Train tab's
training process (tasks.train_job: niced, one core fewer than the machine has), and beside
`train-mover` from the command line (every core, not niced) for contrast.

    python benchmarks/plan_beside_training.py [--episodes 5]
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SAMPLE = ROOT / "assets" / "sample_demos.h5"


def plan_speed(episodes: int) -> float:
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "plan_speed.py"), "--episodes", str(episodes)],
                         capture_output=True, text=True, check=True).stdout
    return float(re.search(r"median seconds per segment: ([\d.]+)", out).group(1))


def beside_tab_training(episodes: int, tmp: Path) -> float:
    from planner.config import shipped_mover
    from planner.model_store import ModelStore
    from tasks.train_job import BackgroundJob, TrainSpec, train_child

    store = ModelStore(tmp / "models")
    info = store.new([str(SAMPLE)], shipped_mover(), {})
    job = BackgroundJob(train_child, TrainSpec(str(store.root), info.name, (str(SAMPLE),), shipped_mover(), 30.0,
                                               10**6, 64, 1e-4, "cpu"))
    try:
        while not any(m[0] == "train" for m in job.messages()):  # timed only once it trains
            if not job.alive:
                raise RuntimeError("the training process ended before it trained")
            time.sleep(0.2)
        return plan_speed(episodes)
    finally:
        job.kill()


def beside_cli_training(episodes: int, tmp: Path) -> float:
    train = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "train-mover", "--data", str(SAMPLE), "--out",
                              str(tmp / "cli.pt"), "--init-from", str(ROOT / "assets" / "move_diffuser.pt"),
                              "--minutes", "30", "--device", "cpu"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        time.sleep(20)  # past its start and data loading: it trains
        if train.poll() is not None:
            raise RuntimeError("train-mover ended before the timing")
        return plan_speed(episodes)
    finally:
        train.terminate()
        train.wait(30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--episodes", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [("idle", plan_speed(args.episodes)),
                ("beside the Train tab's training", beside_tab_training(args.episodes, Path(tmp))),
                ("beside train-mover (all cores)", beside_cli_training(args.episodes, Path(tmp)))]
    idle = rows[0][1]
    for name, s in rows:
        print(f"{name:<34} median {s:.3f} s per segment ({s / idle:.2f} x idle)")


if __name__ == "__main__":
    main()
