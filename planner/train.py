"""Training loop: CPU or CUDA (bf16 autocast there), EMA, periodic atomic checkpoints, resume,
several processes through torchrun (DistributedDataParallel, gloo on CPU, nccl on CUDA).

Batches mix segment-aligned windows (one whole pick-and-place, the planner's case) with windows
at any start. An aligned window is pinned with the keyframe mask or the start mask; any other
with the start mask. Pinned cells are clean in x_t and left out of the loss (planner.masks).
"""
from __future__ import annotations

import copy
from contextlib import nullcontext
import math
import os
import sys
from dataclasses import asdict
from pathlib import Path
from collections.abc import Callable

import numpy as np
import torch

from planner import training_threads
import torch.distributed as dist

from planner.checkpoint import FORMAT, CheckpointError, build, git_commit, read, save_atomic, segment_info
from planner.config import DiffusionConfig, ModelConfig, TrainConfig
from planner.masks import keyframe_mask, moved_block, start_mask
from planner.model import count_parameters
from planner.data import Normaliser, TrajectoryWindows
from tasks.layout import LAYOUT, PHASES
from tasks.stopping import StopOnSignal


class SegmentBatches:
    """Random training batches (x0, mask) from a demonstrations file."""

    def __init__(self, windows: TrajectoryWindows, cfg: TrainConfig, rank: int = 0, start_step: int = 0) -> None:
        self.w = windows
        self.cfg = cfg
        # A resumed run draws new batches rather than repeating the first ones.
        self.rng = np.random.default_rng([cfg.seed, rank, start_step])
        h = windows.horizon
        self.aligned = [
            (d, t) for d, s in enumerate(windows.demos) for t in range(0, len(s) - h + 1, PHASES.length)
            if moved_block(s[t:t + h]) is not None
        ]
        self.masks = {b: keyframe_mask(h, b) for b in LAYOUT.blocks}
        self.start = start_mask(h)

    def sample(self) -> tuple[np.ndarray, np.ndarray]:
        h, n = self.w.horizon, self.cfg.batch_size
        xs, ms = [], []
        for _ in range(n):
            if self.aligned and self.rng.random() < self.cfg.aligned_fraction:
                d, t = self.aligned[self.rng.integers(len(self.aligned))]
                x = self.w.normed[d][t:t + h]
                use_keys = self.rng.random() < self.cfg.keyframe_fraction
                m = self.masks[moved_block(self.w.demos[d][t:t + h])] if use_keys else self.start
            else:
                x = self.w[self.rng.integers(len(self.w))]
                m = self.start
            xs.append(x)
            ms.append(m)
        return np.stack(xs), np.stack(ms)


def warm_start(model: torch.nn.Module, ckpt: dict, name: str) -> None:
    """Load another checkpoint's EMA weights into `model`, which may add modules that the
    checkpoint lacks (they keep their initialisation); any other difference is refused."""
    own = model.state_dict()
    for k, v in ckpt["ema"].items():
        if k in own and own[k].shape != v.shape:
            raise CheckpointError(f"{name}: weight {k} has shape {tuple(v.shape)}, this model's is {tuple(own[k].shape)}")
    missing, unexpected = model.load_state_dict(ckpt["ema"], strict=False)
    new = sorted({k.split(".")[0] for k in missing})
    if unexpected or any(k not in ("start_mlp", "input_gain", "start_gain") for k in new):
        raise CheckpointError(f"{name}: cannot warm-start from it (missing {new}, unexpected {sorted(unexpected)[:3]})")


def resume_from(ckpt: dict, model: torch.nn.Module, ema: torch.nn.Module, opt: torch.optim.Optimizer) -> int:
    """Load a checkpoint's weights, EMA and optimizer; returns its step. A slim (EMA-only)
    checkpoint resumes with model = EMA and a fresh optimizer."""
    model.load_state_dict(ckpt.get("model") or ckpt["ema"])
    ema.load_state_dict(ckpt["ema"])
    if ckpt.get("optimizer"):
        opt.load_state_dict(ckpt["optimizer"])
    return int(ckpt["step"])


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise CheckpointError("--device cuda asked for, but no CUDA device is available")
    return torch.device(name)


