"""Every setting of the planner and the trainings, in one place, importable without PyTorch.

Each field carries its default, its allowed range and its help text; the command line
(`main.py`) and the app read them from here, and each dataclass checks its values when built,
so a nonsense value is refused with the field's name and range wherever it comes from.
"""
from __future__ import annotations

import math
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path

ASSETS = Path(__file__).resolve().parents[1] / "assets"
SHIPPED_CHECKPOINT = ASSETS / "diffuser.pt"  # the whole-state Diffuser (keyframe setting, move scores)
SHIPPED_MOVER = ASSETS / "move_diffuser.pt"  # the move model (each segment's motion)
MAX_SEED = 2**32 - 1  # numpy's seeds; HDF5 stores them as int64
DEVICES = ("cpu", "cuda", "auto")


def shipped_mover() -> str | None:
    """The shipped move model's path, if it is there (a checkout without it plans without it)."""
    return str(SHIPPED_MOVER) if SHIPPED_MOVER.exists() else None


def option(default=MISSING, help: str = "", low: float | None = None, high: float | None = None,
           above: bool = False, choices: tuple | None = None, default_factory=MISSING):
    """A dataclass field with its range (`low`..`high`; `above`: strictly more than `low`) and help."""
    meta = {"help": help, "low": low, "high": high, "above": above, "choices": choices}
    if default_factory is not MISSING:
        return field(default_factory=default_factory, metadata=meta)
    return field(default=default, metadata=meta)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e13 else f"{x:g}"


def range_text(meta: dict) -> str:
    """'between 1 and 1024', 'more than 0', 'one of cpu, cuda, auto', ..."""
    low, high, above = meta.get("low"), meta.get("high"), meta.get("above")
    if meta.get("choices"):
        return "one of " + ", ".join(map(str, meta["choices"]))
    if low is not None and high is not None:
        return f"more than {_num(low)} and at most {_num(high)}" if above else f"between {_num(low)} and {_num(high)}"
    if low is not None:
        return f"more than {_num(low)}" if above else f"at least {_num(low)}"
    return f"at most {_num(high)}" if high is not None else "any value"


def check_value(meta: dict, value) -> str | None:
    """None if `value` is allowed by the field's metadata, else what is wrong with it."""
    if value is None or isinstance(value, (bool, str, tuple)) and not meta.get("choices"):
        return None
    if meta.get("choices"):
        return None if value in meta["choices"] else f"must be {range_text(meta)}, got {value!r}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"must be a finite number, got {value}"
    low, high, above = meta.get("low"), meta.get("high"), meta.get("above")
    if (low is not None and (value < low or (above and value == low))) or (high is not None and value > high):
        return f"must be {range_text(meta)}, got {_num(value)}"
    return None


def validate(obj) -> None:
    """Raise ValueError naming the first field of dataclass `obj` outside its range."""
    for f in fields(obj):
        problem = check_value(f.metadata, getattr(obj, f.name))
        if problem:
            raise ValueError(f"{f.name} {problem}")


def meta(cls, name: str) -> dict:
    """The range and help of field `name` of `cls`, with its default under 'default'."""
    f = next(f for f in fields(cls) if f.name == name)
    default = f.default if f.default is not MISSING else (f.default_factory() if f.default_factory is not MISSING else None)
    return {**f.metadata, "default": default}


