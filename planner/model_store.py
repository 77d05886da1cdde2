"""The move models a person trained (the app's Train tab, `train-mover`): a folder of models, each
with its data, its training curve, its steps and its scores beside the model it was compared with.

    MODELS/<name>/checkpoint.pt   the full checkpoint (weights, EMA, optimizer): training resumes from it
    MODELS/<name>/model.pt        its EMA-only copy, what the planner loads
    MODELS/<name>/info.json       what is listed: data, settings, curve, state, scores

The shipped model (assets/move_diffuser.pt) is listed beside them and never written: a training
always writes into a folder of its own here. info.json is written whole or not at all (a
temporary file renamed), by one process at a time: the training or the evaluation of that model.
"""
from __future__ import annotations

import json
import os
import re
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

from planner.config import SHIPPED_MOVER

INFO, CHECKPOINT, MODEL = "info.json", "checkpoint.pt", "model.pt"
SHIPPED_NAME = "shipped"


@dataclass
class Score:
    """One evaluation: `task` with `blocks` blocks, `episodes` test-stream episodes of `seed`."""

    task: str
    blocks: int
    episodes: int
    seed: int
    score: float  # normalised score, mean
    sem: float
    strict: float  # share of strict successes
    model: str  # the model's name in the store
    against: str = ""  # the name of the model in use it was compared with

    @property
    def case(self) -> str:
        return f"{self.task}, {self.blocks} blocks, {self.episodes} episodes, seed {self.seed}"


@dataclass
class ModelInfo:
    """What the store knows of one model."""

    name: str
    data: list[str] = field(default_factory=list)
    init_from: str | None = None  # the model it was fine-tuned from; None: from scratch
    settings: dict = field(default_factory=dict)  # the training options asked for
    created: str = ""
    state: str = "new"
    message: str = ""  # why it stopped or failed
    step: int = 0
    seconds: float = 0.0  # training time over all its runs
    valid_loss: float | None = None
    losses: list[tuple[int, float]] = field(default_factory=list)  # (step, running training loss)
    valid: list[tuple[int, float]] = field(default_factory=list)  # (step, held-out denoising error)
    scores: list[dict] = field(default_factory=list)  # Score as dicts
    path: str = ""  # the planner's checkpoint (not stored: where the model lies)

    @property
    def shipped(self) -> bool:
        return self.name == SHIPPED_NAME

    def score_list(self) -> list[Score]:
        return [Score(**s) for s in self.scores]

    def score_on(self, case: str) -> Score | None:
        """The latest score of this model on `case` (Score.case)."""
        found = [s for s in self.score_list() if s.case == case]
        return found[-1] if found else None


@lru_cache(maxsize=4)
def _checkpoint_facts(path: str, mtime_ns: int) -> tuple[int, tuple[str, ...], float | None]:
    """(step, data files, held-out error) of a move-model checkpoint, read once per version of the
    file (the tab lists it at every refresh; reading it is 13 MB through torch)."""
    from planner.checkpoint import read_mover

    ckpt = read_mover(path)
    data = tuple(d for d in str(ckpt.get("data", "")).split(" + ") if d)
    return int(ckpt.get("step", 0)), data, ckpt.get("valid_loss")


class ModelStore:
    """The models under `root`, plus the shipped one (read-only)."""

    def __init__(self, root: str | Path, shipped: str | Path = SHIPPED_MOVER) -> None:
        self.root, self.shipped_path = Path(root), Path(shipped)

    # ------------------------------------------------------------------ reading
    def names(self) -> list[str]:
        """Trained models, oldest first (their names start with their creation time)."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / INFO).is_file())

    def folder(self, name: str) -> Path:
        if name == SHIPPED_NAME:
            raise ValueError("the shipped model has no folder in the store: it is never written")
        return self.root / name

    def info(self, name: str) -> ModelInfo:
        """The model's info; the shipped model's from its checkpoint. A damaged info.json says so."""
        if name == SHIPPED_NAME:
            return self._shipped_info()
        path = self.folder(name) / INFO
        try:
            raw = json.loads(path.read_text())
            info = ModelInfo(**{k: v for k, v in raw.items() if k in ModelInfo.__dataclass_fields__})
        except (OSError, ValueError, TypeError) as e:
            return ModelInfo(name=name, state="failed", message=f"{path}: unreadable ({e})")
        info.losses = [tuple(x) for x in info.losses]
        info.valid = [tuple(x) for x in info.valid]
        info.path = str(self.folder(name) / MODEL)
        return info

    def all(self) -> list[ModelInfo]:
        """The shipped model first (when there is one), then the trained ones."""
        found = [self.info(SHIPPED_NAME)] if self.shipped_path.exists() else []
        return found + [self.info(n) for n in self.names()]

    def path_of(self, name: str) -> Path:
        """The checkpoint the planner loads for `name`."""
        return self.shipped_path if name == SHIPPED_NAME else self.folder(name) / MODEL

    def name_of(self, checkpoint: str | Path | None) -> str:
        """The store's name for a planner checkpoint path (its file name when not in the store)."""
        if checkpoint is None:
            return "none"
        p = Path(checkpoint).resolve()
        if p == self.shipped_path.resolve():
            return SHIPPED_NAME
        if p.parent.parent == self.root.resolve():
            return p.parent.name
        return p.name

    def _shipped_info(self) -> ModelInfo:
        step, data, valid_loss = _checkpoint_facts(str(self.shipped_path), self.shipped_path.stat().st_mtime_ns)
        info = ModelInfo(name=SHIPPED_NAME, data=list(data), state="finished", step=step, valid_loss=valid_loss,
                         path=str(self.shipped_path), message="shipped with the app; never overwritten")
        scores = self.root / f"{SHIPPED_NAME}-scores.json"  # its evaluations, kept beside the store's models
        if scores.is_file():
            try:
                info.scores = json.loads(scores.read_text())
            except ValueError:
                pass
        return info

    # ------------------------------------------------------------------ writing
    def new(self, data: list[str], init_from: str | None, settings: dict) -> ModelInfo:
        """A new model's folder and info; its name is its creation time (unique, sorts by age)."""
        self.root.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        name, k = stamp, 1
        while (self.root / name).exists():
            k += 1
            name = f"{stamp}-{k}"
        (self.root / name).mkdir()
        info = ModelInfo(name=name, data=[str(d) for d in data], init_from=init_from, settings=dict(settings),
                         created=time.strftime("%Y-%m-%d %H:%M:%S"))
        self.write(info)
        return self.info(name)

    def write(self, info: ModelInfo) -> None:
        """Save `info` whole (a temporary file renamed)."""
        if info.shipped:
            self._write_json(self.root / f"{SHIPPED_NAME}-scores.json", info.scores)
            return
        raw = {k: v for k, v in asdict(info).items() if k != "path"}
        self._write_json(self.folder(info.name) / INFO, raw)

    def add_score(self, score: Score) -> None:
        info = self.info(score.model)
        info.scores.append(asdict(score))
        self.write(info)

    def check_name(self, name: str) -> str | None:
        """Why `name` is not a model of this store, or None."""
        if name == SHIPPED_NAME:
            return None if self.shipped_path.exists() else f"no shipped model at {self.shipped_path}"
        if not re.fullmatch(r"[\w.-]+", name) or not (self.root / name / INFO).is_file():
            return f"no model named {name!r} in {self.root}"
        return None

    @staticmethod
    def _write_json(path: Path, value) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(value, indent=1))
        os.replace(tmp, path)