def train(
    cfg: TrainConfig,
    model_config: ModelConfig = ModelConfig(),
    diffusion_config: DiffusionConfig = DiffusionConfig(),
    command: str = "",
    progress: Callable[[int, int, float], None] | None = None,
    stop: StopOnSignal | None = None,
) -> Path:
    """Train (or resume training of) the Diffuser; returns the checkpoint path. SIGINT or SIGTERM
    (or the caller's `stop`) ends it after the current step, with a checkpoint."""
    distributed = "RANK" in os.environ and int(os.environ.get("WORLD_SIZE", "1")) > 1
    training_threads()
    device = pick_device(cfg.device)
    rank = 0
    if distributed:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        if device.type == "cuda":
            device = torch.device("cuda", local)
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        rank = dist.get_rank()
    torch.manual_seed(cfg.seed + rank)

    out = Path(cfg.out)
    resume = read(out) if out.exists() else None
    init = read(cfg.init_from) if (cfg.init_from and not resume) else None
    source = resume or init
    normaliser = Normaliser.from_dict(source["normaliser"]) if source else None
    windows = TrajectoryWindows(cfg.data, model_config.horizon, split="train", normaliser=normaliser)
    if resume:
        model_config = ModelConfig.from_dict(resume["model_config"])
    if source:
        diffusion_config = DiffusionConfig(**source["diffusion_config"])
    diffusion = build(model_config, diffusion_config).to(device)
    ema = copy.deepcopy(diffusion.model).requires_grad_(False)
    opt = torch.optim.AdamW(diffusion.parameters(), lr=cfg.lr, weight_decay=0.0)
    step = 0
    if resume:
        step = resume_from(resume, diffusion.model, ema, opt)
    elif init:
        warm_start(diffusion.model, init, cfg.init_from)
        ema.load_state_dict(diffusion.model.state_dict())
        step = int(init["step"])
    trainer = torch.nn.parallel.DistributedDataParallel(diffusion) if distributed else diffusion
    batches = SegmentBatches(windows, cfg, rank, step)
    amp = device.type == "cuda"
    weights = torch.ones(LAYOUT.dim, device=device)
    weights[LAYOUT.attached_dims] = cfg.flag_weight
    x0_floor = None
    if cfg.flag_x0_floor or cfg.position_x0_floor:
        x0_floor = torch.zeros(LAYOUT.dim, device=device)
        x0_floor[LAYOUT.attached_dims] = cfg.flag_x0_floor
        x0_floor[LAYOUT.position_dims] = cfg.position_x0_floor

    def save() -> None:
        if rank != 0:
            return
        common = {
            "format": FORMAT, "state_names": LAYOUT.names, "segment": segment_info(),
            "model_config": model_config.to_dict(), "diffusion_config": diffusion_config.to_dict(),
            "normaliser": windows.normaliser.to_dict(), "train_config": asdict(cfg),
            "command": command, "commit": git_commit(), "step": step, "parameters": count_parameters(ema),
            "ema": ema.state_dict(),
        }
        save_atomic({**common, "model": diffusion.model.state_dict(), "optimizer": opt.state_dict()}, out)
        if cfg.slim:
            save_atomic(common, cfg.slim)

    bar = None
    if rank == 0 and progress is None:
        from tqdm import tqdm

        bar = tqdm(total=cfg.steps, initial=step, unit="step", desc="train", file=sys.stderr)
    loss_avg = math.nan
    stopping = StopOnSignal() if stop is None else nullcontext(stop)
    try:
        with stopping as stop:
            while step < cfg.steps and not stop.requested:
                x0, mask = batches.sample()
                x0 = torch.from_numpy(x0).to(device)
                mask = torch.from_numpy(mask).to(device)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                    loss = trainer(x0, mask, weights, x0_floor)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                step += 1
                with torch.no_grad():
                    decay = 0.0 if step < cfg.ema_start else cfg.ema_decay
                    for pe, pm in zip(ema.parameters(), diffusion.model.parameters()):
                        pe.lerp_(pm, 1 - decay)
                    for be, bm in zip(ema.buffers(), diffusion.model.buffers()):
                        be.copy_(bm)
                value = float(loss.detach())
                loss_avg = value if math.isnan(loss_avg) else 0.98 * loss_avg + 0.02 * value
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{loss_avg:.4f}")
                if progress is not None:
                    progress(step, cfg.steps, loss_avg)
                if step % cfg.save_every == 0:
                    save()
    finally:
        if bar is not None:
            bar.close()
    if step % cfg.save_every or stop.requested:
        save()
    if distributed:
        dist.barrier()
        dist.destroy_process_group()
    return out
