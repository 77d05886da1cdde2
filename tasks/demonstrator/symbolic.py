"""Symbolic search over domain.pddl with optimistic continuous values (PDDLStream's focused idea).

The domain is parsed with the `pddl` package. Discrete parameters (blocks, the floor) are
grounded over the scene's objects. A continuous parameter (conf, pose, grasp, traj) is bound to
the value a fluent precondition already holds (``atconf ?q``), or else to a fresh optimistic
symbol such as ``#g3``: facts that streams certify (``kin``, ``placement``...) are assumed to be
satisfiable during the search, and the binder later asks the streams for real values.
"""
from __future__ import annotations

import itertools
import heapq
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from collections.abc import Iterator

from pddl.logic.base import And, Not
from pddl.parser.domain import DomainParser

from tasks.scene import FLOOR
from tasks.layout import BLOCK_NAMES

DOMAIN_FILE = Path(__file__).with_name("domain.pddl")
CONTINUOUS_TYPES = ("conf", "pose", "grasp", "traj")
Fact = tuple[str, ...]


@dataclass(frozen=True)
class Literal:
    predicate: str
    args: tuple[str, ...]  # parameter names without '?'
    positive: bool


@dataclass(frozen=True)
class Operator:
    """One parsed action: typed parameters, precondition and effect literals."""

    name: str
    params: tuple[tuple[str, str], ...]  # (name, type)
    pre: tuple[Literal, ...]
    eff: tuple[Literal, ...]


@dataclass(frozen=True)
class Step:
    """A ground action of a skeleton; continuous arguments may be optimistic ('#...')."""

    action: str
    args: dict

    def __str__(self) -> str:
        return f"({self.action} {' '.join(str(v) for v in self.args.values())})"


def _literals(formula) -> tuple[Literal, ...]:
    parts = formula.operands if isinstance(formula, And) else (formula,)
    out = []
    for part in parts:
        positive = not isinstance(part, Not)
        atom = part if positive else part.argument
        out.append(Literal(atom.name, tuple(t.name for t in atom.terms), positive))
    return tuple(out)


@lru_cache(maxsize=1)
def load_domain() -> tuple[Operator, ...]:
    """Parse domain.pddl once per process."""
    domain = DomainParser()(DOMAIN_FILE.read_text())
    ops = []
    for a in domain.actions:
        params = tuple((v.name, next(iter(v.type_tags))) for v in a.parameters)
        ops.append(Operator(a.name, params, _literals(a.precondition), _literals(a.effect)))
    return tuple(sorted(ops, key=lambda o: o.name))


def _fluents(ops: tuple[Operator, ...]) -> frozenset[str]:
    return frozenset(lit.predicate for o in ops for lit in o.eff)


def _objects(type_name: str, regions: tuple[str, ...] = (FLOOR,)) -> list[str]:
    """Objects of a type; `regions` are the floor and the reference's spots (one per placed block)."""
    if type_name == "block":
        return list(BLOCK_NAMES)
    if type_name == "region":
        return list(regions)
    if type_name == "surface":
        return list(BLOCK_NAMES) + list(regions)
    raise ValueError(f"no objects of type {type_name}")


def initial_facts(support: dict[str, str], held: str | None = None) -> frozenset[Fact]:
    """Facts of a scene: `support` maps each block to what it rests on (a block or 'floor')."""
    facts: set[Fact] = {("atconf", "q0")}
    covered = set(support.values())
    for b in BLOCK_NAMES:
        if b == held:
            facts |= {("holding", b), ("atgrasp", b, "g0")}
            continue
        facts |= {("on", b, support[b]), ("atpose", b, f"p0_{b}")}
        if b not in covered:
            facts.add(("clear", b))
    facts.add(("clear", FLOOR))  # regions are never used up: put_down does not ask for clear
    facts |= {("canmove",)} | ({("handempty",)} if held is None else set())
    return frozenset(facts)


