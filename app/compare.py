"""Compare plans: side-by-side views on one time slider (or one view with the other plans as
translucent ghosts), plots of joints, tool and block
heights over time (pyqtgraph), and a table of scores and measures. Shows the plans' states as
stored (what each planner produced)."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QApplication, QCheckBox, QGraphicsItem, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QTableWidget,
    QTableWidgetItem, QVBoxLayout, QWidget,
)

from app.plan_view import tool_path
from app.playback import PlaybackBar
from app.render import shared_renderer
from app.view import SceneView
from app.widgets import ask_save_path, tame_inputs
from tasks.layout import BLOCK_COLOURS, layout_of
from tasks.metrics import block_heights, path_length, smoothness
from tasks.plans import Plan
from tasks.world import CONTROL_PERIOD

PLAN_PENS = [(0, 114, 178), (213, 94, 0), (0, 158, 115), (204, 121, 167), (86, 180, 233)]
PLOT_TITLES = ("Joint angles (rad)", "Tool height (m)", "Block heights (m): first plan solid, others dashed")
EXPORT_SIZE = (1200, 1000)  # exported plots, whatever the window's size
OPEN_SIZE = (1200, 900)  # at most; less on a smaller screen
TABLE_COLUMNS = ("Plan", "Blocks", "Score", "Strict", "States", "Plan s", "Path (rad)", "Smoothness")


class CompareWindow(QWidget):
    def __init__(self, plans: list[Plan], plans_file=None, parent: QWidget | None = None) -> None:
        """`plans_file`: where the plans are kept (needed to render them as a video)."""
        super().__init__(parent)
        self.plans_file = plans_file
        self.setWindowTitle("Compare plans")
        self.plans = plans
        self.renderer = shared_renderer()  # the app's one renderer draws every view, in turn
        self.status = QLabel()
        self._render_job = None
        views_row = self._views()
        export_row = self._export_row()
        self.playback = PlaybackBar()
        self.playback.set_length(max(len(p.states) for p in plans))
        self.playback.frameChanged.connect(self.show_frame)
        self._plots()
        self._table()
        layout = QVBoxLayout(self)
        layout.addLayout(views_row, 3)
        layout.addLayout(export_row)
        layout.addWidget(self.playback)
        layout.addWidget(self.plots, 3)
        layout.addWidget(self.table)
        layout.addWidget(self.status)
        self._fit_table()
        tame_inputs(self)
        self.resize(*self._open_size())
        # Closed is gone: its views, plots and plans are freed (an afternoon of comparisons grew the app).
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def _views(self) -> QHBoxLayout:
        """A 3-D view per plan, side by side, and the overlay view (hidden until asked for)."""
        self.views, self.labels = [], []
        views_row = QHBoxLayout()
        for k, plan in enumerate(self.plans):
            col = QVBoxLayout()
            label = QLabel(f"<b style='color: rgb{PLAN_PENS[k % len(PLAN_PENS)]}'>{plan.name}</b>")
            view = SceneView(self.renderer)
            view.set_state(plan.states[0])
            col.addWidget(label)
            col.addWidget(view, 1)
            self.labels.append(label)
            views_row.addLayout(col)
            self.views.append(view)
        # Overlay: the first plan solid, the others as translucent ghosts in one view.
        self.renderer.add_ghosts(len(self.plans) - 1)
        self.overlay = SceneView(self.renderer)
        self.overlay.hide()
        views_row.addWidget(self.overlay, 1)
        self.views_row = views_row
        return views_row

    def _export_row(self) -> QHBoxLayout:
        self.overlay_box = QCheckBox("Overlay as ghosts in one view")
        self.overlay_box.toggled.connect(self.set_overlay)
        export_row = QHBoxLayout()
        export_row.addWidget(self.overlay_box)
        export_row.addStretch(1)
        for text, slot, tip in (
            ("Export video…", self.export_video, "The plans side by side as MP4 or GIF (needs plans from a plans file)"),
            ("Export plots (PNG)…", self.export_png, "The three plots as one PNG image"),
            ("Export data (CSV)…", self.export_csv, "Joints, tool and block heights over time, per plan"),
        ):
            b = QPushButton(text)
            b.setToolTip(tip)
            b.clicked.connect(lambda _checked=False, slot=slot: slot())
            export_row.addWidget(b)
        return export_row

    def _open_size(self) -> tuple[int, int]:
        """OPEN_SIZE, or the screen's free area less a margin for the frame (a 1280 x 720 laptop)."""
        screen = (self.screen() or QApplication.primaryScreen()).availableGeometry()
        return min(OPEN_SIZE[0], screen.width() - 20), min(OPEN_SIZE[1], screen.height() - 40)

    def _plots(self) -> None:
        """The three plots side by side (stacked, each would be a strip at 720 pixels' height)."""
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setMinimumHeight(200)
        self._filling = fill_plots(self.plots, self.plans, vertical=False)
        self._items: list = []  # the plots made so far
        self.cursors: list = []  # the time cursor in each
        # A plot or a curve per turn of the event loop (all at once held the window ~150 ms).
        self._fill_timer = QTimer(self)
        self._fill_timer.timeout.connect(self._fill_step)
        self._fill_timer.start(0)

    def _fill_step(self) -> bool:
        """One more plot or curve; False when all are there."""
        made = next(self._filling, None)
        self._items = made or self._items
        for item in self._items[len(self.cursors):]:
            line = pg.InfiniteLine(self.playback.frame * CONTROL_PERIOD, angle=90,
                                   pen=pg.mkPen((120, 120, 120), style=pg.QtCore.Qt.PenStyle.DashLine))
            item.addItem(line)
            self.cursors.append(line)
        if made is None:
            self._fill_timer.stop()
            return False
        return True

    @property
    def plot_items(self) -> list:
        """The three plots, with every curve (the ones still to come are drawn now)."""
        while self._fill_step():
            pass
        return self._items

    def _fit_table(self) -> None:
        """The table as tall as its rows, no taller."""
        t = self.table
        t.setSizePolicy(t.sizePolicy().horizontalPolicy(), QSizePolicy.Policy.Fixed)
        height = t.horizontalHeader().height() + sum(t.rowHeight(r) for r in range(t.rowCount()))
        t.setFixedHeight(height + 2 * t.frameWidth() + t.horizontalScrollBar().sizeHint().height())

    def _table(self) -> None:
        self.table = QTableWidget(len(self.plans), len(TABLE_COLUMNS))
        self.table.setHorizontalHeaderLabels(TABLE_COLUMNS)
        for row, plan in enumerate(self.plans):
            cells = (plan.name, str(len(layout_of(plan.states).blocks)), f"{plan.score:.0f}",
                     "yes" if plan.strict_success else "no", str(len(plan.states)),
                     f"{plan.plan_seconds:.2f}", f"{path_length(plan.states):.2f}", f"{smoothness(plan.states):.1f}")
            for c, text in enumerate(cells):
                self.table.setItem(row, c, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()

    def set_overlay(self, on: bool) -> None:
        for view, label in zip(self.views, self.labels):
            view.setVisible(not on)
            label.setVisible(not on)  # the table and the plots' legends still name the plans
        self.overlay.setVisible(on)
        # The overlay takes the whole row (the hidden views' columns would leave it half empty).
        for i in range(self.views_row.count() - 1):
            self.views_row.setStretch(i, 0 if on else 1)
        self.views_row.setStretch(self.views_row.count() - 1, 1 if on else 0)
        self.show_frame(self.playback.frame)

    # ------------------------------------------------------------------ export
    def export_video(self, out: str | None = None) -> None:
        from app.export import ask_video_path, run_render

        if self.plans_file is None or not all(p.id for p in self.plans):
            self.status.setText("Only plans kept in a plans file can be rendered")
            return
        out = out or ask_video_path(self, "comparison.mp4")
        if not out or self._render_job is not None:
            return
        args = ["--plans", str(self.plans_file), "--id", *[p.id for p in self.plans], "--out", out]

        def done(ok: bool, message: str) -> None:
            self._render_job = None
            self.status.setText(message if ok else f"Export failed: {message}")

        self._render_job = run_render(self, args, "Rendering the comparison…", done)

    def export_png(self, out: str | None = None) -> None:
        out = out or ask_save_path(self, "Export plots", "comparison.png", "PNG image (*.png)")
        if out:
            # Drawn afresh at a readable size (stacked), not as the window's widget happens to be.
            page = pg.GraphicsLayoutWidget()
            page.setBackground("w")
            for _ in fill_plots(page, self.plans, vertical=True):
                pass
            page.resize(*EXPORT_SIZE)
            page.grab().save(out)
            page.deleteLater()
            self.status.setText(f"Plots saved to {out}")

    def export_csv(self, out: str | None = None) -> None:
        from app.export import comparison_csv

        out = out or ask_save_path(self, "Export data", "comparison.csv", "CSV (*.csv)")
        if out:
            comparison_csv(self.plans, out, lambda s: tool_path(s)[:, 2])
            self.status.setText(f"Data saved to {out}")

    def closeEvent(self, event) -> None:  # noqa: N802
        # A closed window's playback would go on drawing into hidden views (the shared renderer's time).
        self.playback.set_playing(False)
        super().closeEvent(event)

    def show_frame(self, k: int) -> None:
        at = [plan.states[min(k, len(plan.states) - 1)] for plan in self.plans]
        if self.overlay.isVisible():
            self.overlay.set_ghosts(at[1:])
            self.overlay.set_state(at[0])
            return
        for view, state in zip(self.views, at):
            view.set_state(state)
        for line in self.cursors:
            line.setValue(k * CONTROL_PERIOD)



def cached(curve: pg.PlotDataItem) -> None:
    """Keep the curve's drawing as a pixmap: moving the time cursor over it then repaints the
    plot by copying (measured: a repaint 5 ms -> 2 ms, the slowest 24 -> 11 ms)."""
    curve.curve.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


def fill_plots(widget: pg.GraphicsLayoutWidget, plans: list[Plan], vertical: bool):
    """Joint angles, tool height and block heights of `plans` over time, in three plots of
    `widget` (in a column when `vertical`, else in a row). A generator: it yields the plots made
    so far after each plot and each curve (run it to the end for all of them)."""
    widget.setBackground("w")
    items = []
    for i, title in enumerate(PLOT_TITLES):
        # No right-click menus (the window's buttons export): building them was a third of a
        # plot's 30 ms on the GUI thread.
        item = widget.addPlot(row=i if vertical else 0, col=0 if vertical else i, title=title, enableMenu=False)
        item.addLegend(offset=(10, 1), labelTextSize="8pt", colCount=2)  # entries along the top, off the curves
        item.setLabel("bottom", "time", units="s")
        items.append(item)
        yield items
    joints, tool, blocks = items
    named: set[str] = set()  # a block's legend entry once, whichever plan has it first
    for k, plan in enumerate(plans):
        colour = PLAN_PENS[k % len(PLAN_PENS)]
        t = np.arange(len(plan.states)) * CONTROL_PERIOD
        for j in range(7):
            # One legend entry per plan (its colour), not one per joint.
            cached(joints.plot(t, plan.states[:, j], pen=pg.mkPen(colour, width=1), name=plan.name if j == 0 else None))
            yield items
        cached(tool.plot(t, tool_path(plan.states)[:, 2], pen=pg.mkPen(colour, width=2), name=plan.name))
        yield items
        style = pg.QtCore.Qt.PenStyle.SolidLine if k == 0 else pg.QtCore.Qt.PenStyle.DashLine
        heights = block_heights(plan.states)
        for b, name in enumerate(layout_of(plan.states).blocks):  # each plan's own blocks
            rgb = tuple(int(255 * c) for c in BLOCK_COLOURS[name][:3])
            cached(blocks.plot(t, heights[:, b], pen=pg.mkPen(rgb, width=2, style=style), name=None if name in named else name))
            named.add(name)
            yield items
