"""Offscreen rendering of a state, an orbit camera, and picking blocks by ray.

The app's 3-D view shows these frames inside its own window (never PyBullet's GUI window).
PyBullet's EGL plugin renders with OpenGL without a display; where it cannot load, the CPU
TinyRenderer is the fallback. Picking casts a ray from the camera through a pixel. The app's views
draw through the render process `serve_frames` runs (app.render_service), never in the window's
own process.
"""
from __future__ import annotations

import math
import os
import signal
from contextlib import nullcontext
from dataclasses import dataclass, replace

import numpy as np

from tasks.bullet import p, quiet_stdio
from tasks.layout import BLOCK_COLOURS, BLOCK_HALF_EXTENTS, MAX_BLOCKS, PALETTE, layout_for, layout_of
from tasks.world import World

NEAR, FAR = 0.05, 20.0
NICE = 5  # the render process yields the CPU to the window's own thread when they compete


@dataclass(frozen=True)
class OrbitCamera:
    """A camera circling `target`: yaw and pitch in degrees, distance in metres. By default in
    front of the robot and above it: every block of the first 25 scenes in sight (from the side,
    the arm hid the yellow block of scene 0)."""

    target: tuple[float, float, float] = (0.15, 0.0, 0.15)
    distance: float = 2.0
    yaw: float = 0.0
    pitch: float = -45.0
    fov: float = 55.0

    def orbit(self, d_yaw: float, d_pitch: float) -> OrbitCamera:
        return replace(self, yaw=(self.yaw + d_yaw) % 360, pitch=float(np.clip(self.pitch + d_pitch, -89, 89)))

    def zoom(self, factor: float) -> OrbitCamera:
        return replace(self, distance=float(np.clip(self.distance * factor, 0.3, 10.0)))

    def pan(self, dx: float, dy: float) -> OrbitCamera:
        """Move the target in the view plane; dx, dy in fractions of the view's height."""
        right, up, _ = self._axes()
        scale = 2 * self.distance * math.tan(math.radians(self.fov / 2))
        t = np.asarray(self.target) - right * dx * scale + up * dy * scale
        return replace(self, target=tuple(float(v) for v in t))

    def eye(self) -> np.ndarray:
        yaw, pitch = math.radians(self.yaw), math.radians(self.pitch)
        offset = np.array([math.cos(pitch) * math.cos(yaw), math.cos(pitch) * math.sin(yaw), -math.sin(pitch)])
        return np.asarray(self.target) + self.distance * offset

    def _axes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        forward = np.asarray(self.target) - self.eye()
        forward /= np.linalg.norm(forward)
        right = np.cross(forward, [0, 0, 1])
        right /= np.linalg.norm(right)
        return right, np.cross(right, forward), forward

    def matrices(self, width: int, height: int) -> tuple[list, list]:
        view = p.computeViewMatrix(self.eye().tolist(), list(self.target), [0, 0, 1])
        proj = p.computeProjectionMatrixFOV(self.fov, width / height, NEAR, FAR)
        return view, proj

    def project(self, points: np.ndarray, aspect: float) -> np.ndarray:
        """(N, 2) view points (u, v) in [0, 1]^2, v down, of world points in front of the camera."""
        view, proj = self.matrices(aspect, 1.0)
        m = np.array(proj).reshape(4, 4).T @ np.array(view).reshape(4, 4).T
        clip = np.c_[np.atleast_2d(points), np.ones(len(np.atleast_2d(points)))] @ m.T
        clip = clip[clip[:, 3] > 1e-6]
        ndc = clip[:, :2] / clip[:, 3:4]
        return np.c_[(ndc[:, 0] + 1) / 2, (1 - ndc[:, 1]) / 2]

    def ray(self, u: float, v: float, aspect: float) -> tuple[np.ndarray, np.ndarray]:
        """World-space ray through the view point (u, v) in [0, 1]^2 (v down): origin, far end."""
        right, up, forward = self._axes()
        h = math.tan(math.radians(self.fov / 2))
        direction = forward + (2 * u - 1) * h * aspect * right + (1 - 2 * v) * h * up
        direction /= np.linalg.norm(direction)
        eye = self.eye()
        return eye, eye + direction * FAR


_SHARED = None  # app.render_service.RemoteRenderer, made on first use
HIDDEN = [0.0, 0.0, -10.0]  # where unused ghosts and the blocks a scene lacks wait, under the floor


def padded(state: np.ndarray) -> np.ndarray:
    """A state of any number of blocks as a state of every palette block: a block keeps its place
    in the state whatever N is (tasks.layout), and the blocks the scene lacks wait under the floor."""
    state = np.asarray(state, dtype=np.float64)
    full = layout_for(MAX_BLOCKS)
    if state.shape[-1] == full.dim:
        return state
    out = np.zeros(full.dim)
    out[:state.shape[-1]] = state
    for i, name in enumerate(PALETTE[len(layout_of(state).blocks):]):
        s = full.block(name)
        out[s.position] = [2.0 * i, 0.0, HIDDEN[2]]  # apart, so they never touch
        out[s.orientation] = [0.0, 0.0, 0.0, 1.0]
    return out


def shared_renderer():
    """The one renderer every view in the app draws with (app.render_service.RemoteRenderer):
    its frames are drawn in a process of its own, off the GUI thread. One, because PyBullet's
    EGL plugin misdraws once a third client in a process loads it (the older clients render an
    empty scene, even after the third closes): the main view and every compare window share it."""
    global _SHARED
    if _SHARED is None:
        from app.render_service import RemoteRenderer

        _SHARED = RemoteRenderer()
    return _SHARED


