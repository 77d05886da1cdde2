"""Motion quality of finished evaluations: smoothness and joint path of the executed motion.

    python benchmarks/motion_table.py DIR [DIR ...]

Each DIR is an `evaluate` output folder (results.json, episodes.h5). For each, prints the
planner, task, blocks, episodes, score, strict success, the median mean squared joint
acceleration (tasks.metrics.smoothness, rad^2/s^4) and the median joint path (rad) of the
executed states, and, when two folders hold the same task's same seeds, the median per-episode
ratio of the later to the first (smoothness and path), so planners compare episode by episode.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from tasks.h5io import open_h5  # noqa: E402
from tasks.metrics import path_length, smoothness  # noqa: E402


def per_episode(folder: Path) -> dict[int, tuple[float, float]]:
    """episode seed -> (smoothness, joint path) of its executed states."""
    out = {}
    with open_h5(folder / "episodes.h5", "r", "episodes") as f:
        for name in f["episodes"]:
            e = f["episodes"][name]
            states = e["states"][:]
            out[int(e.attrs["seed"])] = (smoothness(states), path_length(states))
    return out


def main(folders: list[str]) -> None:
    first = {}
    print(f"{'planner':<13}{'task':<15}{'blocks':>6}{'episodes':>9}{'score':>8}{'strict':>8}"
          f"{'smoothness':>12}{'path rad':>10}{'x smooth':>10}{'x path':>8}  folder")
    for d in map(Path, folders):
        r = json.loads((d / "results.json").read_text())
        m = per_episode(d)
        s = np.array([v[0] for v in m.values()])
        p = np.array([v[1] for v in m.values()])
        key = (r["task"], r.get("blocks", 4))
        ratio_s = ratio_p = ""
        if key in first:
            common = [k for k in sorted(set(m) & set(first[key])) if first[key][k][0] > 0 and first[key][k][1] > 0]
            if common:
                ratio_s = f"{np.median([m[k][0] / first[key][k][0] for k in common]):.2f}"
                ratio_p = f"{np.median([m[k][1] / first[key][k][1] for k in common]):.2f}"
        else:
            first[key] = m
        print(f"{r['planner']:<13}{r['task']:<15}{key[1]:>6}{r['episodes']:>9}{r['score_mean']:>8.1f}"
              f"{100 * r['strict_success']:>7.0f}%{np.median(s):>12.2f}{np.median(p):>10.2f}{ratio_s:>10}{ratio_p:>8}  {d}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
