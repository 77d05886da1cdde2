"""Kuka block stacking with diffusion planning: the command line's options (main.py runs them).

    python main.py collect      --task T --episodes N [--seed S] [--workers W] [--ray [ADDRESS]] [--blocks B] --out FILE.h5
    python main.py plan         [--planner diffuser|demonstrator] --goal GOAL [--seed S] [--out plans.h5]
                                [--start FILE.h5:PLAN_ID | --start-state FILE.npy] [--keep-denoising]
    python main.py evaluate     [--planner diffuser|demonstrator] --task T [--episodes N] [--seed S] --out DIR
                                [--workers W] [--ray [ADDRESS]]
    python main.py render       --plans FILE.h5 [--id PLAN_ID ...] --out FILE.mp4|FILE.gif [--denoising]
    python main.py train        --data FILE.h5 --out CHECKPOINT [--steps N] [--device auto|cpu|cuda]
    python main.py train-mover  --data FILE.h5 [FILE.h5 ...] --out CHECKPOINT [--minutes M]
    python main.py blend-mover  --base OLD.pt --tuned NEW.pt --weight W --out FILE.pt
    python main.py train-classifier --data FILE.h5 --out FILE.pt [--steps N]
    python main.py export-dataset --data FILE.h5 [--plans FILE.h5] --format lerobot|robomimic --out PATH

A missing folder of an --out is created. GOAL is a tower order bottom to top
(``red,green,blue,yellow``), "top on bottom" pairs (``green on red, yellow on blue``),
``tallest``, or a reference arrangement (``red at 0.55,0.20; green on red``, ``clear``).
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from planner.config import (
    DEVICES, MAX_SEED, SHIPPED_CHECKPOINT, SHIPPED_MOVER, ClassifierTrainConfig, ModelConfig, MoverTrainConfig,
    PlannerSettings, TrainConfig, check_value, meta, range_text,
)
from tasks.goals import TASKS, shown
from tasks.layout import DEFAULT_BLOCKS, MAX_BLOCKS, MIN_BLOCKS, block_names

PLANNERS = ("diffuser", "demonstrator")
MAX_WORKERS = os.cpu_count() or 1  # more processes than cores only thrash
MAX_EPISODES = 1_000_000
PLANS_FILE = "plans.h5"  # plan's --out when none is given (git ignores it)

# Planner settings given as plain options: (flag, PlannerSettings field).
SETTING_FLAGS = (("--sampling-steps", "steps"), ("--candidates", "candidates"), ("--guide-scale", "guide_scale"),
                 ("--max-checks", "max_checks"), ("--batches", "batches"), ("--rescues", "rescues"), ("--smooth", "smooth"),
                 ("--extra-segments", "extra_segments"), ("--cond-scale", "cond_scale"),
                 ("--clearance", "clearance"))


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the argument (not the whole usage text)."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see python {self.prog} --help)\n")


def bounded(kind: type, low: float | None = None, high: float | None = None, above: bool = False, what: str = ""):
    """An argparse type: `kind` within the range, else a message with the range. Its `range`
    attribute says the range as --help shows it."""
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

    parse.range = range_text(limits)
    return parse


def described(text: str, default, kind=None) -> str:
    """Help text with the default and, for a bounded type, the range: 'TEXT (default D; between A and B)'."""
    rng = f"; {kind.range}" if getattr(kind, "range", None) else ""
    return f"{text} (default {default}{rng})".replace("%", "%%")


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
    return f"{m['help']}{extra} (default {'none' if shown is None else shown}{rng})".replace("%", "%%")


SEED = bounded(int, 0, MAX_SEED)
WORKERS = bounded(int, 1, MAX_WORKERS, what="this machine's cores")
EPISODES = bounded(int, 1, MAX_EPISODES)
BLOCKS = bounded(int, MIN_BLOCKS, MAX_BLOCKS)
BLOCKS_HELP = (f"blocks in the scene, {MIN_BLOCKS} to {MAX_BLOCKS}: the first N of {', '.join(block_names(MAX_BLOCKS))} "
               f"(default {DEFAULT_BLOCKS}; {BLOCKS.range})")
SIZE = bounded(int, 16, 4096)
SPEED = bounded(float, 0, 100, above=True)
FPS = bounded(float, 1, 120)
WEIGHT = bounded(float, 0, 1)
DIM_MULT = bounded(int, 1, 64)
SNAPSHOT = bounded(int, 1, 10**9)


def add_planner_arguments(parser: argparse.ArgumentParser) -> None:
    """The planner's options; their defaults, ranges and help come from PlannerSettings."""
    parser.add_argument("--planner", choices=PLANNERS, default=None,
                        help="default: diffuser when the checkpoint exists, else demonstrator")
    g = parser.add_argument_group("diffuser settings")
    S = PlannerSettings
    g.add_argument("--checkpoint", default=str(SHIPPED_CHECKPOINT),
                   help="the whole-state Diffuser (default assets/diffuser.pt)")
    for flag, name in SETTING_FLAGS:
        g.add_argument(flag, type=field_type(S, name), help=field_help(S, name))
    g.add_argument("--keyframes", action="store_true",
                   help="also pin joints from inverse kinematics at the grasp and release (the whole-state "
                        "Diffuser's best setting; the move model needs none)")
    g.add_argument("--no-keyframes", action="store_true", help="pin only the start state (the default)")
    g.add_argument("--no-physics-check", action="store_true", help="take the top-ranked candidate unchecked")
    g.add_argument("--no-settle", action="store_true",
                   help="leave each sampled grasp and release where the model put them (by default they are settled "
                        "onto the tool guide's targets: planner/settle.py)")
    g.add_argument("--no-lift", action="store_true",
                   help="play each sampled transit and carry at the height the model gave it (by default they are "
                        "raised over the blocks they would pass through: planner/lift.py)")
    g.add_argument("--paper", action="store_true",
                   help="the paper's setting: 1000-step DDPM, 1 candidate, guide only, no keyframes, check or smoothing")
    g.add_argument("--device", choices=DEVICES, help=field_help(S, "device"))
    g.add_argument("--mover", help=f"{meta(S, 'mover')['help']} (default "
                   f"{SHIPPED_MOVER.relative_to(SHIPPED_MOVER.parents[1])} when it exists)")
    g.add_argument("--no-mover", action="store_true",
                   help="plan the motion with the whole-state Diffuser instead (add --keyframes for its best setting)")
    g.add_argument("--classifier", help=meta(S, "classifier")["help"] + " (train-classifier; used with --no-mover "
                   "only; default none)")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="main.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    for add in (_add_run_commands, _add_train_command, _add_render_command, _add_other_training_commands,
                _add_export_command):
        add(sub)
    return parser


