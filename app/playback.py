"""Playback controls: play / pause, step, scrub, speed, loop, time shown."""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QPushButton, QSlider, QWidget

from tasks.world import CONTROL_PERIOD

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)


class PlaybackBar(QWidget):
    frameChanged = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.length = 0
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        self.play_button = QPushButton("Play")
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
        self.speed.currentIndexChanged.connect(self._retime)
        self.loop = QCheckBox("Loop")
        self.time_label = QLabel("0.00 / 0.00 s")
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
            self._retime()
            self.timer.start()
        else:
            self.timer.stop()

    def _retime(self) -> None:
        self.timer.setInterval(max(1, int(1000 * CONTROL_PERIOD / self.speed.currentData())))

    def _tick(self) -> None:
        if self.frame < self.length - 1:
            self.set_frame(self.frame + 1)
        elif self.loop.isChecked():
            self.set_frame(0)
        else:
            self.set_playing(False)

    def _slid(self, k: int) -> None:
        self._label()
        self.frameChanged.emit(k)

    def _label(self) -> None:
        total = max(self.length - 1, 0) * CONTROL_PERIOD
        self.time_label.setText(f"{self.frame * CONTROL_PERIOD:.2f} / {total:.2f} s")
