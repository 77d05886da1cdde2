"""Gaussian diffusion over normalised trajectories: schedule, loss, samplers, inpainting, guidance.

Inpainting: `Constraints` pin values at chosen (timestep, dimension) cells. They are written
back after every denoising step, so they hold exactly in the output, and during training the
pinned cells of x_t are replaced by the clean values so the model learns to fill in the rest.

Guidance (the paper's): at each step the mean is moved along the gradient of a guide, scaled by
the step's variance and a user-set scale. The guide sees unnormalised states.
"""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable

import numpy as np
import torch

from planner import timing
from torch import nn

from planner.config import DiffusionConfig
from planner.model import TemporalUnet
from tasks.stopping import Cancelled

# Largest weight the x0 floor may give one cell's epsilon error (SNR -> 0 as t -> T).
X0_FLOOR_CAP = 100.0

# A guide: unnormalised trajectories (B, H, D) -> value per sample (B,), higher is better.
GuideFn = Callable[[torch.Tensor], torch.Tensor]


def cosine_beta_schedule(n: int, s: float = 0.008) -> torch.Tensor:
    """Nichol & Dhariwal's cosine schedule, betas clipped at 0.999."""
    steps = np.linspace(0, n, n + 1)
    abar = np.cos(((steps / n) + s) / (1 + s) * np.pi * 0.5) ** 2
    abar = abar / abar[0]
    betas = 1 - abar[1:] / abar[:-1]
    return torch.tensor(np.clip(betas, 0, 0.999), dtype=torch.float32)


@dataclass
class Constraints:
    """Values pinned at (timestep, dimension) cells, in normalised units. mask/values: (H, D) or (B, H, D)."""

    mask: torch.Tensor
    values: torch.Tensor

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        return torch.where(self.mask.bool(), self.values.to(x.dtype), x)

    def to(self, device) -> Constraints:
        return Constraints(self.mask.to(device), self.values.to(device))


