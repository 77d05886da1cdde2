"""Demonstration collection throughput: demos per minute and seconds per demo.

    python benchmarks/collect_throughput.py [--task unconditional] [--episodes 60] [--workers 2]

Runs the same collection as `main.py collect` (planning, replay check in physics, HDF5 append)
into a temporary file, worker start-up included.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tasks.collect import collect  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", default="unconditional")
    ap.add_argument("--episodes", type=int, default=60)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=123)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        written, failures = collect(Path(tmp) / "bench.h5", args.task, args.episodes, args.seed, args.workers)
        seconds = time.perf_counter() - t0
    print(f"task {args.task}, {args.episodes} episodes, {args.workers} workers")
    print(f"demos written: {written}, unsolved: {len(failures)}")
    print(f"demos per minute: {written / seconds * 60:.1f}")
    print(f"seconds per demo: {seconds / max(written, 1):.3f}")


if __name__ == "__main__":
    main()
