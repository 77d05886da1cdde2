"""The embedded 3-D view: PyBullet frames drawn inside the window, orbit / pan / zoom, picking.

Frames are drawn in the render process (app.render_service): a change of state, camera or size
asks for a frame, and the view shows the newest one that came (the GUI thread only blits it).

Left-drag orbits, right- or middle-drag pans, the wheel zooms; a click without a drag picks the
block under the cursor and emits `blockClicked(name)`.
"""
from __future__ import annotations

import itertools

import numpy as np
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget
from pyqtgraph.functions import create_qpolygonf, ndarray_from_qpolygonf

from app.render import OrbitCamera, shared_renderer

MAX_RENDER = (640, 480)  # frames are rendered at most this size and scaled to the widget
CLICK_SLOP = 4  # pixels a press may move and still count as a click
_KEYS = itertools.count()  # a key per view, for its frames (never reused, unlike id())


def polygon(pixels: np.ndarray) -> QPolygonF:
    """The polyline Qt draws through (N, 2) pixels, filled through numpy (a QPointF per point held
    the GUI thread 160 ms for a long chain's trail); points still within half a pixel of the one
    before are left out (the dwells)."""
    moved = np.ones(len(pixels), bool)
    moved[1:] = np.abs(np.diff(pixels, axis=0)).max(axis=1) >= 0.5
    kept = pixels[moved]
    if not len(kept):
        return QPolygonF()
    out = create_qpolygonf(len(kept))
    ndarray_from_qpolygonf(out)[:] = kept
    return out


class SceneView(QWidget):
    blockClicked = Signal(str)
    frameArrived = Signal()  # a frame came from the render process and is shown

    def __init__(self, renderer=None, parent: QWidget | None = None) -> None:
        """`renderer`: an app.render_service.RemoteRenderer (default: the app's one)."""
        super().__init__(parent)
        self.renderer = renderer or shared_renderer()
        self._key = next(_KEYS)
        self.renderer.frameReady.connect(self._frame_came)
        self.camera = OrbitCamera()
        self.state: np.ndarray | None = None
        self._version = 0  # counts changes of state, camera and ghosts
        self._asked: tuple | None = None  # (version, size) of the last frame asked for
        self._frame: QImage | None = None  # the newest frame that came
        self._frame_tag: tuple | None = None  # (version, size) it shows
        self.trail: np.ndarray | None = None  # (N, 3) tool positions drawn over the frame
        self._trail_version = 0  # counts set_trail calls
        self._trail_pixels: tuple = (None, None)  # (what they were projected for, pixels)
        self._trail_polygon = QPolygonF()  # the pixels as Qt draws them
        self.ghosts: list[np.ndarray] = []  # states drawn as translucent copies (renderer.add_ghosts)
        self._press: QPointF | None = None
        self._last: QPointF | None = None
        self._dragged = False
        self.setMinimumSize(240, 160)  # small enough for the docks to take the height when asked
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)

    def set_state(self, state: np.ndarray) -> None:
        self.state = np.asarray(state, dtype=np.float64)
        self._changed()

    def set_ghosts(self, states: list[np.ndarray]) -> None:
        self.ghosts = [np.asarray(s, dtype=np.float64) for s in states]
        self._changed()

    def set_camera(self, camera: OrbitCamera) -> None:
        self.camera = camera
        self._changed()

    def _changed(self) -> None:
        self._version += 1
        self.update()  # the paint asks for the frame (a hidden view asks for none)

    def render_size(self) -> tuple[int, int]:
        w, h = max(self.width(), 2), max(self.height(), 2)
        scale = min(1.0, MAX_RENDER[0] / w, MAX_RENDER[1] / h)
        return max(2, int(w * scale)), max(2, int(h * scale))

    def _tag(self) -> tuple:
        return self._version, self.render_size()

    def frame(self) -> QImage:
        """The frame of the present state and camera, waited for if it has not come yet."""
        if self._frame is None or self._frame_tag != self._tag():
            w, h = self.render_size()
            self._frame = self.renderer.render(self.state, self.camera, w, h, self.ghosts)
            self._frame_tag = self._asked = self._tag()
        return self._frame

    def _ask(self) -> None:
        """Ask the render process for the present frame, unless asked already."""
        tag = self._tag()
        if tag != self._asked and tag != self._frame_tag:
            self._asked = tag
            self.renderer.request(self._key, tag, self.state, self.camera, *tag[1], self.ghosts)

    def _frame_came(self, key, tag, image: QImage) -> None:
        if key == self._key and (self._frame_tag is None or tag[0] >= self._frame_tag[0]):
            self._frame, self._frame_tag = image, tag
            self.update()
            self.frameArrived.emit()

    def set_trail(self, points: np.ndarray | None) -> None:
        self.trail = None if points is None else np.asarray(points, dtype=float)
        self._trail_version += 1
        self.update()

    def trail_pixels(self) -> np.ndarray:
        """(N, 2) widget coordinates of the trail's points (those in front of the camera)."""
        if self.trail is None or not len(self.trail):
            return np.zeros((0, 2))
        key = (self._trail_version, self.camera, self.width(), self.height())
        if self._trail_pixels[0] != key:  # projected again only when the trail, camera or size change
            uv = self.camera.project(self.trail, self.width() / max(self.height(), 1))
            self._trail_pixels = (key, uv * [self.width(), self.height()])
            self._trail_polygon = polygon(self._trail_pixels[1])
        return self._trail_pixels[1]

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self._ask()
        painter = QPainter(self)
        if self._frame is not None:  # the newest frame; the next one is on its way
            painter.drawImage(self.rect(), self._frame)
        else:
            painter.fillRect(self.rect(), QColor(200, 200, 200))
        pixels = self.trail_pixels()
        if len(pixels) > 1:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(QPen(QColor(255, 140, 0, 220), 2))
            painter.drawPolyline(self._trail_polygon)
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
