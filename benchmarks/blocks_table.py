"""Score, strict success and seconds per move against the number of blocks, for one or both planners.

    python benchmarks/blocks_table.py --task conditional --blocks 2 3 4 5 6 7 8 --episodes 100 \
        [--planners diffuser demonstrator] [--from-towers] [--out runs/blocks] [any planner option of main.py]

Each (planner, N) cell is one `evaluate` run on the test seed stream (`--seed`, default 0), kept
in OUT/<planner>-<task>-n<N>/ (an interrupted run continues from there, a finished one with the
same settings is read back rather than run again). The planner options are main.py's own: the single-sample protocol is
`--no-keyframes --candidates 1 --no-physics-check`. Prints one table row per cell.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import planner as _thread_policy  # noqa: E402,F401  (sets PyTorch's thread policy before torch loads)

from main import add_planner_arguments, make_planner  # noqa: E402
from tasks.evaluate import RESULTS, evaluate, format_table  # noqa: E402
from tasks.goals import TASKS  # noqa: E402
from tasks.layout import MAX_BLOCKS, MIN_BLOCKS  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", choices=TASKS, default="conditional")
    ap.add_argument("--blocks", type=int, nargs="+", default=list(range(MIN_BLOCKS, MAX_BLOCKS + 1)))
    ap.add_argument("--episodes", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--planners", nargs="+", choices=("diffuser", "demonstrator"), default=["diffuser", "demonstrator"])
    ap.add_argument("--from-towers", action="store_true", help="every episode starts from random towers")
    ap.add_argument("--out", default=str(ROOT / "runs" / "blocks"))
    add_planner_arguments(ap)
    args = ap.parse_args()
    rows = []
    for name in args.planners:
        args.planner = name
        planner = make_planner(args)
        for n in args.blocks:
            folder = Path(args.out) / f"{name}-{args.task}{'-towers' if args.from_towers else ''}-n{n}"
            done = folder / RESULTS
            old = json.loads(done.read_text()) if done.exists() else {}
            if old.get("episodes") == args.episodes and old.get("settings") == json.loads(json.dumps(planner.settings)):
                rows.append(old)
            else:
                rows.append(evaluate(planner, args.task, args.episodes, args.seed, folder, n_blocks=n,
                                     towers=args.from_towers))
            print(format_table(rows[-1:]).splitlines()[-1], flush=True)
        if hasattr(planner, "close"):
            planner.close()
    print(format_table(rows))


if __name__ == "__main__":
    main()
