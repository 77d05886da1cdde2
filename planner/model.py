"""Temporal U-Net over (horizon x state_dim) trajectories, as in Diffuser.

1-D convolutions over time, residual blocks with GroupNorm and Mish, a sinusoidal embedding of
the diffusion step added inside every residual block, skip connections between the halves
(all of them, and the input to the last block: see TemporalUnet).

With ``start_conditioning`` the first state (pinned by inpainting in training and planning)
is also embedded and added to the step embedding, so every timestep sees the scene at once
instead of through a chain of convolutions from timestep 0. With ``input_gain`` the input and
the first state reach the output through step-dependent gains per dimension (see TemporalUnet).
"""
from __future__ import annotations

import math
import torch
from torch import nn

from planner.config import ModelConfig


class SinusoidalPosEmb(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        half = self.dim // 2
        freqs = torch.exp(torch.arange(half, device=t.device) * (-math.log(10000) / (half - 1)))
        args = t.float()[:, None] * freqs[None]
        return torch.cat([args.sin(), args.cos()], dim=-1)


class Conv1dBlock(nn.Sequential):
    """Conv1d, GroupNorm, Mish."""

    def __init__(self, dim_in: int, dim_out: int, kernel_size: int, groups: int = 8) -> None:
        super().__init__(
            nn.Conv1d(dim_in, dim_out, kernel_size, padding=kernel_size // 2),
            nn.GroupNorm(groups, dim_out),
            nn.Mish(),
        )


class ResidualTemporalBlock(nn.Module):
    """Two conv blocks with the step embedding added between them (with `film`, also scaling
    them), plus a residual path."""

    def __init__(self, dim_in: int, dim_out: int, embed_dim: int, kernel_size: int, film: bool = False) -> None:
        super().__init__()
        self.film = film
        self.block1 = Conv1dBlock(dim_in, dim_out, kernel_size)
        self.block2 = Conv1dBlock(dim_out, dim_out, kernel_size)
        self.time_mlp = nn.Sequential(nn.Mish(), nn.Linear(embed_dim, dim_out * (2 if film else 1)))
        self.residual = nn.Conv1d(dim_in, dim_out, 1) if dim_in != dim_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        e = self.time_mlp(emb)[:, :, None]
        if self.film:
            scale, shift = e.chunk(2, dim=1)
            h = self.block1(x) * (1 + scale) + shift
        else:
            h = self.block1(x) + e
        return self.block2(h) + self.residual(x)


class Downsample1d(nn.Conv1d):
    def __init__(self, dim: int) -> None:
        super().__init__(dim, dim, 3, stride=2, padding=1)


class Upsample1d(nn.ConvTranspose1d):
    def __init__(self, dim: int) -> None:
        super().__init__(dim, dim, 4, stride=2, padding=1)


class TemporalUnet(nn.Module):
    """epsilon(x_t, t): (batch, horizon, state_dim) -> same shape."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        dims = [c.state_dim] + [c.dim * m for m in c.dim_mults]
        pairs = list(zip(dims[:-1], dims[1:]))
        emb = c.embedding
        self.step_mlp = nn.Sequential(SinusoidalPosEmb(c.dim), nn.Linear(c.dim, c.dim * 4), nn.Mish(), nn.Linear(c.dim * 4, emb))
        self.cond_mlp = self.null_cond = None
        if c.cond_dim:
            # Classifier-free guidance: a dropped condition is replaced by a learned null embedding.
            self.cond_mlp = nn.Sequential(nn.Linear(c.cond_dim, emb * 2), nn.Mish(), nn.Linear(emb * 2, emb))
            self.null_cond = nn.Parameter(torch.zeros(emb))
        self.start_mlp = None
        if c.start_conditioning:
            # Zero output at first: a model warm-started from one without it begins unchanged.
            self.start_mlp = _zero_last(nn.Sequential(nn.Linear(c.state_dim, c.dim * 4), nn.Mish(), nn.Linear(c.dim * 4, emb)))
        self.downs = nn.ModuleList()
        for i, (d_in, d_out) in enumerate(pairs):
            last = i == len(pairs) - 1
            self.downs.append(nn.ModuleList([
                ResidualTemporalBlock(d_in, d_out, emb, c.kernel_size, c.film),
                ResidualTemporalBlock(d_out, d_out, emb, c.kernel_size, c.film),
                Downsample1d(d_out) if not last else nn.Identity(),
            ]))
        mid = dims[-1]
        self.mid1 = ResidualTemporalBlock(mid, mid, emb, c.kernel_size, c.film)
        self.mid2 = ResidualTemporalBlock(mid, mid, emb, c.kernel_size, c.film)
        # Unlike the original, every level's skip is used, the full-resolution one included, and
        # the raw input reaches the last block: at small widths the stride-2 path alone cannot
        # carry 39 dims per timestep, and epsilon at high noise is nearly the input itself.
        self.ups = nn.ModuleList()
        chans = mid
        for i in reversed(range(len(pairs))):
            skip = pairs[i][1]
            target = pairs[i - 1][1] if i > 0 else c.dim
            self.ups.append(nn.ModuleList([
                ResidualTemporalBlock(chans + skip, target, emb, c.kernel_size, c.film),
                ResidualTemporalBlock(target, target, emb, c.kernel_size, c.film),
                Upsample1d(target) if i > 0 else nn.Identity(),
            ]))
            chans = target
        self.final = nn.Sequential(
            Conv1dBlock(c.dim + c.state_dim, c.dim, c.kernel_size), nn.Conv1d(c.dim, c.state_dim, 1)
        )
        # epsilon at high noise is nearly x_t itself, but the last block passes only `dim` channels,
        # fewer than the 39 state dims at width 32: a per-dim, step-dependent gain on the input
        # carries it past. A second gain on the first state: for a dimension that keeps its
        # start value (a block left alone), epsilon is a(t) x_t + b(t) x_0, linear in both.
        # Both start at zero, like the start embedding, so a warm start is unchanged.
        self.input_gain = self.start_gain = None
        if c.input_gain:
            self.input_gain = _zero_last(nn.Sequential(nn.Mish(), nn.Linear(emb, c.state_dim)))
            self.start_gain = _zero_last(nn.Sequential(nn.Mish(), nn.Linear(emb, c.state_dim)))
        if c.horizon % 2 ** (len(c.dim_mults) - 1):
            raise ValueError(f"horizon {c.horizon} must be divisible by {2 ** (len(c.dim_mults) - 1)}")

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None = None,
                drop: torch.Tensor | None = None) -> torch.Tensor:
        """`cond` (batch, cond_dim) for a conditioned model; None, or `drop` (batch,) True,
        gives the null condition (classifier-free guidance's unconditional half)."""
        x = x.transpose(1, 2)  # (batch, channels = state_dim, time)
        inp = x
        emb = self.step_mlp(t)
        if self.start_mlp is not None:
            emb = emb + self.start_mlp(x[:, :, 0])
        if self.cond_mlp is not None:
            null = self.null_cond.expand(x.shape[0], -1)
            if cond is None:
                emb = emb + null
            else:
                c = self.cond_mlp(cond)
                emb = emb + (torch.where(drop[:, None], null, c) if drop is not None else c)
        skips = []
        for res1, res2, down in self.downs:
            x = res2(res1(x, emb), emb)
            skips.append(x)
            x = down(x)
        x = self.mid2(self.mid1(x, emb), emb)
        for res1, res2, up in self.ups:
            x = torch.cat([x, skips.pop()], dim=1)
            x = up(res2(res1(x, emb), emb))
        out = self.final(torch.cat([x, inp], dim=1))
        if self.input_gain is not None:
            out = out + self.input_gain(emb)[:, :, None] * inp + self.start_gain(emb)[:, :, None] * inp[:, :, :1]
        return out.transpose(1, 2)


def _zero_last(mlp: nn.Sequential) -> nn.Sequential:
    nn.init.zeros_(mlp[-1].weight)
    nn.init.zeros_(mlp[-1].bias)
    return mlp


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