class SymbolicPlanner:
    """Breadth-first enumeration of skeletons that reach a set of goal facts."""

    def __init__(self, max_visits: int = 3) -> None:
        self.ops = load_domain()
        self.fluents = _fluents(self.ops)
        self.max_visits = max_visits
        self._fresh = itertools.count()
        self.regions: tuple[str, ...] = (FLOOR,)

    def _successors(self, facts: frozenset[Fact]) -> Iterator[tuple[Step, frozenset[Fact]]]:
        for op in self.ops:
            discrete = [(n, t) for n, t in op.params if t not in CONTINUOUS_TYPES]
            for values in itertools.product(*(_objects(t, self.regions) for _, t in discrete)):
                binding = dict(zip((n for n, _ in discrete), values))
                if not self._bind_continuous(op, binding, facts):
                    continue
                if not self._applicable(op, binding, facts):
                    continue
                new = set(facts)
                for lit in op.eff:
                    fact = (lit.predicate, *(binding[a] for a in lit.args))
                    if not lit.positive:
                        new.discard(fact)
                for lit in op.eff:
                    if lit.positive:
                        new.add((lit.predicate, *(binding[a] for a in lit.args)))
                yield Step(op.name, {n: binding[n] for n, _ in op.params}), frozenset(new)

    def _bind_continuous(self, op: Operator, binding: dict, facts: frozenset[Fact]) -> bool:
        for name, type_name in op.params:
            if type_name not in CONTINUOUS_TYPES:
                continue
            anchor = next(
                (lit for lit in op.pre if lit.positive and lit.predicate in self.fluents and name in lit.args
                 and all(a == name or a in binding for a in lit.args)),
                None,
            )
            if anchor is None:  # nothing holds it yet: an optimistic stream output
                binding[name] = f"#{type_name[0]}{next(self._fresh)}"
                continue
            matches = [
                f for f in facts
                if f[0] == anchor.predicate and len(f) == len(anchor.args) + 1
                and all(a == name or f[i + 1] == binding[a] for i, a in enumerate(anchor.args))
            ]
            if not matches:
                return False
            binding[name] = matches[0][anchor.args.index(name) + 1]
        return True

    def _applicable(self, op: Operator, binding: dict, facts: frozenset[Fact]) -> bool:
        for lit in op.pre:
            if lit.predicate not in self.fluents:
                continue  # certified by a stream: optimistic during the search
            fact = (lit.predicate, *(binding[a] for a in lit.args))
            if (fact in facts) != lit.positive:
                return False
        return True

    @staticmethod
    def _key(facts: frozenset[Fact]) -> frozenset[Fact]:
        # Continuous symbols do not change what can be done next.
        return frozenset(f for f in facts if f[0] not in ("atconf", "atpose", "atgrasp"))

    def plans(self, init: frozenset[Fact], goal: frozenset[Fact], max_depth: int = 32,
              regions: tuple[str, ...] = (FLOOR,)) -> Iterator[list[Step]]:
        """Skeletons reaching `goal` with the hand empty, shortest first (A*); `regions` are where a
        block may be put down (the floor, and a reference's spots).

        The heuristic counts unmet goal facts: each needs a move, a pick, a move and a place.
        """
        self.regions = tuple(regions)
        goal = goal | {("handempty",)}
        tie = itertools.count()

        def h(facts: frozenset[Fact]) -> int:
            return 4 * sum(1 for g in goal if g[0] == "on" and g not in facts)

        frontier = [(h(init), next(tie), init, [])]
        visits: dict[frozenset[Fact], int] = {}
        while frontier:
            _, _, facts, plan = heapq.heappop(frontier)
            if goal <= facts:
                yield plan
                continue
            if len(plan) >= max_depth:
                continue
            for step, new in self._successors(facts):
                key = self._key(new)
                if visits.get(key, 0) >= self.max_visits:
                    continue
                visits[key] = visits.get(key, 0) + 1
                heapq.heappush(frontier, (len(plan) + 1 + h(new), next(tie), new, plan + [step]))
