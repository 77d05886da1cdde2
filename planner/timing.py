"""Where a segment's planning time goes: the planner opens a `Phases` record per segment and each
stage adds its seconds to it by name (the guides from inside the sampler, which knows nothing of
segments). One record at a time per thread; outside one, `phase` only runs its block."""
from __future__ import annotations

import threading
import time
from collections import defaultdict
from contextlib import contextmanager

_current = threading.local()


class Phases:
    """Seconds per named phase of one segment."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def rounded(self) -> dict[str, float]:
        return {k: round(v, 4) for k, v in self.seconds.items()}


@contextmanager
def record():
    """Collect the phases timed in this thread until the block ends; yields the record."""
    outer = getattr(_current, "phases", None)
    _current.phases = phases = Phases()
    try:
        yield phases
    finally:
        _current.phases = outer


def current() -> Phases:
    """The record open in this thread (an empty one outside any)."""
    return getattr(_current, "phases", None) or Phases()


@contextmanager
def phase(name: str):
    """Add the block's seconds to phase `name` of the record open in this thread (if any); a phase
    inside another (the guides inside the denoising) is also counted in the outer one."""
    t0 = time.perf_counter()
    try:
        yield
    finally:
        phases = getattr(_current, "phases", None)
        if phases is not None:
            phases.seconds[name] += time.perf_counter() - t0