def _add_run_commands(sub) -> None:
    """collect, plan, evaluate."""
    c = sub.add_parser("collect", help="collect demonstrations with the demonstrator into an HDF5 dataset")
    c.add_argument("--task", choices=TASKS, required=True, help="the task (required)")
    c.add_argument("--episodes", type=EPISODES, required=True, help=f"episodes to run (required; {EPISODES.range})")
    c.add_argument("--seed", type=SEED, default=0, help=described("the collection's seed", 0, SEED))
    add_worker_arguments(c)
    c.add_argument("--out", required=True, help="HDF5 file (required); appended to, and resumed if it holds this "
                   "collection; a missing folder is created")
    c.add_argument("--blocks", type=BLOCKS, default=DEFAULT_BLOCKS, help=BLOCKS_HELP)

    p = sub.add_parser("plan", help="plan one goal from a seeded scene and append the plan to a plans file")
    add_planner_arguments(p)
    p.add_argument("--goal", required=True, help="(required) 'red,green,blue,yellow', 'green on red, yellow on blue', "
                   "'tallest', 'red at 0.55,0.20; green on red' or 'clear'")
    p.add_argument("--seed", type=SEED, default=0, help=described(
        "the scene (unless --start or --start-state) and the sampling noise", 0, SEED))
    p.add_argument("--start", metavar="FILE.h5:PLAN_ID", help="start where a stored plan ends (its states executed "
                   "in physics), e.g. plans.h5:plan_00003 (default: the scene of --seed)")
    p.add_argument("--start-state", metavar="FILE.npy", help="start from a resting state saved as 7 + 8 N numbers "
                   "(default: the scene of --seed)")
    p.add_argument("--out", default=PLANS_FILE, help=described(
        "the plans file to append to; a missing folder is created", f"{PLANS_FILE} in the current folder"))
    p.add_argument("--blocks", type=BLOCKS, default=None,
                   help=f"{BLOCKS_HELP[:-1]}; a --start or --start-state must have that many)")
    p.add_argument("--keep-denoising", action="store_true", help="keep the Diffuser's denoising steps with the plan "
                   "(for render --denoising and the app's Denoising slider; off)")

    e = sub.add_parser("evaluate", help="score a planner on seeded episodes of a task")
    add_planner_arguments(e)
    e.add_argument("--task", choices=TASKS, required=True, help="the task (required)")
    e.add_argument("--episodes", type=EPISODES, default=100, help=described("episodes to run", 100, EPISODES))
    e.add_argument("--seed", type=SEED, default=0, help=described("the evaluation's seed (test stream)", 0, SEED))
    e.add_argument("--out", required=True, help="folder for results.json and episodes.h5 (required; created if missing)")
    e.add_argument("--blocks", type=BLOCKS, default=DEFAULT_BLOCKS, help=BLOCKS_HELP)
    e.add_argument("--from-towers", action="store_true",
                   help="start every episode from random towers (as the arrangement task does), whatever the task")
    add_worker_arguments(e)


