"""The 3-D views' frames, drawn in a process of their own.

PyBullet's getCameraImage holds Python's lock for the whole frame (tens of milliseconds with EGL,
more with the CPU TinyRenderer), so drawn in the app it would stall the window. A render process,
bound to the app's life (tasks.lifeline), holds the one SceneRenderer (and its EGL client); the
app sends it (state, camera, size, ghosts) and gets RGB bytes back through a pipe. A thread of
the app does the exchanges, one view's latest request at a time (a view that changed again
before its frame came gets only the newest), and hands each frame to the GUI thread as a QImage:
the GUI thread only blits.

Picking (a ray from the camera) and the kinematics the views need (the tool's trail, a carried
block) stay in the app, on a physics client that never renders: each is one quick call.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import threading

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from app.render import OrbitCamera, SceneRenderer, serve_frames

CLOSE_WAIT = 2.0  # seconds the closing app waits for the render process at each step


class RemoteRenderer(QObject):
    """What the app's views draw with: `request` a frame (it comes as frameReady(key, tag,
    image)), `render` one and wait for it, `pick` a block and use `world` for kinematics here."""

    frameReady = Signal(object, object, object)  # view key, the request's tag, QImage

    def __init__(self) -> None:
        super().__init__()
        self.local = SceneRenderer(use_egl=False)  # picking and kinematics; never renders
        self.world = self.local.world
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        # The parent-death signal follows the thread that starts the child: asked for only from
        # the main thread, which lives as long as the app (the watcher covers the other case).
        main = threading.current_thread() is threading.main_thread()
        self.process = ctx.Process(target=serve_frames, args=(child, os.getpid(), main), name="renderer", daemon=True)
        self.process.start()
        child.close()
        self._backend: str | None = None
        self._io = threading.Lock()  # one exchange with the render process at a time
        self._wake = threading.Condition()
        self._pending: dict = {}  # view key -> (tag, request), oldest first
        self._closed = False
        self._thread = threading.Thread(target=self._serve_requests, name="render-client", daemon=True)
        self._thread.start()

    @property
    def backend(self) -> str:
        """"egl" or "tiny": what the render process draws with."""
        with self._io:
            self._greeted()
            return self._backend

    def _greeted(self) -> None:
        if self._backend is None:
            self._backend = self._conn.recv()

    def _exchange(self, request: tuple) -> QImage:
        """(With the lock held) one frame drawn in the render process."""
        self._greeted()
        self._conn.send(request)
        data = self._conn.recv_bytes()
        width, height = request[2], request[3]
        # Converted here, off the GUI thread, to the format the window paints without converting.
        return QImage(data, width, height, 3 * width, QImage.Format.Format_RGB888).convertToFormat(
            QImage.Format.Format_RGB32)

    def render(self, state: np.ndarray | None, camera: OrbitCamera, width: int, height: int,
               ghosts: list[np.ndarray] | None = None) -> QImage:
        """A frame, waited for (tests and one-off images; the views use `request`)."""
        with self._io:
            return self._exchange((state, camera, width, height, list(ghosts or [])))

    def request(self, key, tag, state: np.ndarray | None, camera: OrbitCamera, width: int, height: int,
                ghosts: list[np.ndarray] | None = None) -> None:
        """Ask for a frame for view `key`; it comes as frameReady(key, tag, image). A request of
        the same key not yet drawn is replaced."""
        with self._wake:
            self._pending.pop(key, None)
            self._pending[key] = (tag, (state, camera, width, height, list(ghosts or [])))
            self._wake.notify()

    def _serve_requests(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                key = next(iter(self._pending))
                tag, request = self._pending.pop(key)
            try:
                with self._io:
                    image = self._exchange(request)
            except (EOFError, OSError):  # the render process is gone (the app is closing)
                return
            self.frameReady.emit(key, tag, image)

    def pick(self, state: np.ndarray | None, camera: OrbitCamera, u: float, v: float, aspect: float) -> str | None:
        """The block under view point (u, v), or None (a ray cast here, not in the render process)."""
        return self.local.pick(state, camera, u, v, aspect)

    def add_ghosts(self, n: int, alpha: float = 0.35) -> None:
        """Nothing to do: the render process makes the translucent copies a frame asks for."""

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        # After the frame being drawn, if any; a render process that does not answer (still starting
        # on a loaded machine, or stuck) is ended rather than waited for.
        drawn = self._io.acquire(timeout=CLOSE_WAIT)
        if not drawn:
            self.process.terminate()
        try:
            self._conn.close()
        finally:
            if drawn:
                self._io.release()
        self.process.join(CLOSE_WAIT)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(CLOSE_WAIT)
        self.local.close()
