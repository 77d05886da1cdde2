"""Screenshots of the real window for the README, taken from the app itself.

    xvfb-run -s "-screen 0 1920x1080x24" .venv/bin/python scripts/screenshots.py [--out docs]

Opens the app at 1280 x 720 (a laptop screen: Plan in sight), plans a tower with the Diffuser,
shows the plan half-way, and saves the window, also at 1920 x 1080, and with its Constraints and
guides tab raised; then compares it with the
demonstrator's plan at 1280 x 720, plans the tallest tower, and builds a tower of six blocks.
`--only six-blocks` takes just the last one, `--only constraints-panel` just the tab. `--only train-tab --models DIR` takes the Train tab
over a model store (the one `benchmarks/fine_tune.py --store DIR` filled), its newest model
selected with its curves.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QEventLoop, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.main_window import MainWindow  # noqa: E402
from app.render import OrbitCamera  # noqa: E402


def wait(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def fresh(window) -> None:
    """Wait until every 3-D view in `window` shows the frame of its present state (frames come
    from the render process, so a grab right after a change could show the one before)."""
    from app.view import SceneView

    for view in window.findChildren(SceneView):
        view.frame()
        view.update()
    wait(200)


def plan_and_wait(window) -> None:
    """Press Plan and return when the plan is shown (or planning ended otherwise)."""
    loop = QEventLoop()
    window.planFinished.connect(loop.quit)
    window.start_plan()
    loop.exec()
    window.planFinished.disconnect(loop.quit)


def show_last_frame(window) -> None:
    window.playback.set_playing(False)
    window.playback.set_frame(len(window.viewer.frames) - 1)
    fresh(window)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "docs"))
    ap.add_argument("--only", choices=["six-blocks", "constraints-panel", "train-tab"], help="take only this screenshot")
    ap.add_argument("--models", default=str(ROOT / "runs" / "ft" / "models"), help="the Train tab's model store")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    _app = QApplication.instance() or QApplication(sys.argv)  # kept alive while the windows exist
    # Private settings and files: the screenshots never depend on (or change) the user's own.
    tmp = Path(tempfile.mkdtemp())
    settings = QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat)
    if args.only == "train-tab":
        train_tab(settings, tmp, Path(args.models), out)
        return
    w = MainWindow(prefs=settings, plans_file=tmp / "plans.h5", dataset_file=tmp / "demos.h5")
    w.resize(1280, 720)
    w.show()
    if w.warmup is not None:
        w.warmup.wait(120_000)
    wait(300)
    if args.only == "constraints-panel":
        w.goal_editor.set_text("red,green,blue,yellow")
        plan_and_wait(w)
        w.playback.set_playing(False)
        w.playback.set_frame(int(len(w.viewer.frames) * 0.55))
        constraints_panel(w, out)
    else:
        if args.only != "six-blocks":
            the_series(w, out)
        six_blocks(w, out)
    w.close()


def train_tab(settings, tmp: Path, models: Path, out: Path) -> None:
    """The Train tab, raised and given the window's lower half, the store's newest model selected."""
    from PySide6.QtCore import Qt

    w = MainWindow(prefs=settings, plans_file=tmp / "plans.h5", dataset_file=tmp / "demos.h5", models_dir=models)
    w.resize(1600, 900)
    w.show()
    dock = next(d for d in w.findChildren(type(w.library_dock)) if d.objectName() == "train")
    dock.raise_()
    w.resizeDocks([dock], [430], Qt.Orientation.Vertical)
    t = w.trainer
    if t.store.names():
        t.select(t.store.names()[-1])
    if w.warmup is not None:
        w.warmup.wait(120_000)
    fresh(w)
    wait(1000)
    w.grab().save(str(out / "train-tab.png"))
    print(f"saved train-tab.png in {out}")
    w.close()


def six_blocks(w, out: Path) -> None:
    """Six blocks in the scene (the Blocks box), a tower of all six planned by the Diffuser, shown
    at its end from the tower's side."""
    w.planner_panel.planner_choice.setCurrentIndex(w.planner_panel.planner_choice.findData("diffuser"))
    w.seed.setValue(3)
    w.blocks.setValue(6)
    w.goal_editor.set_text("red,green,blue,yellow,orange,purple")
    plan_and_wait(w)
    w.view.set_camera(OrbitCamera(target=(0.15, -0.1, 0.15), distance=1.7, yaw=-60.0, pitch=-25.0))  # the tower's side
    w.trail_box.setChecked(False)  # six moves' paths would hide the tower
    w.library.table.scrollToBottom()  # its row, Blocks 6, in sight after the series' plans
    show_last_frame(w)
    w.grab().save(str(out / "six-blocks.png"))
    print(f"saved six-blocks.png in {out}")


