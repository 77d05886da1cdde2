"""Checkpoints: weights (EMA), model and diffusion config, normaliser, training config, provenance.

A checkpoint that does not match this program's state layout or model shape is refused with a
message that says what differs.
"""
from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import torch

from planner.diffusion import DiffusionConfig, GaussianDiffusion
from planner.errors import CheckpointError  # noqa: F401  (raised here; defined without torch)
from planner.model import ModelConfig, TemporalUnet
from planner.data import Normaliser
from tasks.layout import LAYOUT, PHASES

FORMAT = "kuka-diffuser-1"
MOVER_FORMAT = "kuka-move-diffuser-1"  # planner.train_mover: joints + gripper, conditioned on the move


@dataclass
class Loaded:
    diffusion: GaussianDiffusion  # with EMA weights, eval mode
    normaliser: Normaliser
    meta: dict  # everything else in the checkpoint (configs, step, command, commit)


def git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
            cwd=Path(__file__).resolve().parents[1],
        ).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def segment_info() -> dict:
    return {"length": PHASES.length, "grasp_index": PHASES.grasp_index, "release_index": PHASES.release_index}


def save_atomic(payload: dict, path: str | Path) -> None:
    """Write to a temporary file and rename, so a kill never leaves half a checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def read(path: str | Path, fmt: str = FORMAT, kind: str = "Diffuser") -> dict:
    """The raw checkpoint dict, after checking it is a `kind` checkpoint of format `fmt` and fits
    this program's layout."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint")
    try:
        # weights_only: a checkpoint is tensors, numbers, strings, lists and dicts; a file that
        # asks to build any other object (and so could run code) is refused.
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many kinds for a corrupt file
        if "Weights only load failed" in str(e):
            why = "not a file of tensors and plain containers; anything else is refused, as loading it could run code"
        else:
            why = f"{type(e).__name__}: {' '.join(str(e).split())[:160]}"
        raise CheckpointError(f"{path}: not a readable checkpoint ({why})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != fmt:
        raise CheckpointError(f"{path}: not a {kind} checkpoint of format {fmt}")
    if ckpt.get("state_names") != LAYOUT.names:
        raise CheckpointError(f"{path}: made for a different state layout than this program's 39-d one")
    if ckpt.get("segment") != segment_info():
        raise CheckpointError(f"{path}: trained on segments timed {ckpt.get('segment')}, this program uses {segment_info()}")
    return ckpt


def build(model_config: ModelConfig, diffusion_config: DiffusionConfig) -> GaussianDiffusion:
    return GaussianDiffusion(TemporalUnet(model_config), diffusion_config)


def load(path: str | Path, device: str | torch.device = "cpu") -> Loaded:
    ckpt = read(path)
    mc = ModelConfig.from_dict(ckpt["model_config"])
    if mc.state_dim != LAYOUT.dim:
        raise CheckpointError(f"{path}: model state_dim {mc.state_dim}, expected {LAYOUT.dim}")
    return _loaded(path, ckpt, mc, device)


def _loaded(path, ckpt: dict, mc: ModelConfig, device) -> Loaded:
    """The checkpoint's EMA weights in a model of its config, in eval mode, with its normaliser."""
    diffusion = build(mc, DiffusionConfig(**ckpt["diffusion_config"]))
    try:
        diffusion.model.load_state_dict(ckpt["ema"])
    except RuntimeError as e:
        first = str(e).splitlines()[1].strip() if len(str(e).splitlines()) > 1 else str(e)
        raise CheckpointError(f"{path}: weights do not fit the model of its config ({first})") from None
    diffusion.to(device).eval()
    meta = {k: v for k, v in ckpt.items() if k not in ("ema", "model", "optimizer")}
    return Loaded(diffusion, Normaliser.from_dict(ckpt["normaliser"]), meta)


def read_mover(path: str | Path) -> dict:
    """A move-model checkpoint's contents, a two-slot one (four blocks) grown to today's condition."""
    from planner.moves import CHANNEL_NAMES, COND_NAMES, TWO_SLOT_COND_NAMES

    ckpt = read(path, MOVER_FORMAT, "move-model")
    names = tuple(ckpt.get("cond_names", ()))
    if names == TWO_SLOT_COND_NAMES:
        ckpt = grow_mover(ckpt)
    if tuple(ckpt.get("channel_names", ())) != CHANNEL_NAMES or tuple(ckpt.get("cond_names", ())) != COND_NAMES:
        raise CheckpointError(f"{path}: made for other move channels or conditions than this program's "
                              f"(its condition has {len(names)} numbers, this program's {len(COND_NAMES)})")
    return ckpt


def grow_mover(ckpt: dict) -> dict:
    """A move model of the two-slot condition (two obstacles, four blocks) as one of today's: the
    new inputs (more obstacle slots, their flags) enter its condition network with zero weights,
    so it computes exactly what it did; fine-tuning (train-mover --init-from) teaches it to use
    them. `grown_dims` lists the new inputs, whose normaliser the fine-tuning fits."""
    from planner.moves import COND_DIM, COND_NAMES

    old = len(ckpt["cond_names"])
    out = {k: v for k, v in ckpt.items() if k not in ("model", "optimizer")}
    ema = dict(ckpt["ema"])
    w = ema["cond_mlp.0.weight"]
    ema["cond_mlp.0.weight"] = torch.cat([w, w.new_zeros(w.shape[0], COND_DIM - old)], dim=1)
    norm = ckpt["cond_normaliser"]
    out.update(
        ema=ema, cond_names=list(COND_NAMES), grown_dims=list(range(old, COND_DIM)),
        model_config={**ckpt["model_config"], "cond_dim": COND_DIM},
        cond_normaliser={"mean": list(norm["mean"]) + [0.0] * (COND_DIM - old),
                         "std": list(norm["std"]) + [1.0] * (COND_DIM - old)},
    )
    return out


def load_mover(path: str | Path, device: str | torch.device = "cpu") -> Loaded:
    """A move-model checkpoint (planner.train_mover); its `meta` holds the condition normaliser."""
    ckpt = read_mover(path)
    return _loaded(path, ckpt, ModelConfig.from_dict(ckpt["model_config"]), device)


def blend_movers(base: str | Path, tuned: str | Path, weight: float, out: str | Path, command: str = "") -> dict:
    """Write a move model whose every weight is (1 - weight) * base + weight * tuned, and return
    its payload. `tuned` must have been fine-tuned from `base` (one model shape, one pair of
    normalisers): weights between a fine-tuned model and its origin keep much of what each knows
    (weight-space ensembling, as in WiSE-FT, Wortsman et al. 2022)."""
    if not 0.0 <= weight <= 1.0:
        raise CheckpointError(f"blend weight must be between 0 and 1, got {weight}")
    a = read_mover(base)
    b = read_mover(tuned)
    for key in ("model_config", "diffusion_config", "normaliser", "cond_normaliser", "channel_names", "cond_names"):
        if a.get(key) != b.get(key):
            raise CheckpointError(f"{tuned}: its {key.replace('_', ' ')} differs from {base}'s; only a model "
                                  "fine-tuned from the other can be blended with it")
    blended = {}
    for name, tensor in b["ema"].items():
        other = a["ema"].get(name)
        if other is None or other.shape != tensor.shape:
            raise CheckpointError(f"{tuned}: weight {name} has no counterpart of its shape in {base}")
        blended[name] = (1 - weight) * other + weight * tensor if tensor.is_floating_point() else tensor
    payload = {k: v for k, v in b.items() if k not in ("ema", "model", "optimizer")}
    payload.update(ema=blended, command=command, commit=git_commit(), blend={
        "base": Path(base).name, "base_step": int(a.get("step", 0)), "tuned": Path(tuned).name,
        "tuned_step": int(b.get("step", 0)), "weight": float(weight)})
    save_atomic(payload, out)
    return payload