@dataclass(frozen=True)
class PlannerSettings:
    """How the Diffuser plans. The defaults are the best setting measured (docs/figures.md): the
    move model makes each segment, no inverse kinematics enters it, 16 candidates are ranked and
    checked in physics. Without a move model, `keyframes=True` is the whole-state Diffuser's best."""

    steps: int = option(10, "denoising steps (the model's full count, 1000, is the paper's DDPM)", 1, 1000)
    candidates: int = option(16, "candidates sampled per segment", 1, 1024)
    guide_scale: float = option(10.0, "the guide's weight: the move model's tool guide (10, the default, pulls the "
                                "tool onto the block and above the target; 0 is the model alone; 100+ "
                                "overshoots), the whole-state model's PlacedOn", 0, 1e6)
    keyframes: bool = option(False, "also pin joints from inverse kinematics at the grasp and release")
    physics_check: bool = option(True, "try candidates in physics, best ranked first, until one achieves the move")
    max_checks: int = option(4, "candidates tried in physics per segment", 1, 1024)
    extra_segments: int = option(1, "segments allowed beyond the moves the goal needs, to retry a failed move "
                                 "(0 = one segment per move, as the paper)", 0, 16)
    batches: int = option(3, "with the physics check and the move model, batches of candidates drawn at most "
                          "while none is predicted to let its block go within tolerance of its target", 1, 64)
    rescues: int = option(2, "with the physics check and the move model, batches of candidates drawn at most once "
                          "every candidate tried (the first max_checks, then the rest) failed the check", 0, 64)
    smooth: int = option(30, "smoothing passes over the joints where they are free (the move model's grasp and release "
                         "poses stay as settled): the executed motion as smooth as the demonstrator's", 0, 1000)
    device: str = option("cpu", "where the model runs", choices=DEVICES)
    classifier: str | None = option(None, "a stack-classifier checkpoint: its learned guide replaces PlacedOn")
    mover: str | None = option(help="the move model (train-mover) that makes each segment's motion",
                               default_factory=shipped_mover)
    cond_scale: float = option(1.0, "the move model's classifier-free guidance weight (1 = plain conditioning)",
                               0, 100)
    clearance: float = option(0.0, "the move model's clearance guide: keeps the arm and the carried block above "
                              "the other blocks while it travels (0 = off)", 0, 1e6)
    settle: bool = option(True, "after sampling, move each candidate's grasp and release onto the tool guide's "
                          "targets (and a floor spot's yaw) through forward kinematics, faded in and out")
    lift: bool = option(True, "after smoothing, raise the move model's transit and carry where the tool or the "
                        "carried block would pass through another block's column (planner/lift.py)")

    def __post_init__(self) -> None:
        validate(self)

    @classmethod
    def paper(cls) -> PlannerSettings:
        """The paper's setting: ancestral DDPM over all steps, one sample, guide only, no check."""
        return cls(steps=1000, candidates=1, guide_scale=100.0, keyframes=False, physics_check=False, max_checks=1,
                   extra_segments=0, smooth=0, mover=None, settle=False, clearance=0.0, lift=False)

    @classmethod
    def whole_state(cls, **changes) -> PlannerSettings:
        """The whole-state Diffuser alone with its IK keyframes (the best setting before the move model)."""
        return cls(**{"keyframes": True, "mover": None, "smooth": 30, "guide_scale": 0.0, **changes})


@dataclass(frozen=True)
class ModelConfig:
    """The temporal U-Net's shape (planner.model)."""

    horizon: int = option(128, "states per trajectory window", 8, 4096)
    state_dim: int = option(39, "channels per state", 1, 4096)
    dim: int = option(32, "channels of the first U-Net level", 8, 1024)
    dim_mults: tuple[int, ...] = (1, 2, 4, 8)
    kernel_size: int = 5
    start_conditioning: bool = True
    input_gain: bool = True
    cond_dim: int = 0  # a conditioning vector per sample (the move model's move), 0 = none
    embed_dim: int = 0  # width of the step (+ start, + condition) embedding; 0 = dim
    film: bool = False  # the embedding scales as well as shifts each block's features

    def __post_init__(self) -> None:
        validate(self)
        if not self.dim_mults or any(m < 1 for m in self.dim_mults):
            raise ValueError(f"dim_mults must be positive, got {list(self.dim_mults)}")
        if self.horizon % 2 ** (len(self.dim_mults) - 1):
            raise ValueError(f"horizon {self.horizon} must be divisible by {2 ** (len(self.dim_mults) - 1)} "
                             f"(the U-Net halves it {len(self.dim_mults) - 1} times)")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        # Checkpoints from before start conditioning existed have no such key and no such weights.
        return cls(**{"start_conditioning": False, "input_gain": False, **d, "dim_mults": tuple(d["dim_mults"])})

    @property
    def embedding(self) -> int:
        return self.embed_dim or self.dim


