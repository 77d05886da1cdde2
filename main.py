"""Kuka block stacking with diffusion planning.

    python main.py collect  --task T --episodes N --seed S --workers W --out FILE.h5
    python main.py train    --data FILE.h5 --out CHECKPOINT [--steps N] [--device auto|cpu|cuda]
    python main.py plan     [--planner diffuser|demonstrator] --goal GOAL [--seed S] --out plans.h5
                            [--start FILE.h5:PLAN_ID | --start-state FILE.npy]
    python main.py evaluate [--planner diffuser|demonstrator] --task T --episodes N --seed S --out DIR

GOAL is a tower order bottom to top (``red,green,blue,yellow``), "top on bottom" pairs
(``green on red, yellow on blue``), ``tallest``, or a reference arrangement
(``red at 0.55,0.20; green on red``, ``clear``).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import planner as _thread_policy  # noqa: F401  (sets PyTorch's thread policy before torch loads)
from planner.config import (
    DEVICES, MAX_SEED, SHIPPED_CHECKPOINT, SHIPPED_MOVER, ClassifierTrainConfig, ModelConfig, MoverTrainConfig,
    PlannerSettings, TrainConfig, check_value, meta, range_text,
)
from tasks.goals import TASKS, shown
from tasks.layout import DEFAULT_BLOCKS, MAX_BLOCKS, MIN_BLOCKS, block_names

PLANNERS = ("diffuser", "demonstrator")
MAX_WORKERS = os.cpu_count() or 1  # more processes than cores only thrash
MAX_EPISODES = 1_000_000


class UsageError(Exception):
    """A problem with what the user asked for; printed as one line."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the argument (not the whole usage text)."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see python {self.prog} --help)\n")


def bounded(kind: type, low: float | None = None, high: float | None = None, above: bool = False, what: str = ""):
    """An argparse type: `kind` within the range, else a message with the range."""
    limits = {"low": low, "high": high, "above": above}

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'a whole number' if kind is int else 'a number'}, "
                                             f"got {shown(text)}") from None
        problem = check_value(limits, value)
        if problem:
            raise argparse.ArgumentTypeError(problem + (f" ({what})" if what else ""))
        return value

    return parse


def field_type(cls, name: str, kind: type | None = None):
    """The argparse type of dataclass field `name`: its kind and range, as the dataclass checks them."""
    m = meta(cls, name)
    kind = kind or type(m["default"])
    return bounded(kind, m["low"], m["high"], m["above"])


def field_help(cls, name: str, extra: str = "") -> str:
    m = meta(cls, name)
    shown = m["default"]
    if isinstance(shown, str) and os.sep in shown:
        shown = Path(shown).relative_to(SHIPPED_CHECKPOINT.parents[1]) if Path(shown).is_absolute() else shown
    rng = "" if m.get("choices") or m["low"] is None and m["high"] is None else f"; {range_text(m)}"
    return f"{m['help']}{extra} (default {shown}{rng})".replace("%", "%%")


SEED = bounded(int, 0, MAX_SEED)
WORKERS = bounded(int, 1, MAX_WORKERS, what="this machine's cores")
EPISODES = bounded(int, 1, MAX_EPISODES)
BLOCKS = bounded(int, MIN_BLOCKS, MAX_BLOCKS)
BLOCKS_HELP = (f"blocks in the scene, {MIN_BLOCKS} to {MAX_BLOCKS}: the first N of {', '.join(block_names(MAX_BLOCKS))} "
               f"(default {DEFAULT_BLOCKS})")


def make_planner(args):
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
        if args.no_mover and args.smooth is None and not args.paper:
            settings = replace(settings, smooth=PlannerSettings.whole_state().smooth)  # that model's jumps need it
        if args.no_mover and args.guide_scale is None and not args.paper:
            settings = replace(settings, guide_scale=PlannerSettings.whole_state().guide_scale)  # the tool guide is the mover's
        if args.no_physics_check:
            settings = replace(settings, physics_check=False)
        try:
            return DiffuserPlanner(args.checkpoint, settings)
        except ValueError as e:
            raise UsageError(str(e)) from None
    raise UsageError(f"unknown planner {name!r}; planners are {', '.join(PLANNERS)}")


