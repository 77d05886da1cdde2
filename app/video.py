"""Plans as videos and GIFs to share: the 3-D view with the tool trail, several plans side by
side, or the denoising of a plan (every step of each segment's sampling).

No Qt here: `python main.py render` uses it from the command line, and the app runs that same
command in a separate process (its renderer must not share the window's PyBullet client, and a
long render must not hold the window's Python lock). Writing goes through imageio, with the
ffmpeg binary that the imageio-ffmpeg wheel carries for MP4.
"""
from __future__ import annotations

from pathlib import Path
from collections.abc import Callable, Iterator

import numpy as np

from app.render import OrbitCamera, SceneRenderer
from tasks.world import CONTROL_PERIOD

TRAIL_RGB = (255, 140, 0)
PLAN_RGB = [(86, 180, 233), (230, 159, 0), (0, 200, 140), (204, 121, 167), (240, 228, 66)]  # legible on the dark band
FORMATS = (".mp4", ".gif")


def _draw_polyline(img: np.ndarray, pts: np.ndarray, rgb=TRAIL_RGB, width: int = 2) -> None:
    """Draw connected pixel points (N, 2) as (x, y) into img in place."""
    h, w = img.shape[:2]
    for (x0, y0), (x1, y1) in zip(pts[:-1], pts[1:]):
        n = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
        xs = np.linspace(x0, x1, n).round().astype(int)
        ys = np.linspace(y0, y1, n).round().astype(int)
        for dx in range(-(width // 2), width - width // 2):
            for dy in range(-(width // 2), width - width // 2):
                x, y = xs + dx, ys + dy
                ok = (x >= 0) & (x < w) & (y >= 0) & (y < h)
                img[y[ok], x[ok]] = rgb


def frames_of(states: np.ndarray, renderer: SceneRenderer, camera: OrbitCamera, size: tuple[int, int],
              stride: int = 1, trail: bool = True) -> Iterator[np.ndarray]:
    """Rendered frames of `states` (every `stride`-th, the last always), the tool's path so far drawn on."""
    from tasks.metrics import tool_positions

    width, height = size
    tool = tool_positions(states, renderer.world) if trail else None
    picks = list(range(0, len(states), stride))
    if picks[-1] != len(states) - 1:
        picks.append(len(states) - 1)
    for k in picks:
        img = renderer.render(states[k], camera, width, height).copy()
        if tool is not None and k > 0:
            uv = camera.project(tool[: k + 1], width / height)
            ok = np.all(np.isfinite(uv), axis=1)
            if ok.sum() > 1:
                _draw_polyline(img, uv[ok] * [width, height])
        yield img


def write(frames: Iterator[np.ndarray], out: str | Path, fps: float, total: int,
          progress: Callable[[int, int], None] | None = None, should_stop: Callable[[], bool] | None = None) -> int:
    """Write frames to an .mp4 or .gif; returns the frames written. A stop leaves no file behind."""
    import imageio.v2 as imageio

    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise ValueError(f"{out}: the video must end in .mp4 or .gif")
    tmp = out.with_name(f".{out.stem}.partial{out.suffix}")
    if out.suffix.lower() == ".gif":
        writer = imageio.get_writer(tmp, mode="I", duration=1000 / fps, loop=0)
    else:
        writer = imageio.get_writer(tmp, fps=fps, codec="libx264", quality=7, macro_block_size=8, ffmpeg_log_level="error")
    n = 0
    try:
        for img in frames:
            if should_stop is not None and should_stop():
                raise KeyboardInterrupt
            writer.append_data(img)
            n += 1
            if progress is not None:
                progress(n, total)
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise
    writer.close()
    tmp.replace(out)
    return n


def labelled(frames: Iterator[np.ndarray], text: str, rgb=(255, 255, 255)) -> Iterator[np.ndarray]:
    """`frames` with `text` written at their top left on a dark band (which plan is which)."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=14)
    for img in frames:
        picture = Image.fromarray(img)
        draw = ImageDraw.Draw(picture)
        box = draw.textbbox((6, 4), text, font=font)
        draw.rectangle((0, 0, min(box[2] + 6, img.shape[1]), box[3] + 4), fill=(20, 20, 20))
        draw.text((6, 4), text, fill=tuple(rgb), font=font)
        yield np.asarray(picture)


def side_by_side(streams: list[Iterator[np.ndarray]]) -> Iterator[np.ndarray]:
    """One frame per step with each stream's frame next to the others' (a stream that ended
    keeps its last frame)."""
    last: list[np.ndarray | None] = [None] * len(streams)
    while True:
        moved = False
        for i, s in enumerate(streams):
            frame = next(s, None)
            if frame is not None:
                last[i], moved = frame, True
        if not moved:
            return
        yield np.concatenate([f for f in last if f is not None], axis=1)


def render_plans(plans: list, out: str | Path, size: tuple[int, int] = (480, 360), speed: float = 1.0,
                 fps: float = 15.0, camera: OrbitCamera = OrbitCamera(), trail: bool = True,
                 progress=None, should_stop=None) -> int:
    """A video of one plan, or of several side by side, played `speed` times real time."""
    stride = max(1, int(round(speed / (fps * CONTROL_PERIOD))))
    renderer = SceneRenderer()
    try:
        # One client draws every stream in turn: frames_of sets the whole state before each render.
        streams = [frames_of(np.asarray(p.states), renderer, camera, size, stride, trail) for p in plans]
        if len(plans) > 1:  # side by side: each plan's name on its own view, in its colour in the app's plots
            streams = [labelled(s, p.name or p.id, PLAN_RGB[k % len(PLAN_RGB)]) for k, (s, p) in enumerate(zip(streams, plans))]
        total = max(len(range(0, len(p.states), stride)) + 1 for p in plans)
        return write(side_by_side(streams) if len(plans) > 1 else streams[0], out, fps, total, progress, should_stop)
    finally:
        renderer.close()


def render_denoising(plan, out: str | Path, size: tuple[int, int] = (480, 360), fps: float = 6.0,
                     camera: OrbitCamera = OrbitCamera(), progress=None, should_stop=None) -> int:
    """An animation of the plan forming: for each segment, each denoising step's trajectory as a
    tool path, drawn over the segment's start (the last step is the plan itself)."""
    from tasks.metrics import tool_positions

    if plan.denoising is None:
        raise ValueError(f"plan {plan.id or plan.name!r} was stored without its denoising steps")
    snaps = np.asarray(plan.denoising)  # (segments, steps, H, dim)
    width, height = size
    renderer = SceneRenderer()

    def frames() -> Iterator[np.ndarray]:
        for seg in range(snaps.shape[0]):
            for k in range(snaps.shape[1]):
                states = snaps[seg, k]
                img = renderer.render(states[0], camera, width, height).copy()
                uv = camera.project(tool_positions(states, renderer.world), width / height)
                ok = np.all(np.isfinite(uv), axis=1)
                if ok.sum() > 1:
                    _draw_polyline(img, uv[ok] * [width, height])
                yield img

    try:
        return write(frames(), out, fps, snaps.shape[0] * snaps.shape[1], progress, should_stop)
    finally:
        renderer.close()
