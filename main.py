"""Kuka block stacking with diffusion planning.

    python main.py collect  --task T --episodes N --seed S --workers W --out FILE.h5
    python main.py train    --data FILE.h5 --out CHECKPOINT [--steps N] [--device auto|cpu|cuda]
    python main.py plan     [--planner diffuser|demonstrator] --goal GOAL --seed S --out plans.h5
    python main.py evaluate [--planner diffuser|demonstrator] --task T --episodes N --seed S --out DIR

GOAL is a tower order bottom to top (``red,green,blue,yellow``), "top on bottom" pairs
(``green on red, yellow on blue``) or ``tallest``.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import planner  # noqa: F401  (sets PyTorch's thread policy before anything loads torch)
from tasks.goals import TASKS

PLANNERS = ("diffuser", "demonstrator")
ASSETS = Path(__file__).resolve().parent / "assets"
DEFAULT_CHECKPOINT = ASSETS / "diffuser.pt"  # = planner.plan.SHIPPED_CHECKPOINT, without importing torch here
DEFAULT_MOVER = ASSETS / "move_diffuser.pt"  # = planner.plan.SHIPPED_MOVER (named here for --help)


class UsageError(Exception):
    """A problem with what the user asked for; printed as one line."""


def make_planner(args):
    """The planner the arguments ask for; the Diffuser is the default when a checkpoint exists."""
    name = args.planner or ("diffuser" if Path(args.checkpoint).exists() else "demonstrator")
    if name == "demonstrator":
        from tasks.demonstrator import Demonstrator

        return Demonstrator()
    if name == "diffuser":
        from planner.plan import DiffuserPlanner, PlannerSettings

        base = PlannerSettings.paper() if args.paper else PlannerSettings()
        if args.no_mover:
            base = replace(base, mover=None)
        overrides = {
            "steps": args.sampling_steps, "candidates": args.candidates, "guide_scale": args.guide_scale,
            "max_checks": args.max_checks, "smooth": args.smooth, "device": args.device, "classifier": args.classifier,
            "cond_scale": args.cond_scale, "extra_segments": args.extra_segments,
        }
        if args.mover:
            overrides["mover"] = args.mover
        settings = replace(base, **{k: v for k, v in overrides.items() if v is not None})
        if args.no_keyframes:
            settings = replace(settings, keyframes=False)
        if args.keyframes:
            settings = replace(settings, keyframes=True)
        if args.no_mover and args.smooth is None and not args.paper:
            settings = replace(settings, smooth=PlannerSettings.whole_state().smooth)  # that model's jumps need it
        if args.no_physics_check:
            settings = replace(settings, physics_check=False)
        try:
            return DiffuserPlanner(args.checkpoint, settings)
        except ValueError as e:
            raise UsageError(str(e)) from None
    raise UsageError(f"unknown planner {name!r}; planners are {', '.join(PLANNERS)}")


def add_planner_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--planner", choices=PLANNERS, default=None,
                        help="default: diffuser when the checkpoint exists, else demonstrator")
    g = parser.add_argument_group("diffuser settings")
    g.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT))
    g.add_argument("--sampling-steps", type=int, help="denoising steps (default 10; 1000 = the paper's DDPM)")
    g.add_argument("--candidates", type=int, help="candidates sampled per segment (default 16)")
    g.add_argument("--guide-scale", type=float,
                   help="the guide's weight: the move model's tool guide (about 10 helps, 100+ overshoots), "
                        "the whole-state model's PlacedOn (default 0)")
    g.add_argument("--max-checks", type=int, help="candidates tried in physics per segment (default 4)")
    g.add_argument("--smooth", type=int, help="smoothing passes over free joint cells (default 0; 30 with --no-mover)")
    g.add_argument("--keyframes", action="store_true",
                   help="also pin joints from inverse kinematics at the grasp and release (the whole-state "
                        "Diffuser's best setting; the move model needs none)")
    g.add_argument("--no-keyframes", action="store_true", help="pin only the start state (the default)")
    g.add_argument("--no-physics-check", action="store_true", help="take the top-ranked candidate unchecked")
    g.add_argument("--extra-segments", type=int,
                   help="segments allowed beyond the moves the goal needs, to retry a failed move (default 1; "
                        "0 = exactly one segment per move, as the paper)")
    g.add_argument("--paper", action="store_true",
                   help="the paper's setting: 1000-step DDPM, 1 candidate, guide only, no keyframes, check or smoothing")
    g.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    g.add_argument("--mover", help=f"a move-model checkpoint (train-mover) that makes each segment's motion "
                   f"(default {DEFAULT_MOVER.relative_to(DEFAULT_MOVER.parents[1])} when it exists)")
    g.add_argument("--no-mover", action="store_true",
                   help="plan the motion with the whole-state Diffuser instead (add --keyframes for its best setting)")
    g.add_argument("--cond-scale", type=float, help="the move model's classifier-free guidance weight (default 1)")
    g.add_argument("--classifier", help="a stack-classifier checkpoint (train-classifier): its learned guide "
                   "replaces the hand-written one")


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
    planner = make_planner(args)
    state = initial_state(args.seed)
    plan = planner.plan(state, goal, args.seed)
    result = execute(plan.states, goal, start=state)
    plan = plan.with_result(result.score, result.strict_success)
    pid = append_plan(args.out, plan)
    print(f"{pid}: {plan.planner} planned '{goal}' from scene {args.seed} in {plan.plan_seconds:.2f} s, "
          f"{len(plan.states)} states; in physics: score {result.score:.0f}, "
          f"strict success {'yes' if result.strict_success else 'no'} -> {args.out}")
    for i, seg in enumerate(plan.details.get("segments", [])):
        print(f"  segment {i + 1}: {seg['move']} ({seg['proposal']}), {seg['seconds']:.2f} s, "
              f"{seg['checked']} checked in physics, {'achieved' if seg['achieved'] else 'missed'}")
    return 0


def cmd_evaluate(args) -> int:
    from tqdm import tqdm

    from tasks.evaluate import evaluate, format_table

    planner = make_planner(args)
    with tqdm(total=args.episodes, unit="episode", desc=f"evaluate {planner.name} {args.task}") as bar:
        results = evaluate(planner, args.task, args.episodes, args.seed, args.out, progress=lambda e: bar.update(1))
    print(format_table([results]))
    if results["moves_by"]:
        print("moves chosen by: " + ", ".join(f"{k} {v}" for k, v in results["moves_by"].items()))
    print(f"results: {args.out}/results.json, realised states: {args.out}/episodes.h5")
    return 0


def cmd_train(args) -> int:
    from planner.model import ModelConfig
    from planner.train import TrainConfig, train

    mix = {k: getattr(args, k) for k in ("aligned_fraction", "keyframe_fraction", "flag_weight", "flag_x0_floor",
                                   "position_x0_floor") if getattr(args, k) is not None}
    cfg = TrainConfig(
        data=args.data, out=args.out, steps=args.steps, batch_size=args.batch_size, lr=args.lr,
        save_every=args.save_every, seed=args.seed, device=args.device, slim=args.slim,
        init_from=args.init_from, **mix,
    )
    original = args.original_unet
    model = ModelConfig(horizon=args.horizon, dim=args.dim, dim_mults=tuple(args.dim_mults),
                        start_conditioning=not original, input_gain=not original)
    out = train(cfg, model, command=" ".join(["python", "main.py", *sys.argv[1:]]))
    print(f"checkpoint: {out}" + (f", EMA-only copy: {args.slim}" if args.slim else ""))
    return 0


def cmd_train_classifier(args) -> int:
    from planner.classifier import train_classifier

    figures = train_classifier(args.data, args.out, steps=args.steps, batch_size=args.batch_size, seed=args.seed)
    print(f"classifier: {args.out}; held-out segments with every relation right: "
          f"{100 * figures['valid_accuracy_clean']:.1f} % clean, {100 * figures['valid_accuracy_t=250']:.1f} % at "
          f"noise step 250, {100 * figures['valid_accuracy_t=500']:.1f} % at 500")
    return 0


def cmd_train_mover(args) -> int:
    from planner.train_mover import MoverTrainConfig, train_mover

    fields = ("steps", "batch_size", "lr", "save_every", "seed", "device", "minutes", "cond_drop", "key_weight",
              "keyframe_fraction")
    given = {k: getattr(args, k) for k in fields if getattr(args, k) is not None}
    cfg = MoverTrainConfig(data=args.data, out=args.out, slim=args.slim, snapshots=tuple(args.snapshots or ()), **given)
    out = train_mover(cfg, command=" ".join(["python", "main.py", *sys.argv[1:]]))
    print(f"move model: {out}")
    return 0


def cmd_render(args) -> int:
    from tqdm import tqdm

    from app.video import FORMATS, render_denoising, render_plans
    from tasks.plans import list_plans, load_plan

    if Path(args.out).suffix.lower() not in FORMATS:
        raise UsageError(f"--out {args.out}: the video must end in .mp4 or .gif")
    if not Path(args.out).resolve().parent.is_dir():
        raise UsageError(f"--out {args.out}: no such folder")
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
    add_planner_arguments(p)
    p.add_argument("--goal", required=True, help="'red,green,blue,yellow', 'green on red, yellow on blue' or 'tallest'")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="plans.h5")
    p.set_defaults(func=cmd_plan)

    e = sub.add_parser("evaluate", help="score a planner on seeded episodes of a task")
    add_planner_arguments(e)
    e.add_argument("--task", choices=TASKS, required=True)
    e.add_argument("--episodes", type=int, default=100)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--out", required=True, help="directory for results.json and episodes.h5")
    e.set_defaults(func=cmd_evaluate)
    t = sub.add_parser("train", help="train the Diffuser on a demonstrations file (resumes from --out if it exists)")
    t.add_argument("--data", required=True, help="demonstrations HDF5 file")
    t.add_argument("--out", required=True, help="checkpoint path (full: weights, EMA, optimizer)")
    t.add_argument("--steps", type=int, default=100_000, help="total steps, counting those already done")
    t.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--lr", type=float, default=2e-4)
    t.add_argument("--save-every", type=int, default=1000)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--horizon", type=int, default=128)
    t.add_argument("--dim", type=int, default=32)
    t.add_argument("--dim-mults", type=int, nargs="+", default=[1, 2, 4, 8])
    t.add_argument("--original-unet", action="store_true",
                   help="the original U-Net: no start embedding and no input gain (planner/model.py)")
    t.add_argument("--init-from", help="start a new run from this checkpoint's EMA weights (it may lack start conditioning)")
    t.add_argument("--aligned-fraction", type=float,
                   help="share of windows that are one whole pick-and-place, the rest start anywhere (default 0.75)")
    t.add_argument("--keyframe-fraction", type=float,
                   help="share of aligned windows pinned with the keyframe mask, the rest with the start state only (default 0.7)")
    t.add_argument("--flag-weight", type=float, help="loss weight of the attach flags (default 1)")
    t.add_argument("--flag-x0-floor", type=float,
                   help="weigh the flags' errors at least this much in x0 terms, so high-noise steps, where a "
                        "sample picks its block, learn from the start state (default 0 = off)")
    t.add_argument("--position-x0-floor", type=float,
                   help="the same floor for the blocks' positions, where a sample decides where the held block "
                        "goes (default 0 = off)")
    t.add_argument("--slim", help="also keep an EMA-only copy here at every save (what the app ships)")
    t.set_defaults(func=cmd_train)

    r = sub.add_parser("render", help="render stored plans as an MP4 or GIF (the 3-D view with the tool trail)")
    r.add_argument("--plans", required=True, help="plans file")
    r.add_argument("--id", nargs="+", help="plan id(s); several play side by side (default: the newest plan)")
    r.add_argument("--out", required=True, help="FILE.mp4 or FILE.gif")
    r.add_argument("--denoising", action="store_true", help="animate how the plan formed, step by denoising step")
    r.add_argument("--size", type=int, nargs=2, default=[480, 360], metavar=("WIDTH", "HEIGHT"))
    r.add_argument("--speed", type=float, default=1.0, help="times the plan's real time (default 1)")
    r.add_argument("--fps", type=float, default=15.0)
    r.add_argument("--no-trail", action="store_true", help="leave the tool's path out")
    r.set_defaults(func=cmd_render)

    from planner.train_mover import MoverTrainConfig as M  # the dataclass holds the defaults

    m = sub.add_parser("train-mover", help="train the move model (joints + gripper of one pick-and-place, "
                       "conditioned on the move; resumes from --out if it exists)")
    m.add_argument("--data", required=True, help="demonstrations HDF5 file (or its extracted .segments.npz)")
    m.add_argument("--out", required=True, help="checkpoint path (weights, EMA, optimizer)")
    m.add_argument("--steps", type=int, help=f"total steps, counting those already done (default {M.steps})")
    m.add_argument("--batch-size", type=int, help=f"default {M.batch_size}")
    m.add_argument("--lr", type=float, help=f"peak learning rate, cosine-decayed (default {M.lr})")
    m.add_argument("--save-every", type=int, help=f"default {M.save_every}")
    m.add_argument("--seed", type=int, help=f"default {M.seed}")
    m.add_argument("--device", choices=("auto", "cpu", "cuda"), help=f"default {M.device}")
    m.add_argument("--minutes", type=float, help="stop with a checkpoint after this much time (default: no limit)")
    m.add_argument("--cond-drop", type=float, help=f"condition dropout for classifier-free guidance (default {M.cond_drop})")
    m.add_argument("--key-weight", type=float, help=f"joints' loss weight at the grasp and release (default {M.key_weight})")
    m.add_argument("--keyframe-fraction", type=float,
                   help=f"share of samples also pinned at the grasp and release (default {M.keyframe_fraction})")
    m.add_argument("--slim", help="also keep an EMA-only copy here at every save (what the app ships)")
    m.add_argument("--snapshots", type=int, nargs="*",
                   help="also keep EMA-only half-precision copies at these steps (SLIM-stepN.pt, or beside --out)")
    m.set_defaults(func=cmd_train_mover)

    k = sub.add_parser("train-classifier", help="train the stack-relation classifier (a learned guide) on demonstrations")
    k.add_argument("--data", required=True, help="demonstrations HDF5 file")
    k.add_argument("--out", required=True, help="classifier checkpoint path")
    k.add_argument("--steps", type=int, default=15_000)
    k.add_argument("--batch-size", type=int, default=64)
    k.add_argument("--seed", type=int, default=0)
    k.set_defaults(func=cmd_train_classifier)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        from app.main_window import run

        return run()
    for name in ("episodes", "workers", "steps"):
        if getattr(args, name, 1) < 1:
            parser.error(f"--{name} must be at least 1")
    from tasks.demonstrator import PlanningError
    from tasks.goals import GoalError
    from tasks.h5io import FileFormatError

    errors: tuple = (GoalError, FileFormatError, PlanningError, UsageError)
    if args.command in ("train", "train-classifier", "train-mover", "plan", "evaluate"):
        from planner.checkpoint import CheckpointError

        errors += (CheckpointError,)
    try:
        return args.func(args)
    except errors as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; everything written so far is kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
