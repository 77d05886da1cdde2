"""Demonstration collection throughput, per core, and what a cluster would take at scale.

    python benchmarks/collect_throughput.py [--task unconditional] [--episodes 60] [--workers 1 2] [--ray]
        [--blocks 4] [--cores 64] [--demos 100000 1000000] [--appends 200] [--pad 100000]

Runs the same collection as `main.py collect` (planning, replay check in physics, HDF5 append)
into a temporary file once per worker count (worker start-up included), and with --ray once on a
local Ray instance. Prints demos per minute and per minute per core. Then times the one writer:
the median of `--appends` appends to a file of a few demos and to one padded with `--pad` more
(empty placeholder groups, which an append handles as it does demos), read as seconds per append
= a + b x demos already in the file. The cluster estimate takes the per-core rate of the run with
the most workers (every core busy, as on a cluster), the writer's line and the bytes per demo of
the written file: the time is the longer of the workers' and the writer's (they overlap).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import h5py

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tasks.collect import collect  # noqa: E402
from tasks.dataset import Demo, append_demo, load_states, read_index  # noqa: E402


@dataclass(frozen=True)
class Run:
    name: str
    cores: int
    written: int
    seconds: float
    bytes: int

    @property
    def per_minute(self) -> float:
        return self.written / self.seconds * 60

    @property
    def per_core(self) -> float:
        return self.per_minute / self.cores


def timed_collection(name: str, cores: int, folder: Path, args, ray=None) -> Run:
    path = folder / f"{name}.h5"
    t0 = time.perf_counter()
    written, failures = collect(path, args.task, args.episodes, args.seed, cores, n_blocks=args.blocks, ray=ray)
    seconds = time.perf_counter() - t0
    if failures:
        print(f"{name}: {len(failures)} unsolved", file=sys.stderr)
    return Run(name, cores, written, seconds, path.stat().st_size if path.exists() else 0)


def writer_line(source: Path, appends: int, pad: int, folder: Path) -> tuple[float, float]:
    """(a, b): the one writer's seconds per append = a + b x demos already in the file, from the
    median append to a file of the source's demos and to the same file padded with `pad` more."""
    records = read_index(source)
    states = load_states(source, [r.name for r in records])
    # As a collection's workers hand them over: with their rewards.
    demos = [Demo(states[r.name], r.goal, r.task, r.seed, r.episode, r.collection_seed, True, 0.0).with_rewards()
             for r in records]
    path = folder / "writer.h5"

    def median_append(first: int) -> float:
        times = []
        for i in range(first, first + appends):
            demo = replace(demos[i % len(demos)], episode=i, collection_seed=-2)
            t0 = time.perf_counter()
            append_demo(path, demo, "benchmark")
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    small = median_append(0)
    with h5py.File(path, "a") as f:
        data = f["data"]
        start = int(data.attrs["next_index"])
        for i in range(start, start + pad):
            data.create_group(f"demo_{i}")
        data.attrs["next_index"] = start + pad
    large = median_append(start + pad)
    return small, max(0.0, (large - small) / pad)


def duration(seconds: float) -> str:
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", default="unconditional")
    ap.add_argument("--episodes", type=int, default=60, help="episodes per run (default 60)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to run (default 1 2)")
    ap.add_argument("--ray", action="store_true", help="also run on a local Ray instance of max(--workers) CPUs")
    ap.add_argument("--blocks", type=int, default=4)
    ap.add_argument("--seed", type=int, default=123)
    ap.add_argument("--cores", type=int, default=64, help="the cluster's cores for the estimate (default 64)")
    ap.add_argument("--demos", type=int, nargs="+", default=[100_000, 1_000_000], help="collections to estimate")
    ap.add_argument("--appends", type=int, default=200, help="appends per file that time the one writer (default 200)")
    ap.add_argument("--pad", type=int, default=100_000, help="demos the writer's second file holds (default 100000)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        runs = [timed_collection(f"workers-{w}", w, folder, args) for w in args.workers]
        if args.ray:
            from tasks.cluster import RayTarget

            cores = max(args.workers)
            runs.append(timed_collection(f"ray-{cores}", cores, folder, args, RayTarget(cpus=cores)))
        print(f"task {args.task}, {args.blocks} blocks, {args.episodes} episodes per run, worker start-up included")
        print(f"{'run':<12}{'cores':>6}{'demos':>7}{'seconds':>9}{'demos/min':>11}{'per core':>10}{'s/demo':>8}")
        for r in runs:
            print(f"{r.name:<12}{r.cores:>6}{r.written:>7}{r.seconds:>9.1f}{r.per_minute:>11.1f}{r.per_core:>10.1f}"
                  f"{r.seconds / max(r.written, 1):>8.2f}")
        busiest = max((r for r in runs if r.written), key=lambda r: (r.cores, r.per_core))
        per_demo = busiest.bytes / busiest.written
        a, b = writer_line(folder / f"{busiest.name}.h5", args.appends, args.pad, folder)

    print(f"bytes per demo: {per_demo / 1e3:.1f} kB (the {busiest.name} file)")
    print(f"the one writer, per append: {a * 1e3:.2f} ms + {b * 1e9:.1f} ns x demos already in the file "
          f"(medians of {args.appends} appends at {args.appends} and at {args.pad:,} demos)")
    rate = busiest.per_core * args.cores
    print(f"\non {args.cores} cores at {busiest.name}'s {busiest.per_core:.1f} demos/min per core ({rate:.0f} demos/min):")
    print(f"{'demos':>10}{'workers':>12}{'writer':>12}{'time':>12}{'disk':>10}")
    for n in args.demos:
        workers = n / rate * 60
        writer = a * n + b * n * (n - 1) / 2
        print(f"{n:>10,}{duration(workers):>12}{duration(writer):>12}{duration(max(workers, writer)):>12}"
              f"{n * per_demo / 1e9:>8.1f} GB")


if __name__ == "__main__":
    main()
