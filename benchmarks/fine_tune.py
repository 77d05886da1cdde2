"""A fine-tune from the Train tab's defaults, driven through the tab itself (offscreen): the given
file stands for the app's demonstrations (the shipped sample is ticked beside it, as in the tab),
the model in use is the shipped one, and every other setting is the tab's default. Prints the
model's name, steps and held-out curve; evaluate it beside the shipped model with `evaluate
--mover STORE/NAME/model.pt` (docs/figures.md has the commands).

    python benchmarks/fine_tune.py --data data/n8_conditional_c.h5 --store runs/ft/models [--minutes M] [--resume NAME]

`--resume NAME` presses Resume on the store's model NAME instead (another time budget from its
last checkpoint). `--evaluate NAME --task T --blocks N --episodes E [--seed S]` presses "Evaluate
beside the model in use" on NAME instead (the planner's default settings) and prints both scores.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="demonstrations standing for the app's own")
    parser.add_argument("--store", required=True, help="the model store's folder")
    parser.add_argument("--minutes", type=float, help="time budget (default: the tab's)")
    parser.add_argument("--resume", metavar="NAME", help="resume this model of the store instead")
    parser.add_argument("--evaluate", metavar="NAME", help="evaluate this model beside the shipped one instead")
    parser.add_argument("--task", default="conditional")
    parser.add_argument("--blocks", type=int, default=4)
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from PySide6.QtWidgets import QApplication

    from app.train_panel import TrainPanel
    from planner.config import shipped_mover
    from planner.model_store import ModelStore

    app = QApplication([])
    panel = TrainPanel(ModelStore(args.store), lambda: Path(args.data), shipped_mover)
    panel.eval_after.setChecked(False)
    if args.minutes:
        panel.minutes.setValue(args.minutes)
    print(f"data {panel.ticked_data()}, from {panel.start_from.currentData()}, {panel.minutes.value()} min, "
          f"batch {panel.batch.value()}, lr {panel.lr.value()}, device {panel.device.currentData()}", flush=True)
    ended: list[str] = []
    panel.jobFinished.connect(ended.append)
    if args.evaluate:
        panel.eval_task.setCurrentText(args.task)
        panel.eval_blocks.setValue(args.blocks)
        panel.eval_episodes.setValue(args.episodes)
        panel.eval_seed.setValue(args.seed)
        if not panel.start_evaluation(args.evaluate):
            print("could not start the evaluation")
            return 1
        wait(app, panel, ended)
        print(panel.status.text())
        return 0 if ended[0] == "done" else 1
    if args.resume:
        panel.select(args.resume)
        panel.resume()
        name = args.resume if panel.job is not None else None
    else:
        name = panel.start_training()
    if name is None:
        print(panel.status.text())
        return 1
    wait(app, panel, ended)
    info = panel.store.info(name)
    print(f"{name}: {ended[0]}, {info.step} steps in {info.seconds / 60:.1f} min, held-out error {info.valid_loss}")
    print("held-out curve: " + ", ".join(f"{s} {v:.5f}" for s, v in info.valid))
    print(f"model: {info.path}")
    return 0 if ended[0] == "done" else 1


def wait(app, panel, ended: list[str]) -> None:
    """Run the event loop until the tab's job ends, printing its status every minute."""
    last = 0.0
    while not ended:
        app.processEvents()
        time.sleep(0.05)
        if time.monotonic() - last > 60:
            print(panel.status.text(), flush=True)
            last = time.monotonic()


if __name__ == "__main__":
    sys.exit(main())
