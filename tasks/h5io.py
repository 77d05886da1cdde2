"""HDF5 helpers shared by the demonstrations, plans and episodes files.

Each file says what it is: a `format` attribute at its root (files written before the tag
existed are recognised by their top group). A file of another kind, or not HDF5 at all, is
refused with its name and never written to.

Every append opens the file, writes one group, and closes it, and is all or nothing: an error
while writing the record (a value HDF5 cannot store, a full disk) removes the half-written group
before the error is reported, and the file-wide counters change only after the record is whole.
HDF5 keeps its metadata in memory until the file is closed, so a process killed mid-append also
leaves the file as it was before that append.
"""
from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from pathlib import Path
from collections.abc import Iterator

import h5py
import numpy as np

from tasks.layout import DEFAULT_BLOCKS, PALETTE, StateLayout, block_names, layout_for


LOCK_RETRIES = 100
LOCK_WAIT = 0.05  # seconds between tries while another process appends


# kind -> (format tag, top group)
FORMATS = {
    "demonstrations": ("kuka-demonstrations-1", "data"),
    "plans": ("kuka-plans-1", "plans"),
    "episodes": ("kuka-episodes-1", "episodes"),
}


class FileFormatError(ValueError):
    """A file that is not readable HDF5, or not the kind of file expected; names the file."""


def check_target(path: str | os.PathLike, kind: str) -> None:
    """Refuse, before any work, an output path that cannot become or is not a `kind` file."""
    path = Path(path)
    if path.is_dir():
        raise FileFormatError(f"{path}: is a folder, not {_a(kind)} file")
    if not path.parent.is_dir():
        raise FileFormatError(f"{path}: no such folder {path.parent}")
    if path.exists():
        with open_h5(path, "r+", kind):
            pass  # readable, writable and of our kind
    elif not os.access(path.parent, os.W_OK | os.X_OK):
        raise FileFormatError(f"{path}: cannot create it, the folder {path.parent} is not writable")


