"""Kuka block stacking with diffusion planning: the app (no arguments) and the command line.

The options are built in cli.py; each command is a cmd_* function here or in a *_commands module.
`python main.py --help` lists the commands.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import planner as _thread_policy  # noqa: F401  (sets PyTorch's thread policy before torch loads)
from cli import (  # noqa: F401  (field_type, add_planner_arguments: used by tests and benchmarks)
    PLANNERS, SETTING_FLAGS, add_planner_arguments, build_parser, field_type)
from cli_checks import UsageError, check_out_file, make_out_folder, ray_target, stopped
from planner.config import SHIPPED_CHECKPOINT, PlannerSettings  # noqa: F401  (tests read it here)
from export_commands import cmd_export_dataset
from render_commands import cmd_render
from train_commands import cmd_blend_mover, cmd_train, cmd_train_classifier, cmd_train_mover
from tasks.layout import block_names


def make_planner(args: argparse.Namespace):
    """The planner the arguments ask for; the Diffuser is the default when a checkpoint exists."""
    name = args.planner or ("diffuser" if Path(args.checkpoint).exists() else "demonstrator")
    if name == "demonstrator":
        from tasks.demonstrator import Demonstrator

        return Demonstrator()
    if name == "diffuser":
        from planner.plan import DiffuserPlanner

        base = PlannerSettings.paper() if args.paper else PlannerSettings()
        if args.no_mover:
            base = replace(base, mover=None)
        overrides = {name: getattr(args, flag[2:].replace("-", "_")) for flag, name in SETTING_FLAGS}
        overrides.update(device=args.device, classifier=args.classifier)
        if args.mover:
            overrides["mover"] = args.mover
        settings = replace(base, **{k: v for k, v in overrides.items() if v is not None})
        if args.no_keyframes:
            settings = replace(settings, keyframes=False)
        if args.keyframes:
            settings = replace(settings, keyframes=True)
        if args.no_mover and args.guide_scale is None and not args.paper:
            settings = replace(settings, guide_scale=PlannerSettings.whole_state().guide_scale)  # the tool guide is the mover's
        if args.no_settle:
            settings = replace(settings, settle=False)
        if args.no_lift:
            settings = replace(settings, lift=False)
        if args.no_physics_check:
            settings = replace(settings, physics_check=False)
        try:
            return DiffuserPlanner(args.checkpoint, settings)
        except ValueError as e:
            raise UsageError(str(e)) from None
    raise UsageError(f"unknown planner {name!r}; planners are {', '.join(PLANNERS)}")


def planner_maker(args: argparse.Namespace):
    """make_planner(args) for a worker process or a Ray worker, which makes its own planner. Files
    inside this repository travel as paths relative to it: a cluster's copy of it lies elsewhere."""
    import functools
    import importlib

    root = Path(__file__).resolve().parent
    paths = {}
    for name in PLANNER_FILES:
        if getattr(args, name, None):
            path = Path(getattr(args, name)).resolve()
            paths[name] = str(path.relative_to(root) if path.is_relative_to(root) else path)
    entry = importlib.import_module("main")  # by its name, not as __main__: the workers import it
    return functools.partial(entry.make_planner_here, argparse.Namespace(**{**vars(args), **paths}))


PLANNER_FILES = ("checkpoint", "mover", "classifier")


def make_planner_here(args: argparse.Namespace):
    """make_planner with planner_maker's relative paths read in this copy of the repository."""
    root = Path(__file__).resolve().parent
    for name in PLANNER_FILES:
        value = getattr(args, name, None)
        if value and not Path(value).is_absolute():
            setattr(args, name, str(root / value))
    return make_planner(args)


