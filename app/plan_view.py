"""The centre of the window: the 3-D view with playback, the tool trail, and how the plan formed
(the denoising slider and the guide's plot)."""
from __future__ import annotations

import functools
import json
from dataclasses import asdict

import numpy as np
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QVBoxLayout, QWidget

from app.constraints_panel import ConstraintsPanel
from app.denoising import DenoisingSlider, GuidePlot, carried_by_arm
from app.playback import PlaybackBar
from app.view import SceneView


@functools.cache
def _tool_fk():
    from planner.kinematics import ToolFK

    return ToolFK()


def tool_path(states: np.ndarray) -> np.ndarray:
    """(T, 3) tool point positions of `states`, by the batched forward kinematics (the robot's
    base is the world's origin): a millisecond for a plan, where one PyBullet call per state
    held the GUI thread for tens."""
    import torch

    from tasks.layout import layout_of

    states = np.asarray(states)
    with torch.no_grad():
        return _tool_fk()(torch.as_tensor(states[:, layout_of(states).joints], dtype=torch.float64)).numpy()


class PlanView(QWidget):
    """Shows a scene, or plays frames (a plan's realised states, a demonstration)."""

    def __init__(self) -> None:
        super().__init__()
        self.view = SceneView()
        self.playback = PlaybackBar()
        self.playback.frameChanged.connect(self._show_frame)
        self.trail_box = QCheckBox("Tool trail")
        self.trail_box.setChecked(True)
        self.trail_box.setToolTip("Draw the path the tool takes through the plan in the 3-D view")
        self.trail_box.toggled.connect(lambda _: self.update_trail())
        self.denoising = DenoisingSlider()
        self.denoising.stepChanged.connect(self._show_denoising)
        self.guide_plot = GuidePlot()
        self.constraints = ConstraintsPanel()  # the window docks it
        self.frames: np.ndarray | None = None
        self.snapshots: np.ndarray | None = None  # (segments, steps, H, dim) of the shown plan
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        # The guide's plot beside the view, always there (empty for a plan without one): the view
        # keeps its size whatever plan is shown.
        top = QHBoxLayout()
        top.addWidget(self.view, 1)
        top.addWidget(self.guide_plot)
        layout.addLayout(top, 1)
        layout.addWidget(self.playback)
        watch = QHBoxLayout()
        watch.addWidget(self.trail_box)
        watch.addWidget(self.denoising, 1)
        layout.addLayout(watch)

    def show_scene(self, state: np.ndarray) -> None:
        """A still scene: no frames to play, no trail."""
        self.frames, self.snapshots = None, None
        self.playback.set_length(0)
        self.constraints.show_plan(None)
        self.view.set_state(state)
        self.view.set_trail(None)

    def show_frames(self, frames: np.ndarray, plan=None, play: bool = False) -> None:
        """Play `frames`; with `plan`, also how it formed (its denoising and guide values)."""
        self.frames = np.asarray(frames)
        self.snapshots = getattr(plan, "denoising", None)
        self.playback.set_length(len(self.frames))
        self.playback.set_frame(0)
        self._show_frame(0)
        self.update_trail()
        self.guide_plot.show_plan(plan)
        self.constraints.show_plan(plan)
        self.denoising.set_steps(None if self.snapshots is None else self.snapshots.shape[1])
        if play:
            self.playback.set_playing(True)

    def _show_frame(self, k: int) -> None:
        if self.frames is not None and len(self.frames):
            self.view.set_state(self.frames[min(k, len(self.frames) - 1)])
            if not self.denoising.at_plan:
                self._show_denoising(self.denoising.step)

    def update_trail(self) -> None:
        show = self.trail_box.isChecked() and self.frames is not None and len(self.frames) > 1
        self.view.set_trail(tool_path(self.frames) if show else None)

    def _show_denoising(self, k: int) -> None:
        """Step k of the denoising of the segment under the playback cursor: its tool path as the
        trail and the arm at the cursor's time, carrying what the plan holds then (the last step
        is the plan itself)."""
        snaps = self.snapshots
        if snaps is None:
            return
        seg_len = snaps.shape[2]
        frame = self.playback.frame
        seg = min(frame // seg_len, len(snaps) - 1)
        states = snaps[seg, k]
        self.denoising.show_step(k, snaps.shape[1], seg)
        if k == snaps.shape[1] - 1:
            self.update_trail()
            return
        t = min(frame - seg * seg_len, seg_len - 1)
        self.view.set_state(carried_by_arm(states[t], snaps[seg, -1, t], self.view.renderer.world))
        self.view.set_trail(tool_path(states) if self.trail_box.isChecked() else None)

    # ------------------------------------------------------------------ prefs
    def restore(self, prefs) -> None:
        """Playback speed and loop, the trail and the camera as the user left them."""
        speed = prefs.value("playback/speed")
        if speed is not None and self.playback.speed.findData(float(speed)) >= 0:
            self.playback.speed.setCurrentIndex(self.playback.speed.findData(float(speed)))
        self.playback.loop.setChecked(str(prefs.value("playback/loop", "false")).lower() == "true")
        self.trail_box.setChecked(str(prefs.value("playback/trail", "true")).lower() == "true")
        camera = prefs.value("view/camera")
        if camera:
            from app.render import OrbitCamera

            try:
                self.view.set_camera(OrbitCamera(**{k: tuple(v) if isinstance(v, list) else v
                                                    for k, v in json.loads(camera).items()}))
            except (TypeError, ValueError):
                pass  # a camera saved by another version: keep the default view

    def save(self, prefs) -> None:
        prefs.setValue("playback/speed", self.playback.speed.currentData())
        prefs.setValue("playback/loop", self.playback.loop.isChecked())
        prefs.setValue("playback/trail", self.trail_box.isChecked())
        prefs.setValue("view/camera", json.dumps(asdict(self.view.camera)))
