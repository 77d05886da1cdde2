"""A learned stack-relation classifier and the guide made from it (the paper's Kuka guide).

`StackClassifier` reads a noised, normalised trajectory (and its noise level) and gives, for every
ordered pair of blocks, the logit that the first is strictly on the second in the trajectory's
last state. It learns from the demonstrations' segments, noised as the diffusion noises them, with
the first state clean (it is pinned when planning). `LearnedPlacedOn` turns it into a guide for a
move, beside the hand-written `planner.guides.PlacedOn`; `benchmarks/guides.py` measures both.
"""
from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from planner import training_threads
from planner.config import ClassifierTrainConfig
from planner.checkpoint import CheckpointError, git_commit, read, save_atomic, segment_info
from planner.diffusion import cosine_beta_schedule
from planner.guides import Guide
from planner.model import Conv1dBlock, SinusoidalPosEmb, count_parameters
from planner.data import Normaliser, TrajectoryWindows
from tasks.h5io import FileFormatError
from tasks.layout import BLOCK_NAMES, LAYOUT, PHASES
from tasks.rewards import strictly_on

FORMAT = "kuka-stack-classifier-1"
PAIRS: tuple[tuple[str, str], ...] = tuple((a, b) for a in BLOCK_NAMES for b in BLOCK_NAMES if a != b)


@dataclass(frozen=True)
class ClassifierConfig:
    horizon: int = PHASES.length
    dim: int = 32
    levels: int = 4  # each halves the time axis
    n_timesteps: int = 1000


class StackClassifier(nn.Module):
    """forward(x (B, H, 39) normalised, t (B,)) -> (B, len(PAIRS)) logits of "a on b" at the end."""

    def __init__(self, config: ClassifierConfig = ClassifierConfig()) -> None:
        super().__init__()
        self.config = config
        d = config.dim
        self.time = nn.Sequential(SinusoidalPosEmb(d), nn.Linear(d, 2 * d), nn.Mish(), nn.Linear(2 * d, d))
        self.stem = Conv1dBlock(LAYOUT.dim, d, 5)
        self.blocks = nn.ModuleList(
            nn.Sequential(Conv1dBlock(d, d, 5), nn.Conv1d(d, d, 3, stride=2, padding=1)) for _ in range(config.levels)
        )
        # The relation is read from the last state: a direct path from it, beside the convolutions.
        self.last = nn.Sequential(nn.Linear(LAYOUT.dim + d, 4 * d), nn.Mish(), nn.Linear(4 * d, 4 * d), nn.Mish())
        self.head = nn.Sequential(nn.Linear(6 * d, 4 * d), nn.Mish(), nn.Linear(4 * d, len(PAIRS)))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        emb = self.time(t)
        h = self.stem(x.transpose(1, 2)) + emb[..., None]
        for block in self.blocks:
            h = block(h)
        last = self.last(torch.cat([x[:, -1], emb], dim=-1))
        return self.head(torch.cat([last, h[..., -1], h.mean(-1)], dim=-1))


def stack_labels(state: np.ndarray) -> np.ndarray:
    """(len(PAIRS),) 1.0 where the pair's first block is strictly on its second in `state`."""
    return np.array([float(strictly_on(state, a, b)) for a, b in PAIRS], dtype=np.float32)


@dataclass
class LoadedClassifier:
    model: StackClassifier
    normaliser: Normaliser
    meta: dict


def load_classifier(path: str | Path, device: str | torch.device = "cpu") -> LoadedClassifier:
    ckpt = read(path, FORMAT, "stack-classifier")
    if ckpt.get("pairs") != [list(p) for p in PAIRS]:
        raise CheckpointError(f"{path}: made for other blocks than this program's {', '.join(BLOCK_NAMES)}")
    model = StackClassifier(ClassifierConfig(**ckpt["config"]))
    try:
        model.load_state_dict(ckpt["weights"])
    except RuntimeError as e:
        raise CheckpointError(f"{path}: weights do not fit the classifier of its config ({str(e).splitlines()[0]})") from None
    model.to(device).eval()
    meta = {k: v for k, v in ckpt.items() if k != "weights"}
    return LoadedClassifier(model, Normaliser.from_dict(ckpt["normaliser"]), meta)


