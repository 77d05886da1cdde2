"""Goals: validated value objects, parsed from the CLI's text, drawn at random per task.

- ``Unconditional()``: the tallest tower, any order (text: ``tallest``).
- ``TowerOrder(("red", "green", ...))``: 2 to 8 distinct blocks, bottom to top
  (text: ``red,green,blue,yellow``).
- ``Arrangement(((top, bottom), ...))``: "top on bottom" pairs (text: ``green on red, yellow on blue``).
- ``tasks.reference.Reference``: a reference arrangement, pairs plus floor spots or ``clear``
  (text: ``red at 0.55,0.20; green on red``, ``clear``).

A goal that cannot be met raises :class:`GoalError` with a message that names the problem. A
goal names blocks of the palette (tasks.layout.PALETTE); `check_fits` says whether a scene of N
blocks has them all.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from tasks.layout import DEFAULT_BLOCKS, MAX_BLOCKS, PALETTE, block_names, layout_of

TASKS = ("unconditional", "conditional", "rearrangement", "arrangement")


class GoalError(ValueError):
    """A goal that names an unknown block, repeats one, or cannot be built."""


MAX_GOAL_CHARS = 200  # the longest sensible goal is under 80 characters


def shown(text: object, limit: int = 40) -> str:
    """`text` quoted for a message, cut short: an error never repeats a huge input whole."""
    r = repr(text)
    return r if len(r) <= limit else r[:limit - 4] + "...'"


def check_pairs(pairs: tuple[tuple[str, str], ...]) -> None:
    """Known blocks, none on itself, on two blocks or under two, no pair twice, no cycle."""
    below: dict[str, str] = {}
    above: dict[str, str] = {}
    for top, bottom in pairs:
        check_block(top)
        check_block(bottom)
        if top == bottom:
            raise GoalError(f"block {top!r} cannot be on itself")
        if top in below:
            if below[top] == bottom:
                raise GoalError(f"pair '{top} on {bottom}' given twice")
            raise GoalError(f"block {top!r} cannot be on two blocks ({below[top]!r} and {bottom!r})")
        if bottom in above:
            raise GoalError(f"two blocks cannot be on {bottom!r} ({above[bottom]!r} and {top!r})")
        below[top], above[bottom] = bottom, top
    for start in below:  # each block has at most one support, so a cycle is a loop of supports
        chain, cur = [start], start
        while cur in below:
            cur = below[cur]
            chain.append(cur)
            if cur == start:
                raise GoalError("cycle " + " on ".join(chain))


def check_block(name: str) -> str:
    """`name` if it is a block of the palette; GoalError naming it otherwise."""
    if not isinstance(name, str) or name not in PALETTE:
        raise GoalError(f"unknown block {shown(name)}; blocks are {', '.join(PALETTE)}")
    return name


def goal_blocks(goal) -> set[str]:
    """Every block a goal names."""
    named = {b for pair in goal.pairs for b in pair}
    named |= {s.block for s in getattr(goal, "spots", ())}
    return named


def check_fits(goal, blocks: tuple[str, ...]):
    """`goal` if the scene's `blocks` hold every block it names; GoalError naming the first
    missing one otherwise."""
    missing = sorted(goal_blocks(goal) - set(blocks), key=PALETTE.index)
    if missing:
        raise GoalError(f"the goal names {missing[0]!r}, which this scene of {len(blocks)} blocks does not have "
                        f"(its blocks are {', '.join(blocks)})")
    return goal


@dataclass(frozen=True)
class Unconditional:
    """Build the tallest tower, in any order."""

    task = "unconditional"

    @property
    def pairs(self) -> tuple[tuple[str, str], ...]:
        return ()

    def to_json(self) -> str:
        return json.dumps({"tallest": True})

    def __str__(self) -> str:
        return "tallest"


@dataclass(frozen=True)
class TowerOrder:
    """A tower of 2 to 8 distinct blocks, listed bottom to top."""

    order: tuple[str, ...]
    task = "conditional"

    def __post_init__(self) -> None:
        order = tuple(self.order)
        object.__setattr__(self, "order", order)
        for name in order:
            check_block(name)
        seen: set[str] = set()
        for name in order:
            if name in seen:
                raise GoalError(f"block {name!r} used twice in the tower order")
            seen.add(name)
        if not 2 <= len(order) <= MAX_BLOCKS:
            raise GoalError(f"a tower order needs 2 to {MAX_BLOCKS} blocks, got {len(order)}")

    @property
    def pairs(self) -> tuple[tuple[str, str], ...]:
        """(top, bottom) pairs from the bottom up."""
        return tuple((self.order[i + 1], self.order[i]) for i in range(len(self.order) - 1))

    def to_json(self) -> str:
        return json.dumps({"order": list(self.order)})

    def __str__(self) -> str:
        return ",".join(self.order)


@dataclass(frozen=True)
class Arrangement:
    """A set of "top on bottom" pairs; together they form one or more towers."""

    pairs: tuple[tuple[str, str], ...]
    task = "rearrangement"

    def __post_init__(self) -> None:
        pairs = tuple((str(t), str(b)) for t, b in self.pairs)
        object.__setattr__(self, "pairs", pairs)
        if not pairs:
            raise GoalError("an arrangement needs at least one 'top on bottom' pair")
        check_pairs(pairs)

    def towers(self) -> list[tuple[str, ...]]:
        """The towers the pairs describe, each bottom to top."""
        below = dict(self.pairs)
        above = {b: t for t, b in self.pairs}
        bottoms = [b for b in above if b not in below]
        out = []
        for b in sorted(bottoms, key=PALETTE.index):
            tower = [b]
            while tower[-1] in above:
                tower.append(above[tower[-1]])
            out.append(tuple(tower))
        return out

    def to_json(self) -> str:
        return json.dumps({"pairs": [list(p) for p in self.pairs]})

    def __str__(self) -> str:
        return ", ".join(f"{t} on {b}" for t, b in self.pairs)


Goal = Unconditional | TowerOrder | Arrangement


def parse_goal(text: str) -> Goal:
    """Parse the CLI's goal syntax; raises GoalError naming the problem."""
    if len(text) > MAX_GOAL_CHARS:
        raise GoalError(f"goal of {len(text)} characters; a goal is at most {MAX_GOAL_CHARS} "
                        f"(a tower order, 'top on bottom' pairs, 'tallest' or a reference arrangement)")
    t = text.strip().lower()
    if not t:
        raise GoalError("empty goal; give a tower order (red,green,blue), pairs (green on red), 'tallest' "
                        "or a reference arrangement (red at 0.55,0.20; green on red)")
    if t in ("tallest", "unconditional"):
        return Unconditional()
    if t == "clear" or " at " in f" {t} " or ";" in t or t.startswith("clear"):
        from tasks.reference import parse_reference

        return parse_reference(t)
    if " on " in f" {t} ":
        pairs = []
        for part in t.split(","):
            words = part.split()
            if len(words) != 3 or words[1] != "on":
                raise GoalError(f"cannot read {shown(part.strip())}: expected 'TOP on BOTTOM'")
            pairs.append((words[0], words[2]))
        return Arrangement(tuple(pairs))
    names = [n.strip() for n in t.split(",")]
    if any(not n for n in names):
        raise GoalError(f"empty block name in tower order {shown(text)}")
    for n in names:
        if " " in n:
            raise GoalError(f"cannot read {shown(n)}: expected 'TOP on BOTTOM' pairs or a comma-separated tower order")
    return TowerOrder(tuple(names))


