"""The Plan value type and the plans file.

A `Plan` (states, goal, planner name and settings, timings, scores) is what every planner
returns and what the executor, the library, the comparison view and the CLI share.

```
/                        attrs: format, blocks (the largest scene's blocks it holds, in order)
plans                    attrs: state_names (of that scene), next_id
plans/<id>/states        (T, 7+8N) float32
plans/<id>/denoising     (segments, steps, H, 7+8N) float32, optional: the plan forming
plans/<id>               attrs: blocks (its scene's, in order; absent: the paper's four),
                                goal (JSON), planner, settings (JSON), plan_seconds, score,
                                strict_success, seed, created (ISO time), name, start (where it
                                started), parent (the plan it continued, or ""),
                                details (JSON {"segments": [SegmentReport.to_dict(), ...]})
scenes/<name>            (7+8N,) float64: a start state kept by name
```
One plans file keeps plans of any number of blocks: each plan's width says its scene.
"""
from __future__ import annotations

import functools
import json
import threading
from dataclasses import asdict, dataclass, field, fields, replace
from enum import StrEnum
from datetime import datetime, UTC
from pathlib import Path

import numpy as np

from tasks.goals import Goal, goal_from_json
from tasks.h5io import FileFormatError, check_layout, new_record, open_h5, tag
from tasks.layout import PALETTE, block_names, blocks_of_dim, layout_for, layout_of


_FILE = threading.RLock()  # the app keeps a plan from a worker thread while its window may read the file


def _one_at_a_time(fn):
    """`fn` opens a plans file: run it while no other thread of this process has one open
    (HDF5 refuses to open for writing a file that is open for reading)."""
    @functools.wraps(fn)
    def locked(*args, **kwargs):
        with _FILE:
            return fn(*args, **kwargs)
    return locked


class Proposal(StrEnum):
    """Who chose a segment's move."""

    GOAL = "goal"  # the goal's next pair
    DIFFUSER = "diffuser"  # unconditional: the model's best-scored move, and it grows the tower
    DIFFUSER_RULE = "diffuser+rule"  # unconditional: the best-scored move that grows the tower
    SAMPLED = "sampled"  # the paper's unconditional plan: a start-only sample, no move chosen
    NONE = "none"  # no move was possible


@dataclass(frozen=True)
class SegmentReport:
    """What the planner did for one segment (one pick-and-place), as stored with the plan."""

    move: str  # "green on red", the move read from the sample, or "no readable move"
    proposal: Proposal
    model: str  # "mover" (the move model) or "diffuser" (the whole-state model)
    keyframes: bool  # inverse-kinematics keyframes were pinned
    seconds: float
    chosen: int  # the candidate kept
    checked: int  # candidates tried in physics
    achieved: bool  # the move stands (unconditional without a move: the tower grew)
    rank_scores: tuple[float, ...] = ()  # the best-ranked candidates' scores, best first
    move_scores: dict[str, float] | None = None  # unconditional: the model's score of every move
    guide_values: tuple[float, ...] | None = None  # the tool guide per denoising step (kept for the app)
    sampled: int = 0  # candidates drawn (more than one batch where a floor placement asked for it; 0: not recorded)
    # seconds per phase (planner.timing): choosing the move, sampling (the guides and settling
    # inside it also listed alone), smoothing and ranking, physics (the candidates tried in physics,
    # or the chosen one played); None: not recorded
    phases: dict[str, float] | None = None

    def to_dict(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if v is not None}
        return {**d, "proposal": self.proposal.value, "rank_scores": list(self.rank_scores),
                **({"guide_values": list(self.guide_values)} if self.guide_values is not None else {})}

    @classmethod
    def from_dict(cls, d: dict) -> SegmentReport:
        known = {f.name for f in fields(cls)}
        d = {k: v for k, v in d.items() if k in known}
        return cls(**{**d, "proposal": Proposal(d["proposal"]), "rank_scores": tuple(d.get("rank_scores", ())),
                      "guide_values": tuple(d["guide_values"]) if d.get("guide_values") else None})


