"""PyBullet, imported once and quietly: every module that drives physics takes `p` from here.

PyBullet prints a build banner on C-level stdout at import; `quiet_stdio` hides it (and the EGL
plugin's driver report) without touching Python's own streams.
"""
import os
import sys
from contextlib import contextmanager


@contextmanager
def quiet_stdio():
    """Silence C-level stdout/stderr (PyBullet's banner, the EGL plugin's driver report)."""
    import ctypes

    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in saved:
            os.dup2(devnull, fd)
        yield
    finally:
        ctypes.CDLL(None).fflush(None)  # C's stdio buffer still holds what was printed
        for fd, copy in saved.items():
            os.dup2(copy, fd)
            os.close(copy)
        os.close(devnull)


with quiet_stdio():
    import pybullet as p  # noqa: E402
import pybullet_data  # noqa: E402,F401

__all__ = ["p", "pybullet_data", "quiet_stdio"]
