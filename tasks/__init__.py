"""The world and what counts as done: scene, goals, rewards, executor, demonstrator, dataset."""
import os as _os
import sys as _sys


def _import_pybullet_quietly() -> None:
    """PyBullet prints its build time on import; keep that out of the CLI's output."""
    if "pybullet" in _sys.modules:
        return
    _sys.stdout.flush()
    _sys.stderr.flush()
    saved = {fd: _os.dup(fd) for fd in (1, 2)}
    devnull = _os.open(_os.devnull, _os.O_WRONLY)
    try:
        for fd in saved:
            _os.dup2(devnull, fd)
        import pybullet  # noqa: F401

        import ctypes

        ctypes.CDLL(None).fflush(None)  # the banner sits in C's stdio buffer until flushed
    finally:
        for fd, copy in saved.items():
            _os.dup2(copy, fd)
            _os.close(copy)
        _os.close(devnull)


_import_pybullet_quietly()
