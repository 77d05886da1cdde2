"""The Diffuser: temporal U-Net, diffusion, guides, conditioning, training, planning.

Importing this package sets how PyTorch's OpenMP threads wait, before torch itself is loaded
(libgomp reads it once, at load). By default they spin: beside any other busy process a plan
then took 24 to 26 s instead of 0.6 s. Passive waiting costs little when the machine is idle
(benchmarks/plan_load.py measures both). A value the user set in the environment wins.
"""
import os as _os
import sys as _sys

if "torch" not in _sys.modules:
    _os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