def goal_from_json(text: str) -> Goal:
    """Inverse of ``goal.to_json()``; raises GoalError for anything else."""
    try:
        data = json.loads(text)
    except (TypeError, json.JSONDecodeError) as e:
        raise GoalError(f"goal is not valid JSON: {e}") from None
    if isinstance(data, dict) and isinstance(data.get("order"), list):
        return TowerOrder(tuple(data["order"]))
    if isinstance(data, dict) and isinstance(data.get("pairs"), list):
        if not all(isinstance(p, list) and len(p) == 2 for p in data["pairs"]):
            raise GoalError("goal JSON 'pairs' must be [top, bottom] lists")
        return Arrangement(tuple(tuple(p) for p in data["pairs"]))
    if isinstance(data, dict) and data.get("tallest") is True:
        return Unconditional()
    if isinstance(data, dict) and data and set(data) <= {"on", "at", "clear"}:
        from tasks.reference import reference_from_json

        return reference_from_json(data)
    raise GoalError(f"goal JSON must have 'order' (a list), 'pairs' (a list), 'tallest', or 'on', 'at' and "
                    f"'clear' (a reference arrangement): {shown(text)}")


def sample_goal(task: str, rng: np.random.Generator, start: np.ndarray | None = None,
                n_blocks: int = DEFAULT_BLOCKS) -> Goal:
    """A random goal as the paper drew them: a permutation for conditional stacking, random
    stack pairs (from a random split of a permutation into towers) for rearrangement; for the
    arrangement task a random reference (tasks.reference), its spots clear of the `start`'s blocks.
    The blocks are the `start`'s, or (no start) the first `n_blocks`."""
    names = layout_of(np.asarray(start)).blocks if start is not None else block_names(n_blocks)
    if task == "unconditional":
        return Unconditional()
    if task == "arrangement":
        from tasks.reference import sample_reference

        return sample_reference(rng, start, names)
    perm = [names[i] for i in rng.permutation(len(names))]
    if task == "conditional":
        return TowerOrder(tuple(perm))
    if task == "rearrangement":
        while True:
            # A cut between neighbours of the permutation starts a new tower.
            cuts = rng.random(len(perm) - 1) < 0.5
            pairs = tuple((perm[i + 1], perm[i]) for i in range(len(perm) - 1) if not cuts[i])
            if pairs:
                return Arrangement(pairs)
    raise GoalError(f"unknown task {task!r}; tasks are {', '.join(TASKS)}")
