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
    run = DiffuserTraining(cfg, model_config, diffusion_config, command)
    out = run.run(progress, stop)
    if run.distributed:  # not after an error: a barrier would wait for the failed process forever
        dist.barrier()
        dist.destroy_process_group()
    return out


class DiffuserTraining:
    """One run, in one process of possibly several (torchrun): the windows, the model (resumed
    from `cfg.out`, or warm-started from `cfg.init_from`), the optimizer and the step count."""

    def __init__(self, cfg: TrainConfig, model_config: ModelConfig, diffusion_config: DiffusionConfig,
                 command: str) -> None:
        self.cfg, self.command = cfg, command
        self.distributed = "RANK" in os.environ and int(os.environ.get("WORLD_SIZE", "1")) > 1
        training_threads()
        self.device, self.rank = self._device_and_rank()
        torch.manual_seed(cfg.seed + self.rank)
        self.out = Path(cfg.out)
        resume = read(self.out) if self.out.exists() else None
        init = read(cfg.init_from) if (cfg.init_from and not resume) else None
        source = resume or init
        normaliser = Normaliser.from_dict(source["normaliser"]) if source else None
        self.windows = TrajectoryWindows(cfg.data, model_config.horizon, split="train", normaliser=normaliser)
        self.model_config = ModelConfig.from_dict(resume["model_config"]) if resume else model_config
        self.diffusion_config = DiffusionConfig(**source["diffusion_config"]) if source else diffusion_config
        self.diffusion = build(self.model_config, self.diffusion_config).to(self.device)
        self.ema = copy.deepcopy(self.diffusion.model).requires_grad_(False)
        self.opt = torch.optim.AdamW(self.diffusion.parameters(), lr=cfg.lr, weight_decay=0.0)
        self.step = 0
        if resume:
            self.step = resume_from(resume, self.diffusion.model, self.ema, self.opt)
        elif init:
            warm_start(self.diffusion.model, init, cfg.init_from)
            self.ema.load_state_dict(self.diffusion.model.state_dict())
            self.step = int(init["step"])
        self.trainer = torch.nn.parallel.DistributedDataParallel(self.diffusion) if self.distributed else self.diffusion
        self.batches = SegmentBatches(self.windows, cfg, self.rank, self.step)
        self._loss_weights()

    def _device_and_rank(self) -> tuple[torch.device, int]:
        device = pick_device(self.cfg.device)
        if not self.distributed:
            return device, 0
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        return device, dist.get_rank()

    def _loss_weights(self) -> None:
        cfg, device = self.cfg, self.device
        self.weights = torch.ones(LAYOUT.dim, device=device)
        self.weights[LAYOUT.attached_dims] = cfg.flag_weight
        self.x0_floor = None
        if cfg.flag_x0_floor or cfg.position_x0_floor:
            self.x0_floor = torch.zeros(LAYOUT.dim, device=device)
            self.x0_floor[LAYOUT.attached_dims] = cfg.flag_x0_floor
            self.x0_floor[LAYOUT.position_dims] = cfg.position_x0_floor

    def save(self) -> None:
        if self.rank != 0:
            return
        common = {
            "format": FORMAT, "state_names": LAYOUT.names, "segment": segment_info(),
            "model_config": self.model_config.to_dict(), "diffusion_config": self.diffusion_config.to_dict(),
            "normaliser": self.windows.normaliser.to_dict(), "train_config": asdict(self.cfg),
            "command": self.command, "commit": git_commit(), "step": self.step,
            "parameters": count_parameters(self.ema), "ema": self.ema.state_dict(),
        }
        save_atomic({**common, "model": self.diffusion.model.state_dict(), "optimizer": self.opt.state_dict()}, self.out)
        if self.cfg.slim:
            save_atomic(common, self.cfg.slim)

    def train_step(self) -> torch.Tensor:
        x0, mask = self.batches.sample()
        x0 = torch.from_numpy(x0).to(self.device)
        mask = torch.from_numpy(mask).to(self.device)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.device.type == "cuda"):
            loss = self.trainer(x0, mask, self.weights, self.x0_floor)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.step += 1
        with torch.no_grad():
            decay = 0.0 if self.step < self.cfg.ema_start else self.cfg.ema_decay
            for pe, pm in zip(self.ema.parameters(), self.diffusion.model.parameters()):
                pe.lerp_(pm, 1 - decay)
            for be, bm in zip(self.ema.buffers(), self.diffusion.model.buffers()):
                be.copy_(bm)
        return loss

    def run(self, progress: Callable[[int, int, float], None] | None, stop: StopOnSignal | None) -> Path:
        cfg = self.cfg
        bar = None
        if self.rank == 0 and progress is None:
            from tqdm import tqdm

            bar = tqdm(total=cfg.steps, initial=self.step, unit="step", desc="train", file=sys.stderr)
        loss_avg = math.nan
        try:
            with StopOnSignal() if stop is None else nullcontext(stop) as stop:
                while self.step < cfg.steps and not stop.requested:
                    value = float(self.train_step().detach())
                    loss_avg = value if math.isnan(loss_avg) else 0.98 * loss_avg + 0.02 * value
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix(loss=f"{loss_avg:.4f}")
                    if progress is not None:
                        progress(self.step, cfg.steps, loss_avg)
                    if self.step % cfg.save_every == 0:
                        self.save()
        finally:
            if bar is not None:
                bar.close()
        if self.step % cfg.save_every or stop.requested:
            self.save()
        return self.out