def cmd_collect(args) -> int:
    from tqdm import tqdm

    from tasks.cluster import ClusterError
    from tasks.collect import collect, pending_episodes
    from tasks.stopping import StopOnSignal

    ray = ray_target(args)
    check_out_file(args.out, "demonstrations")
    make_out_folder(args.out)
    todo = len(pending_episodes(args.out, args.task, args.seed, args.episodes, n_blocks=args.blocks))
    with StopOnSignal() as stop, tqdm(total=args.episodes, initial=args.episodes - todo, unit="demo",
                                      desc=f"collect {args.task}") as bar:
        def progress(done: int, total: int, failures: int) -> None:
            bar.update(done - bar.n)
            bar.set_postfix(failed=failures)

        t0 = time.perf_counter()
        try:
            written, failures = collect(args.out, args.task, args.episodes, args.seed, args.workers or 1,
                                        progress=progress, should_stop=stop, n_blocks=args.blocks, ray=ray)
        except ClusterError as e:
            if e.before_work:
                raise
            kept = args.episodes - len(pending_episodes(args.out, args.task, args.seed, args.episodes, n_blocks=args.blocks))
            raise ClusterError(f"{e}; {kept} of the {args.episodes} demos are in {args.out}, and the same command "
                               f"resumes after them") from None
    seconds = time.perf_counter() - t0
    for f in failures:
        print(f"unsolved: {f}", file=sys.stderr)
    if stop.requested:
        return stopped(stop, f"{written} demos written to {args.out}", "the same command resumes after them")
    rate = written / seconds * 60 if seconds > 0 and written else 0.0
    print(f"wrote {written} demos to {args.out} in {seconds:.1f} s ({rate:.0f} demos/min); "
          f"{args.episodes - todo} already there; {len(failures)} unsolved")
    return 0 if not failures else 1


def plan_start(args) -> tuple:
    """The start state the arguments ask for, and where it came from (stored with the plan)."""
    from tasks.layout import DEFAULT_BLOCKS, blocks_of_dim, layout_for
    from tasks.starts import load_start_state, plan_end_state
    from tasks.world import initial_state

    if args.start and args.start_state:
        raise UsageError("give --start or --start-state, not both")
    if args.start:
        path, sep, pid = args.start.rpartition(":")
        if not sep or not path or not pid:
            raise UsageError(f"--start {args.start}: expected FILE.h5:PLAN_ID (e.g. plans.h5:plan_00003)")
        state = plan_end_state(path, pid)
        if args.blocks is not None and len(state) != layout_for(args.blocks).dim:
            raise UsageError(f"--start {args.start}: that plan's scene has {blocks_of_dim(len(state))} blocks, "
                             f"not {args.blocks} (--blocks)")
        return state, f"the end of {Path(path).name}:{pid}"
    if args.start_state:
        return load_start_state(args.start_state, args.blocks), f"state {Path(args.start_state).name}"
    n = DEFAULT_BLOCKS if args.blocks is None else args.blocks
    return initial_state(args.seed, n), f"scene {args.seed}" + ("" if n == DEFAULT_BLOCKS else f" of {n} blocks")


def cmd_plan(args) -> int:
    from tasks.execute import execute
    from tasks.goals import check_fits, parse_goal
    from tasks.layout import layout_of
    from tasks.plans import append_plan

    goal = parse_goal(args.goal)
    if args.blocks is not None:
        check_fits(goal, block_names(args.blocks))
    check_out_file(args.out, "plans")
    state, start = plan_start(args)
    check_fits(goal, layout_of(state).blocks)
    planner = make_planner(args)
    if args.keep_denoising and planner.name != "diffuser":
        raise UsageError(f"--keep-denoising: the {planner.name} has no denoising steps to keep; plan with the diffuser")
    make_out_folder(args.out)
    kept = {"keep_denoising": True} if args.keep_denoising else {}
    plan = replace(planner.plan(state, goal, args.seed, **kept), start=start)
    result = execute(plan.states, goal, start=state)
    plan = plan.with_result(result.score, result.strict_success)
    pid = append_plan(args.out, plan)
    print(f"{pid}: {plan.planner} planned '{goal}' from {start} in {plan.plan_seconds:.2f} s, "
          f"{len(plan.states)} states; in physics: score {result.score:.0f}, "
          f"strict success {'yes' if result.strict_success else 'no'} -> {args.out}")
    for i, seg in enumerate(plan.segments):
        print(f"  segment {i + 1}: {seg.move} ({seg.proposal.value}), {seg.seconds:.2f} s, "
              f"{seg.checked} checked in physics, {'achieved' if seg.achieved else 'missed'}")
    return 0


