"""The training commands (train, train-classifier, train-mover, blend-mover): main.py's cmd_* for
each, their options in cli.py."""
from __future__ import annotations

from pathlib import Path

from cli import CLASSIFIER_FIELDS, MOVER_FIELDS
from cli_checks import UsageError, check_checkpoint_target, stopped
from planner.config import ClassifierTrainConfig, ModelConfig, MoverTrainConfig, TrainConfig


MODEL_SHAPE = ("horizon", "dim", "dim_mults", "original_unet")


def command_line(args) -> str:
    """The command as typed, as checkpoints record it."""
    return " ".join(["python", "main.py", *args.argv])


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
        out = train(cfg, model, command=command_line(args), stop=stop)
    if stop.requested:
        return stopped(stop, f"checkpoint saved in {out}", "the same command resumes from it")
    print(f"checkpoint: {out}" + (f", EMA-only copy: {args.slim}" if args.slim else ""))
    return 0


def cmd_train_classifier(args) -> int:
    from planner.classifier import FORMAT, train_classifier
    from tasks.stopping import StopOnSignal

    check_checkpoint_target(args.out, FORMAT, "stack-classifier")
    cfg = ClassifierTrainConfig(data=args.data, out=args.out, **{k: getattr(args, k) for k in CLASSIFIER_FIELDS
                                                                 if getattr(args, k) is not None})
    with StopOnSignal() as stop:
        figures = train_classifier(cfg, stop=stop, command=command_line(args))
    if stop.requested:
        return stopped(stop, f"the classifier trained for {figures['steps']} of {cfg.steps} steps is saved in "
                       f"{args.out}", "train-classifier starts over when run again")
    print(f"classifier: {args.out}; held-out segments with every relation right: "
          f"{100 * figures['valid_accuracy_clean']:.1f} % clean, {100 * figures['valid_accuracy_t=250']:.1f} % at "
          f"noise step 250, {100 * figures['valid_accuracy_t=500']:.1f} % at 500")
    return 0


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
        out = train_mover(cfg, command=command_line(args), stop=stop)
    if stop.requested:
        return stopped(stop, f"checkpoint saved in {out}", "the same command resumes from it")
    print(f"move model: {out}")
    return 0


def cmd_blend_mover(args) -> int:
    from planner.checkpoint import MOVER_FORMAT, blend_movers

    check_checkpoint_target(args.out, MOVER_FORMAT, "move-model")
    blend_movers(args.base, args.tuned, args.weight, args.out, command=command_line(args))
    print(f"move model: {args.out} ({1 - args.weight:g} x {args.base} + {args.weight:g} x {args.tuned})")
    return 0