def segments_to_json(segments: tuple[SegmentReport, ...]) -> str:
    return json.dumps({"segments": [s.to_dict() for s in segments]})


def segments_from_json(text: str) -> tuple[SegmentReport, ...]:
    return tuple(SegmentReport.from_dict(d) for d in json.loads(text or "{}").get("segments", []))


@dataclass(frozen=True)
class Plan:
    states: np.ndarray
    goal: Goal
    planner: str
    settings: dict = field(default_factory=dict)
    plan_seconds: float = 0.0
    seed: int = 0
    score: float = float("nan")  # normalised score after execution in physics; NaN if not run
    strict_success: bool = False
    name: str = ""
    start: str = ""  # where the start state came from ("scene 3", "the end of plans.h5:plan_00002", ...)
    parent: str = ""  # the id of the plan this one continued (it starts where that one ended), or ""
    created: str = ""
    id: str = ""
    segments: tuple[SegmentReport, ...] = ()  # the planner's account, one per segment
    denoising: np.ndarray | None = None  # (segments, steps, H, dim) snapshots, when kept

    def with_result(self, score: float, strict_success: bool) -> Plan:
        return replace(self, score=float(score), strict_success=bool(strict_success))


@_one_at_a_time
def append_plan(path: str | Path, plan: Plan) -> str:
    """Append `plan` to the plans file (created on first use); returns its id."""
    created = plan.created or datetime.now(UTC).isoformat(timespec="seconds")
    attrs = {  # converted first: a value HDF5 cannot store fails here, before the file is opened
        "goal": plan.goal.to_json(), "planner": str(plan.planner), "settings": json.dumps(plan.settings),
        "plan_seconds": float(plan.plan_seconds), "score": float(plan.score),
        "strict_success": bool(plan.strict_success), "seed": np.int64(plan.seed), "created": created,
        "name": plan.name or f"{plan.planner} {plan.goal}", "start": plan.start, "parent": plan.parent,
        "details": segments_to_json(plan.segments),
    }
    layout = layout_of(np.asarray(plan.states))
    states = layout.check(plan.states).astype(np.float32)
    attrs["blocks"] = list(layout.blocks)
    with open_h5(path, "a", "plans") as f:
        if "plans" not in f:
            g = f.create_group("plans")
            g.attrs["next_id"] = 0
            widest = layout
        else:
            widest = check_layout(f, "plans", path)
            widest = layout if len(layout.blocks) > len(widest.blocks) else widest
        f["plans"].attrs["state_names"] = widest.names
        f.attrs["blocks"] = list(widest.blocks)
        root = f["plans"]
        n = int(root.attrs["next_id"])
        pid = f"plan_{n:05d}"
        with new_record(root, pid) as g:
            g.create_dataset("states", data=states, compression="gzip")
            if plan.denoising is not None:
                g.create_dataset("denoising", data=np.asarray(plan.denoising, np.float32), compression="gzip")
            g.attrs.update(attrs)
        root.attrs["next_id"] = n + 1
        tag(f, "plans")
        return pid


def plan_blocks(g) -> tuple[str, ...]:
    """The blocks of a stored plan's scene (plans written before N varied have four)."""
    found = g.attrs.get("blocks")
    names = (tuple(str(b) for b in found) if found is not None
             else block_names(blocks_of_dim(g["states"].shape[-1])))
    if names != PALETTE[:len(names)]:
        raise FileFormatError(f"plan {g.name}: blocks {', '.join(names)} are not a scene of this program")
    return names


def _read(g, pid: str, with_states: bool) -> Plan:
    a = g.attrs
    dim = layout_for(len(plan_blocks(g))).dim
    return Plan(
        states=g["states"][:] if with_states else np.zeros((0, dim), np.float32),
        goal=goal_from_json(a["goal"]), planner=str(a["planner"]), settings=json.loads(a["settings"]),
        plan_seconds=float(a["plan_seconds"]), seed=int(a["seed"]), score=float(a["score"]),
        strict_success=bool(a["strict_success"]), name=str(a["name"]), created=str(a["created"]), id=pid,
        start=str(a.get("start", "")), parent=str(a.get("parent", "")),
        segments=segments_from_json(a.get("details", "{}")),
        denoising=g["denoising"][:] if with_states and "denoising" in g else None,
    )


