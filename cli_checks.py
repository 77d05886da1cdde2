"""The checks every command shares (main.py and the *_commands modules run them; cli.py builds the
options): a usage error, an output file or checkpoint refused before any work, --ray's target, and
the one message of a command stopped by a signal."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


class UsageError(Exception):
    """A problem with what the user asked for; printed as one line."""


def check_out_file(path: str | Path, kind: str | None = None) -> None:
    """Refuse, before any work, an output file that cannot be written or (`kind`) holds something
    else. A missing folder above it is fine: make_out_folder creates it (every command does)."""
    from tasks.h5io import check_target, check_writable_place

    if kind is not None and Path(path).parent.is_dir():
        check_target(path, kind)
    else:
        check_writable_place(path, Path(path).parent)


def make_out_folder(path: str | Path) -> None:
    """Create the missing folders above an output file."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)


def ray_target(args: argparse.Namespace):
    """The RayTarget --ray and --workers ask for, or None without --ray."""
    if args.ray is None:
        return None
    from tasks.cluster import RayTarget, check_reachable

    if args.ray and args.workers is not None:
        raise UsageError(f"--workers counts this machine's processes; on the cluster at {args.ray} every CPU runs a worker")
    if args.ray:
        check_reachable(args.ray)  # before any progress bar: an address where nothing answers is one line
    return RayTarget(args.ray or None, args.workers)


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