# Planner settings given as plain options: (flag, PlannerSettings field).
SETTING_FLAGS = (("--sampling-steps", "steps"), ("--candidates", "candidates"), ("--guide-scale", "guide_scale"),
                 ("--max-checks", "max_checks"), ("--batches", "batches"), ("--smooth", "smooth"),
                 ("--extra-segments", "extra_segments"), ("--cond-scale", "cond_scale"))


def add_planner_arguments(parser: argparse.ArgumentParser) -> None:
    """The planner's options; their defaults, ranges and help come from PlannerSettings."""
    parser.add_argument("--planner", choices=PLANNERS, default=None,
                        help="default: diffuser when the checkpoint exists, else demonstrator")
    g = parser.add_argument_group("diffuser settings")
    S = PlannerSettings
    g.add_argument("--checkpoint", default=str(SHIPPED_CHECKPOINT),
                   help="the whole-state Diffuser (default assets/diffuser.pt)")
    for flag, name in SETTING_FLAGS:
        extra = "; 30 with --no-mover" if name == "smooth" else ""
        g.add_argument(flag, type=field_type(S, name), help=field_help(S, name, extra))
    g.add_argument("--keyframes", action="store_true",
                   help="also pin joints from inverse kinematics at the grasp and release (the whole-state "
                        "Diffuser's best setting; the move model needs none)")
    g.add_argument("--no-keyframes", action="store_true", help="pin only the start state (the default)")
    g.add_argument("--no-physics-check", action="store_true", help="take the top-ranked candidate unchecked")
    g.add_argument("--paper", action="store_true",
                   help="the paper's setting: 1000-step DDPM, 1 candidate, guide only, no keyframes, check or smoothing")
    g.add_argument("--device", choices=DEVICES, help=field_help(S, "device"))
    g.add_argument("--mover", help=f"{meta(S, 'mover')['help']} (default "
                   f"{SHIPPED_MOVER.relative_to(SHIPPED_MOVER.parents[1])} when it exists)")
    g.add_argument("--no-mover", action="store_true",
                   help="plan the motion with the whole-state Diffuser instead (add --keyframes for its best setting)")
    g.add_argument("--classifier", help=meta(S, "classifier")["help"] + " (train-classifier)")


def stopped(stop, kept: str, again: str) -> int:
    """The one message of a command stopped by a signal; its exit code (130, 143)."""
    print(f"stopped by {stop.name}; {kept}; {again}", file=sys.stderr)
    return stop.exit_code


def check_checkpoint_target(path: str | None, fmt: str | None, kind: str) -> None:
    """Refuse, before any work, a checkpoint path that cannot be written or holds something else."""
    if path is None:
        return
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"{p}: is a folder, not a checkpoint file")
    from tasks.h5io import check_writable_place

    check_writable_place(p, p.parent)
    if p.exists() and fmt is not None:
        from planner.checkpoint import read

        read(p, fmt, kind)  # resumed (train, train-mover) or replaced (train-classifier): ours only


