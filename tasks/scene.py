"""A state read once into its symbolic scene: who is on whom, what is clear, the towers.

Every symbolic question the planners ask (is X on Y, which blocks are clear, how tall is the
tallest tower, how high is X) is answered from one `SymbolicScene`, built from one of the two
relations of tasks.rewards: `strictly_on` (the default: success, planning) or `loosely_on` (the
paper's reward).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from tasks.layout import layout_of

FLOOR = "floor"


@dataclass(frozen=True)
class SymbolicScene:
    """`on` holds every (top, bottom) pair the relation finds among `blocks` (in state order)."""

    on: frozenset[tuple[str, str]]
    blocks: tuple[str, ...]

    @classmethod
    def read(cls, state: np.ndarray, relation: Callable[[np.ndarray, str, str], bool] | None = None) -> SymbolicScene:
        """Evaluate `relation` (default: tasks.rewards.strictly_on) once for every ordered pair."""
        if relation is None:
            from tasks.rewards import strictly_on as relation
        state = np.asarray(state)
        names = layout_of(state).blocks
        return cls(frozenset((t, b) for t in names for b in names if t != b and relation(state, t, b)), names)

    def is_on(self, top: str, bottom: str) -> bool:
        return (top, bottom) in self.on

    @cached_property
    def above(self) -> dict[str, list[str]]:
        """bottom -> the blocks on it."""
        return {b: [t for t in self.blocks if (t, b) in self.on] for b in self.blocks}

    @cached_property
    def support(self) -> dict[str, str]:
        """block -> the block it rests on, or FLOOR."""
        return {t: next((b for b in self.blocks if (t, b) in self.on), FLOOR) for t in self.blocks}

    @cached_property
    def clear(self) -> list[str]:
        """Blocks with nothing on them."""
        return [b for b in self.blocks if not self.above[b]]

    def height(self, block: str) -> int:
        """Blocks from the floor up to `block`, itself included."""
        below = self.support[block]
        return 1 if below == FLOOR else 1 + self.height(below)

    @cached_property
    def tallest(self) -> tuple[str, int]:
        """The top block of the tallest tower and its height in blocks (a lone block: 1)."""
        best, height = self.blocks[0], 0

        def climb(b: str, h: int) -> None:
            nonlocal best, height
            if h > height or (h == height and not self.above[b]):
                best, height = b, h
            for t in self.above[b]:
                climb(t, h + 1)

        for b in self.blocks:
            climb(b, 1)
        return best, height

    def moves_between_clear(self) -> list[tuple[str, str]]:
        """Every (block, onto) the scene allows: a clear block onto another clear block."""
        return [(b, onto) for b in self.clear for onto in self.clear if b != onto]
