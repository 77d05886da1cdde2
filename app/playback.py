"""Playback controls: play / pause, step, scrub, speed, loop, time shown.

Playback follows the wall clock, not timer ticks: each tick shows the frame that is due by the
time elapsed since playing started (or the speed changed), so a slow redraw skips frames instead
of slowing the plan down, and 4x plays in a quarter of the plan's own time.
"""
from __future__ import annotations

from PySide6.QtCore import QElapsedTimer, Qt, QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QPushButton, QSlider, QWidget

from tasks.world import CONTROL_PERIOD

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)
TICK_MS = 10  # how often the clock is looked at; frames are shown only when one is due


class PlaybackBar(QWidget):
    frameChanged = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.length = 0
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.clock = QElapsedTimer()
        self._anchor_frame = 0
        self._ticking = False
        self.play_button = QPushButton("Play")
        self.play_button.setToolTip("Play or pause (Space)")
        self.play_button.setCheckable(True)
        self.play_button.toggled.connect(self.set_playing)
        self.back_button = QPushButton("◀")
        self.back_button.clicked.connect(lambda: self.step(-1))
        self.forward_button = QPushButton("▶")
        self.forward_button.clicked.connect(lambda: self.step(1))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.valueChanged.connect(self._slid)
        self.speed = QComboBox()
        for s in SPEEDS:
            self.speed.addItem(f"{s:g}×", s)
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.speed.currentIndexChanged.connect(lambda _: self._anchor())
        self.speed.setToolTip("Playback speed relative to the plan's real time")
        self.loop = QCheckBox("Loop")
        self.loop.setToolTip("Start again from the beginning at the end")
        self.back_button.setToolTip("One state back (Left arrow)")
        self.forward_button.setToolTip("One state forward (Right arrow)")
        self.slider.setToolTip("Scrub through the plan")
        self.time_label = QLabel("0.00 / 0.00 s")
        self.time_label.setMinimumWidth(self.time_label.fontMetrics().horizontalAdvance("000.00 / 000.00 s"))
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for w in (self.play_button, self.back_button, self.forward_button, self.slider, self.time_label, self.speed, self.loop):
            row.addWidget(w)
        row.setStretch(3, 1)
        self.set_length(0)

    @property
    def frame(self) -> int:
        return self.slider.value()

    def set_length(self, n: int) -> None:
        self.set_playing(False)
        self.length = n
        self.slider.setRange(0, max(n - 1, 0))
        self.slider.setValue(0)
        for w in (self.play_button, self.back_button, self.forward_button, self.slider):
            w.setEnabled(n > 1)
        self._label()

    def set_frame(self, k: int) -> None:
        self.slider.setValue(max(0, min(k, self.length - 1)))

    def step(self, d: int) -> None:
        self.set_playing(False)
        self.set_frame(self.frame + d)

    def toggle(self) -> None:
        self.set_playing(not self.timer.isActive())

    def set_playing(self, on: bool) -> None:
        on = on and self.length > 1
        if on and self.frame >= self.length - 1:
            self.set_frame(0)
        self.play_button.blockSignals(True)
        self.play_button.setChecked(on)
        self.play_button.setText("Pause" if on else "Play")
        self.play_button.blockSignals(False)
        if on:
            self._anchor()
            self.timer.start()
        else:
            self.timer.stop()

    def _anchor(self) -> None:
        """Count time from now and from the frame shown now."""
        self._anchor_frame = self.frame
        self.clock.start()

    def _tick(self) -> None:
        due = self._anchor_frame + int(self.clock.elapsed() / 1000 * self.speed.currentData() / CONTROL_PERIOD)
        self._ticking = True
        try:
            if due <= self.length - 1:
                if due != self.frame:
                    self.set_frame(due)
            elif self.loop.isChecked():
                self.set_frame(due % self.length)
                self._anchor()
            else:
                self.set_frame(self.length - 1)
                self.set_playing(False)
        finally:
            self._ticking = False

    def _slid(self, k: int) -> None:
        if self.timer.isActive() and not self._ticking:
            self._anchor()  # the user moved the slider while playing: go on from there
        self._label()
        self.frameChanged.emit(k)

    def _label(self) -> None:
        total = max(self.length - 1, 0) * CONTROL_PERIOD
        self.time_label.setText(f"{self.frame * CONTROL_PERIOD:.2f} / {total:.2f} s")
