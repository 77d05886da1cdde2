"""Kuka block stacking with diffusion planning.

    python main.py collect  --task T --episodes N --seed S --workers W --out FILE.h5
    python main.py plan     --planner demonstrator --goal GOAL --seed S --out plans.h5
    python main.py evaluate --planner demonstrator --task T --episodes N --seed S --out DIR

GOAL is a tower order bottom to top (``red,green,blue,yellow``), "top on bottom" pairs
(``green on red, yellow on blue``) or ``tallest``.
"""
from __future__ import annotations

import argparse
import sys
import time

from tasks.goals import TASKS

PLANNERS = ("demonstrator",)


class UsageError(Exception):
    """A problem with what the user asked for; printed as one line."""


def make_planner(name: str):
    if name == "demonstrator":
        from tasks.demonstrator import Demonstrator

        return Demonstrator()
    raise UsageError(f"unknown planner {name!r}; planners are {', '.join(PLANNERS)}")


def cmd_collect(args) -> int:
    from tqdm import tqdm

    from tasks.collect import collect, pending_episodes

    todo = len(pending_episodes(args.out, args.task, args.seed, args.episodes))
    with tqdm(total=args.episodes, initial=args.episodes - todo, unit="demo", desc=f"collect {args.task}") as bar:
        def progress(done: int, total: int, failures: int) -> None:
            bar.update(done - bar.n)
            bar.set_postfix(failed=failures)

        t0 = time.perf_counter()
        written, failures = collect(args.out, args.task, args.episodes, args.seed, args.workers, progress=progress)
    seconds = time.perf_counter() - t0
    for f in failures:
        print(f"unsolved: {f}", file=sys.stderr)
    rate = written / seconds * 60 if seconds > 0 and written else 0.0
    print(f"wrote {written} demos to {args.out} in {seconds:.1f} s ({rate:.0f} demos/min); "
          f"{args.episodes - todo} already there; {len(failures)} unsolved")
    return 0 if not failures else 1


def cmd_plan(args) -> int:
    from tasks.execute import execute
    from tasks.goals import parse_goal
    from tasks.plans import append_plan
    from tasks.world import initial_state

    goal = parse_goal(args.goal)
    planner = make_planner(args.planner)
    state = initial_state(args.seed)
    plan = planner.plan(state, goal, args.seed)
    result = execute(plan.states, goal, start=state)
    plan = plan.with_result(result.score, result.strict_success)
    pid = append_plan(args.out, plan)
    print(f"{pid}: {args.planner} planned '{goal}' from scene {args.seed} in {plan.plan_seconds:.2f} s, "
          f"{len(plan.states)} states; in physics: score {result.score:.0f}, "
          f"strict success {'yes' if result.strict_success else 'no'} -> {args.out}")
    return 0


def cmd_evaluate(args) -> int:
    from tqdm import tqdm

    from tasks.evaluate import evaluate, format_table

    planner = make_planner(args.planner)
    with tqdm(total=args.episodes, unit="episode", desc=f"evaluate {args.planner} {args.task}") as bar:
        results = evaluate(planner, args.task, args.episodes, args.seed, args.out, progress=lambda e: bar.update(1))
    print(format_table([results]))
    print(f"results: {args.out}/results.json, realised states: {args.out}/episodes.h5")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="main.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")

    c = sub.add_parser("collect", help="collect demonstrations with the demonstrator into an HDF5 dataset")
    c.add_argument("--task", choices=TASKS, required=True)
    c.add_argument("--episodes", type=int, required=True)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--workers", type=int, default=1, help="worker processes (the result does not depend on it)")
    c.add_argument("--out", required=True, help="HDF5 file; appended to, and resumed if it holds this collection")
    c.set_defaults(func=cmd_collect)

    p = sub.add_parser("plan", help="plan one goal from a seeded scene and append the plan to a plans file")
    p.add_argument("--planner", default="demonstrator", choices=PLANNERS)
    p.add_argument("--goal", required=True, help="'red,green,blue,yellow', 'green on red, yellow on blue' or 'tallest'")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="plans.h5")
    p.set_defaults(func=cmd_plan)

    e = sub.add_parser("evaluate", help="score a planner on seeded episodes of a task")
    e.add_argument("--planner", default="demonstrator", choices=PLANNERS)
    e.add_argument("--task", choices=TASKS, required=True)
    e.add_argument("--episodes", type=int, default=100)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--out", required=True, help="directory for results.json and episodes.h5")
    e.set_defaults(func=cmd_evaluate)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        print("\nThe desktop app is not built yet; use the commands above.")
        return 0
    for name in ("episodes", "workers"):
        if getattr(args, name, 1) < 1:
            parser.error(f"--{name} must be at least 1")
    from tasks.demonstrator import PlanningError
    from tasks.goals import GoalError
    from tasks.h5io import FileFormatError

    try:
        return args.func(args)
    except (GoalError, FileFormatError, PlanningError, UsageError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; everything written so far is kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
