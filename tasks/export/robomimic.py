"""Episodes as a robomimic dataset (the HDF5 layout robomimic 0.3 trains from).

```
data                      attrs: total (samples in all demos), env_args (JSON: env_name, type, env_kwargs, ...)
data/demo_<k>             attrs: num_samples, source, kind, goal (JSON), task (the goal in words), seed
    obs/joint_pos         (T, 7)   float32  joint angles
    obs/block_pos         (T, 3N)  float32  each block's position xyz, in state order
    obs/block_quat        (T, 4N)  float32  each block's quaternion xyzw
    obs/block_attached    (T, N)   float32  each block's attached flag
    next_obs/...          the same keys one step later (the last repeated)
    actions               (T, 7+N) float32
    rewards               (T,)     float32  the reward after each action
    dones                 (T,)     uint8    1 at the last step
    states                (T, 7+8N) float32 our whole state (what resets a scene)
mask/train, mask/valid    demo names (our held-out split)
```
Written under a temporary name and renamed when complete.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tasks.export.episodes import Episode, Selection, episodes
from tasks.layout import StateLayout
from tasks.stopping import Cancelled

OBS_KEYS = ("joint_pos", "block_pos", "block_quat", "block_attached")


def observations(states: np.ndarray, layout: StateLayout) -> dict[str, np.ndarray]:
    """robomimic's low-dimensional observation keys, split from our states by the layout."""
    states = np.asarray(states, dtype=np.float32)
    return {
        "joint_pos": states[:, layout.joints],
        "block_pos": np.concatenate([states[:, layout.block(b).position] for b in layout.blocks], axis=1),
        "block_quat": np.concatenate([states[:, layout.block(b).orientation] for b in layout.blocks], axis=1),
        "block_attached": states[:, layout.attached_dims],
    }


def write_robomimic(selection: Selection, out: str | Path, progress: Callable[[int, int], None] | None = None,
                    should_stop: Callable[[], bool] | None = None) -> int:
    """Write the selection as a robomimic HDF5 file `out` (which must not exist). Returns the
    demos written. A stop (`should_stop`, Cancelled) or an error leaves no `out`."""
    import h5py

    out = Path(out)
    tmp = out.with_name(f".{out.stem}.partial{out.suffix}")
    try:
        with h5py.File(tmp, "w") as f:
            data = f.create_group("data")
            names: dict[bool, list[str]] = {False: [], True: []}
            total = 0
            for k, ep in enumerate(episodes(selection)):
                if should_stop is not None and should_stop():
                    raise Cancelled
                name = f"demo_{k}"
                _write_demo(data.create_group(name), ep, selection.layout)
                names[ep.valid].append(name)
                total += len(ep.states)
                if progress is not None:
                    progress(k + 1, len(selection))
            data.attrs["total"] = total
            data.attrs["env_args"] = json.dumps(selection.env)
            mask = f.create_group("mask")
            for split, valid in (("train", False), ("valid", True)):
                mask.create_dataset(split, data=np.array([n.encode() for n in names[valid]], dtype="S"))
        tmp.rename(out)
        return len(names[False]) + len(names[True])
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_demo(g, ep: Episode, layout: StateLayout) -> None:
    obs = observations(ep.states, layout)
    for key, values in obs.items():
        g.create_dataset(f"obs/{key}", data=values, compression="gzip")
        g.create_dataset(f"next_obs/{key}", data=np.concatenate([values[1:], values[-1:]]), compression="gzip")
    g.create_dataset("actions", data=ep.actions, compression="gzip")
    g.create_dataset("rewards", data=ep.next_rewards)
    g.create_dataset("dones", data=ep.dones)
    g.create_dataset("states", data=ep.states, compression="gzip")
    g.attrs.update({"num_samples": len(ep.states), "source": ep.source, "kind": ep.kind, "goal": ep.goal.to_json(),
                    "task": ep.task, "seed": np.int64(ep.seed)})
