"""The Diffuser: temporal U-Net, diffusion, guides, conditioning, training, planning.

Importing this package sets PyTorch's OpenMP threads before torch itself is loaded (libgomp
reads the environment once, at load). By default they spin-wait, and planning on two cores then
slowed several-fold beside any other busy process; planning's small tensors gain nothing from a
second thread, so one thread that waits passively is the default (benchmarks/plan_load.py
measures it; docs/figures.md has the figures). Training asks for more threads itself
(planner.train*). A value the user set in the environment wins.
"""
import os as _os
import sys as _sys

_CHOSE_THREADS = False  # True when the thread count is ours, not the user's
if "torch" not in _sys.modules:
    _os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if "OMP_NUM_THREADS" not in _os.environ:
        _os.environ["OMP_NUM_THREADS"] = "1"
        _CHOSE_THREADS = True


def training_threads() -> None:
    """Training's large batches do use every core: unless the user chose a thread count, take them."""
    if _CHOSE_THREADS:
        import torch

        torch.set_num_threads(_os.cpu_count() or 1)