class LearnedPlacedOn(Guide):
    """log P(`top` strictly on `bottom` at the end), by the classifier, of an unnormalised
    trajectory. The sampler hands guides its current clean estimate (DDIM) or mean (DDPM), so
    the classifier reads it at noise level 0."""

    def __init__(self, classifier: LoadedClassifier, top: str, bottom: str) -> None:
        super().__init__()
        self.model, self.normaliser = classifier.model, classifier.normaliser
        self.index = PAIRS.index((top, bottom))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
        logits = self.model(self.normaliser.normalise(x), t)
        return nn.functional.logsigmoid(logits[:, self.index])


def _labelled_segments(w: TrajectoryWindows, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Every aligned segment of the windows' demos and its last state's stack labels."""
    xs, ys = [], []
    for d, s in enumerate(w.demos):
        for t in range(0, len(s) - horizon + 1, PHASES.length):
            xs.append(w.normed[d][t:t + horizon])
            ys.append(stack_labels(s[t + horizon - 1]))
    return np.stack(xs), np.stack(ys)


def _noised(abar: torch.Tensor, x: torch.Tensor, t: torch.Tensor, gen: torch.Generator | None = None) -> torch.Tensor:
    """x noised to levels t as the diffusion noises it, the first state left clean."""
    a = abar[t][:, None, None]
    xt = a.sqrt() * x + (1 - a).sqrt() * torch.randn(x.shape, generator=gen)
    xt[:, 0] = x[:, 0]  # the first state is pinned when planning
    return xt


def train_classifier(
    config: ClassifierTrainConfig, progress: bool = True, stop: Callable[[], bool] = lambda: False,
    command: str | None = None,
) -> dict:
    """Train on the demos' whole segments, noised at uniform levels with the first state clean;
    saves to `out` and returns held-out figures (accuracy on the validation split, clean and noised).
    `stop()` is polled between steps: what is trained by then is saved, with the steps done."""
    data, out, steps, batch_size, seed = config.data, config.out, config.steps, config.batch_size, config.seed
    training_threads()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    cfg = ClassifierConfig()
    train = TrajectoryWindows(data, cfg.horizon, split="train")
    try:
        valid = TrajectoryWindows(data, cfg.horizon, split="valid", normaliser=train.normaliser)
    except FileFormatError:  # no validation demos: report on the training segments
        valid = train

    x_train, y_train = _labelled_segments(train, cfg.horizon)
    x_valid, y_valid = _labelled_segments(valid, cfg.horizon)
    abar = torch.cumprod(1 - cosine_beta_schedule(cfg.n_timesteps), 0)
    model = StackClassifier(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr)
    loss_fn = nn.BCEWithLogitsLoss()
    noised = partial(_noised, abar)

    bar = tqdm(total=steps, desc="train classifier", unit="step", file=sys.stderr, disable=not progress)
    t0 = time.perf_counter()
    done = 0
    for step in range(1, steps + 1):
        if stop():
            break
        idx = rng.integers(len(x_train), size=batch_size)
        x, y = torch.from_numpy(x_train[idx]), torch.from_numpy(y_train[idx])
        # low noise levels drawn more often: there the relation can be read, and guides act
        t = torch.from_numpy((cfg.n_timesteps * rng.random(batch_size) ** 2).astype(np.int64))
        loss = loss_fn(model(noised(x, t), t), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        bar.update(1)
        done = step
        if step % 50 == 0:
            bar.set_postfix(loss=f"{loss.item():.4f}")
    bar.close()
    model.eval()
    figures = {"train_seconds": time.perf_counter() - t0, "segments": len(x_train), "steps": done}
    with torch.no_grad():
        x, y = torch.from_numpy(x_valid), torch.from_numpy(y_valid)
        gen = torch.Generator().manual_seed(seed)
        for name, level in (("clean", 0), ("t=250", 250), ("t=500", 500)):
            t = torch.full((len(x),), level, dtype=torch.long)
            pred = model(noised(x, t, gen) if level else x, t) > 0
            figures[f"valid_accuracy_{name}"] = float((pred == (y > 0.5)).all(1).float().mean())
    save_atomic({
        "format": FORMAT, "state_names": LAYOUT.names, "pairs": [list(p) for p in PAIRS], "segment": segment_info(),
        "config": asdict(cfg), "normaliser": train.normaliser.to_dict(), "weights": model.state_dict(),
        "steps": done, "figures": figures, "parameters": count_parameters(model),
        "command": command or " ".join(sys.argv), "commit": git_commit(), "data": str(data),
    }, out)
    return figures

