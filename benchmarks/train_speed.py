"""Training throughput of the Diffuser: steps per second and samples per second.

    python benchmarks/train_speed.py [--device cpu|cuda] [--steps 30] [--batch-size 32]

Times real training steps (the model of the default configuration, batches from the sample
dataset, keyframe masks, AdamW, EMA) after a few warm-up steps.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import planner as _thread_policy  # noqa: E402,F401  (sets PyTorch's thread policy before torch loads)
import torch  # noqa: E402

from planner.model import ModelConfig, count_parameters  # noqa: E402
from planner.train import TrainConfig, train  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--data", default=str(ROOT / "assets" / "sample_demos.h5"))
    args = ap.parse_args()
    times: list[float] = []
    last = [time.perf_counter()]

    def tick(step: int, total: int, loss: float) -> None:
        now = time.perf_counter()
        times.append(now - last[0])
        last[0] = now

    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig(data=args.data, out=str(Path(tmp) / "bench.pt"), steps=args.warmup + args.steps,
                          batch_size=args.batch_size, save_every=10**9, device=args.device)
        train(cfg, ModelConfig(), progress=tick)
    timed = times[args.warmup:]
    per_step = sum(timed) / len(timed)
    from planner.model import TemporalUnet

    print(f"device: {args.device}, torch threads: {torch.get_num_threads()}, "
          f"parameters: {count_parameters(TemporalUnet(ModelConfig()))}, batch: {args.batch_size}")
    print(f"seconds per step: {per_step:.3f}")
    print(f"steps per second: {1 / per_step:.2f}")
    print(f"samples per second: {args.batch_size / per_step:.1f}")


if __name__ == "__main__":
    main()
