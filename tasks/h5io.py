"""HDF5 helpers shared by the demonstrations and plans files.

Every append opens the file, writes one group, and closes it. HDF5 keeps its metadata in memory
until the file is closed, so a process killed mid-append leaves the file as it was before that
append (the new group's raw bytes past the end are simply unreferenced).
"""
from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import h5py
import numpy as np

from tasks.layout import LAYOUT


LOCK_RETRIES = 100
LOCK_WAIT = 0.05  # seconds between tries while another process appends


class FileFormatError(ValueError):
    """A file that is not readable HDF5, or not the kind of file expected; names the file."""


@contextmanager
def open_h5(path: str | os.PathLike, mode: str, kind: str) -> Iterator[h5py.File]:
    """Open `path`; unreadable files raise FileFormatError naming the file and never get replaced."""
    path = Path(path)
    if mode == "r" and not path.exists():
        raise FileFormatError(f"{path}: no such {kind} file")
    if mode == "a" and path.exists() and not h5py.is_hdf5(path):
        raise FileFormatError(f"{path}: not an HDF5 {kind} file (corrupt or another format); left untouched")
    f = None
    for _ in range(LOCK_RETRIES):
        try:
            f = h5py.File(path, mode)
            break
        except BlockingIOError:
            # Another process holds the file for one append (milliseconds): wait for it.
            time.sleep(LOCK_WAIT)
        except OSError as e:
            raise FileFormatError(f"{path}: cannot open {kind} file ({e}); left untouched") from None
    if f is None:
        raise FileFormatError(f"{path}: {kind} file is locked by another process that is writing it; try again")
    try:
        yield f
    finally:
        f.close()


def check_layout(f: h5py.File, where: str, path) -> None:
    """Refuse files whose state layout is not ours."""
    names = f[where].attrs.get("state_names")
    if names is None and "env_args" in f[where].attrs:
        names = json.loads(f[where].attrs["env_args"]).get("state_names")
    if names is not None and [str(n) for n in names] != LAYOUT.names:
        raise FileFormatError(f"{path}: state layout differs from this program's 39-d layout")


def append_strings(group: h5py.Group, name: str, values: list[str]) -> None:
    """Append to a resizable 1-D bytes dataset (created on first use)."""
    data = np.array([v.encode() for v in values], dtype="S32")
    if name not in group:
        group.create_dataset(name, data=data, maxshape=(None,), chunks=True)
        return
    ds = group[name]
    ds.resize(len(ds) + len(data), axis=0)
    ds[-len(data):] = data