def check_writable_place(target: str | os.PathLike, folder: str | os.PathLike) -> None:
    """Refuse `target` when the nearest existing folder at or above `folder` (which may not exist
    yet: it would be made) is not a writable folder."""
    folder = Path(folder)
    existing = next(q for q in (folder, *folder.parents) if q.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise FileFormatError(f"{target}: cannot write there ({existing} is not a writable folder)")


def _check_kind(f: h5py.File, kind: str, path: Path) -> None:
    if kind not in FORMATS:
        return
    tag, group = FORMATS[kind]
    found = f.attrs.get("format")
    if found is not None:
        if str(found) != tag:
            raise FileFormatError(f"{path}: a {found} file, not {_a(kind)} file ({tag}); left untouched")
        return
    if len(f) and group not in f:  # an older file of ours has its top group; an empty one is new
        keys = ", ".join(sorted(f)[:3])
        raise FileFormatError(f"{path}: not {_a(kind)} file (it holds {keys}, no '{group}'); left untouched")


def tag(f: h5py.File, kind: str) -> None:
    """Mark a file we write as a `kind` file."""
    if f.attrs.get("format") is None:
        f.attrs["format"] = FORMATS[kind][0]


@contextmanager
def new_record(parent: h5py.Group, name: str) -> Iterator[h5py.Group]:
    """Create group `name`; if anything fails before the block ends, the group is removed again."""
    g = parent.create_group(name)
    try:
        yield g
    except BaseException:
        del parent[name]
        raise


@contextmanager
def open_h5(path: str | os.PathLike, mode: str, kind: str) -> Iterator[h5py.File]:
    """Open `path`; unreadable, damaged or foreign files raise FileFormatError naming the file,
    and are never replaced or written to."""
    path = Path(path)
    if path.is_dir():
        raise FileFormatError(f"{path}: is a folder, not {_a(kind)} file")
    if mode in ("r", "r+") and not path.exists():
        raise FileFormatError(f"{path}: no such {kind} file")
    if path.exists() and not h5py.is_hdf5(path):
        raise FileFormatError(f"{path}: not an HDF5 {kind} file (corrupt or another format); left untouched")
    if mode in ("a", "w") and not path.parent.is_dir():
        raise FileFormatError(f"{path}: no such folder {path.parent}")
    created = mode in ("a", "w") and not path.exists()
    f = None
    for _ in range(LOCK_RETRIES):
        try:
            f = h5py.File(path, mode)
            break
        except BlockingIOError:
            # Another process holds the file for one append (milliseconds): wait for it.
            time.sleep(LOCK_WAIT)
        except OSError as e:
            raise FileFormatError(f"{path}: cannot open {kind} file ({_short(e)}); left untouched") from None
    if f is None:
        raise FileFormatError(f"{path}: {kind} file is locked by another process that is writing it; try again")
    try:
        if mode != "w":
            _check_kind(f, kind, path)
        yield f
    except BaseException as e:
        f.close()
        if created:  # a file this call created and could not fill is not left behind
            path.unlink(missing_ok=True)
        if isinstance(e, FileFormatError) or not isinstance(e, (OSError, KeyError, ValueError, TypeError)):
            raise
        # h5py's errors for damaged data or a missing member, or a stored value we cannot read
        if mode == "r":
            raise FileFormatError(f"{path}: {kind} file damaged or not in this program's layout "
                                  f"({type(e).__name__}: {_short(e)})") from None
        raise FileFormatError(f"{path}: could not write the {kind} record: the file is damaged or not in this "
                              f"program's layout ({type(e).__name__}: {_short(e)}); the records already in it are "
                              f"kept") from None
    finally:
        f.close()


def _a(kind: str) -> str:
    return ("an " if kind[0] in "aeiou" else "a ") + kind


def _short(e: Exception, limit: int = 160) -> str:
    text = " ".join(str(e).split())
    return text if len(text) <= limit else text[:limit] + "..."


def _state_names(f: h5py.File, where: str) -> list | None:
    """The state names a file's top group lists (its own attribute, or its env_args), if any."""
    if where not in f:
        return None
    attrs = f[where].attrs
    if "state_names" in attrs:
        return list(attrs["state_names"])
    return json.loads(attrs["env_args"]).get("state_names") if "env_args" in attrs else None


def file_blocks(f: h5py.File, where: str, path) -> tuple[str, ...]:
    """The blocks a file's states hold, in order: its root `blocks` attribute, or (files written
    before it existed) those its state names list, or the paper's four."""
    found = f.attrs.get("blocks")
    if found is not None:
        names = tuple(str(b) for b in found)
    else:
        state_names = _state_names(f, where)
        if state_names is None:
            return block_names(DEFAULT_BLOCKS)
        names = tuple(dict.fromkeys(str(n).rsplit("_", 1)[0] for n in state_names if not str(n).startswith("joint_")))
    if names != PALETTE[:len(names)] or len(names) < 2:
        listed = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
        raise FileFormatError(f"{path}: state layout differs from this program's: its blocks ({listed}) are not "
                              f"the first 2 to {len(PALETTE)} of {', '.join(PALETTE)}")
    return names


def check_layout(f: h5py.File, where: str, path, n_blocks: int | None = None) -> StateLayout:
    """The layout of a file's states; refuses files whose layout is not ours, and (with
    `n_blocks`, for an append) files of another number of blocks."""
    layout = layout_for(len(file_blocks(f, where, path)))
    names = _state_names(f, where)
    if names is not None and [str(n) for n in names] != layout.names:
        raise FileFormatError(f"{path}: state layout differs from this program's layout of {len(layout.blocks)} blocks")
    if n_blocks is not None and n_blocks != len(layout.blocks):
        raise FileFormatError(f"{path}: holds scenes of {len(layout.blocks)} blocks ({', '.join(layout.blocks)}), "
                              f"not {n_blocks}; use another file")
    return layout


def set_blocks(f: h5py.File, layout: StateLayout) -> None:
    """Record a new file's blocks (root attribute `blocks`, in state order)."""
    if f.attrs.get("blocks") is None:
        f.attrs["blocks"] = list(layout.blocks)


def append_strings(group: h5py.Group, name: str, values: list[str]) -> None:
    """Append to a resizable 1-D bytes dataset (created on first use)."""
    data = np.array([v.encode() for v in values], dtype="S32")
    if name not in group:
        group.create_dataset(name, data=data, maxshape=(None,), chunks=True)
        return
    ds = group[name]
    ds.resize(len(ds) + len(data), axis=0)
    ds[-len(data):] = data