def constraints_panel(w, out: Path) -> None:
    """The Constraints and guides tab raised under the shown Diffuser plan."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QAbstractItemView

    w.constraints_dock.raise_()
    height = w.constraints_dock.height()
    w.resizeDocks([w.constraints_dock], [330], Qt.Orientation.Vertical)  # a segment's rows in sight
    panel = w.viewer.constraints
    panel.scrollToItem(panel.topLevelItem(1), QAbstractItemView.ScrollHint.PositionAtTop)  # segment 1
    fresh(w)
    w.grab().save(str(out / "constraints-panel.png"))
    w.resizeDocks([w.constraints_dock], [height], Qt.Orientation.Vertical)  # the other screenshots' layout
    w.library_dock.raise_()
    print(f"saved constraints-panel.png in {out}")


def the_series(w, out: Path) -> None:
    """The four-block screenshots, one after the other in one window."""
    editor = w.goal_editor
    editor.mode.setCurrentText("Arrangement")
    editor.topdown.drop("green", editor.topdown.centre("red"))
    editor.topdown.drop("yellow", editor.topdown.centre("blue"))
    fresh(w)
    w.grab().save(str(out / "goal-arrangement.png"))
    editor.set_text("tallest")
    wait(100)
    w.grab().save(str(out / "goal-tallest.png"))
    editor.set_text("red,green,blue,yellow")
    wait(100)
    w.grab().save(str(out / "goal-editor.png"))
    plan_and_wait(w)
    w.playback.set_playing(False)
    w.playback.set_frame(int(len(w.viewer.frames) * 0.55))
    fresh(w)
    w.grab().save(str(out / "main-window-1280x720.png"))
    w.resize(1920, 1080)
    wait(300)
    w.grab().save(str(out / "main-window-1920x1080.png"))
    w.resize(1280, 720)
    wait(300)
    constraints_panel(w, out)
    w.playback.set_frame(128 + 80)  # second segment, carrying
    w.denoising.slider.setValue(3)  # the plan as it was four denoising steps in
    fresh(w)
    w.grab().save(str(out / "denoising.png"))
    w.denoising.slider.setValue(w.denoising.slider.maximum())
    w.planner_panel.planner_choice.setCurrentIndex(w.planner_panel.planner_choice.findData("demonstrator"))
    plan_and_wait(w)
    w.library.select(w.library.table.rowCount() - 2, w.library.table.rowCount() - 1)
    w.library.compare()
    compare = w.compare_windows[-1]
    compare.resize(1280, 720)  # a laptop screen: the plots stay readable
    wait(300)
    compare.playback.set_frame(200)
    fresh(compare)
    compare.grab().save(str(out / "compare.png"))
    compare.overlay_box.setChecked(True)
    fresh(compare)
    compare.grab().save(str(out / "compare-overlay.png"))
    w.planner_panel.planner_choice.setCurrentIndex(w.planner_panel.planner_choice.findData("diffuser"))
    editor.set_text("tallest")  # the Diffuser chooses the moves itself
    plan_and_wait(w)
    show_last_frame(w)
    w.grab().save(str(out / "tallest-plan.png"))
    # Continue from where the tower stands: the Diffuser unstacks, puts red on a floor spot, green on it.
    w.continue_from_here()
    editor.set_text("red at 0.55,-0.30; green on red")
    plan_and_wait(w)
    show_last_frame(w)
    w.grab().save(str(out / "continued-plan.png"))
    print(f"saved goal-arrangement.png, goal-tallest.png, goal-editor.png, main-window-1280x720.png, "
          f"main-window-1920x1080.png, denoising.png, "
          f"compare.png, compare-overlay.png, tallest-plan.png, continued-plan.png in {out}")


if __name__ == "__main__":
    main()
