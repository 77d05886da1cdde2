"""Episodes as a LeRobot dataset, in the layout LeRobot 0.4 reads (codebase version v3.0).

```
meta/info.json                                  codebase_version, fps, features (names, shapes, dtypes), totals, paths
meta/tasks.parquet                              task text (the index) -> task_index
meta/stats.json                                 per feature: min, max, mean, std, count, q01 ... q99
meta/episodes/chunk-000/file-000.parquet        one row per episode: its tasks, length, rows, video span, stats
data/chunk-000/file-000.parquet                 one row per frame (a new file past about 100 MB)
videos/observation.images.view/chunk-000/file-<e>.mp4   one MP4 per episode (H.264)
```
Nothing here depends on LeRobot itself: the tables are written with pyarrow and pandas (the
export's requirements), the videos with imageio's ffmpeg. The whole folder is written under a
temporary name and renamed when complete, so a stopped export leaves nothing that looks whole.
"""
from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from tasks.export.episodes import Episode, Selection, episodes
from tasks.export.lerobot_stats import aggregate, feature_stats, pixel_stats
from tasks.stopping import Cancelled
from tasks.world import CONTROL_PERIOD

CODEBASE_VERSION = "v3.0"  # LeRobot's dataset format that its 0.4 releases read and write
VIDEO_KEY = "observation.images.view"
ROBOT_TYPE = "kuka_iiwa"
CHUNKS_SIZE = 1000  # files per chunk folder, as LeRobot's default
DATA_FILE_MB = 100  # a data file is closed past this size, as LeRobot's default
VIDEO_FILE_MB = 200
FPS = int(round(1 / CONTROL_PERIOD))  # one frame per state
assert abs(FPS * CONTROL_PERIOD - 1) < 1e-9, "LeRobot needs a whole number of frames per second"

Frames = Callable[[np.ndarray], Iterator[np.ndarray]]  # (T, dim) states -> T RGB images (H, W, 3) uint8