def cmd_evaluate(args) -> int:
    from tqdm import tqdm

    from tasks.evaluate import (
        PARTIAL_EPISODES, PARTIAL_RESULTS, check_out_dir, episodes_kept, evaluate, format_table,
    )
    from tasks.cluster import ClusterError
    from tasks.stopping import StopOnSignal

    ray, workers = ray_target(args), args.workers or 1
    check_out_dir(args.out)
    planner = make_planner(args)
    kept = episodes_kept(planner, args.task, args.seed, args.episodes, args.out, args.blocks, args.from_towers)
    elsewhere = workers > 1 or ray is not None
    with StopOnSignal() as stop, tqdm(total=args.episodes, initial=kept, unit="episode",
                                      desc=f"evaluate {planner.name} {args.task}") as bar:
        try:
            results = evaluate(planner, args.task, args.episodes, args.seed, args.out, progress=lambda e: bar.update(1),
                               should_stop=stop, n_blocks=args.blocks, towers=args.from_towers, workers=workers, ray=ray,
                               make_planner=planner_maker(args) if elsewhere else None)
        except ClusterError as e:
            if e.before_work:
                raise
            kept = episodes_kept(planner, args.task, args.seed, args.episodes, args.out, args.blocks, args.from_towers)
            raise ClusterError(f"{e}; {kept} of the {args.episodes} episodes are kept in {args.out}/{PARTIAL_EPISODES}, "
                               f"and the same command continues from there") from None
    if not results["complete"]:
        kept = (f"{results['episodes']} of {args.episodes} episodes kept in {args.out}/{PARTIAL_EPISODES} and "
                f"{PARTIAL_RESULTS}" if results["episodes"] else "no episode was finished")
        return stopped(stop, kept, "the same command continues from there")
    print(format_table([results]))
    if results["moves_by"]:
        print("moves chosen by: " + ", ".join(f"{k} {v}" for k, v in results["moves_by"].items()))
    print(f"results: {args.out}/results.json, realised states: {args.out}/episodes.h5")
    return 0


TRAINING = ("train", "train-classifier", "train-mover", "blend-mover")
COMMANDS = {"collect": cmd_collect, "plan": cmd_plan, "evaluate": cmd_evaluate, "train": cmd_train,
            "train-classifier": cmd_train_classifier, "train-mover": cmd_train_mover, "blend-mover": cmd_blend_mover,
            "render": cmd_render, "export-dataset": cmd_export_dataset}
# What a second Ctrl+C (or a first one where a command does not stop gracefully) leaves behind.
INTERRUPTED = {"plan": "no plan was written", "render": "no partial video is left",
               "blend-mover": "no partial checkpoint is left", "export-dataset": "no partial export is left"}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # what a checkpoint records as its command
    if args.command is None:
        from app.launch import run

        return run()
    from tasks.goals import GoalError
    from tasks.h5io import FileFormatError

    errors: tuple = (GoalError, FileFormatError, UsageError)
    if args.command not in TRAINING:  # training needs no physics: it runs where PyBullet is not installed
        from tasks.demonstrator import PlanningError

        errors += (PlanningError,)
    if args.command in TRAINING + ("plan", "evaluate"):
        from planner.errors import CheckpointError

        errors += (CheckpointError,)
    if args.command in ("collect", "evaluate"):
        from tasks.cluster import ClusterError

        errors += (ClusterError,)
    try:
        return COMMANDS[args.command](args)
    except errors as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        signum = getattr(e, "signum", 2)
        print(f"interrupted; {INTERRUPTED.get(args.command, 'every record already written is whole and kept')}",
              file=sys.stderr)
        return 128 + signum


if __name__ == "__main__":
    sys.exit(main())
