"""Reference arrangements: some blocks on others, some on the floor at given places, or "clear".

Text (combined with ``;`` or ``,``): ``green on red``, ``red at 0.55,0.20`` (metres, in the
robot's base frame), ``red at 0.55,0.20,30deg`` (with a yaw), and ``clear`` (every block on the
floor, no stacks). JSON: ``{"on": [["green", "red"]], "at": [{"block": "red", "x": 0.55,
"y": 0.2, "yaw_deg": 30}], "clear": false}``. A spot must be reachable (the scene's band around
the robot) and away from every other spot; a block is on one thing only; pairs have no cycle.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

import numpy as np

from tasks.goals import GoalError, check_block, check_pairs, shown
from tasks.layout import DEFAULT_BLOCKS, PALETTE, SCENE_MAX_ANGLE, SCENE_MIN_SEPARATION, SCENE_RADIUS, block_names

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)"
_ITEM = re.compile(
    rf"\s*(?:(?P<clear>clear)|(?P<block>[a-z]+)\s+at\s+(?P<x>{_NUMBER})\s*,\s*(?P<y>{_NUMBER})"
    rf"(?:\s*,\s*(?P<yaw>{_NUMBER})\s*deg)?|(?P<top>[a-z]+)\s+on\s+(?P<bottom>[a-z]+))\s*(?:[;,]|$)"
)


@dataclass(frozen=True)
class FloorSpot:
    """`block` on the floor with its centre at (x, y) (rounded to 1 mm), at `yaw_deg` if given."""

    block: str
    x: float
    y: float
    yaw_deg: float | None = None

    def __post_init__(self) -> None:
        check_block(self.block)
        if not all(math.isfinite(v) for v in (self.x, self.y, 0.0 if self.yaw_deg is None else self.yaw_deg)):
            raise GoalError(f"{self.block} at a position that is not a number")
        object.__setattr__(self, "x", round(float(self.x), 3))
        object.__setattr__(self, "y", round(float(self.y), 3))
        if self.yaw_deg is not None:
            object.__setattr__(self, "yaw_deg", round(float(self.yaw_deg) % 360.0, 1))
        r, angle = math.hypot(self.x, self.y), math.atan2(self.y, self.x)
        if not (SCENE_RADIUS[0] <= r <= SCENE_RADIUS[1] and abs(angle) <= SCENE_MAX_ANGLE):
            raise GoalError(
                f"{self} is out of reach: a spot must be {SCENE_RADIUS[0]:.2f} to {SCENE_RADIUS[1]:.2f} m from the "
                f"robot's base ({r:.2f} m here), within {math.degrees(SCENE_MAX_ANGLE):.0f} degrees of the x axis")

    @property
    def xy(self) -> np.ndarray:
        return np.array([self.x, self.y])

    def __str__(self) -> str:
        yaw = "" if self.yaw_deg is None else f",{self.yaw_deg:g}deg"
        return f"{self.block} at {self.x:.3f},{self.y:.3f}{yaw}"


@dataclass(frozen=True)
class Reference:
    """The arrangement a user drew: `pairs` ("top on bottom"), floor `spots`, and `clear`."""

    pairs: tuple[tuple[str, str], ...] = ()
    spots: tuple[FloorSpot, ...] = ()
    clear: bool = False
    task = "arrangement"

    def __post_init__(self) -> None:
        object.__setattr__(self, "pairs", tuple((str(t), str(b)) for t, b in self.pairs))
        object.__setattr__(self, "spots", tuple(sorted(self.spots, key=lambda s: PALETTE.index(s.block))))
        if not (self.pairs or self.spots or self.clear):
            raise GoalError("a reference arrangement needs a pair, a floor spot or 'clear'")
        check_pairs(self.pairs)
        if self.clear and self.pairs:
            raise GoalError(f"'clear' puts every block on the floor: it cannot have '{self.pairs[0][0]} on "
                            f"{self.pairs[0][1]}'")
        placed: dict[str, FloorSpot] = {}
        for s in self.spots:
            if s.block in placed:
                raise GoalError(f"block {s.block!r} given two floor spots")
            if any(t == s.block for t, _ in self.pairs):
                raise GoalError(f"block {s.block!r} cannot be both on the floor at a spot and on another block")
            for other in placed.values():
                d = float(np.linalg.norm(s.xy - other.xy))
                if d < SCENE_MIN_SEPARATION:
                    raise GoalError(f"two blocks at one spot: {other.block} and {s.block} are {d:.2f} m apart, "
                                    f"closer than {SCENE_MIN_SEPARATION:.2f} m")
            placed[s.block] = s

    def spot(self, block: str) -> FloorSpot | None:
        return next((s for s in self.spots if s.block == block), None)

    def to_json(self) -> str:
        at = [{"block": s.block, "x": s.x, "y": s.y, **({} if s.yaw_deg is None else {"yaw_deg": s.yaw_deg})}
              for s in self.spots]
        return json.dumps({"on": [list(p) for p in self.pairs], "at": at, "clear": self.clear})

    def __str__(self) -> str:
        parts = [str(s) for s in self.spots] + [f"{t} on {b}" for t, b in self.pairs] + (["clear"] if self.clear else [])
        text = "; ".join(parts)
        # One pair alone would read back as the paper's rearrangement goal: the ';' keeps it a reference.
        return text if ";" in text or self.spots or self.clear else text + ";"


def parse_reference(text: str) -> Reference:
    """`text` (lower case) as a reference arrangement; GoalError names the part it cannot read."""
    pairs, spots, clear, pos = [], [], False, 0
    while pos < len(text):
        m = _ITEM.match(text, pos)
        if m is None or m.end() == pos:
            raise GoalError(f"cannot read {shown(text[pos:].strip())}: expected 'BLOCK at X,Y', 'TOP on BOTTOM' "
                            f"or 'clear', separated by ';' or ','")
        if m["clear"]:
            clear = True
        elif m["block"]:
            yaw = float(m["yaw"]) if m["yaw"] is not None else None
            spots.append(FloorSpot(m["block"], float(m["x"]), float(m["y"]), yaw))
        else:
            pairs.append((m["top"], m["bottom"]))
        pos = m.end()
    return Reference(tuple(pairs), tuple(spots), clear)


def reference_from_json(data: dict) -> Reference:
    on, at, clear = data.get("on", []), data.get("at", []), data.get("clear", False)
    if not isinstance(on, list) or not all(isinstance(p, list) and len(p) == 2 for p in on):
        raise GoalError("reference JSON 'on' must be a list of [top, bottom] lists")
    if not isinstance(at, list) or not all(isinstance(s, dict) and {"block", "x", "y"} <= set(s) for s in at):
        raise GoalError("reference JSON 'at' must be a list of {\"block\", \"x\", \"y\"[, \"yaw_deg\"]} objects")
    if not isinstance(clear, bool):
        raise GoalError("reference JSON 'clear' must be true or false")
    try:
        spots = tuple(FloorSpot(s["block"], float(s["x"]), float(s["y"]),
                                None if s.get("yaw_deg") is None else float(s["yaw_deg"])) for s in at)
    except (TypeError, ValueError):
        raise GoalError("reference JSON 'at': x, y and yaw_deg must be numbers") from None
    return Reference(tuple(tuple(p) for p in on), spots, clear)


def sample_reference(rng: np.random.Generator, start: np.ndarray | None = None,
                     names: tuple[str, ...] = block_names(DEFAULT_BLOCKS)) -> Reference:
    """A random reference over `names`: 'clear' (one time in five), else random towers whose bases
    are moved to free floor spots half of the time, spots away from each other and from the
    start's blocks."""
    from tasks.layout import layout_of

    if rng.random() < 0.2:
        return Reference(clear=True)
    taken = [] if start is None else [np.asarray(start)[layout_of(start).block(b).position][:2] for b in names]
    while True:
        perm = [names[i] for i in rng.permutation(len(names))]
        cuts = rng.random(len(perm) - 1) < 0.5
        pairs = tuple((perm[i + 1], perm[i]) for i in range(len(perm) - 1) if not cuts[i])
        bases = [perm[0]] + [perm[i + 1] for i in range(len(perm) - 1) if cuts[i]]
        spots = []
        for b in bases:
            if rng.random() < 0.5:
                xy = free_spot(rng, taken + [s.xy for s in spots])
                if xy is not None:
                    spots.append(FloorSpot(b, xy[0], xy[1], float(rng.uniform(-45, 45))))
        if pairs or spots:
            return Reference(pairs, tuple(spots))


def free_spot(rng: np.random.Generator, taken: list[np.ndarray]) -> np.ndarray | None:
    """A reachable floor spot (rounded to 1 mm) clear of every point in `taken`, or None."""
    for _ in range(200):
        # A little inside the band, so that rounding to 1 mm keeps the spot reachable.
        r = rng.uniform(SCENE_RADIUS[0] + 0.002, SCENE_RADIUS[1] - 0.002)
        a = rng.uniform(-SCENE_MAX_ANGLE + 0.01, SCENE_MAX_ANGLE - 0.01)
        xy = np.round(np.array([r * math.cos(a), r * math.sin(a)]), 3)
        if all(np.linalg.norm(xy - t) >= SCENE_MIN_SEPARATION + 0.002 for t in taken):
            return xy
    return None
