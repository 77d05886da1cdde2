"""What the model tests share: the sample's path and a tiny Diffuser that trains in seconds."""
import os

import torch

from planner.config import DiffusionConfig, ModelConfig
from planner.diffusion import GaussianDiffusion
from planner.model import TemporalUnet

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "assets", "sample_demos.h5")
TINY = ModelConfig(horizon=128, dim=8, dim_mults=(1, 2))


def tiny_diffusion(n=20):
    torch.manual_seed(0)
    return GaussianDiffusion(TemporalUnet(TINY), DiffusionConfig(n_timesteps=n))
