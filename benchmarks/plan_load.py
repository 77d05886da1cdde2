"""Planning time per segment on an idle machine and beside a CPU-bound process, per thread setting.

    python benchmarks/plan_load.py [--episodes 3] [--settings default "ACTIVE 2" "PASSIVE 1" ...]

A user's machine is never idle. Each setting (OpenMP wait policy and thread count; "default"
is what the program itself chooses, planner/__init__.py) runs benchmarks/plan_speed.py in a
fresh process (cold), once alone and once with a busy process beside it (another Python process
spinning on one core for the whole run), and the medians are printed side by side.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUSY = {
    # a plain CPU-bound process on one core
    "python": "import time\nend = time.time() + 3600\nwhile time.time() < end: pass\n",
    # another PyTorch program (default threads and wait policy): small products in a loop, as a
    # second planner or a training run would do
    "torch": "import time, torch\nx = torch.randn(64, 64)\nend = time.time() + 3600\n"
             "while time.time() < end:\n    for _ in range(100): x = torch.tanh(x @ x)\n",
}


def run(setting: str, busy: str | None, episodes: int, extra: list[str]) -> float:
    env = dict(os.environ)
    for k in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS"):
        env.pop(k, None)
    if setting != "default":
        policy, threads = setting.split()
        env.update(OMP_WAIT_POLICY=policy, OMP_NUM_THREADS=threads)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OMP_")}  # the neighbour keeps its defaults
    burner = subprocess.Popen([sys.executable, "-c", BUSY[busy]], env=clean) if busy else None
    try:
        out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "plan_speed.py"), "--episodes", str(episodes), *extra],
                             env=env, capture_output=True, text=True, check=True).stdout
    finally:
        if burner is not None:
            burner.kill()
            burner.wait()
    return float(re.search(r"median seconds per segment: ([0-9.]+)", out).group(1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--episodes", type=int, default=3)
    ap.add_argument("--settings", nargs="+", default=["default", "ACTIVE 2", "PASSIVE 2", "PASSIVE 1"])
    ap.add_argument("--busy", nargs="+", default=["python", "torch"], choices=sorted(BUSY),
                    help="what runs beside: a plain CPU-bound process, another PyTorch program")
    ap.add_argument("extra", nargs=argparse.REMAINDER, help="passed on to plan_speed.py (after --)")
    args = ap.parse_args()
    extra = [a for a in args.extra if a != "--"]
    print(f"{os.cpu_count()} CPUs; plan_speed.py --episodes {args.episodes} {' '.join(extra)}")
    heads = "".join(f" {'beside ' + b:>15} {'/idle':>6}" for b in args.busy)
    print(f"{'setting':<12} {'idle s/segment':>15}{heads}")
    for setting in args.settings:
        idle = run(setting, None, args.episodes, extra)
        cells = ""
        for b in args.busy:
            busy = run(setting, b, args.episodes, extra)
            cells += f" {busy:>15.3f} {busy / idle:>6.2f}"
        print(f"{setting:<12} {idle:>15.3f}{cells}", flush=True)


if __name__ == "__main__":
    main()
