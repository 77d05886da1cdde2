"""Demonstrations in one HDF5 file, robomimic layout.

```
data                     attrs: total (states in all demos), env_args (JSON: world, layout, timing),
                                next_index (the next demo's number: a removed demo's name is never reused)
data/demo_<i>            attrs: num_samples, goal (JSON), task, seed (scene), episode,
                                 collection_seed, success (replayed in physics), plan_seconds,
                                 source ("demonstrator" or the kept plan), goal_given
    states   (T, 7+8N) float32 our layout (tasks.layout), the demonstrator's planned states
    actions  (T, 7+N) float32  change of joint targets (7) and attached flags (N) to the next state
    rewards  (T,)    float32   the task's reward at each state
    dones    (T,)    uint8     1 at the last state
mask/train, mask/valid   demo names (bytes)
```
The root attribute `blocks` names the file's blocks in order (all its demos have the same N;
files without it hold the paper's four).
Appending never rewrites earlier demos; see tasks.h5io for what a kill leaves behind.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from tasks.goals import Goal, goal_from_json
from tasks.h5io import FileFormatError, append_strings, check_layout, new_record, open_h5, set_blocks, tag
from tasks.layout import BLOCK_SIZE, PHASES, StateLayout, layout_of

VALID_FRACTION = 0.1


def env_args(generator: str, layout: StateLayout) -> dict:
    """What a reader needs to know about the world that made the states."""
    from tasks.world import CONTROL_PERIOD, PHYSICS_HZ, ROBOT_URDF, SUBSTEPS  # here: reading data needs no PyBullet

    return {
        "env_name": "KukaBlockStacking",
        "type": "pybullet",
        "env_kwargs": {
            "robot": ROBOT_URDF, "blocks": list(layout.blocks), "block_size": list(BLOCK_SIZE),
            "control_period": CONTROL_PERIOD, "physics_hz": PHYSICS_HZ, "substeps": SUBSTEPS,
        },
        "state_names": layout.names,
        "segment_length": PHASES.length,
        "grasp_index": PHASES.grasp_index,
        "release_index": PHASES.release_index,
        "generator": generator,
    }


@dataclass(frozen=True)
class Demo:
    states: np.ndarray
    goal: Goal
    task: str
    seed: int
    episode: int
    collection_seed: int
    success: bool
    plan_seconds: float = 0.0
    source: str = "demonstrator"  # or e.g. "diffuser plan_00003" for a plan kept as a demo
    goal_given: bool = False  # the collection's goal was given, not drawn from the seed
    # The reward at each state, where the demo was made (a collection's worker): else the one
    # writer computes it on append, which was most of an append's time.
    rewards: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def actions(self) -> np.ndarray:
        return actions_of(self.states)

    def with_rewards(self) -> Demo:
        """This demo with its rewards computed here, as append_demo would store them."""
        return replace(self, rewards=stored_rewards(self.states, self.goal))


def stored_rewards(states: np.ndarray, goal: Goal) -> np.ndarray:
    """The reward at each state, of the states as the file stores them (float32)."""
    from tasks.rewards import rewards

    return rewards(layout_of(np.asarray(states)).check(states).astype(np.float32), goal)


def actions_of(states: np.ndarray) -> np.ndarray:
    """(T, 7+N) change of the 7 joint targets and N attached flags to the next state (0 at the last)."""
    states = np.asarray(states)
    layout = layout_of(states)
    j, a = layout.joints, layout.attached_dims
    nxt = np.concatenate([states[1:], states[-1:]])
    return np.concatenate([nxt[:, j] - states[:, j], nxt[:, a] - states[:, a]], axis=1).astype(np.float32)


def in_valid_split(seed: int) -> bool:
    """Whether the scene of `seed` is held out (mask/valid)."""
    # Split by a hash of the scene seed so a demo's split never depends on the order of writes.
    return (seed * 2654435761 % 2**32) / 2**32 < VALID_FRACTION


def append_demo(path: str | Path, demo: Demo, generator: str) -> str:
    """Append one demo; creates the file on first use. Returns the demo's name."""
    layout = layout_of(np.asarray(demo.states))
    states = layout.check(demo.states).astype(np.float32)
    attrs = {  # converted first: a value HDF5 cannot store fails here, before the file is opened
        "num_samples": len(states), "goal": demo.goal.to_json(), "task": str(demo.task), "seed": np.int64(demo.seed),
        "episode": np.int64(demo.episode), "collection_seed": np.int64(demo.collection_seed),
        "success": bool(demo.success), "plan_seconds": float(demo.plan_seconds), "source": str(demo.source),
        "goal_given": bool(demo.goal_given),
    }
    reward = demo.rewards if demo.rewards is not None else stored_rewards(states, demo.goal)
    if len(reward) != len(states):
        raise ValueError(f"{len(reward)} rewards for {len(states)} states")
    with open_h5(path, "a", "demonstrations") as f:
        if "data" not in f:
            data = f.create_group("data")
            data.attrs["total"] = 0
            data.attrs["env_args"] = json.dumps(env_args(generator, layout))
            f.create_group("mask")
            set_blocks(f, layout)
        else:
            check_layout(f, "data", path, len(layout.blocks))
        data = f["data"]
        name = f"demo_{_next_index(data)}"
        with new_record(data, name) as g:
            g.create_dataset("states", data=states, compression="gzip", compression_opts=4, shuffle=True)
            g.create_dataset("actions", data=demo.actions, compression="gzip", compression_opts=4, shuffle=True)
            g.create_dataset("rewards", data=reward)
            dones = np.zeros(len(states), dtype=np.uint8)
            dones[-1] = 1
            g.create_dataset("dones", data=dones)
            g.attrs.update(attrs)
            append_strings(f["mask"], "valid" if in_valid_split(demo.seed) else "train", [name])
        data.attrs["total"] = int(data.attrs["total"]) + len(states)
        data.attrs["next_index"] = _next_index(data)
        tag(f, "demonstrations")
        return name


