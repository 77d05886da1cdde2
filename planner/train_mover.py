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

from planner.checkpoint import MOVER_FORMAT, build, git_commit, read, read_mover, save_atomic, segment_info
from planner.config import DiffusionConfig, ModelConfig, MoverTrainConfig
from planner.diffusion import GaussianDiffusion
from planner.model import count_parameters
from planner.move_data import load, merge
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


Progress = Callable[[int, int, float, float | None], None]  # (step, steps, loss, held-out error at a save)


def train_mover(cfg: MoverTrainConfig, model_config: ModelConfig | None = None, command: str = "",
                progress: Progress | None = None, stop: StopOnSignal | None = None) -> Path:
    """Train (or resume training of) the move model; returns the checkpoint path. SIGINT or SIGTERM
    (or the caller's `stop`: anything with a `requested` flag) ends it after the current step, with
    a checkpoint. `progress`, when given, replaces the terminal bar: every 50 steps with the
    running loss and no held-out error, and at every save with the held-out denoising error."""
    return MoverTraining(cfg, model_config, command).run(progress, stop)


class MoverTraining:
    """One run: the data, the model (resumed from `cfg.out` when it exists), the optimizer, the
    step count, and what a save writes."""

    def __init__(self, cfg: MoverTrainConfig, model_config: ModelConfig | None, command: str) -> None:
        training_threads()
        self.cfg, self.command = cfg, command
        self.device = device = pick_device(cfg.device)
        torch.manual_seed(cfg.seed)
        self.out = Path(cfg.out)
        resume = read(self.out, MOVER_FORMAT, "move-model") if self.out.exists() else None
        paths = [cfg.data] if isinstance(cfg.data, str) else list(cfg.data)
        self.segments = load(paths[0]) if len(paths) == 1 else merge([load(p) for p in paths])
        self.train_set = self.segments.split(valid=False)
        if len(self.train_set) == 0:
            raise FileFormatError(f"{', '.join(paths)}: no training segments")
        init = read_mover(cfg.init_from) if (cfg.init_from and not resume) else None
        if resume or init:
            source = resume or init
            self.model_config = ModelConfig.from_dict(source["model_config"])
            self.normaliser = Normaliser.from_dict(source["normaliser"])
            self.cond_norm = CondNormaliser.from_dict(source["cond_normaliser"])
            if init and init.get("grown_dims"):  # the grown inputs' scales come from the data
                fitted, dims = CondNormaliser.fit(self.train_set.cond), init["grown_dims"]
                self.cond_norm.mean[dims], self.cond_norm.std[dims] = fitted.mean[dims], fitted.std[dims]
        else:
            self.model_config = model_config or mover_model_config()
            self.normaliser = Normaliser.fit(self.train_set.channels.reshape(-1, CHANNELS))
            self.cond_norm = CondNormaliser.fit(self.train_set.cond)
        self.diffusion_config = DiffusionConfig()
        self.diffusion = build(self.model_config, self.diffusion_config).to(device)
        self.ema = copy.deepcopy(self.diffusion.model).requires_grad_(False)
        self.opt = torch.optim.AdamW(self.diffusion.parameters(), lr=cfg.lr, weight_decay=0.0)
        self.step = resume_from(resume, self.diffusion.model, self.ema, self.opt) if resume else 0
        if init:
            self.diffusion.model.load_state_dict(init["ema"])
            self.ema.load_state_dict(init["ema"])
        self.origin = resume.get("origin") if resume else (
            {"init_from": Path(cfg.init_from).name, "step": int(init.get("step", 0))} if init else None)
        self._tensors()
        self.loss_avg = math.nan
        self.last_valid: float | None = None
        self.t_start = time.monotonic()

    def _tensors(self) -> None:
        """The training set, masks and weights on the device; the held-out batch and the EMA
        model's diffusion, made once rather than at every save."""
        cfg, device, horizon = self.cfg, self.device, self.model_config.horizon
        self.x_all = torch.from_numpy(self.normaliser.normalise(self.train_set.channels).astype(np.float32)).to(device)
        self.c_all = torch.from_numpy(self.cond_norm(self.train_set.cond)).to(device)
        self.mask = torch.zeros((1, horizon, CHANNELS), dtype=torch.bool, device=device)
        self.mask[:, 0] = True  # the start state is pinned, as in planning
        self.keyed = torch.from_numpy(keyframe_channels_mask(horizon)).to(device)[None]
        self.weights = torch.from_numpy(loss_weights(horizon, cfg.key_weight)).to(device)
        self.gen = torch.Generator(device).manual_seed(cfg.seed * 1000 + self.step)
        self.valid = self.segments.split(valid=True)
        self.valid_x = torch.from_numpy(self.normaliser.normalise(self.valid.channels[:512]).astype(np.float32)).to(device)
        self.valid_c = torch.from_numpy(self.cond_norm(self.valid.cond[:512])).to(device)
        self.ema_diffusion = GaussianDiffusion(self.ema, self.diffusion_config).to(device)

    def lr_at(self, s: int) -> float:
        cfg = self.cfg
        # With a time budget the schedule follows whichever budget runs out first.
        done = s / cfg.steps
        if cfg.minutes:
            done = max(done, (time.monotonic() - self.t_start) / (cfg.minutes * 60))
        return cfg.lr_final + 0.5 * (cfg.lr - cfg.lr_final) * (1 + math.cos(math.pi * min(1.0, done)))

    @torch.no_grad()
    def valid_loss(self) -> float | None:
        if len(self.valid) == 0:
            return None
        g = torch.Generator(self.device).manual_seed(1234)
        return float(self.ema_diffusion.denoising_error(self.valid_x, self.mask[0], 8, g, cond=self.valid_c).mean())

    def payload(self, with_optimizer: bool) -> dict:
        common = {
            "format": MOVER_FORMAT, "state_names": LAYOUT.names, "segment": segment_info(),
            "channel_names": list(CHANNEL_NAMES), "cond_names": list(COND_NAMES),
            "model_config": self.model_config.to_dict(), "diffusion_config": self.diffusion_config.to_dict(),
            "normaliser": self.normaliser.to_dict(), "cond_normaliser": self.cond_norm.to_dict(),
            "train_config": asdict(self.cfg), "data": self.segments.source, "segments": len(self.train_set),
            "command": self.command, "commit": git_commit(), "step": self.step,
            "parameters": count_parameters(self.ema), "ema": self.ema.state_dict(), "valid_loss": self.valid_loss(),
        }
        if self.origin:
            common["origin"] = self.origin
        if with_optimizer:
            common.update(model=self.diffusion.model.state_dict(), optimizer=self.opt.state_dict())
        return common

    def save(self) -> str:
        """Write the full checkpoint (and the slim copy, and a snapshot at a snapshot step)."""
        full = self.payload(True)
        self.last_valid = full["valid_loss"]
        save_atomic(full, self.out)
        slim = {k: v for k, v in full.items() if k not in ("model", "optimizer")}
        if self.cfg.slim:
            save_atomic(slim, self.cfg.slim)
        if self.step in self.cfg.snapshots:
            base = Path(self.cfg.slim or self.out)
            half = {**slim, "ema": {k: v.half() for k, v in slim["ema"].items()}}
            save_atomic(half, base.with_name(f"{base.stem}-step{self.step}{base.suffix}"))
        # The loss is sampled every 50 steps: before the first sample there is none to print.
        loss = "loss not sampled yet" if math.isnan(self.loss_avg) else f"loss {self.loss_avg:.4f}"
        return (f"step {self.step}: {loss}, held-out denoising error {slim['valid_loss']}, "
                f"{time.monotonic() - self.t_start:.0f} s")

    def train_step(self) -> torch.Tensor:
        cfg, device, gen = self.cfg, self.device, self.gen
        idx = torch.randint(0, len(self.x_all), (cfg.batch_size,), device=device, generator=gen)
        use_keys = torch.rand((cfg.batch_size, 1, 1), device=device, generator=gen) < cfg.keyframe_fraction
        batch_mask = torch.where(use_keys, self.keyed, self.mask)
        for group in self.opt.param_groups:
            group["lr"] = self.lr_at(self.step)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            loss = self.diffusion(self.x_all[idx], batch_mask, self.weights, None, self.c_all[idx], cfg.cond_drop)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.diffusion.parameters(), 1.0)
        self.opt.step()
        self.step += 1
        with torch.no_grad():
            decay = 0.0 if self.step < cfg.ema_start else cfg.ema_decay
            torch._foreach_lerp_(self._ema_params, self._model_params, 1 - decay)
        return loss

    def run(self, progress: Progress | None, stop: StopOnSignal | None) -> Path:
        cfg = self.cfg
        bar = None
        if progress is None:
            from tqdm import tqdm

            bar = tqdm(total=cfg.steps, initial=self.step, unit="step", desc="train mover", file=sys.stderr)

        def say(line: str) -> None:  # after a save
            if bar is not None:
                bar.write(line)
            if progress is not None:
                progress(self.step, cfg.steps, self.loss_avg, self.last_valid)
        self._ema_params, self._model_params = list(self.ema.parameters()), list(self.diffusion.model.parameters())
        self.t_start = time.monotonic()
        if progress is not None and self.step == 0 and self.origin:
            # A fine-tune's curve starts at the error of the model it starts from, on this data.
            self.last_valid = self.valid_loss()
            progress(0, cfg.steps, math.nan, self.last_valid)
        try:
            with StopOnSignal() if stop is None else nullcontext(stop) as stop:
                while self.step < cfg.steps and not stop.requested:
                    if cfg.minutes and time.monotonic() - self.t_start > cfg.minutes * 60:
                        break
                    loss = self.train_step()
                    if self.step % 50 == 0 or self.step == cfg.steps:
                        value = float(loss.detach())
                        self.loss_avg = value if math.isnan(self.loss_avg) else 0.9 * self.loss_avg + 0.1 * value
                        if bar is not None:
                            bar.update(self.step - bar.n)
                            bar.set_postfix(loss=f"{self.loss_avg:.4f}")
                        if progress is not None:
                            progress(self.step, cfg.steps, self.loss_avg, None)
                    if self.step % cfg.save_every == 0 or self.step in cfg.snapshots:
                        say(self.save())
        finally:
            if bar is not None:
                if self.step < cfg.steps:  # a time budget or a stop ended it: the bar ends where training did
                    bar.total = self.step
                bar.update(self.step - bar.n)
                bar.close()
        say(self.save())
        return self.out
