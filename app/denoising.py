"""Watching a plan form: the denoising-step slider and the guide's plot per denoising step."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QWidget

WIDTH = 270  # of the guide's plot, beside the 3-D view
SEGMENT_PENS = [(0, 114, 178), (213, 94, 0), (0, 158, 115), (204, 121, 167), (86, 180, 233), (230, 159, 0), (0, 0, 0),
                (150, 150, 150)]  # eight: the moves of a tower of eight blocks, and one more


def carried_by_arm(noisy: np.ndarray, planned: np.ndarray, world) -> np.ndarray:
    """`noisy` (a state at a denoising step) with each block held in `planned` (the same time in
    the plan as made) where the noisy arm carries it: the block keeps its grip, so its pose is
    tcp(noisy joints) * tcp(planned joints)^-1 * its planned pose. `world` does the kinematics
    (its arm is moved)."""
    from tasks.layout import layout_of
    from tasks.world import Pose, invert, multiply

    layout = layout_of(noisy)
    out = np.array(noisy, dtype=np.float64, copy=True)
    held = [b for b in layout.blocks if planned[layout.block(b).attached] > 0.5]
    if not held:
        return out
    grip = multiply(world.tcp_pose(noisy[layout.joints]), invert(world.tcp_pose(planned[layout.joints])))
    for b in held:
        s = layout.block(b)
        pose = multiply(grip, Pose(np.asarray(planned[s.position]), np.asarray(planned[s.orientation])))
        out[s.position], out[s.orientation], out[s.attached] = pose.position, pose.orientation, 1.0
    return out


class DenoisingSlider(QWidget):
    """A slider over the denoising steps of the shown plan (the last step is the plan itself);
    emits stepChanged(k)."""

    stepChanged = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setEnabled(False)
        self.slider.setToolTip("Watch the plan form: each denoising step of the segment under the cursor")
        self.slider.valueChanged.connect(self.stepChanged)
        self.label = QLabel("Denoising: —")
        # Wide enough for its longest text, so the slider beside it never moves.
        self.label.setFixedWidth(self.label.fontMetrics().horizontalAdvance("Denoising: step 1000 of 1000, segment 10") + 8)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.label)
        row.addWidget(self.slider, 1)

    @property
    def step(self) -> int:
        return self.slider.value()

    @property
    def at_plan(self) -> bool:
        """Off, or on the last step (the plan as made)."""
        return not self.slider.isEnabled() or self.slider.value() >= self.slider.maximum()

    def set_steps(self, steps: int | None) -> None:
        """`steps` denoising steps to show (None: the shown plan kept none), starting at the last."""
        self.slider.blockSignals(True)
        self.slider.setEnabled(steps is not None)
        self.slider.setRange(0, 0 if steps is None else steps - 1)
        self.slider.setValue(self.slider.maximum())
        self.slider.blockSignals(False)
        self.label.setText("Denoising: watch the plan form" if steps is not None else "Denoising: —")

    def show_step(self, k: int, steps: int, segment: int) -> None:
        self.label.setText(f"Denoising: step {k + 1} of {steps}, segment {segment + 1}")


class GuidePlot(pg.PlotWidget):
    """The tool's distance from its grasp and release targets in each segment's predicted plan,
    step by denoising step: what the guide scale pulls down (and the model alone does)."""

    def __init__(self) -> None:
        super().__init__(background="w")
        self._curves: list = []  # one per segment of the plan shown
        self.setFixedWidth(WIDTH)
        self.setMinimumHeight(120)
        item = self.getPlotItem()
        item.setTitle("Tool distance from its targets<br>by denoising step (Diffuser plans)", size="8pt")
        item.setLabel("left", "cm")
        item.setLabel("bottom", "denoising step")
        item.getAxis("bottom").setTickSpacing(major=1, minor=1)  # steps are whole numbers
        # A log scale drawn by hand (log10 of cm, labelled in cm): pyqtgraph's own log axis labels
        # every minor tick, and they overlap in a plot this low.
        item.getAxis("left").setTicks([[(v, f"{10.0 ** v:g}") for v in (-1, 0, 1, 2, 3)], []])
        item.addLegend(offset=(-6, 2), colCount=2, labelTextSize="7pt")  # at the top, off the curves
        self.setToolTip("RMS distance of the tool from the block's top face at the grasp and from the target at the "
                        "release, in each step's predicted plan (the median candidate). A guide scale above 0 pulls "
                        "it down during denoising.")

    def show_plan(self, plan) -> None:
        """Plot the plan's guide values (none for a plan without them). The curves of the last
        plan are given the new data (made afresh, with their legend entries, they cost the GUI
        thread tens of milliseconds per plan)."""
        item = self.getPlotItem()
        segs = plan.segments if plan is not None else ()
        values = [np.sqrt(np.maximum(-np.asarray(s.guide_values), 1e-8)) * 100 for s in segs if s.guide_values]
        while len(self._curves) > len(values):
            item.removeItem(self._curves.pop())
        for k, cm in enumerate(values):
            x, y = np.arange(1, len(cm) + 1), np.log10(cm)
            if k < len(self._curves):
                self._curves[k].setData(x, y)
            else:
                pen = pg.mkPen(SEGMENT_PENS[k % len(SEGMENT_PENS)], width=2)
                self._curves.append(item.plot(x, y, pen=pen, name=f"segment {k + 1}"))  # lines only: cheaper to draw