def chunk_path(template: str, index: int, **more) -> str:
    """A LeRobot file path for the index-th file: chunk index // CHUNKS_SIZE, file index % CHUNKS_SIZE."""
    return template.format(chunk_index=index // CHUNKS_SIZE, file_index=index % CHUNKS_SIZE, **more)


DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
EPISODES_PATH = "meta/episodes/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"


def features(selection: Selection, size: tuple[int, int] | None) -> dict:
    """info.json's features: each column's dtype, shape and names (the video's when `size`)."""
    layout = selection.layout
    action_names = [f"{n}_delta" for n in layout.names[:7]] + [f"{b}_attached_delta" for b in layout.blocks]
    out = {
        "observation.state": {"dtype": "float32", "shape": [layout.dim], "names": layout.names},
        "action": {"dtype": "float32", "shape": [len(action_names)], "names": action_names},
        "next.reward": {"dtype": "float32", "shape": [1], "names": None},
        "next.done": {"dtype": "bool", "shape": [1], "names": None},
    }
    if size is not None:
        width, height = size
        out[VIDEO_KEY] = {
            "dtype": "video", "shape": [height, width, 3], "names": ["height", "width", "channels"],
            "info": {"video.height": height, "video.width": width, "video.codec": "h264", "video.pix_fmt": "yuv420p",
                     "video.is_depth_map": False, "video.fps": FPS, "video.channels": 3, "has_audio": False},
        }
    for name in ("timestamp", "frame_index", "episode_index", "index", "task_index"):
        out[name] = {"dtype": "float32" if name == "timestamp" else "int64", "shape": [1], "names": None}
    return out


class _Video:
    """One episode's MP4, with its per-channel pixel stats (values in 0..1, as LeRobot's)."""

    def __init__(self, path: Path) -> None:
        import imageio.v2 as imageio

        path.parent.mkdir(parents=True, exist_ok=True)
        # Keyframes every 2 frames, as LeRobot encodes: a frame is found by seeking, not by decoding the episode.
        self.writer = imageio.get_writer(path, fps=FPS, codec="libx264", quality=None, pixelformat="yuv420p",
                                         macro_block_size=1, ffmpeg_log_level="error",
                                         output_params=["-crf", "20", "-g", "2"])
        self.histogram = np.zeros((3, 256), np.int64)  # exact quantiles of 8-bit pixels
        self.frames = 0

    def append(self, img: np.ndarray) -> None:
        self.writer.append_data(img)
        for c in range(3):
            self.histogram[c] += np.bincount(img[..., c].ravel(), minlength=256)
        self.frames += 1

    def close(self) -> None:
        self.writer.close()

    def stats(self) -> dict[str, np.ndarray]:
        return pixel_stats(self.histogram, self.frames)


def write_lerobot(selection: Selection, out: str | Path, frames: Frames | None, size: tuple[int, int] | None,
                  progress: Callable[[int, int], None] | None = None,
                  should_stop: Callable[[], bool] | None = None) -> int:
    """Write the selection as a LeRobot dataset folder `out` (which must not exist); with
    `frames`, an MP4 of `size` (width, height) per episode. Returns the episodes written. A stop
    (`should_stop`, Cancelled) or an error leaves no `out` and removes the partial folder."""
    out = Path(out)
    tmp = out.with_name(f".{out.name}.partial")
    if tmp.exists():  # a killed export's leftovers
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        n = _write(selection, tmp, frames, size if frames is not None else None, progress, should_stop)
        tmp.rename(out)
        return n
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


class _DataFiles:
    """The frames' parquet files: a new file once the next episode would take this one past
    DATA_FILE_MB."""

    def __init__(self, root: Path, layout, action_dim: int) -> None:
        import pyarrow as pa

        self.root = root
        self.schema = pa.schema([
            ("observation.state", pa.list_(pa.float32(), layout.dim)), ("action", pa.list_(pa.float32(), action_dim)),
            ("next.reward", pa.float32()), ("next.done", pa.bool_()), ("timestamp", pa.float32()),
            ("frame_index", pa.int64()), ("episode_index", pa.int64()), ("index", pa.int64()), ("task_index", pa.int64()),
        ])
        self.rows_per_file = DATA_FILE_MB * 2**20 // (4 * (layout.dim + action_dim) + 4 * 8 + 4 + 1 + 4)
        self.writer, self.file, self.rows = None, -1, 0

    def append(self, columns: dict[str, np.ndarray]) -> int:
        """Write one episode's rows; returns the index of the file they went to."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        t = len(columns["index"])
        if self.writer is None or self.rows and self.rows + t > self.rows_per_file:
            self.close()
            self.file, self.rows = self.file + 1, 0
            path = self.root / chunk_path(DATA_PATH, self.file)
            path.parent.mkdir(parents=True, exist_ok=True)
            self.writer = pq.ParquetWriter(path, self.schema)
        table = {name: _column(columns[name], self.schema.field(name).type) for name in self.schema.names}
        self.writer.write_table(pa.table(table, schema=self.schema))
        self.rows += t
        return self.file

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def _frame_columns(ep: Episode, e: int, first: int, task_index: int) -> dict[str, np.ndarray]:
    """Episode `e`'s rows, its frames numbered from `first` over the dataset."""
    t = len(ep.states)
    return {"observation.state": ep.states, "action": ep.actions, "next.reward": ep.next_rewards,
            "next.done": ep.dones.astype(bool), "timestamp": (np.arange(t) / FPS).astype(np.float32),
            "frame_index": np.arange(t), "episode_index": np.full(t, e), "index": first + np.arange(t),
            "task_index": np.full(t, task_index)}


def _episode_row(ep: Episode, e: int, first: int, data_file: int, stats: dict, video: bool) -> dict:
    """meta/episodes' row of episode `e`: where its rows and video are, our own columns, its stats."""
    t = len(ep.states)
    row = {"episode_index": e, "tasks": [ep.task], "length": t,
           "data/chunk_index": data_file // CHUNKS_SIZE, "data/file_index": data_file % CHUNKS_SIZE,
           "dataset_from_index": first, "dataset_to_index": first + t}
    if video:  # one MP4 per episode: its video starts at 0
        row.update({f"videos/{VIDEO_KEY}/chunk_index": e // CHUNKS_SIZE, f"videos/{VIDEO_KEY}/file_index": e % CHUNKS_SIZE,
                    f"videos/{VIDEO_KEY}/from_timestamp": 0.0, f"videos/{VIDEO_KEY}/to_timestamp": t / FPS})
    row.update({"meta/episodes/chunk_index": 0, "meta/episodes/file_index": 0, "kuka/source": ep.source,
                "kuka/kind": ep.kind, "kuka/goal": ep.goal.to_json(), "kuka/seed": ep.seed, "kuka/valid": ep.valid})
    row.update({f"stats/{name}/{k}": v.tolist() for name, s in stats.items() for k, v in s.items()})
    return row


def _write(selection: Selection, root: Path, frames: Frames | None, size, progress, should_stop) -> int:
    feats = features(selection, size)
    data = _DataFiles(root, selection.layout, feats["action"]["shape"][0])
    tasks: dict[str, int] = {}
    rows: list[dict] = []  # one per episode, for meta/episodes
    stats: dict[str, list] = {}
    first = 0  # the next frame's index over the dataset
    try:
        for e, ep in enumerate(episodes(selection)):
            if should_stop is not None and should_stop():
                raise Cancelled
            columns = _frame_columns(ep, e, first, tasks.setdefault(ep.task, len(tasks)))
            data_file = data.append(columns)
            ep_stats = {name: feature_stats(v.reshape(len(v), -1)) for name, v in columns.items() if name != "next.done"}
            if frames is not None:
                path = root / chunk_path(VIDEO_PATH, e, video_key=VIDEO_KEY)
                ep_stats[VIDEO_KEY] = _video(ep, path, frames, size, should_stop)
            rows.append(_episode_row(ep, e, first, data_file, ep_stats, frames is not None))
            for name, s in ep_stats.items():
                stats.setdefault(name, []).append(s)
            first += len(ep.states)
            if progress is not None:
                progress(e + 1, len(selection))
    finally:
        data.close()
    info = {
        "codebase_version": CODEBASE_VERSION, "robot_type": ROBOT_TYPE, "total_episodes": len(rows),
        "total_frames": first, "total_tasks": len(tasks), "chunks_size": CHUNKS_SIZE,
        "data_files_size_in_mb": DATA_FILE_MB, "video_files_size_in_mb": VIDEO_FILE_MB, "fps": FPS,
        "splits": {"train": f"0:{len(rows)}"}, "data_path": DATA_PATH,
        "video_path": VIDEO_PATH if frames is not None else None, "features": feats,
        "kuka": {"env_args": selection.env, "sources": [str(p) for p in (selection.data, selection.plans) if p]},
    }
    _write_meta(root, info, rows, tasks, {name: aggregate(s) for name, s in stats.items()})
    return len(rows)


def _write_meta(root: Path, info: dict, rows: list[dict], tasks: dict[str, int], stats: dict) -> None:
    """meta/: info.json, tasks.parquet (the task text as the index, as LeRobot reads it with
    pandas), stats.json and the episodes' table."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = root / EPISODES_PATH.format(chunk_index=0, file_index=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
    tasks_table = pd.DataFrame({"task_index": list(tasks.values())}, index=pd.Index(list(tasks), name="task"))
    tasks_table.to_parquet(root / "meta" / "tasks.parquet")
    (root / "meta" / "stats.json").write_text(json.dumps(
        {name: {k: v.tolist() for k, v in s.items()} for name, s in stats.items()}, indent=2))
    (root / "meta" / "info.json").write_text(json.dumps(info, indent=2))


def _column(values: np.ndarray, kind):
    """A pyarrow column of `kind` from a numpy array (fixed-size lists for vectors)."""
    import pyarrow as pa

    values = np.asarray(values)
    if values.ndim == 2:
        flat = pa.array(values.astype(np.float32).ravel(), type=pa.float32())
        return pa.FixedSizeListArray.from_arrays(flat, values.shape[1])
    return pa.array(values, type=kind)


def _video(ep: Episode, path: Path, frames: Frames, size, should_stop) -> dict[str, np.ndarray]:
    video = _Video(path)
    try:
        for img in frames(ep.states):
            if should_stop is not None and should_stop():
                raise Cancelled
            if img.shape[:2] != (size[1], size[0]):
                raise ValueError(f"a frame of {img.shape[1]} x {img.shape[0]} pixels, expected {size[0]} x {size[1]}")
            video.append(img)
    finally:
        video.close()
    if video.frames != len(ep.states):
        raise ValueError(f"{ep.source}: {video.frames} frames for {len(ep.states)} states")
    return video.stats()
