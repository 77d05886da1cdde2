"""Training the move model: a Diffuser over one pick-and-place's joints and gripper, conditioned
on the move (planner.moves), with classifier-free guidance's condition dropout.

CPU or CUDA (bf16 autocast there), EMA, atomic checkpoints, resume, a time budget, and optional
snapshots along the way (for a score-against-steps curve). The checkpoint is self-describing
(planner.checkpoint.MOVER_FORMAT) and refused with a reason when it does not fit.
"""
from __future__ import annotations

import copy
import math
import sys
import time
from contextlib import nullcontext
from dataclasses import asdict
from pathlib import Path
from collections.abc import Callable

import numpy as np
import torch

from planner import training_threads

from planner.checkpoint import MOVER_FORMAT, build, git_commit, read, save_atomic, segment_info
from planner.config import DiffusionConfig, ModelConfig, MoverTrainConfig
from planner.diffusion import GaussianDiffusion
from planner.model import count_parameters
from planner.move_data import load
from planner.moves import CHANNEL_NAMES, CHANNELS, COND_DIM, COND_NAMES
from planner.masks import grasp_dwell, keyframe_channels_mask, release_dwell
from planner.train import pick_device, resume_from
from planner.data import CondNormaliser, Normaliser
from tasks.h5io import FileFormatError
from tasks.layout import LAYOUT, NUM_JOINTS, PHASES
from tasks.stopping import StopOnSignal


def mover_model_config() -> ModelConfig:
    """The move model's shape: 8 channels, a 23-number condition, FiLM, a wide embedding."""
    return ModelConfig(horizon=PHASES.length, state_dim=CHANNELS, dim=32, dim_mults=(1, 2, 4, 6),
                       cond_dim=COND_DIM, embed_dim=128, film=True)


def loss_weights(horizon: int, key_weight: float) -> np.ndarray:
    """(H, CHANNELS): the joints count `key_weight` times while the tool is at the block, where
    centimetres decide whether the grasp holds."""
    w = np.ones((horizon, CHANNELS), np.float32)
    for t in list(grasp_dwell()) + list(release_dwell()):
        w[t, :NUM_JOINTS] = key_weight
    return w


