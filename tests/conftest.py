import os
import sys

import numpy as np
import pytest

# Where the environment sets PYTHONDONTWRITEBYTECODE (this machine's does), every process the tests
# start (commands, the app's workers, training, Ray workers) compiled the project's modules again;
# the tests keep bytecode (git-ignored __pycache__), so each module is compiled once a run.
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

import planner as _thread_policy  # noqa: E402,F401  (sets PyTorch's thread policy before any test loads torch)
from tasks.layout import BLOCK_HEIGHT, BLOCK_NAMES, LAYOUT  # noqa: E402
from tasks.world import HOME_JOINTS  # noqa: E402

# The order xdist hands out files (`--dist loadfile`: a file runs whole on one worker). The Train
# tab's test waits on a training process niced below everything (tasks/train_job.py): beside files
# that test in one process it has a core to itself; beside the app tests' worker and render
# processes, or any file's several processes, it starves (33 s alone, four minutes beside two busy
# processes). So it goes first, the one-process files beside it, then the others, longest first,
# so that none starts last and leaves a worker idle. The order changes no test, only the balance.
FIRST = "test_app_train.py"
LONGEST_LAST = ("test_app_blocks.py", "test_app.py", "test_faults.py", "test_app_library.py", "test_ray.py",
                "test_planner.py", "test_app_chain.py", "test_app_processes.py", "test_app_promises.py",
                "test_app_stalls.py", "test_files.py", "test_app_constraints.py", "test_app_issue21.py",
                "test_app_frictions.py")


def pytest_collection_modifyitems(items: list) -> None:
    """FIRST, the files not named here, then LONGEST_LAST in its order (the sort is stable)."""
    rank = {FIRST: 0, **{name: 2 + i for i, name in enumerate(LONGEST_LAST)}}
    items.sort(key=lambda item: rank.get(item.path.name, 1))


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