def _extract(a: torch.Tensor, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return a.gather(0, t).reshape(-1, *([1] * (x.dim() - 1)))


class GaussianDiffusion(nn.Module):
    """epsilon-prediction diffusion with DDPM (ancestral) and DDIM (few-step) samplers."""

    def __init__(self, model: TemporalUnet, config: DiffusionConfig = DiffusionConfig()) -> None:
        super().__init__()
        self.model = model
        self.config = config
        self.n_timesteps = config.n_timesteps
        betas = cosine_beta_schedule(config.n_timesteps)
        alphas = 1 - betas
        abar = torch.cumprod(alphas, 0)
        abar_prev = torch.cat([torch.ones(1), abar[:-1]])
        for name, value in {
            "betas": betas, "abar": abar, "abar_prev": abar_prev,
            "sqrt_abar": abar.sqrt(), "sqrt_1m_abar": (1 - abar).sqrt(),
            "post_var": betas * (1 - abar_prev) / (1 - abar),
            "post_c0": betas * abar_prev.sqrt() / (1 - abar),
            "post_ct": (1 - abar_prev) * alphas.sqrt() / (1 - abar),
        }.items():
            self.register_buffer(name, value, persistent=False)
        self.register_buffer("post_logvar", torch.log(torch.clamp(self.post_var, min=1e-20)), persistent=False)

    # ------------------------------------------------------------------ training
    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return _extract(self.sqrt_abar, t, x0) * x0 + _extract(self.sqrt_1m_abar, t, x0) * noise

    def loss(self, x0: torch.Tensor, mask: torch.Tensor | None = None, weights: torch.Tensor | None = None,
             x0_floor: torch.Tensor | None = None, cond: torch.Tensor | None = None,
             cond_drop: float = 0.0) -> torch.Tensor:
        """The paper's epsilon MSE; pinned cells (mask) are clean in x_t and excluded from the loss.
        `weights` (D,), if given, weighs the state dimensions' errors.

        `x0_floor` (D,), if given, keeps each dimension's error weighed at least that much in
        x0 terms: an epsilon error e at step t is an x0 error e / sqrt(SNR(t)), so the weight
        becomes max(weight, floor / SNR(t)), at most X0_FLOOR_CAP. Without it, errors in x0 at
        high noise (where a sample commits to its discrete choices) hardly count.
        """
        t = torch.randint(0, self.n_timesteps, (x0.shape[0],), device=x0.device)
        noise = torch.randn_like(x0)
        xt = self.q_sample(x0, t, noise)
        drop = None
        if cond is not None and cond_drop > 0:
            drop = torch.rand(x0.shape[0], device=x0.device) < cond_drop
        if mask is None:
            return ((self.model(xt, t, cond, drop) - noise) ** 2).mean()
        xt = torch.where(mask, x0, xt)
        err = (self.model(xt, t, cond, drop) - noise) ** 2
        if x0_floor is not None:
            abar = _extract(self.abar, t, x0)
            floor = (x0_floor * (1 - abar) / abar.clamp(min=1e-12)).clamp(max=X0_FLOOR_CAP)
            base = weights if weights is not None else torch.ones_like(x0_floor)
            weights = torch.maximum(base, floor)
        if weights is not None:
            err = err * weights
        free = (~mask).to(err.dtype)
        return (err * free).sum() / free.sum().clamp(min=1)

    def forward(self, x0: torch.Tensor, mask: torch.Tensor | None = None, weights: torch.Tensor | None = None,
                x0_floor: torch.Tensor | None = None, cond: torch.Tensor | None = None,
                cond_drop: float = 0.0) -> torch.Tensor:
        """The training loss (so DistributedDataParallel can wrap the whole diffusion)."""
        return self.loss(x0, mask, weights, x0_floor, cond, cond_drop)

    @torch.no_grad()
    def denoising_error(self, x0: torch.Tensor, mask: torch.Tensor, levels: int = 8,
                        generator: torch.Generator | None = None, dims: slice | None = None,
                        cond: torch.Tensor | None = None) -> torch.Tensor:
        """(B,) the training loss of each trajectory at `levels` evenly spaced noise levels:
        the mean epsilon error over the cells `mask` leaves free (within `dims`, if given), the
        pinned cells clean in x_t. Lower means the model finds the trajectory more probable given
        the pinned cells (the loss bounds the negative log-likelihood). Every trajectory sees the
        same noise draws, so differences between them are not the noise's."""
        b, h, d = x0.shape
        t = torch.tensor([int((k + 0.5) * self.n_timesteps / levels) for k in range(levels)], device=x0.device)
        noise = torch.randn((levels, h, d), generator=generator, device=x0.device)
        xb = x0[:, None].expand(b, levels, h, d).reshape(b * levels, h, d)
        tb, nb = t.repeat(b), noise.repeat(b, 1, 1)
        mask = mask.bool().expand(b, h, d)[:, None].expand(b, levels, h, d).reshape(b * levels, h, d)
        xt = torch.where(mask, xb, self.q_sample(xb, tb, nb))
        free = (~mask).to(x0.dtype)
        cb = cond.repeat_interleave(levels, 0) if cond is not None else None
        err = (self.model(xt, tb, cb) - nb) ** 2
        if dims is not None:
            err, free = err[..., dims], free[..., dims]
        err = (err * free).sum((1, 2)) / free.sum((1, 2)).clamp(min=1)
        return err.reshape(b, levels).mean(1)

    # ------------------------------------------------------------------ sampling
    def _x0_from_eps(self, xt, t, eps):
        x0 = (xt - _extract(self.sqrt_1m_abar, t, xt) * eps) / _extract(self.sqrt_abar, t, xt)
        return x0.clamp(-1, 1) if self.config.clip_denoised else x0

    @torch.no_grad()
    def sample(
        self,
        shape: tuple[int, int, int],
        constraints: Constraints | None = None,
        guide: GuideFn | None = None,
        guide_scale: float = 0.0,
        steps: int | None = None,
        generator: torch.Generator | None = None,
        unnormalise: Callable[[torch.Tensor], torch.Tensor] | None = None,
        progress: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        snapshots: list | None = None,
        cond: torch.Tensor | None = None,
        cond_scale: float = 1.0,
        on_step: Callable[[int, torch.Tensor], None] | None = None,
    ) -> torch.Tensor:
        """Denoise from noise. `steps=None` (or n_timesteps) is the paper's ancestral DDPM;
        fewer steps use deterministic DDIM on an evenly spaced subsequence.

        `snapshots`, if given, receives the trajectory after every step (for watching it form).
        Raises `Cancelled` when `should_stop()` turns true between steps.

        `cond` (B, cond_dim) conditions a conditioned model; `cond_scale` w != 1 is
        classifier-free guidance, eps = eps_null + w (eps_cond - eps_null). `on_step(k, x0)`
        sees each step's predicted clean trajectory (e.g. to record a guide's value).
        """
        device = self.betas.device
        x = torch.randn(shape, device=device, generator=generator)
        if constraints is not None:
            x = constraints.apply(x)
        ddpm = steps is None or steps >= self.n_timesteps
        ts = list(range(self.n_timesteps - 1, -1, -1)) if ddpm else _ddim_steps(self.n_timesteps, steps)
        for k, t_int in enumerate(ts):
            if should_stop is not None and should_stop():
                raise Cancelled()
            t = torch.full((shape[0],), t_int, device=device, dtype=torch.long)
            eps = self._eps(x, t, cond, cond_scale)
            guided = guide if guide_scale else None
            if ddpm:
                x, x0 = self._ddpm_step(x, t, eps, guided, guide_scale, unnormalise, generator)
            else:
                t_prev = ts[k + 1] if k + 1 < len(ts) else -1
                x, x0 = self._ddim_step(x, t, t_prev, eps, guided, guide_scale, unnormalise)
            if constraints is not None:
                x = constraints.apply(x)
            if on_step is not None:
                on_step(k, x0)
            if snapshots is not None:
                snapshots.append(x.detach().cpu())
            if progress is not None:
                progress(k + 1, len(ts))
        return x

    def _ddpm_step(self, x, t, eps, guide, guide_scale, unnormalise, generator):
        """One ancestral step (the guide shifts the posterior mean); returns (x_{t-1}, predicted x0)."""
        x0 = self._x0_from_eps(x, t, eps)
        mean = _extract(self.post_c0, t, x) * x0 + _extract(self.post_ct, t, x) * x
        var = _extract(self.post_var, t, x)
        if guide is not None:
            mean = mean + guide_scale * var * _guide_grad(guide, mean, unnormalise)
        noise = torch.randn(x.shape, device=x.device, generator=generator) if int(t[0]) > 0 else 0.0
        return mean + var.sqrt() * noise, x0

    def _ddim_step(self, x, t, t_prev: int, eps, guide, guide_scale, unnormalise):
        """One deterministic DDIM step to t_prev (the guide shifts x0); returns (x_{t_prev}, predicted x0)."""
        x0 = self._x0_from_eps(x, t, eps)
        if guide is not None:
            x0 = x0 + guide_scale * _extract(1 - self.abar, t, x) * _guide_grad(guide, x0, unnormalise)
            eps = (x - _extract(self.sqrt_abar, t, x) * x0) / _extract(self.sqrt_1m_abar, t, x)
        abar_prev = self.abar[t_prev] if t_prev >= 0 else torch.tensor(1.0, device=x.device)
        return abar_prev.sqrt() * x0 + (1 - abar_prev).sqrt() * eps, x0

    def _eps(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None, cond_scale: float) -> torch.Tensor:
        if cond is None or cond_scale == 1.0:
            return self.model(x, t, cond)
        both = self.model(torch.cat([x, x]), torch.cat([t, t]), torch.cat([cond, cond]),
                          torch.arange(2 * len(x), device=x.device) >= len(x))
        eps_c, eps_u = both.chunk(2)
        return eps_u + cond_scale * (eps_c - eps_u)


def _ddim_steps(n: int, steps: int) -> list[int]:
    return sorted({int(round(v)) for v in np.linspace(0, n - 1, steps)}, reverse=True)


def _guide_grad(guide: GuideFn, x: torch.Tensor, unnormalise) -> torch.Tensor:
    """Gradient of the guide's total value with respect to the normalised trajectory."""
    with timing.phase("guides"), torch.enable_grad():
        x = x.detach().requires_grad_(True)
        value = guide(unnormalise(x) if unnormalise else x).sum()
        (grad,) = torch.autograd.grad(value, x)
    return grad