def add_worker_arguments(parser: argparse.ArgumentParser) -> None:
    """--workers and --ray: where the episodes run (the results do not depend on it)."""
    parser.add_argument("--workers", type=WORKERS, default=None, help=described(
        "worker processes (the result does not depend on it); with --ray and no address, the local Ray "
        "instance's CPUs", "1; with --ray every core", WORKERS))
    parser.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                        help="run the episodes on Ray workers, one per CPU, this process writing the results: alone, "
                             "a local Ray instance; with ADDRESS (HOST:PORT of a head node, or ray://HOST:PORT), that "
                             "cluster (default: no Ray; needs requirements-ray.txt)")


def _add_train_command(sub) -> None:
    """train: the whole-state Diffuser; options from TrainConfig and ModelConfig."""
    T = TrainConfig
    t = sub.add_parser("train", help="train the Diffuser on a demonstrations file (resumes from --out if it exists)")
    t.add_argument("--data", required=True, help="demonstrations HDF5 file (required)")
    t.add_argument("--out", required=True, help="checkpoint path (required; full: weights, EMA, optimizer)")
    for name in ("steps", "batch_size", "lr", "save_every", "seed", "aligned_fraction", "keyframe_fraction",
                 "flag_weight", "flag_x0_floor", "position_x0_floor"):
        t.add_argument("--" + name.replace("_", "-"), type=field_type(T, name), help=field_help(T, name))
    t.add_argument("--device", choices=DEVICES, help=field_help(T, "device"))
    for name in ("horizon", "dim"):
        t.add_argument("--" + name, type=field_type(ModelConfig, name), help=field_help(ModelConfig, name))
    t.add_argument("--dim-mults", type=DIM_MULT, nargs="+", help=described(
        "channel multipliers per U-Net level", " ".join(map(str, ModelConfig().dim_mults)), DIM_MULT))
    t.add_argument("--original-unet", action="store_true",
                   help="the original U-Net: no start embedding and no input gain (planner/model.py)")
    t.add_argument("--init-from", help=field_help(T, "init_from"))
    t.add_argument("--slim", help=field_help(T, "slim"))


def _add_render_command(sub) -> None:
    """render: stored plans as a video."""
    r = sub.add_parser("render", help="render stored plans as an MP4 or GIF (the 3-D view with the tool trail)")
    r.add_argument("--plans", required=True, help="plans file (required)")
    r.add_argument("--id", nargs="+", help="plan id(s); several play side by side (default: the newest plan)")
    r.add_argument("--out", required=True, help="FILE.mp4 or FILE.gif (required); a missing folder is created")
    r.add_argument("--denoising", action="store_true", help="animate how the plan formed, step by denoising step "
                   "(a plan made with plan --keep-denoising or in the app)")
    r.add_argument("--size", type=SIZE, nargs=2, default=[480, 360], metavar=("WIDTH", "HEIGHT"),
                   help=described("frame size in pixels", "480 360", SIZE))
    r.add_argument("--speed", type=SPEED, default=1.0, help=described("times the plan's real time", 1, SPEED))
    r.add_argument("--fps", type=FPS, default=15.0, help=described("frames per second", 15, FPS))
    r.add_argument("--no-trail", action="store_true", help="leave the tool's path out")


