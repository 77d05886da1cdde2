"""What the Diffuser learns from: demonstrations normalised and cut into windows.

The file format lives in tasks.dataset (storage); this module is the learning side of it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tasks.dataset import load_states
from tasks.h5io import FileFormatError

MIN_HALF_RANGE = 0.05


class Normaliser:
    """Per-dimension affine map of states to [-1, 1] (min/max over the data), as Diffuser does."""

    def __init__(self, low: np.ndarray, high: np.ndarray) -> None:
        self.low = np.asarray(low, dtype=np.float32)
        self.high = np.asarray(high, dtype=np.float32)
        # Dimensions that barely change in the data (a flat block's quaternion x) get a floor on
        # their range, else a millimetre of real-world tilt would become a huge model input.
        self.scale = np.maximum((self.high - self.low) / 2, MIN_HALF_RANGE).astype(np.float32)

    @classmethod
    def fit(cls, states: np.ndarray) -> Normaliser:
        return cls(states.min(axis=0), states.max(axis=0))

    def normalise(self, x):
        return (x - self.centre(x)) / self._cast(self.scale, x)

    def unnormalise(self, x):
        return x * self._cast(self.scale, x) + self.centre(x)

    def centre(self, x):
        return self._cast((self.low + self.high) / 2, x)

    @staticmethod
    def _cast(v: np.ndarray, like):
        if isinstance(like, np.ndarray):
            return v
        import torch

        return torch.as_tensor(v, dtype=like.dtype, device=like.device)

    def to_dict(self) -> dict:
        return {"low": self.low.tolist(), "high": self.high.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> Normaliser:
        return cls(np.array(d["low"]), np.array(d["high"]))


class TrajectoryWindows:
    """Normalised windows of `horizon` states from the demos, at any start (for training)."""

    def __init__(self, path: str | Path, horizon: int, split: str | None = "train", normaliser: Normaliser | None = None) -> None:
        demos = load_states(path, split=split)
        if not demos:
            raise FileFormatError(f"{path}: no demos in split {split!r}")
        self.horizon = horizon
        self.demos = [s for s in demos.values() if len(s) >= horizon]
        if not self.demos:
            raise FileFormatError(f"{path}: every demo is shorter than the horizon {horizon}")
        self.normaliser = normaliser or Normaliser.fit(np.concatenate(self.demos))
        self.normed = [self.normaliser.normalise(s).astype(np.float32) for s in self.demos]
        self.index = np.array([(d, t) for d, s in enumerate(self.demos) for t in range(len(s) - horizon + 1)])

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> np.ndarray:
        d, t = self.index[i]
        return self.normed[d][t:t + self.horizon]


class CondNormaliser:
    """Mean/std of the condition vector (its parts have very different scales)."""

    def __init__(self, mean: np.ndarray, std: np.ndarray) -> None:
        self.mean = np.asarray(mean, np.float32)
        self.std = np.maximum(np.asarray(std, np.float32), 1e-3)

    @classmethod
    def fit(cls, cond: np.ndarray) -> CondNormaliser:
        return cls(cond.mean(0), cond.std(0))

    def __call__(self, cond: np.ndarray) -> np.ndarray:
        return ((np.asarray(cond) - self.mean) / self.std).astype(np.float32)

    def to_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> CondNormaliser:
        return cls(np.array(d["mean"]), np.array(d["std"]))