def cmd_collect(args) -> int:
    from tqdm import tqdm

    from tasks.collect import collect, pending_episodes
    from tasks.h5io import check_target
    from tasks.stopping import StopOnSignal

    check_target(args.out, "demonstrations")
    todo = len(pending_episodes(args.out, args.task, args.seed, args.episodes, n_blocks=args.blocks))
    with StopOnSignal() as stop, tqdm(total=args.episodes, initial=args.episodes - todo, unit="demo",
                                      desc=f"collect {args.task}") as bar:
        def progress(done: int, total: int, failures: int) -> None:
            bar.update(done - bar.n)
            bar.set_postfix(failed=failures)

        t0 = time.perf_counter()
        written, failures = collect(args.out, args.task, args.episodes, args.seed, args.workers, progress=progress,
                                    should_stop=stop, n_blocks=args.blocks)
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
    from tasks.goals import parse_goal
    from tasks.h5io import check_target
    from tasks.plans import append_plan

    from tasks.goals import check_fits
    from tasks.layout import layout_of

    goal = parse_goal(args.goal)
    if args.blocks is not None:
        check_fits(goal, block_names(args.blocks))
    check_target(args.out, "plans")
    state, start = plan_start(args)
    check_fits(goal, layout_of(state).blocks)
    planner = make_planner(args)
    plan = replace(planner.plan(state, goal, args.seed), start=start)
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

    from tasks.evaluate import PARTIAL_EPISODES, PARTIAL_RESULTS, check_out_dir, evaluate, format_table
    from tasks.stopping import StopOnSignal

    check_out_dir(args.out)
    planner = make_planner(args)
    with StopOnSignal() as stop, tqdm(total=args.episodes, unit="episode",
                                      desc=f"evaluate {planner.name} {args.task}") as bar:
        results = evaluate(planner, args.task, args.episodes, args.seed, args.out, progress=lambda e: bar.update(1),
                           should_stop=stop, n_blocks=args.blocks, towers=args.from_towers)
    if not results["complete"]:
        kept = (f"{results['episodes']} of {args.episodes} episodes kept in {args.out}/{PARTIAL_EPISODES} and "
                f"{PARTIAL_RESULTS}" if results["episodes"] else "no episode was finished")
        return stopped(stop, kept, "the same command continues from there")
    print(format_table([results]))
    if results["moves_by"]:
        print("moves chosen by: " + ", ".join(f"{k} {v}" for k, v in results["moves_by"].items()))
    print(f"results: {args.out}/results.json, realised states: {args.out}/episodes.h5")
    return 0


MODEL_SHAPE = ("horizon", "dim", "dim_mults", "original_unet")


def cmd_train(args) -> int:
    from planner.checkpoint import FORMAT, read
    from planner.train import train
    from tasks.stopping import StopOnSignal

    check_checkpoint_target(args.out, FORMAT, "Diffuser")
    check_checkpoint_target(args.slim, None, "Diffuser")
    fields = ("steps", "batch_size", "lr", "save_every", "seed", "device", "init_from", "slim", "aligned_fraction",
              "keyframe_fraction", "flag_weight", "flag_x0_floor", "position_x0_floor")
    try:
        cfg = TrainConfig(data=args.data, out=args.out,
                          **{k: getattr(args, k) for k in fields if getattr(args, k) is not None})
        shape = {k: getattr(args, k) for k in ("horizon", "dim") if getattr(args, k) is not None}
        if args.dim_mults:
            shape["dim_mults"] = tuple(args.dim_mults)
        if args.original_unet:
            shape.update(start_conditioning=False, input_gain=False)
        model = ModelConfig(**shape)
    except ValueError as e:
        raise UsageError(str(e)) from None
    if Path(args.out).exists() and shape:
        stored = ModelConfig.from_dict(read(args.out)["model_config"])
        differ = [f"{k} {getattr(stored, k)} (asked {v})" for k, v in shape.items() if getattr(stored, k) != v]
        if differ:
            raise UsageError(f"{args.out}: resuming a model trained with {', '.join(differ)}; leave out the shape "
                             f"options to resume it, or give another --out for a new model")
    with StopOnSignal() as stop:
        out = train(cfg, model, command=" ".join(["python", "main.py", *sys.argv[1:]]), stop=stop)
    if stop.requested:
        return stopped(stop, f"checkpoint saved in {out}", "the same command resumes from it")
    print(f"checkpoint: {out}" + (f", EMA-only copy: {args.slim}" if args.slim else ""))
    return 0


CLASSIFIER_FIELDS = ("steps", "batch_size", "lr", "seed")


