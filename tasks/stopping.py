"""Stop a long command cleanly on SIGINT or SIGTERM.

Every long command (collect, evaluate, the three trainings) polls one `StopOnSignal` between
its units of work (an episode, a training step): the first signal asks it to stop after the
current unit, keeping everything done so far; a second one stops at once (`StoppedNow`, a
KeyboardInterrupt).
A signal the shell set to be ignored (SIGINT of a background job) stays ignored, as Unix
programs do. The command then exits with 128 + the signal's number (130, 143), as shells expect.
"""
from __future__ import annotations

import signal
import threading

SIGNAL_NAMES = {signal.SIGINT: "SIGINT (Ctrl+C)", signal.SIGTERM: "SIGTERM"}


class Cancelled(Exception):
    """Work stopped because its caller asked (the app's Cancel, a `should_stop` that said yes)."""


class StoppedNow(KeyboardInterrupt):
    """A second signal: stop at once. `signum` says which one, for the exit code."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class StopOnSignal:
    """Context manager recording the first SIGINT or SIGTERM; `requested` says one came."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict = {}

    def __enter__(self) -> StopOnSignal:
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNAL_NAMES:
                if signal.getsignal(sig) is signal.SIG_IGN:
                    continue  # a background job's SIGINT: the shell asked us to ignore it
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame) -> None:
        if self.signum is not None:
            raise StoppedNow(signum)  # asked twice: stop now
        self.signum = signum

    @property
    def requested(self) -> bool:
        return self.signum is not None

    def __call__(self) -> bool:
        """So that the object itself can be passed as a `should_stop` callback."""
        return self.requested

    @property
    def exit_code(self) -> int:
        return 128 + int(self.signum or signal.SIGINT)

    @property
    def name(self) -> str:
        return SIGNAL_NAMES.get(self.signum, f"signal {self.signum}")
