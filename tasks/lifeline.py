"""Child processes that die with their parent.

A spawned worker (the app's physics worker, a collection's workers, the app's render command) is
a program of its own: when the process that started it ends by a signal, even SIGKILL, nothing
tells the worker, and it would go on running with no parent. `bind_to_parent()`, called first
thing in the child, ties its life to the parent's in two ways:

- on Linux, prctl(PR_SET_PDEATHSIG) has the kernel send `sig` the moment the parent goes (even
  while the child is inside a long C call). The kernel watches the parent *thread* that started
  the child, so this is asked for only when that thread lives as long as the parent (`pdeathsig`);
- a watcher thread looks every half second whether the parent is still the process that started
  the child (an orphan is handed to another process), and if not, ends the child.

`python -m tasks.lifeline SCRIPT ARGS...` runs a Python script bound to the process that started
it, ending it with SIGTERM (so that it can clean up) when that process goes.
"""
from __future__ import annotations

import ctypes
import os
import runpy
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
POLL_S = 0.5  # how often the watcher looks at the parent
GRACE_S = 5.0  # how long a child sent a catchable signal has to clean up before it is ended


def bind_to_parent(parent_pid: int | None = None, sig: int = signal.SIGKILL, pdeathsig: bool = True) -> None:
    """End this process with `sig` when `parent_pid` (default: the present parent) is gone."""
    parent = parent_pid or os.getppid()
    if pdeathsig:
        set_parent_death_signal(sig)
    if os.getppid() != parent or parent == 1:  # the parent went before we were bound
        _die(sig)
    threading.Thread(target=_watch, args=(parent, sig), name="lifeline", daemon=True).start()


def set_parent_death_signal(sig: int) -> bool:
    """Ask the kernel (Linux) for `sig` when the parent thread ends; whether it was set."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int, sig: int) -> None:
    while os.getppid() == parent:
        time.sleep(POLL_S)
    _die(sig)


def _die(sig: int) -> None:
    if sig != signal.SIGKILL:
        os.kill(os.getpid(), sig)  # let its handler clean up (a partial file), then make sure
        time.sleep(GRACE_S)
    os._exit(128 + int(sig))


def main(argv: list[str]) -> None:
    """Run the script argv[0] with arguments argv[1:], bound to the parent."""
    if not argv:
        raise SystemExit("usage: python -m tasks.lifeline SCRIPT [ARGS...]")
    bind_to_parent(sig=signal.SIGTERM)
    sys.argv = list(argv)
    sys.path[0] = os.path.dirname(os.path.abspath(argv[0]))
    runpy.run_path(argv[0], run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