def cmd_train_classifier(args) -> int:
    from planner.classifier import FORMAT, train_classifier
    from tasks.stopping import StopOnSignal

    check_checkpoint_target(args.out, FORMAT, "stack-classifier")
    cfg = ClassifierTrainConfig(data=args.data, out=args.out, **{k: getattr(args, k) for k in CLASSIFIER_FIELDS
                                                                 if getattr(args, k) is not None})
    with StopOnSignal() as stop:
        figures = train_classifier(cfg, stop=stop)
    if stop.requested:
        return stopped(stop, f"the classifier trained for {figures['steps']} of {cfg.steps} steps is saved in "
                       f"{args.out}", "train-classifier starts over when run again")
    print(f"classifier: {args.out}; held-out segments with every relation right: "
          f"{100 * figures['valid_accuracy_clean']:.1f} % clean, {100 * figures['valid_accuracy_t=250']:.1f} % at "
          f"noise step 250, {100 * figures['valid_accuracy_t=500']:.1f} % at 500")
    return 0


MOVER_FIELDS = ("steps", "batch_size", "lr", "save_every", "seed", "device", "minutes", "cond_drop", "key_weight",
                "keyframe_fraction", "init_from")


def cmd_train_mover(args) -> int:
    from planner.checkpoint import MOVER_FORMAT
    from planner.train_mover import train_mover
    from tasks.stopping import StopOnSignal

    check_checkpoint_target(args.out, MOVER_FORMAT, "move-model")
    check_checkpoint_target(args.slim, None, "move-model")
    given = {k: getattr(args, k) for k in MOVER_FIELDS if getattr(args, k) is not None}
    try:
        cfg = MoverTrainConfig(data=tuple(args.data), out=args.out, slim=args.slim, snapshots=tuple(args.snapshots or ()),
                               **given)
    except ValueError as e:
        raise UsageError(str(e)) from None
    with StopOnSignal() as stop:
        out = train_mover(cfg, command=" ".join(["python", "main.py", *sys.argv[1:]]), stop=stop)
    if stop.requested:
        return stopped(stop, f"checkpoint saved in {out}", "the same command resumes from it")
    print(f"move model: {out}")
    return 0


def cmd_blend_mover(args) -> int:
    from planner.checkpoint import MOVER_FORMAT, blend_movers

    check_checkpoint_target(args.out, MOVER_FORMAT, "move-model")
    blend_movers(args.base, args.tuned, args.weight, args.out, command=" ".join(["python", "main.py", *sys.argv[1:]]))
    print(f"move model: {args.out} ({1 - args.weight:g} x {args.base} + {args.weight:g} x {args.tuned})")
    return 0