@_one_at_a_time
def list_plans(path: str | Path) -> list[Plan]:
    """Every plan's metadata (states left empty), oldest first."""
    with open_h5(path, "r", "plans") as f:
        if "plans" not in f:
            if "scenes" in f:  # a plans file that so far keeps scenes only
                return []
            raise FileFormatError(f"{path}: not a plans file (no 'plans' group)")
        check_layout(f, "plans", path)
        return [_read(f["plans"][pid], pid, False) for pid in sorted(f["plans"])]


@_one_at_a_time
def load_plan(path: str | Path, pid: str, with_states: bool = True) -> Plan:
    """One plan; `with_states=False`: its metadata alone (states left empty, as list_plans)."""
    with open_h5(path, "r", "plans") as f:
        if "plans" not in f or pid not in f["plans"]:
            raise FileFormatError(f"{path}: no plan {pid!r}")
        return _read(f["plans"][pid], pid, with_states)


def plan_chain(plans: list[Plan], pid: str) -> list[Plan]:
    """The plans that led to `pid`, each continued by the next, first to last (metadata only)."""
    by_id = {p.id: p for p in plans}
    chain: list[Plan] = []
    while pid in by_id and pid not in {p.id for p in chain}:  # a deleted parent ends the chain
        chain.append(by_id[pid])
        pid = by_id[pid].parent
    return chain[::-1]


@_one_at_a_time
def save_scene(path: str | Path, name: str, state: np.ndarray) -> None:
    """Keep a start state in the plans file under `name` (replacing one of that name)."""
    state = layout_of(np.asarray(state)).check(np.asarray(state)[None])[0].astype(np.float64)
    if not name.strip() or "/" in name:
        raise FileFormatError(f"{name!r}: a scene name is some text without '/'")
    with open_h5(path, "a", "plans") as f:
        scenes = f.require_group("scenes")
        if name in scenes:
            del scenes[name]
        scenes.create_dataset(name, data=state)
        tag(f, "plans")


@_one_at_a_time
def list_scenes(path: str | Path) -> list[str]:
    if not Path(path).exists():
        return []
    with open_h5(path, "r", "plans") as f:
        return sorted(f["scenes"]) if "scenes" in f else []


@_one_at_a_time
def load_scene(path: str | Path, name: str) -> np.ndarray:
    with open_h5(path, "r", "plans") as f:
        if "scenes" not in f or name not in f["scenes"]:
            raise FileFormatError(f"{path}: no scene {name!r}")
        state = f["scenes"][name][:]
        try:
            return layout_of(state).check(state[None])[0].astype(np.float64)
        except ValueError as e:
            raise FileFormatError(f"{path}: scene {name!r}: {e}") from None


@_one_at_a_time
def rename_plan(path: str | Path, pid: str, name: str) -> None:
    """Change a plan's display name (one attribute; the states are not touched)."""
    with open_h5(path, "a", "plans") as f:
        if "plans" not in f or pid not in f["plans"]:
            raise FileFormatError(f"{path}: no plan {pid!r}")
        f["plans"][pid].attrs["name"] = name


@_one_at_a_time
def delete_plan(path: str | Path, pid: str) -> None:
    """Remove a plan from the file (HDF5 keeps the freed bytes until the file is repacked)."""
    with open_h5(path, "a", "plans") as f:
        if "plans" not in f or pid not in f["plans"]:
            raise FileFormatError(f"{path}: no plan {pid!r}")
        del f["plans"][pid]


@_one_at_a_time
def export_plan(path: str | Path, pid: str, out: str | Path) -> str:
    """Copy one plan into another plans file (created if needed); returns its id there."""
    return append_plan(out, load_plan(path, pid))
