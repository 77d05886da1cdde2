"""Diffuser planning time per segment with the default settings (or those given).

    python benchmarks/plan_speed.py [--episodes 10] [--task conditional] [any planner option of main.py]

Plans goals of a task from seeded scenes and prints the median and mean seconds per segment
(sampling, ranking and the physics check included), the median of each phase of a segment
(planner.timing: choosing the move, sampling with the guides and settling inside it, ranking,
physics: the candidates tried, or the chosen one played), the seconds per move of executing the plan in physics afterwards, and the
settings used. The planner options
are main.py's own (e.g. --no-keyframes --candidates 1 --no-physics-check, --no-mover).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import planner as _thread_policy  # noqa: E402,F401  (sets PyTorch's thread policy before torch loads)
import torch  # noqa: E402

from main import add_planner_arguments, make_planner  # noqa: E402
from tasks.execute import execute  # noqa: E402
from tasks.goals import sample_goal  # noqa: E402
from tasks.world import episode_seed, initial_state  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--episodes", type=int, default=10)
    ap.add_argument("--task", default="conditional")
    add_planner_arguments(ap)
    args = ap.parse_args()
    args.planner = "diffuser"
    planner = make_planner(args)
    planner.plan(initial_state(0), sample_goal(args.task, np.random.default_rng(0)), 0)  # warm-up
    seconds, phases, execution = [], {}, []
    for k in range(args.episodes):
        s = episode_seed(99, k, "test")
        state, goal = initial_state(s), sample_goal(args.task, np.random.default_rng(s))
        plan = planner.plan(state, goal, s)
        seconds += [seg.seconds for seg in plan.segments]
        for seg in plan.segments:
            for name, value in (seg.phases or {}).items():
                phases.setdefault(name, []).append(value)
        t0 = time.perf_counter()
        execute(plan.states, goal, start=state)
        execution.append((time.perf_counter() - t0) / max(1, len(plan.segments)))
    print(f"settings: {planner.settings}")
    print(f"device: {planner.device}, torch threads: {torch.get_num_threads()}")
    print(f"segments timed: {len(seconds)}")
    print(f"median seconds per segment: {statistics.median(seconds):.3f}")
    print(f"mean seconds per segment: {statistics.mean(seconds):.3f}")
    for name, values in phases.items():
        print(f"  median {name}: {statistics.median(values):.3f} s")
    print(f"median seconds per move of executing the plan in physics: {statistics.median(execution):.3f}")


if __name__ == "__main__":
    main()