def _index(name: str) -> int:
    return int(name.split("_")[1])


def _next_index(data) -> int:
    """One past the highest demo number there is or was (files before removal: one past the highest).
    Read from the file's counter, not by listing every demo: an append's cost must not grow with
    the file (listing made a million-demo collection's one writer quadratic: docs/figures.md)."""
    if "next_index" not in data.attrs:  # a file from before the counter: listed once
        return max([0] + [_index(n) + 1 for n in data])
    i = int(data.attrs["next_index"])
    while f"demo_{i}" in data:  # the demo being appended, not yet counted
        i += 1
    return i


def remove_demo(path: str | Path, name: str) -> None:
    """Remove demo `name`: its group, its entry in the train or valid mask and its states from
    data.attrs["total"]. Later demos keep their names, and no new demo takes this one."""
    with open_h5(path, "a", "demonstrations") as f:
        if "data" not in f or name not in f["data"]:
            raise FileFormatError(f"{path}: no demo {name!r}")
        data = f["data"]
        data.attrs["next_index"] = _next_index(data)
        count = len(data[name]["states"])
        for split in list(f["mask"]):
            names = f["mask"][split][:]
            if name.encode() in names:
                kept = names[names != name.encode()]
                f["mask"][split].resize(len(kept), axis=0)
                f["mask"][split][:] = kept
        del data[name]
        data.attrs["total"] = int(data.attrs["total"]) - count


@dataclass(frozen=True)
class DemoRecord:
    name: str
    task: str
    goal: Goal
    seed: int
    episode: int
    collection_seed: int
    num_samples: int
    success: bool
    source: str = "demonstrator"
    goal_given: bool = False


def read_index(path: str | Path, n_blocks: int | None = None) -> list[DemoRecord]:
    """Every demo's attributes, in file order (no states are read); with `n_blocks`, a file of
    another number of blocks is refused."""
    with open_h5(path, "r", "demonstrations") as f:
        if "data" not in f:
            raise FileFormatError(f"{path}: not a demonstrations file (no 'data' group)")
        check_layout(f, "data", path, n_blocks)
        out = []
        for name in sorted(f["data"], key=_index):
            a = f["data"][name].attrs
            out.append(DemoRecord(
                name, str(a["task"]), goal_from_json(a["goal"]), int(a["seed"]), int(a["episode"]),
                int(a["collection_seed"]), int(a["num_samples"]), bool(a["success"]),
                str(a.get("source", "demonstrator")), bool(a.get("goal_given", False)),
            ))
        return out


def load_states(path: str | Path, names: list[str] | None = None, split: str | None = None) -> dict[str, np.ndarray]:
    """States of the named demos (default: all, or those of mask/`split`)."""
    with open_h5(path, "r", "demonstrations") as f:
        if "data" not in f:
            raise FileFormatError(f"{path}: not a demonstrations file (no 'data' group)")
        layout = check_layout(f, "data", path)
        if names is None:
            if split is not None:
                names = [n.decode() for n in f["mask"][split][:]] if split in f["mask"] else []
            else:
                names = list(f["data"])
        out = {}
        for n in names:
            states = f["data"][n]["states"][:]
            if states.ndim != 2 or states.shape[1] != layout.dim:
                raise FileFormatError(f"{path}: {n}/states has shape {states.shape}, expected (T, {layout.dim})")
            out[n] = layout.canonical(states)
        return out
