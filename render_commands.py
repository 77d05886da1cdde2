"""The render command's work: stored plans, or one plan's denoising, as an MP4 or GIF (app.video
draws the frames)."""
from __future__ import annotations

import os
import signal
import sys
from contextlib import contextmanager
from pathlib import Path

from cli_checks import UsageError, check_out_file, make_out_folder


@contextmanager
def c_output_to_stderr():
    """Send what C libraries print (PyBullet's renderer says "ven = ...") to stderr, so that
    stdout holds only the command's own result."""
    import ctypes

    sys.stdout.flush()
    kept = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        ctypes.CDLL(None).fflush(None)
        os.dup2(kept, 1)
        os.close(kept)


def cmd_render(args) -> int:
    from tqdm import tqdm

    from app.video import FORMATS, render_denoising, render_plans
    from tasks.plans import list_plans, load_plan

    if Path(args.out).suffix.lower() not in FORMATS:
        raise UsageError(f"--out {args.out}: the video must end in .mp4 or .gif")
    if Path(args.out).is_dir():
        raise UsageError(f"--out {args.out}: is a folder, not a video file")
    check_out_file(args.out)
    ids = args.id or []
    if not ids:
        stored = list_plans(args.plans)
        if not stored:
            raise UsageError(f"{args.plans}: no plans in it")
        ids = [stored[-1].id]
    plans = [load_plan(args.plans, pid) for pid in ids]
    size = tuple(args.size)

    def interrupted(signum, frame):  # the app's Cancel: stop like Ctrl+C, so no partial file stays
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    make_out_folder(args.out)
    with tqdm(unit="frame", desc=f"render {Path(args.out).name}") as bar, c_output_to_stderr():
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        if args.denoising:
            if len(plans) != 1:
                raise UsageError("--denoising renders one plan: give one --id")
            if plans[0].denoising is None:
                raise UsageError(f"plan {ids[0]} was stored without its denoising steps: make it with "
                                 f"plan --planner diffuser --keep-denoising, or in the app")
            try:
                n = render_denoising(plans[0], args.out, size, progress=progress)
            except ValueError as e:
                raise UsageError(str(e)) from None
        else:
            n = render_plans(plans, args.out, size, speed=args.speed, fps=args.fps, trail=not args.no_trail,
                             progress=progress)
    print(f"wrote {n} frames of {', '.join(ids)} to {args.out}")
    return 0