@dataclass(frozen=True)
class DiffusionConfig:
    n_timesteps: int = 1000
    clip_denoised: bool = True

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TrainConfig:
    """Training of the whole-state Diffuser (planner.train)."""

    data: str
    out: str
    steps: int = option(100_000, "total steps, counting those already done", 1, 10**9)
    batch_size: int = option(32, "windows per step", 1, 65536)
    lr: float = option(2e-4, "learning rate", 0, 1, above=True)
    ema_decay: float = option(0.995, "", 0, 1)
    ema_start: int = option(1000, "", 0)
    save_every: int = option(1000, "steps between checkpoints", 1, 10**9)
    aligned_fraction: float = option(0.75, "share of windows that are one whole pick-and-place, the rest start "
                                     "anywhere", 0, 1)
    keyframe_fraction: float = option(0.7, "share of aligned windows pinned with the keyframe mask, the rest with "
                                      "the start state only", 0, 1)
    seed: int = option(0, "", 0, MAX_SEED)
    device: str = option("auto", "", choices=DEVICES)
    slim: str | None = option(None, "also keep an EMA-only copy here at every save (what the app ships)")
    flag_weight: float = option(1.0, "loss weight of the attach flags (which block moves: the plan's one "
                                "discrete choice)", 0)
    flag_x0_floor: float = option(0.0, "weigh the flags' errors at least this much in x0 terms, so high-noise "
                                  "steps, where a sample picks its block, learn from the start state (0 = off)", 0)
    position_x0_floor: float = option(0.0, "the same floor for the blocks' positions (0 = off)", 0)
    init_from: str | None = option(None, "start a new run from this checkpoint's EMA weights (it may lack start "
                                   "conditioning)")

    def __post_init__(self) -> None:
        validate(self)


@dataclass(frozen=True)
class ClassifierTrainConfig:
    """Training of the stack-relation classifier (planner.classifier)."""

    data: str
    out: str
    steps: int = option(15_000, "training steps (it starts over when run again)", 1, 10**9)
    batch_size: int = option(64, "segments per step", 1, 65536)
    lr: float = option(1e-3, "learning rate", 0, 1, above=True)
    seed: int = option(0, "", 0, MAX_SEED)

    def __post_init__(self) -> None:
        validate(self)


@dataclass(frozen=True)
class MoverTrainConfig:
    """Training of the move model (planner.train_mover)."""

    data: str | tuple[str, ...]  # demonstrations (.h5) or extracted segments (.npz), one or several
    out: str
    steps: int = option(60_000, "total steps, counting those already done", 1, 10**9)
    batch_size: int = option(64, "segments per step", 1, 65536)
    lr: float = option(2e-4, "peak learning rate, cosine-decayed", 0, 1, above=True)
    lr_final: float = option(2e-5, "learning rate at the last step", 0, 1)
    ema_decay: float = option(0.999, "", 0, 1)
    ema_start: int = option(500, "", 0)
    save_every: int = option(1000, "steps between checkpoints", 1, 10**9)
    cond_drop: float = option(0.1, "condition dropout, for classifier-free guidance", 0, 1)
    key_weight: float = option(5.0, "joints' loss weight while the tool dwells at the grasp and release", 0, 1e3,
                               above=True)
    keyframe_fraction: float = option(0.25, "share of samples also pinned at the grasp and release", 0, 1)
    seed: int = option(0, "", 0, MAX_SEED)
    device: str = option("auto", "", choices=DEVICES)
    minutes: float = option(0.0, "stop with a checkpoint after this much training time (0 = no limit)", 0)
    slim: str | None = option(None, "also keep an EMA-only copy here at every save (what the app ships)")
    snapshots: tuple[int, ...] = field(default_factory=tuple)  # EMA-only half-precision copies at these steps
    init_from: str | None = option(None, "fine-tune: start a new run from this move model's EMA weights and "
                                   "normalisers (a two-slot, four-block model grows new inputs that start at zero)")

    def __post_init__(self) -> None:
        validate(self)
