"""The move model's training set: demonstrated pick-and-place segments in their canonical frames.

Each aligned 128-state segment of a demonstration that moves one block onto another becomes
(channels (H, 8), condition (COND_DIM,)) through planner.moves. `extract` reads an HDF5
demonstrations file; `save`/`load` keep the result as a compact .npz beside it (joints
quantised to 2e-4 rad in int16, far below what the executor can tell apart), so training
does not re-read the file and a GPU machine can be sent the segments alone.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from planner.moves import CHANNELS, COND_DIM, COND_NAMES, demonstrated_move, move_condition, segment_channels
from tasks.h5io import FileFormatError
from tasks.layout import PHASES

QUANTUM = 2e-4  # rad per int16 step (+-6.5 rad), relative to the segment's first state (see _offset)
SEGMENTS_FORMAT = "kuka-move-segments-1"


@dataclass(frozen=True)
class MoveSegments:
    channels: np.ndarray  # (N, H, CHANNELS) float32: canonical joints and the gripper
    cond: np.ndarray  # (N, COND_DIM) float32
    valid: np.ndarray  # (N,) bool: held out (the demonstrations file's own split)
    source: str  # what they were extracted from (file name and content hash)

    def __len__(self) -> int:
        return len(self.channels)

    def split(self, valid: bool) -> MoveSegments:
        keep = self.valid == valid
        return MoveSegments(self.channels[keep], self.cond[keep], self.valid[keep], self.source)


def extract(path: str | Path, progress=None) -> MoveSegments:
    """Every aligned segment of `path`'s demos that puts a block on another or on the floor."""
    from tasks.dataset import load_states
    from tasks.h5io import open_h5

    with open_h5(path, "r", "demonstrations") as f:
        valid_names = {n.decode() for n in f["mask"]["valid"][:]} if "valid" in f["mask"] else set()
    demos = load_states(path)
    xs, cs, vs = [], [], []
    h = PHASES.length
    for k, (name, states) in enumerate(demos.items()):
        for t in range(0, len(states) - h + 1, h):
            seg = states[t:t + h].astype(np.float64)
            move = demonstrated_move(seg)
            if move is None:
                continue
            xs.append(segment_channels(seg, move))
            cs.append(move_condition(seg[0], move))
            vs.append(name in valid_names)
        if progress:
            progress(k + 1, len(demos))
    if not xs:
        from tasks.h5io import FileFormatError

        raise FileFormatError(f"{path}: no pick-and-place segments in its demos")
    return MoveSegments(np.array(xs, np.float32), np.array(cs, np.float32), np.array(vs), _fingerprint(path))


def _fingerprint(path: str | Path) -> str:
    st = Path(path).stat()
    return f"{Path(path).name}:{st.st_size}:{int(st.st_mtime)}"


def _offset(channels: np.ndarray) -> np.ndarray:
    # Quantise relative to the segment's first state: a joint moves less than 6.5 rad within
    # one pick-and-place, while joint 1's absolute value in a turned frame can exceed it.
    return channels - channels[:, :1]


def save(segments: MoveSegments, path: str | Path) -> None:
    rel = _offset(segments.channels.astype(np.float64))
    if np.abs(rel).max() / QUANTUM > 32767:
        raise ValueError("a joint moves more than 6.5 rad within a segment; cannot quantise")
    tmp = Path(str(path) + ".tmp.npz")
    np.savez_compressed(
        tmp, format=SEGMENTS_FORMAT, cond_names=np.array(COND_NAMES), first=segments.channels[:, 0],
        steps=np.round(rel / QUANTUM).astype(np.int16), cond=segments.cond, valid=segments.valid,
        source=segments.source,
    )
    tmp.replace(path)


def load(path: str | Path) -> MoveSegments:
    """Segments from a .npz written by `save`, or extracted from an HDF5 demonstrations file
    (cached as FILE.segments.npz beside it, refreshed when the file changes)."""
    path = Path(path)
    if not path.is_file():
        raise FileFormatError(f"{path}: no such demonstrations or move-segments file")
    if path.suffix != ".npz":
        cache = path.with_suffix(".segments.npz")
        if cache.exists():
            cached = _read(cache)
            if cached.source == _fingerprint(path):
                return cached
        segments = extract(path)
        save(segments, cache)
        return segments
    return _read(path)


def merge(parts: list[MoveSegments]) -> MoveSegments:
    """Several files' segments as one training set (each keeps its own held-out split)."""
    return MoveSegments(np.concatenate([p.channels for p in parts]), np.concatenate([p.cond for p in parts]),
                        np.concatenate([p.valid for p in parts]), " + ".join(p.source for p in parts))


def _read(path: Path) -> MoveSegments:
    try:
        z = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        why = "not an .npz archive of arrays" if "pickled" in str(e) else " ".join(str(e).split())[:160]
        raise FileFormatError(f"{path}: not a readable move-segments file ({why})") from None
    with z:
        if "format" not in z or str(z["format"]) != SEGMENTS_FORMAT or tuple(z["cond_names"]) != COND_NAMES:
            raise FileFormatError(f"{path}: not a move-segments file of this program's layout")
        channels = z["first"][:, None].astype(np.float64) + z["steps"].astype(np.float64) * QUANTUM
        if channels.shape[1:] != (PHASES.length, CHANNELS) or z["cond"].shape[1] != COND_DIM:
            raise FileFormatError(f"{path}: segments of shape {channels.shape[1:]}, expected ({PHASES.length}, {CHANNELS})")
        return MoveSegments(channels.astype(np.float32), z["cond"], z["valid"], str(z["source"]))
