"""The export-dataset command's work: demonstrations and plans as a LeRobot or robomimic dataset
(tasks/export writes them; the LeRobot videos' frames are drawn here with app.render)."""
from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from cli_checks import UsageError, make_out_folder, stopped

# The dataset's camera: above the robot's base, every floor spot of a scene in view.
DATASET_CAMERA = dict(target=(0.0, 0.0, 0.1), distance=1.9, yaw=0.0, pitch=-60.0)
INSTALL = ".venv/bin/pip install --no-deps -r requirements-export.txt"


def check_export_out(out: str | Path) -> None:
    """Refuse, before any work, an --out that exists or cannot be created."""
    from tasks.h5io import check_writable_place

    out = Path(out)
    if out.exists():
        kind = "folder" if out.is_dir() else "file"
        raise UsageError(f"--out {out}: a {kind} of that name exists; give a new name (an export never replaces one)")
    check_writable_place(out, out.parent)


def rendered_frames(size: tuple[int, int]):
    """A frame source for the LeRobot writer, and its renderer (to close): TinyRenderer, which
    at these sizes is faster than EGL (6 against 22 ms a 96 x 96 frame here)."""
    from app.render import OrbitCamera, SceneRenderer

    renderer = SceneRenderer(use_egl=False)
    camera = OrbitCamera(**DATASET_CAMERA)

    def frames(states: np.ndarray) -> Iterator[np.ndarray]:
        for s in states:
            yield renderer.render(s, camera, *size)

    return frames, renderer


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def cmd_export_dataset(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from tasks.export.episodes import select
    from tasks.stopping import Cancelled, StopOnSignal

    if args.data is None and args.plans is None:
        raise UsageError("give --data FILE.h5 (demonstrations), --plans FILE.h5, or both")
    size = tuple(args.size)
    if args.format == "lerobot" and any(v % 2 for v in size):
        raise UsageError(f"--size {size[0]} {size[1]}: H.264 video needs even sizes")
    if args.format == "robomimic" and Path(args.out).suffix.lower() not in (".h5", ".hdf5"):
        raise UsageError(f"--out {args.out}: a robomimic dataset is one HDF5 file: end it in .h5 or .hdf5")
    if args.format == "lerobot" and not all(importlib.util.find_spec(m) for m in ("pyarrow", "pandas")):
        raise UsageError(f"the LeRobot export writes parquet tables with pyarrow and pandas; install them: {INSTALL}")
    check_export_out(args.out)
    selection = select(args.data, args.plans, args.episodes)
    if selection.skipped_plans:
        print(f"note: left out {plural(selection.skipped_plans, 'plan')} of another number of blocks than "
              f"{len(selection.layout.blocks)} (a dataset holds one state width)", file=sys.stderr)
    make_out_folder(args.out)
    renderer = None
    t0 = time.perf_counter()
    with StopOnSignal() as stop, tqdm(total=len(selection), unit="episode", desc=f"export {args.format}") as bar:
        def progress(done: int, total: int) -> None:
            bar.update(done - bar.n)

        try:
            if args.format == "robomimic":
                from tasks.export.robomimic import write_robomimic

                n = write_robomimic(selection, args.out, progress, stop)
            else:
                from tasks.export.lerobot import write_lerobot

                frames = None
                if not args.no_video:
                    frames, renderer = rendered_frames(size)
                n = write_lerobot(selection, args.out, frames, None if args.no_video else size, progress, stop)
        except Cancelled:
            return stopped(stop, f"nothing was written to {args.out} (the partial export was removed)",
                           "run the same command again")
        finally:
            if renderer is not None:
                renderer.close()
    print(f"wrote {plural(n, 'episode')} ({plural(len(selection.demos), 'demonstration')}, "
          f"{plural(len(selection.plan_ids), 'plan')}, "
          f"{len(selection.layout.blocks)} blocks) as a {args.format} dataset to {args.out} in "
          f"{time.perf_counter() - t0:.1f} s")
    return 0