def _add_other_training_commands(sub) -> None:
    """train-mover, blend-mover and train-classifier; options from their configs."""
    M = MoverTrainConfig
    m = sub.add_parser("train-mover", help="train the move model (joints + gripper of one pick-and-place, "
                       "conditioned on the move; resumes from --out if it exists)")
    m.add_argument("--data", required=True, nargs="+", help="demonstrations HDF5 file(s) (or their extracted "
                   ".segments.npz; required); several are trained on together")
    m.add_argument("--out", required=True, help="checkpoint path (required; weights, EMA, optimizer)")
    for name in MOVER_FIELDS:
        if name not in ("device", "init_from"):
            m.add_argument("--" + name.replace("_", "-"), type=field_type(M, name), help=field_help(M, name))
    m.add_argument("--device", choices=DEVICES, help=field_help(M, "device"))
    m.add_argument("--init-from", metavar="MOVER.pt", help=field_help(M, "init_from"))
    m.add_argument("--slim", help=field_help(M, "slim"))
    m.add_argument("--snapshots", type=SNAPSHOT, nargs="*", help=described(
        "also keep EMA-only half-precision copies at these steps (SLIM-stepN.pt, or beside --out)", "none", SNAPSHOT))
    b = sub.add_parser("blend-mover", help="a move model between one and the model fine-tuned from it: each weight "
                       "(1 - W) x BASE + W x TUNED")
    b.add_argument("--base", required=True, help="the move model the other was fine-tuned from (required)")
    b.add_argument("--tuned", required=True, help="the fine-tuned move model (required)")
    b.add_argument("--weight", required=True, type=WEIGHT, help=f"the tuned model's share (required; {WEIGHT.range})")
    b.add_argument("--out", required=True, help="where to write the blended (EMA-only) checkpoint (required)")

    C = ClassifierTrainConfig
    k = sub.add_parser("train-classifier", help="train the stack-relation classifier (a learned guide) on demonstrations")
    k.add_argument("--data", required=True, help="demonstrations HDF5 file (required)")
    k.add_argument("--out", required=True, help="classifier checkpoint path (required)")
    for name in CLASSIFIER_FIELDS:
        k.add_argument("--" + name.replace("_", "-"), type=field_type(C, name), help=field_help(C, name))


EXPORT_FORMATS = ("lerobot", "robomimic")


def _add_export_command(sub) -> None:
    """export-dataset: demonstrations and plans as a LeRobot or robomimic dataset."""
    x = sub.add_parser("export-dataset", help="write demonstrations (and plans) as a dataset LeRobot or robomimic "
                       "loads (needs requirements-export.txt)")
    x.add_argument("--data", help="demonstrations HDF5 file (default none; give --data, --plans or both)")
    x.add_argument("--plans", help="plans file whose plans are exported after the demonstrations (default none)")
    x.add_argument("--format", required=True, choices=EXPORT_FORMATS,
                   help="(required) lerobot: a folder (LeRobot 0.4's format v3.0, tables and an MP4 per episode); "
                        "robomimic: one HDF5 file")
    x.add_argument("--out", required=True, help="(required) the dataset folder (lerobot) or FILE.h5 (robomimic); "
                   "must not exist; a missing folder above it is created")
    x.add_argument("--episodes", type=EPISODES, help=f"export only the first N (demonstrations, then plans; "
                   f"default all; {EPISODES.range})")
    x.add_argument("--size", type=SIZE, nargs=2, default=[96, 96], metavar=("WIDTH", "HEIGHT"),
                   help=described("lerobot: the video's frame size in pixels, even numbers", "96 96", SIZE))
    x.add_argument("--no-video", action="store_true", help="lerobot: tables only, no MP4s (much faster)")


CLASSIFIER_FIELDS = ("steps", "batch_size", "lr", "seed")
MOVER_FIELDS = ("steps", "batch_size", "lr", "save_every", "seed", "device", "minutes", "cond_drop", "key_weight",
                "keyframe_fraction", "init_from")
