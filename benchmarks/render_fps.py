"""Frames per second of the app's 3-D view during playback (set the state, render 640 x 480).

    python benchmarks/render_fps.py [--frames 100] [--renderer egl|tiny]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.render import OrbitCamera, SceneRenderer  # noqa: E402
from tasks.dataset import load_states  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--renderer", choices=("egl", "tiny"), default="egl")
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    args = ap.parse_args()
    states = next(iter(load_states(ROOT / "assets" / "sample_demos.h5", ["demo_0"]).values()))
    renderer = SceneRenderer(use_egl=args.renderer == "egl")
    camera = OrbitCamera()
    renderer.render(states[0], camera, args.width, args.height)  # warm-up
    t0 = time.perf_counter()
    for i in range(args.frames):
        renderer.render(states[i % len(states)], camera, args.width, args.height)
    seconds = time.perf_counter() - t0
    print(f"renderer: {renderer.backend}, {args.width} x {args.height}, {args.frames} frames of a demo")
    print(f"milliseconds per frame: {1000 * seconds / args.frames:.1f}")
    print(f"frames per second: {args.frames / seconds:.1f}")


if __name__ == "__main__":
    main()
