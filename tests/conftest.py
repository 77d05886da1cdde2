import planner as _thread_policy  # noqa: F401  (sets PyTorch's thread policy before any test loads torch)

import numpy as np
import pytest

from tasks.layout import BLOCK_HEIGHT, BLOCK_NAMES, LAYOUT
from tasks.world import HOME_JOINTS


def make_state(positions: dict, attached: dict | None = None, joints=HOME_JOINTS) -> np.ndarray:
    """A state with blocks at `positions` (unlisted ones far apart on the floor), level."""
    pos = {b: np.array([2.0 + i, 2.0, BLOCK_HEIGHT / 2]) for i, b in enumerate(BLOCK_NAMES)}
    pos.update({b: np.asarray(p, dtype=float) for b, p in positions.items()})
    orn = {b: np.array([0.0, 0.0, 0.0, 1.0]) for b in BLOCK_NAMES}
    return LAYOUT.compose(np.asarray(joints, dtype=float), pos, orn, attached)


@pytest.fixture
def state_factory():
    return make_state
