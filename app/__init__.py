"""The Qt desktop app: main window, 3-D view and renderer, goal editor, playback, workers.

The planner package is imported first: it sets PyTorch's OpenMP thread count and wait policy,
which only count before torch loads (the main window imports torch to look for CUDA).
"""
import planner as _thread_policy  # noqa: F401  (sets PyTorch's thread policy before torch loads)
