"""The world and what counts as done: scene, goals, rewards, executor, demonstrator, dataset."""
import os as _os
import sys as _sys
from contextlib import contextmanager as _contextmanager


@_contextmanager
def quiet_stdio():
    """Silence C-level stdout/stderr (PyBullet's banner, the EGL plugin's driver report)."""
    import ctypes

    _sys.stdout.flush()
    _sys.stderr.flush()
    saved = {fd: _os.dup(fd) for fd in (1, 2)}
    devnull = _os.open(_os.devnull, _os.O_WRONLY)
    try:
        for fd in saved:
            _os.dup2(devnull, fd)
        yield
    finally:
        ctypes.CDLL(None).fflush(None)  # C's stdio buffer still holds what was printed
        for fd, copy in saved.items():
            _os.dup2(copy, fd)
            _os.close(copy)
        _os.close(devnull)


if "pybullet" not in _sys.modules:
    with quiet_stdio():
        import pybullet  # noqa: F401
