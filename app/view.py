"""The embedded 3-D view: PyBullet frames drawn inside the window, orbit / pan / zoom, picking.

Left-drag orbits, right- or middle-drag pans, the wheel zooms; a click without a drag picks the
block under the cursor and emits `blockClicked(name)`.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.render import OrbitCamera, SceneRenderer, shared_renderer

MAX_RENDER = (640, 480)  # frames are rendered at most this size and scaled to the widget
CLICK_SLOP = 4  # pixels a press may move and still count as a click


class SceneView(QWidget):
    blockClicked = Signal(str)

    def __init__(self, renderer: SceneRenderer | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.renderer = renderer or shared_renderer()
        self.camera = OrbitCamera()
        self.state: np.ndarray | None = None
        self._frame: QImage | None = None
        self.trail: np.ndarray | None = None  # (N, 3) tool positions drawn over the frame
        self.ghosts: list[np.ndarray] = []  # states drawn as translucent copies (renderer.add_ghosts)
        self._press: QPointF | None = None
        self._last: QPointF | None = None
        self._dragged = False
        self.setMinimumSize(240, 160)  # small enough for the docks to take the height when asked
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)

    def set_state(self, state: np.ndarray) -> None:
        self.state = np.asarray(state, dtype=np.float64)
        self._frame = None
        self.update()

    def set_ghosts(self, states: list[np.ndarray]) -> None:
        self.ghosts = [np.asarray(s, dtype=np.float64) for s in states]
        self._frame = None
        self.update()

    def set_camera(self, camera: OrbitCamera) -> None:
        self.camera = camera
        self._frame = None
        self.update()

    def render_size(self) -> tuple[int, int]:
        w, h = max(self.width(), 2), max(self.height(), 2)
        scale = min(1.0, MAX_RENDER[0] / w, MAX_RENDER[1] / h)
        return max(2, int(w * scale)), max(2, int(h * scale))

    def frame(self) -> QImage:
        """The current frame (rendered on demand, cached until the state or camera changes)."""
        if self._frame is None:
            w, h = self.render_size()
            rgb = np.ascontiguousarray(self.renderer.render(self.state, self.camera, w, h, self.ghosts))
            self._frame = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
        return self._frame

    def set_trail(self, points: np.ndarray | None) -> None:
        self.trail = None if points is None else np.asarray(points, dtype=float)
        self.update()

    def trail_pixels(self) -> np.ndarray:
        """(N, 2) widget coordinates of the trail's points (those in front of the camera)."""
        if self.trail is None or not len(self.trail):
            return np.zeros((0, 2))
        uv = self.camera.project(self.trail, self.width() / max(self.height(), 1))
        return uv * [self.width(), self.height()]

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.drawImage(self.rect(), self.frame())
        pixels = self.trail_pixels()
        if len(pixels) > 1:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(QPen(QColor(255, 140, 0, 220), 2))
            painter.drawPolyline(QPolygonF([QPointF(x, y) for x, y in pixels]))
        painter.end()

    # ------------------------------------------------------------------ mouse
    def mousePressEvent(self, event) -> None:  # noqa: N802
        self._press = self._last = event.position()
        self._dragged = False

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._last is None:
            return
        pos = event.position()
        d = pos - self._last
        self._last = pos
        if (pos - self._press).manhattanLength() > CLICK_SLOP:
            self._dragged = True
        if not self._dragged:
            return
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.set_camera(self.camera.orbit(-0.4 * d.x(), -0.4 * d.y()))
        elif event.buttons() & (Qt.MouseButton.RightButton | Qt.MouseButton.MiddleButton):
            self.set_camera(self.camera.pan(d.x() / self.height(), d.y() / self.height()))

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._press is not None and not self._dragged and event.button() == Qt.MouseButton.LeftButton:
            name = self.pick_at(event.position())
            if name is not None:
                self.blockClicked.emit(name)
        self._press = self._last = None

    def wheelEvent(self, event) -> None:  # noqa: N802
        steps = event.angleDelta().y() / 120
        self.set_camera(self.camera.zoom(0.9 ** steps))

    def pick_at(self, pos: QPointF) -> str | None:
        """The block under a widget position, or None."""
        u, v = pos.x() / max(self.width(), 1), pos.y() / max(self.height(), 1)
        return self.renderer.pick(self.state, self.camera, u, v, self.width() / max(self.height(), 1))
