"""How well the Diffuser chooses the next move when no goal names it (the unconditional task).

    python benchmarks/proposals.py [--checkpoint assets/diffuser.pt] [--scenes 12] [--samples 16]

For scenes with no tower, a two-block tower and a three-block tower (from the demonstrator's own
plans) it prints:
- the planner's way: every move between clear blocks scored by the model's denoising error
  (`DiffuserPlanner.move_scores`); how often the best-scored move grows the tower, against the
  share of moves that do (what a uniform pick would score), and the seconds scoring takes;
- the paper's way: the share of start-only samples whose motion reads as a sensible move, and how
  many hold a block that can grow the tower, against the count a uniform pick would give.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import planner as _thread_policy  # noqa: E402,F401  (sets PyTorch's thread policy before torch loads)
import torch  # noqa: E402

from planner.choice import grows_tower, held_block, move_scores, moves_between_clear, read_move, tower_picks  # noqa: E402
from planner.conditioning import segment_conditions  # noqa: E402
from planner.config import SHIPPED_CHECKPOINT, PlannerSettings  # noqa: E402
from planner.plan import DiffuserPlanner  # noqa: E402
from tasks.scene import SymbolicScene  # noqa: E402
from tasks.demonstrator import Demonstrator  # noqa: E402
from tasks.goals import Unconditional  # noqa: E402
from tasks.layout import BLOCK_NAMES, PHASES  # noqa: E402
from tasks.world import episode_seed, initial_state  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default=str(SHIPPED_CHECKPOINT))
    ap.add_argument("--scenes", type=int, default=12)
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--sampling-steps", type=int, default=PlannerSettings.steps)
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args()
    planner = DiffuserPlanner(args.checkpoint, PlannerSettings.whole_state(steps=args.sampling_steps))
    demonstrator = Demonstrator()
    usable, holding, legal = (np.zeros(3, dtype=int) for _ in range(3))
    chance = np.zeros(3)
    total = np.zeros(3, dtype=int)
    first_grows, first_chance, score_seconds = np.zeros(3, dtype=int), np.zeros(3), [[], [], []]
    for k in range(args.scenes):
        s = episode_seed(args.seed, k, "test")
        states = demonstrator.plan(initial_state(s), Unconditional(), s).states
        for height in range(3):  # towers of 1 (none), 2 and 3 blocks
            start = states[height * PHASES.length]
            scene = SymbolicScene.read(start)
            moves = moves_between_clear(scene)
            t0 = time.perf_counter()
            scores = move_scores(planner, start, moves, torch.Generator().manual_seed(s))
            score_seconds[height].append(time.perf_counter() - t0)
            first_grows[height] += grows_tower(scene, moves[int(np.argmin(scores))])
            first_chance[height] += np.mean([grows_tower(scene, m) for m in moves])
            # only the first state pinned: the paper's conditioning
            start_only = segment_conditions(start, None, planner.horizon, False, None)
            samples = planner.sample(start_only, args.samples, torch.Generator().manual_seed(s))
            picks = tower_picks(start, scene)
            usable[height] += sum(read_move(t, start) is not None for t in samples)
            held = [held_block(t) for t in samples]
            holding[height] += sum(b is not None for b in held)
            legal[height] += sum(b in picks for b in held)
            chance[height] += len(samples) * len(picks) / len(BLOCK_NAMES)
            total[height] += len(samples)
    print(f"checkpoint: {args.checkpoint} (step {planner.meta.get('step')}), sampling steps: {args.sampling_steps}")
    print("the model's scores (the planner's choice):")
    for height in range(3):
        print(f"tallest tower {height + 1} block(s): the best-scored move grows the tower in {first_grows[height]}"
              f"/{args.scenes} scenes (uniform pick: {first_chance[height]:.1f}); scoring takes "
              f"{np.median(score_seconds[height]):.2f} s (median)")
    print("start-only samples (the paper's choice):")
    for height in range(3):
        print(f"tallest tower {height + 1} block(s): {usable[height]}/{total[height]} start-only samples propose "
              f"a sensible move ({100 * usable[height] / total[height]:.1f} %); {holding[height]} hold a block, "
              f"{legal[height]} one that can grow the tower (chance: {chance[height]:.0f})")
    print(f"all: {usable.sum()}/{total.sum()} ({100 * usable.sum() / total.sum():.1f} %)")
    planner.close()


if __name__ == "__main__":
    main()
