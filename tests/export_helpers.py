"""Helpers the export tests share: the command line, and small demonstrations and plans files to export."""
from pathlib import Path

import h5py
import numpy as np
import pytest

from tasks.dataset import Demo, append_demo
from tasks.goals import goal_from_json, parse_goal
from tasks.plans import Plan, append_plan
from tasks.world import initial_state

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "assets" / "sample_demos.h5"
STEPS = 30  # states kept of each sample demo: short episodes keep the videos quick


def main(*args: str) -> int:
    """`python main.py ARGS` in this process; its exit code."""
    import main as cli

    return cli.main(list(args))


# Imported as files_fixture: under the name `files`, each test's argument would shadow the import.
@pytest.fixture(scope="module", name="files")
def files_fixture(tmp_path_factory) -> dict[str, Path]:
    """A small demonstrations file (the first states of one sample demo of each task, written by our
    own writer) and a plans file with a four-block plan and a two-block one."""
    folder = tmp_path_factory.mktemp("export")
    demos, plans = folder / "demos.h5", folder / "plans.h5"
    with h5py.File(SAMPLE) as f:
        picks = [f"demo_{i}" for i in (0, 50, 100, 150)]  # unconditional, conditional, rearrangement, arrangement
        for name in picks:
            g = f["data"][name]
            a = g.attrs
            append_demo(demos, Demo(g["states"][:STEPS], goal_from_json(a["goal"]), str(a["task"]), int(a["seed"]),
                                    int(a["episode"]), int(a["collection_seed"]), True), "demonstrator-2")
        four = f["data"]["demo_60"]["states"][:STEPS]
    append_plan(plans, Plan(four, parse_goal("green on red"), "demonstrator", seed=7))
    append_plan(plans, Plan(np.repeat(initial_state(0, 2)[None], 5, 0), parse_goal("green on red"), "demonstrator"))
    return {"demos": demos, "plans": plans, "folder": folder}