def close_shared_renderer() -> None:
    """End the render process (the app is closing)."""
    global _SHARED
    if _SHARED is not None:
        _SHARED.close()
        _SHARED = None


class SceneRenderer:
    """Draws states of the world into RGB arrays with a private PyBullet client. Its world holds
    every block of the palette and draws a state of any number of blocks (the blocks the state
    lacks are hidden): one client for every scene (see shared_renderer)."""

    def __init__(self, use_egl: bool = True) -> None:
        self.world = World(egl=use_egl, n_blocks=MAX_BLOCKS)
        self.backend = "egl" if self.world.egl else "tiny"
        self._rendered_once = False
        self._names = {body: name for name, body in self.world.blocks.items()}
        self.ghosts: list[tuple[int, dict[str, int]]] = []

    def close(self) -> None:
        self.world.close()

    def add_ghosts(self, n: int, alpha: float = 0.35) -> None:
        """Have at least `n` translucent copies of the robot and blocks, drawn by `render(...,
        ghosts=...)` and hidden otherwise; they never collide with anything (rendering only)."""
        from tasks.world import ROBOT_URDF

        c = self.world.client
        for _ in range(n - len(self.ghosts)):
            robot = p.loadURDF(ROBOT_URDF, HIDDEN, useFixedBase=True, physicsClientId=c)
            for link in range(-1, p.getNumJoints(robot, physicsClientId=c)):
                p.setCollisionFilterGroupMask(robot, link, 0, 0, physicsClientId=c)
                p.changeVisualShape(robot, link, rgbaColor=[0.6, 0.6, 0.7, alpha], physicsClientId=c)
            blocks = {}
            for name in self.world.blocks:  # posed for the blocks a ghost's state has, hidden otherwise
                rgba = BLOCK_COLOURS[name]
                vis = p.createVisualShape(p.GEOM_BOX, halfExtents=BLOCK_HALF_EXTENTS, rgbaColor=[*rgba[:3], alpha], physicsClientId=c)
                blocks[name] = p.createMultiBody(0, -1, vis, basePosition=HIDDEN, physicsClientId=c)
            self.ghosts.append((robot, blocks))

    def _pose_ghost(self, k: int, state: np.ndarray | None) -> None:
        """Pose ghost k as `state` (its blocks; the others hidden), or hide it (None)."""
        robot, blocks = self.ghosts[k]
        c = self.world.client
        layout = layout_of(state) if state is not None else None
        p.resetBasePositionAndOrientation(robot, HIDDEN if state is None else [0, 0, 0], [0, 0, 0, 1], physicsClientId=c)
        if state is not None:
            for j, q in enumerate(state[layout.joints]):
                p.resetJointState(robot, j, float(q), physicsClientId=c)
        for name, body in blocks.items():
            if layout is None or name not in layout.blocks:
                p.resetBasePositionAndOrientation(body, HIDDEN, [0, 0, 0, 1], physicsClientId=c)
                continue
            s = layout.block(name)
            p.resetBasePositionAndOrientation(body, state[s.position].tolist(), state[s.orientation].tolist(), physicsClientId=c)

    def render(
        self, state: np.ndarray | None, camera: OrbitCamera, width: int = 640, height: int = 480,
        ghosts: list[np.ndarray] | None = None,
    ) -> np.ndarray:
        """(height, width, 3) uint8 image of `state` (or of the scene as it is when None), with the
        translucent copies (see add_ghosts) in the `ghosts` states."""
        if state is not None:
            self.world.set_state(padded(state))
        ghosts = list(ghosts or [])
        if len(ghosts) > len(self.ghosts):
            self.add_ghosts(len(ghosts))
        for k in range(len(self.ghosts)):
            self._pose_ghost(k, np.asarray(ghosts[k], dtype=np.float64) if k < len(ghosts) else None)
        view, proj = camera.matrices(width, height)
        renderer = p.ER_BULLET_HARDWARE_OPENGL if self.backend == "egl" else p.ER_TINY_RENDERER
        # The EGL plugin reports its driver on the first frame; keep that off the terminal.
        with nullcontext() if self._rendered_once else quiet_stdio():
            img = p.getCameraImage(width, height, view, proj, renderer=renderer, physicsClientId=self.world.client)[2]
        self._rendered_once = True
        return np.asarray(img, dtype=np.uint8).reshape(height, width, 4)[:, :, :3]

    def pick(self, state: np.ndarray | None, camera: OrbitCamera, u: float, v: float, aspect: float) -> str | None:
        """The block under view point (u, v), or None."""
        if state is not None:
            self.world.set_state(padded(state))
        start, end = camera.ray(u, v, aspect)
        hit = p.rayTest(start.tolist(), end.tolist(), physicsClientId=self.world.client)[0]
        return self._names.get(hit[0])


def serve_frames(conn, parent_pid: int, pdeathsig: bool) -> None:
    """(In the app's render process, app.render_service) draw the frames asked for on `conn`,
    (state, camera, width, height, ghosts) -> RGB bytes, until the app closes the pipe."""
    from tasks.lifeline import bind_to_parent

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C in a terminal: the app decides
    bind_to_parent(parent_pid, pdeathsig=pdeathsig)
    os.nice(NICE)
    renderer = SceneRenderer()
    conn.send(renderer.backend)
    try:
        while True:
            state, camera, width, height, ghosts = conn.recv()
            rgb = renderer.render(state, camera, width, height, ghosts)
            conn.send_bytes(np.ascontiguousarray(rgb).tobytes())
    except (EOFError, OSError):
        pass
    finally:
        renderer.close()