def cmd_render(args) -> int:
    from tqdm import tqdm

    from app.video import FORMATS, render_denoising, render_plans
    from tasks.plans import list_plans, load_plan

    if Path(args.out).suffix.lower() not in FORMATS:
        raise UsageError(f"--out {args.out}: the video must end in .mp4 or .gif")
    folder = Path(args.out).resolve().parent
    if not folder.is_dir():
        raise UsageError(f"--out {args.out}: no such folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"--out {args.out}: the folder {folder} is not writable")
    if Path(args.out).is_dir():
        raise UsageError(f"--out {args.out}: is a folder, not a video file")
    ids = args.id or []
    if not ids:
        stored = list_plans(args.plans)
        if not stored:
            raise UsageError(f"{args.plans}: no plans in it")
        ids = [stored[-1].id]
    plans = [load_plan(args.plans, pid) for pid in ids]
    size = tuple(args.size)
    import signal

    def interrupted(signum, frame):  # the app's Cancel: stop like Ctrl+C, so no partial file stays
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    with tqdm(unit="frame", desc=f"render {Path(args.out).name}") as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        if args.denoising:
            if len(plans) != 1:
                raise UsageError("--denoising renders one plan: give one --id")
            try:
                n = render_denoising(plans[0], args.out, size, progress=progress)
            except ValueError as e:
                raise UsageError(str(e)) from None
        else:
            n = render_plans(plans, args.out, size, speed=args.speed, fps=args.fps, trail=not args.no_trail,
                             progress=progress)
    print(f"wrote {n} frames of {', '.join(ids)} to {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="main.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    for add in (_add_run_commands, _add_train_command, _add_render_command, _add_other_training_commands):
        add(sub)
    return parser


def _add_run_commands(sub) -> None:
    """collect, plan, evaluate."""
    c = sub.add_parser("collect", help="collect demonstrations with the demonstrator into an HDF5 dataset")
    c.add_argument("--task", choices=TASKS, required=True)
    c.add_argument("--episodes", type=EPISODES, required=True)
    c.add_argument("--seed", type=SEED, default=0, help=f"0 to {MAX_SEED} (default 0)")
    c.add_argument("--workers", type=WORKERS, default=1,
                   help=f"worker processes, 1 to {MAX_WORKERS} (the result does not depend on it)")
    c.add_argument("--out", required=True, help="HDF5 file; appended to, and resumed if it holds this collection")
    c.add_argument("--blocks", type=BLOCKS, default=DEFAULT_BLOCKS, help=BLOCKS_HELP)
    c.set_defaults(func=cmd_collect)

    p = sub.add_parser("plan", help="plan one goal from a seeded scene and append the plan to a plans file")
    add_planner_arguments(p)
    p.add_argument("--goal", required=True, help="'red,green,blue,yellow', 'green on red, yellow on blue', 'tallest', "
                   "'red at 0.55,0.20; green on red' or 'clear'")
    p.add_argument("--seed", type=SEED, default=0,
                   help=f"the scene (unless --start or --start-state) and the sampling noise, 0 to {MAX_SEED} (default 0)")
    p.add_argument("--start", metavar="FILE.h5:PLAN_ID",
                   help="start where a stored plan ends (its states executed in physics), e.g. plans.h5:plan_00003")
    p.add_argument("--start-state", metavar="FILE.npy", help="start from a resting state saved as 39 numbers")
    p.add_argument("--out", default="plans.h5")
    p.add_argument("--blocks", type=BLOCKS, default=None,
                   help=f"{BLOCKS_HELP[:-1]}; a --start or --start-state must have that many)")
    p.set_defaults(func=cmd_plan)

    e = sub.add_parser("evaluate", help="score a planner on seeded episodes of a task")
    add_planner_arguments(e)
    e.add_argument("--task", choices=TASKS, required=True)
    e.add_argument("--episodes", type=EPISODES, default=100)
    e.add_argument("--seed", type=SEED, default=0, help=f"0 to {MAX_SEED} (default 0)")
    e.add_argument("--out", required=True, help="directory for results.json and episodes.h5")
    e.add_argument("--blocks", type=BLOCKS, default=DEFAULT_BLOCKS, help=BLOCKS_HELP)
    e.add_argument("--from-towers", action="store_true",
                   help="start every episode from random towers (as the arrangement task does), whatever the task")
    e.set_defaults(func=cmd_evaluate)


def _add_train_command(sub) -> None:
    """train: the whole-state Diffuser; options from TrainConfig and ModelConfig."""
    T = TrainConfig
    t = sub.add_parser("train", help="train the Diffuser on a demonstrations file (resumes from --out if it exists)")
    t.add_argument("--data", required=True, help="demonstrations HDF5 file")
    t.add_argument("--out", required=True, help="checkpoint path (full: weights, EMA, optimizer)")
    for name in ("steps", "batch_size", "lr", "save_every", "seed", "aligned_fraction", "keyframe_fraction",
                 "flag_weight", "flag_x0_floor", "position_x0_floor"):
        t.add_argument("--" + name.replace("_", "-"), type=field_type(T, name), help=field_help(T, name))
    t.add_argument("--device", choices=DEVICES, help=field_help(T, "device"))
    for name in ("horizon", "dim"):
        t.add_argument("--" + name, type=field_type(ModelConfig, name), help=field_help(ModelConfig, name))
    t.add_argument("--dim-mults", type=bounded(int, 1, 64), nargs="+",
                   help=f"channel multipliers per U-Net level (default {' '.join(map(str, ModelConfig().dim_mults))})")
    t.add_argument("--original-unet", action="store_true",
                   help="the original U-Net: no start embedding and no input gain (planner/model.py)")
    t.add_argument("--init-from", help=meta(T, "init_from")["help"])
    t.add_argument("--slim", help=meta(T, "slim")["help"])
    t.set_defaults(func=cmd_train)


def _add_render_command(sub) -> None:
    """render: stored plans as a video."""
    r = sub.add_parser("render", help="render stored plans as an MP4 or GIF (the 3-D view with the tool trail)")
    r.add_argument("--plans", required=True, help="plans file")
    r.add_argument("--id", nargs="+", help="plan id(s); several play side by side (default: the newest plan)")
    r.add_argument("--out", required=True, help="FILE.mp4 or FILE.gif")
    r.add_argument("--denoising", action="store_true", help="animate how the plan formed, step by denoising step")
    r.add_argument("--size", type=bounded(int, 16, 4096), nargs=2, default=[480, 360], metavar=("WIDTH", "HEIGHT"))
    r.add_argument("--speed", type=bounded(float, 0, 100, above=True), default=1.0,
                   help="times the plan's real time (default 1)")
    r.add_argument("--fps", type=bounded(float, 1, 120), default=15.0)
    r.add_argument("--no-trail", action="store_true", help="leave the tool's path out")
    r.set_defaults(func=cmd_render)


def _add_other_training_commands(sub) -> None:
    """train-mover and train-classifier; options from their configs."""
    M = MoverTrainConfig
    m = sub.add_parser("train-mover", help="train the move model (joints + gripper of one pick-and-place, "
                       "conditioned on the move; resumes from --out if it exists)")
    m.add_argument("--data", required=True, nargs="+",
                   help="demonstrations HDF5 file(s) (or their extracted .segments.npz); several are trained on together")
    m.add_argument("--out", required=True, help="checkpoint path (weights, EMA, optimizer)")
    for name in MOVER_FIELDS:
        if name not in ("device", "init_from"):
            m.add_argument("--" + name.replace("_", "-"), type=field_type(M, name), help=field_help(M, name))
    m.add_argument("--device", choices=DEVICES, help=field_help(M, "device"))
    m.add_argument("--init-from", metavar="MOVER.pt", help=meta(M, "init_from")["help"])
    m.add_argument("--slim", help=meta(M, "slim")["help"])
    m.add_argument("--snapshots", type=bounded(int, 1, 10**9), nargs="*",
                   help="also keep EMA-only half-precision copies at these steps (SLIM-stepN.pt, or beside --out)")
    m.set_defaults(func=cmd_train_mover)
    b = sub.add_parser("blend-mover", help="a move model between one and the model fine-tuned from it: each weight "
                       "(1 - W) x BASE + W x TUNED")
    b.add_argument("--base", required=True, help="the move model the other was fine-tuned from")
    b.add_argument("--tuned", required=True, help="the fine-tuned move model")
    b.add_argument("--weight", required=True, type=bounded(float, 0, 1), help="the tuned model's share, 0 to 1")
    b.add_argument("--out", required=True, help="where to write the blended (EMA-only) checkpoint")
    b.set_defaults(func=cmd_blend_mover)

    C = ClassifierTrainConfig
    k = sub.add_parser("train-classifier", help="train the stack-relation classifier (a learned guide) on demonstrations")
    k.add_argument("--data", required=True, help="demonstrations HDF5 file")
    k.add_argument("--out", required=True, help="classifier checkpoint path")
    for name in CLASSIFIER_FIELDS:
        k.add_argument("--" + name.replace("_", "-"), type=field_type(C, name), help=field_help(C, name))
    k.set_defaults(func=cmd_train_classifier)


TRAINING = ("train", "train-classifier", "train-mover", "blend-mover")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
        from planner.checkpoint import CheckpointError

        errors += (CheckpointError,)
    try:
        return args.func(args)
    except errors as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        signum = getattr(e, "signum", 2)
        print("interrupted; every record already written is whole and kept", file=sys.stderr)
        return 128 + signum


if __name__ == "__main__":
    sys.exit(main())