def train_mover(cfg: MoverTrainConfig, model_config: ModelConfig | None = None, command: str = "",
                progress: Callable[[int, int, float], None] | None = None, stop: StopOnSignal | None = None) -> Path:
    """Train (or resume training of) the move model; returns the checkpoint path. SIGINT or SIGTERM
    (or the caller's `stop`) ends it after the current step, with a checkpoint."""
    training_threads()
    device = pick_device(cfg.device)
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out)
    resume = read(out, MOVER_FORMAT, "move-model") if out.exists() else None
    segments = load(cfg.data)
    train_set = segments.split(valid=False)
    if len(train_set) == 0:
        raise FileFormatError(f"{cfg.data}: no training segments")
    if resume:
        model_config = ModelConfig.from_dict(resume["model_config"])
        normaliser = Normaliser.from_dict(resume["normaliser"])
        cond_norm = CondNormaliser.from_dict(resume["cond_normaliser"])
    else:
        model_config = model_config or mover_model_config()
        normaliser = Normaliser.fit(train_set.channels.reshape(-1, CHANNELS))
        cond_norm = CondNormaliser.fit(train_set.cond)
    diffusion_config = DiffusionConfig()
    diffusion = build(model_config, diffusion_config).to(device)
    ema = copy.deepcopy(diffusion.model).requires_grad_(False)
    opt = torch.optim.AdamW(diffusion.parameters(), lr=cfg.lr, weight_decay=0.0)
    step = resume_from(resume, diffusion.model, ema, opt) if resume else 0

    x_all = torch.from_numpy(normaliser.normalise(train_set.channels).astype(np.float32)).to(device)
    c_all = torch.from_numpy(cond_norm(train_set.cond)).to(device)
    valid = segments.split(valid=True)
    mask = torch.zeros((1, model_config.horizon, CHANNELS), dtype=torch.bool, device=device)
    mask[:, 0] = True  # the start state is pinned, as in planning
    keyed = torch.from_numpy(keyframe_channels_mask(model_config.horizon)).to(device)[None]
    weights = torch.from_numpy(loss_weights(model_config.horizon, cfg.key_weight)).to(device)
    gen = torch.Generator(device).manual_seed(cfg.seed * 1000 + step)
    amp = device.type == "cuda"

    def lr_at(s: int) -> float:
        # With a time budget the schedule follows whichever budget runs out first.
        done = s / cfg.steps
        if cfg.minutes:
            done = max(done, (time.monotonic() - t_start) / (cfg.minutes * 60))
        return cfg.lr_final + 0.5 * (cfg.lr - cfg.lr_final) * (1 + math.cos(math.pi * min(1.0, done)))

    def payload(with_optimizer: bool) -> dict:
        common = {
            "format": MOVER_FORMAT, "state_names": LAYOUT.names, "segment": segment_info(),
            "channel_names": list(CHANNEL_NAMES), "cond_names": list(COND_NAMES),
            "model_config": model_config.to_dict(), "diffusion_config": diffusion_config.to_dict(),
            "normaliser": normaliser.to_dict(), "cond_normaliser": cond_norm.to_dict(),
            "train_config": asdict(cfg), "data": segments.source, "segments": len(train_set),
            "command": command, "commit": git_commit(), "step": step, "parameters": count_parameters(ema),
            "ema": ema.state_dict(), "valid_loss": valid_loss(),
        }
        if with_optimizer:
            common.update(model=diffusion.model.state_dict(), optimizer=opt.state_dict())
        return common

    # The held-out batch and the EMA model's diffusion are made once, not at every save.
    valid_x = torch.from_numpy(normaliser.normalise(valid.channels[:512]).astype(np.float32)).to(device)
    valid_c = torch.from_numpy(cond_norm(valid.cond[:512])).to(device)
    ema_diffusion = GaussianDiffusion(ema, diffusion_config).to(device)

    @torch.no_grad()
    def valid_loss() -> float | None:
        if len(valid) == 0:
            return None
        g = torch.Generator(device).manual_seed(1234)
        return float(ema_diffusion.denoising_error(valid_x, mask[0], 8, g, cond=valid_c).mean())

    def save() -> None:
        full = payload(True)
        save_atomic(full, out)
        slim = {k: v for k, v in full.items() if k not in ("model", "optimizer")}
        if cfg.slim:
            save_atomic(slim, cfg.slim)
        if step in cfg.snapshots:
            base = Path(cfg.slim or out)
            half = {**slim, "ema": {k: v.half() for k, v in slim["ema"].items()}}
            save_atomic(half, base.with_name(f"{base.stem}-step{step}{base.suffix}"))
        message = (f"step {step}: loss {loss_avg:.4f}, held-out denoising error {slim['valid_loss']}, "
                   f"{time.monotonic() - t_start:.0f} s")
        (bar.write(message) if bar is not None else print(message))

    bar = None
    if progress is None:
        from tqdm import tqdm

        bar = tqdm(total=cfg.steps, initial=step, unit="step", desc="train mover", file=sys.stderr)
    loss_avg = math.nan
    ema_params, model_params = list(ema.parameters()), list(diffusion.model.parameters())
    t_start = time.monotonic()
    stopping = StopOnSignal() if stop is None else nullcontext(stop)
    try:
        with stopping as stop:
            while step < cfg.steps and not stop.requested:
                if cfg.minutes and time.monotonic() - t_start > cfg.minutes * 60:
                    break
                idx = torch.randint(0, len(x_all), (cfg.batch_size,), device=device, generator=gen)
                use_keys = torch.rand((cfg.batch_size, 1, 1), device=device, generator=gen) < cfg.keyframe_fraction
                batch_mask = torch.where(use_keys, keyed, mask)
                for group in opt.param_groups:
                    group["lr"] = lr_at(step)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                    loss = diffusion(x_all[idx], batch_mask, weights, None, c_all[idx], cfg.cond_drop)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(diffusion.parameters(), 1.0)
                opt.step()
                step += 1
                with torch.no_grad():
                    decay = 0.0 if step < cfg.ema_start else cfg.ema_decay
                    torch._foreach_lerp_(ema_params, model_params, 1 - decay)
                if step % 50 == 0 or step == cfg.steps:
                    value = float(loss.detach())
                    loss_avg = value if math.isnan(loss_avg) else 0.9 * loss_avg + 0.1 * value
                    if bar is not None:
                        bar.update(step - bar.n)
                        bar.set_postfix(loss=f"{loss_avg:.4f}")
                    if progress is not None:
                        progress(step, cfg.steps, loss_avg)
                if step % cfg.save_every == 0 or step in cfg.snapshots:
                    save()
    finally:
        if bar is not None:
            bar.close()
    save()
    return out
