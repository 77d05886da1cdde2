"""Single-sample score against training steps: is more training worth it?

    python benchmarks/training_curve.py CHECKPOINT... [--task conditional] [--episodes 30] [--png docs/training-curve.png]

Each move-model checkpoint (e.g. the snapshots `train-mover --snapshots` keeps) is evaluated in
the issue's protocol: one sample, no inverse-kinematics keyframes, no physics check, on the same
seeded episodes. Prints step, score and strict success per checkpoint and draws the curve.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import planner as _thread_policy  # noqa: E402,F401  (sets PyTorch's thread policy before torch loads)
from planner.checkpoint import load_mover  # noqa: E402
from planner.config import SHIPPED_CHECKPOINT, PlannerSettings  # noqa: E402
from planner.plan import DiffuserPlanner  # noqa: E402
from tasks.evaluate import evaluate  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoints", nargs="+")
    ap.add_argument("--task", default="conditional")
    ap.add_argument("--episodes", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--png", help="also draw the curve into this PNG")
    args = ap.parse_args()
    rows = []
    print(f"{'step':>7} {'score':>14} {'strict':>7}  checkpoint")
    for path in args.checkpoints:
        step = int(load_mover(path).meta["step"])
        settings = PlannerSettings(keyframes=False, candidates=1, physics_check=False, mover=path)
        planner = DiffuserPlanner(SHIPPED_CHECKPOINT, settings)
        with tempfile.TemporaryDirectory() as out:
            r = evaluate(planner, args.task, args.episodes, args.seed, out)
        planner.close()
        rows.append((step, r["score_mean"], r["score_sem"], r["strict_success"]))
        print(f"{step:>7} {r['score_mean']:>6.1f} ± {r['score_sem']:<5.1f} {100 * r['strict_success']:>6.0f}%  {path}",
              flush=True)
    if args.png:
        draw(sorted(rows), args.png, f"{args.task}, {args.episodes} episodes, one sample, no keyframes, no check")


def draw(rows: list[tuple], png: str, subtitle: str) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import numpy as np
    import pyqtgraph as pg
    from pyqtgraph.exporters import ImageExporter
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    steps, score, sem, strict = (np.array(c, dtype=float) for c in zip(*rows))
    widget = pg.PlotWidget(background="w")
    widget.resize(720, 400)
    item = widget.getPlotItem()
    item.setTitle(f"Move model, {subtitle}", size="9pt")
    item.setLabel("bottom", "training steps (batch 512)")
    item.setLabel("left", "normalised score / strict success %")
    item.addLegend(offset=(-10, -10))
    item.plot(steps, score, pen=pg.mkPen((0, 114, 178), width=2), symbol="o", name="score")
    item.addItem(pg.ErrorBarItem(x=steps, y=score, height=2 * sem, pen=(0, 114, 178)))
    item.plot(steps, 100 * strict, pen=pg.mkPen((213, 94, 0), width=2, style=pg.QtCore.Qt.PenStyle.DashLine),
              symbol="s", name="strict success %")
    item.setYRange(0, 105)
    widget.show()
    app.processEvents()  # lay the plot out at its size before it is drawn
    ImageExporter(item).export(png)
    print(f"curve: {png}")


if __name__ == "__main__":
    main()
