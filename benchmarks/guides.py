"""The hand-written guide (PlacedOn) against the learned stack-relation classifier's guide.

    python benchmarks/guides.py --classifier assets/stack_classifier.pt [--scenes 12] [--samples 8]
        [--sampling-steps 100] [--scales 0 1 10 100]

Guides matter where nothing else brings the block onto its target: the paper's conditioning, the
start state pinned and no keyframes. For seeded scenes and the first move of a sampled tower goal,
each guide at each scale samples a batch of segments; it prints the median distance (xy) between
the block and its target in the samples' last state, how many samples themselves end with the
block strictly on its target and released, and how many achieve the move when played in physics
(the executor's outcome, the one that counts).
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import planner as _thread_policy  # noqa: E402,F401  (sets PyTorch's thread policy before torch loads)
import torch  # noqa: E402

from planner.classifier import LearnedPlacedOn, load_classifier  # noqa: E402
from planner.choice import next_move  # noqa: E402
from planner.conditioning import segment_conditions  # noqa: E402
from tasks.scene import SymbolicScene  # noqa: E402
from planner.guides import PlacedOn  # noqa: E402
from planner.config import SHIPPED_CHECKPOINT, PlannerSettings  # noqa: E402
from planner.plan import DiffuserPlanner  # noqa: E402
from tasks.execute import play  # noqa: E402
from tasks.goals import sample_goal  # noqa: E402
from tasks.layout import LAYOUT  # noqa: E402
from tasks.rewards import strictly_on  # noqa: E402
from tasks.world import episode_seed, initial_state  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default=str(SHIPPED_CHECKPOINT))
    ap.add_argument("--classifier", default=str(ROOT / "assets" / "stack_classifier.pt"))
    ap.add_argument("--scenes", type=int, default=12)
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--sampling-steps", type=int, default=100)
    ap.add_argument("--scales", type=float, nargs="+", default=[0.0, 1.0, 10.0, 100.0])
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    planner = DiffuserPlanner(args.checkpoint, PlannerSettings.whole_state(steps=args.sampling_steps, smooth=0))
    classifier = load_classifier(args.classifier)
    scenes = []
    for k in range(args.scenes):
        s = episode_seed(args.seed, k, "test")
        state = initial_state(s)
        move = next_move(SymbolicScene.read(state), sample_goal("conditional", np.random.default_rng(s)))
        scenes.append((s, state, move))
    print(f"checkpoint: {args.checkpoint} (step {planner.meta.get('step')}), classifier: {args.classifier}")
    print(f"{args.scenes} scenes x {args.samples} samples, start state pinned only, "
          f"{args.sampling_steps} {'DDPM' if args.sampling_steps >= 1000 else 'DDIM'} steps")
    print(f"{'guide':12s} {'scale':>6s} {'end error cm':>12s} {'sample places':>14s} {'achieved in physics':>20s} "
          f"{'seconds':>8s}")
    guides = {"hand-written": lambda m: PlacedOn(m.block, m.onto),
              "learned": lambda m: LearnedPlacedOn(classifier, m.block, m.onto)}
    for name, make in guides.items():
        for scale in args.scales:
            if scale == 0 and name != "hand-written":
                continue  # unguided: one row is enough
            planner.config = replace(planner.config, guide_scale=scale)
            placed = achieved = 0
            errors = []
            t0 = time.perf_counter()
            for s, state, move in scenes:
                cond = replace(segment_conditions(state, move, planner.horizon, False, None), guide=make(move))
                trajs = planner.sample(cond, args.samples, torch.Generator().manual_seed(s))  # config.steps
                for traj in trajs:
                    last = traj[-1]
                    errors.append(np.linalg.norm(last[LAYOUT.block(move.block).position][:2]
                                                 - last[LAYOUT.block(move.onto).position][:2]))
                    placed += bool(strictly_on(last, move.block, move.onto) and last[LAYOUT.block(move.block).attached] < 0.5)
                    planner.world.set_state(state)
                    achieved += bool(strictly_on(play(planner.world, traj)[-1], move.block, move.onto))
            n = args.scenes * args.samples
            label = "none" if scale == 0 else name
            seconds = time.perf_counter() - t0
            print(f"{label:12s} {scale:6g} {100 * np.median(errors):12.1f} {placed:>7d} / {n:<4d} {achieved:>12d} / {n:<4d} "
                  f"{seconds:8.1f}", flush=True)
    planner.close()


if __name__ == "__main__":
    main()
