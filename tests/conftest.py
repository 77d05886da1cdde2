import planner as _thread_policy  # noqa: F401  (sets PyTorch's thread policy before any test loads torch)

import numpy as np
import pytest

from tasks.layout import BLOCK_HEIGHT, BLOCK_NAMES, LAYOUT
from tasks.world import HOME_JOINTS

# The longest files first. With `--dist loadfile` a file runs whole on one worker, and xdist would
# otherwise hand out the files with the most tests first, so one of these could start last and
# leave the other worker idle for a minute. The order changes no test; it only balances the workers.
LONGEST_FIRST = ("test_app_train.py", "test_app_blocks.py", "test_app.py", "test_faults.py", "test_app_library.py",
                 "test_ray.py")


def pytest_collection_modifyitems(items: list) -> None:
    """Sort by LONGEST_FIRST, the rest in collection order (the sort is stable)."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


def make_state(positions: dict, attached: dict | None = None, joints=HOME_JOINTS) -> np.ndarray:
    """A state with blocks at `positions` (unlisted ones far apart on the floor), level."""
    pos = {b: np.array([2.0 + i, 2.0, BLOCK_HEIGHT / 2]) for i, b in enumerate(BLOCK_NAMES)}
    pos.update({b: np.asarray(p, dtype=float) for b, p in positions.items()})
    orn = {b: np.array([0.0, 0.0, 0.0, 1.0]) for b in BLOCK_NAMES}
    return LAYOUT.compose(np.asarray(joints, dtype=float), pos, orn, attached)


@pytest.fixture
def state_factory():
    return make_state


@pytest.fixture
def window(qtbot, tmp_path):
    """The app's main window, shown offscreen, its prefs, plans and demonstrations in tmp_path
    (the app test modules set QT_QPA_PLATFORM before Qt loads)."""
    from PySide6.QtCore import QSettings

    from app.main_window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(prefs=settings, plans_file=tmp_path / "plans.h5", dataset_file=tmp_path / "demos.h5",
                   models_dir=tmp_path / "models")
    qtbot.addWidget(w)
    w.resize(1000, 700)
    w.show()
    qtbot.waitExposed(w)
    return w
