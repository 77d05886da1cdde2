"""Top-down arrangement editor: drag the blocks to where they should end up; drop one on another
to stack it there, or on the floor to put it there. The stacks become "top on bottom" pairs, the
blocks set down on the floor floor spots (an Arrangement, or a Reference with spots)."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from tasks.layout import BLOCK_COLOURS, BLOCK_WIDTH, DEFAULT_BLOCKS, block_names, layout_of

STACK_OFFSET = np.array([0.025, -0.025])  # a stacked block is drawn shifted so both stay visible


class TopDownEditor(QWidget):
    pairsChanged = Signal(list)  # [(top, bottom), ...]

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        self.plot.setBackground("w")
        self.plot.setAspectLocked(True)
        self.plot.setXRange(-0.8, 0.8)
        self.plot.setYRange(-0.8, 0.8)
        for axis, name in (("bottom", "x"), ("left", "y")):
            self.plot.getAxis(axis).enableAutoSIPrefix(False)  # metres on both axes, never mm
            self.plot.setLabel(axis, f"{name} (m)")
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        base = pg.ScatterPlotItem([0], [0], size=30, brush=pg.mkBrush(60, 60, 60), pen=None)
        self.plot.addItem(base)
        self.below: dict[str, str] = {}  # top -> bottom
        self.spots: dict[str, np.ndarray] = {}  # blocks set down on the floor by a drop -> centre
        self.blocks: tuple[str, ...] = ()  # the scene's, in state order
        self.positions: dict[str, np.ndarray] = {}  # centres
        self.heights: dict[str, float] = {}  # in the scene: the higher drawn above
        self.rois: dict[str, pg.ROI] = {}
        self._set_blocks(block_names(DEFAULT_BLOCKS))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)

    def _set_blocks(self, blocks: tuple[str, ...]) -> None:
        """One draggable square per block of the scene (made again when the scene's blocks change)."""
        if blocks == self.blocks:
            return
        for roi in self.rois.values():
            self.plot.removeItem(roi)
        self.blocks, self.rois = tuple(blocks), {}
        self.positions = {name: np.zeros(2) for name in blocks}
        self.heights = {name: 0.0 for name in blocks}
        for name in blocks:
            rgb = tuple(int(255 * c) for c in BLOCK_COLOURS[name][:3])
            roi = pg.ROI([0, 0], [BLOCK_WIDTH, BLOCK_WIDTH], pen=pg.mkPen((30, 30, 30), width=2), movable=True,
                         rotatable=False, resizable=False, removable=False)
            fill = pg.QtWidgets.QGraphicsRectItem(0, 0, BLOCK_WIDTH, BLOCK_WIDTH, roi)
            fill.setBrush(pg.mkBrush(*rgb, 200))
            fill.setPen(pg.mkPen(None))
            roi.sigRegionChangeFinished.connect(lambda r, n=name: self._dropped(n))
            self.plot.addItem(roi)
            self.rois[name] = roi

    # ------------------------------------------------------------------ positions
    def centre(self, name: str) -> np.ndarray:
        return self.positions[name].copy()

    def _place(self, name: str, centre: np.ndarray) -> None:
        self.positions[name] = np.asarray(centre, dtype=float).copy()
        roi = self.rois[name]
        roi.blockSignals(True)
        roi.setPos(pg.Point(*(np.asarray(centre) - BLOCK_WIDTH / 2)))
        roi.blockSignals(False)

    def set_scene(self, state: np.ndarray) -> None:
        """The blocks of `state` where they are in it, with no pairs and no spots."""
        layout = layout_of(np.asarray(state))
        self._set_blocks(layout.blocks)
        self.below, self.spots = {}, {}
        for name in self.blocks:
            position = np.asarray(state)[layout.block(name).position]
            self._place(name, position[:2])
            self.heights[name] = float(position[2])
        self._restack_z()
        self.pairsChanged.emit([])

    def _pile_above(self, name: str) -> list[str]:
        above = [t for t, b in self.below.items() if b == name]
        return above + [x for t in above for x in self._pile_above(t)]

    def _top_of_pile(self, name: str) -> str:
        above = [t for t, b in self.below.items() if b == name]
        return self._top_of_pile(above[0]) if above else name

    # ------------------------------------------------------------------ editing
    def drop(self, name: str, centre) -> None:
        """`name` was dragged to `centre`: stack it on the pile it lands on, or set it down there.
        The blocks stacked on it come along."""
        centre = np.asarray(centre, dtype=float)
        moving = [name] + self._pile_above(name)
        previous = self.centre(name)
        self.below.pop(name, None)
        targets = [b for b in self.blocks if b not in moving
                   and np.linalg.norm(self.centre(b) - centre) < BLOCK_WIDTH / 2]
        if targets:  # onto the block drawn on top there (the one the user sees)
            bottom = self._top_of_pile(max(targets, key=lambda b: self.rois[b].zValue()))
            self.below[name] = bottom
            self.spots.pop(name, None)
            centre = self.centre(bottom) + STACK_OFFSET
        else:
            self.spots[name] = np.round(centre, 3)  # set down on the floor here
        shift = centre - previous
        for b in moving:
            self._place(b, self.centre(b) + shift if b != name else centre)
        self._restack_z()
        self.pairsChanged.emit(self.pairs())

    def _dropped(self, name: str) -> None:
        # pyqtgraph has moved the ROI; `positions` still holds where it was before the drag
        self.drop(name, np.array(self.rois[name].pos()) + BLOCK_WIDTH / 2)

    def set_pairs(self, pairs: list[tuple[str, str]]) -> None:
        """Show pairs made elsewhere (chips, text): each top drawn on its bottom, bottom-up."""
        self.below = {t: b for t, b in pairs if t in self.rois and b in self.rois}  # a pair the scene can show
        done: set[str] = set()

        def settle(b: str) -> None:
            if b in done:
                return
            done.add(b)
            if b in self.below:
                settle(self.below[b])
                self._place(b, self.centre(self.below[b]) + STACK_OFFSET)

        for b in list(self.below):
            settle(b)
        self._restack_z()

    def _restack_z(self) -> None:
        """A top drawn above its bottom; blocks stacked in the scene drawn as they stand."""
        def level(b: str) -> int:
            return 0 if b not in self.below else 1 + level(self.below[b])

        for b in self.blocks:
            self.rois[b].setZValue(1 + level(b) + min(self.heights[b], 0.9))

    def floor_spots(self) -> list[tuple[str, float, float]]:
        """(block, x, y) of the blocks set down on the floor by a drop."""
        return [(b, float(self.spots[b][0]), float(self.spots[b][1])) for b in self.blocks if b in self.spots]

    def pairs(self) -> list[tuple[str, str]]:
        return sorted(self.below.items(), key=lambda tb: self.blocks.index(tb[1]))
