"""The shipped Diffuser's quality, through `evaluate` as the README's figures are measured: the
paper's single-sample protocol (one sample per move, only the start pinned, no physics check) on
held-out episodes of each of the paper's tasks (4 blocks) meets every goal strictly."""
import json

import h5py
import pytest

import main
from tasks.goals import goal_from_json

SINGLE_SAMPLE = ["--no-keyframes", "--candidates", "1", "--no-physics-check"]


# The tallest tower costs about 6 s an episode (the whole-state model scores each move): one.
@pytest.mark.parametrize("task, episodes", [("unconditional", 1), ("conditional", 2), ("rearrangement", 2)])
def test_the_diffuser_meets_held_out_goals_of_each_paper_task_in_one_sample(task, episodes, tmp_path, capsys):
    out = tmp_path / task
    code = main.main(["evaluate", "--planner", "diffuser", "--task", task, "--episodes", str(episodes), "--seed", "0",
                      *SINGLE_SAMPLE, "--out", str(out)])
    assert code == 0, capsys.readouterr().err[-2000:]
    results = json.loads((out / "results.json").read_text())
    assert results["planner"] == "diffuser" and results["blocks"] == 4 and results["episodes"] == episodes
    s = results["settings"]
    assert s["candidates"] == 1 and s["keyframes"] is False and s["physics_check"] is False and s["mover"]
    assert results["strict_success"] == 1.0 and results["score_mean"] == 100.0 and results["planning_failures"] == 0
    with h5py.File(out / "episodes.h5") as f:  # as many pick-and-places as the goal needs, none repeated
        needed = [len(goal_from_json(str(g.attrs["goal"])).pairs) if task == "rearrangement" else 3
                  for g in f["episodes"].values()]
    assert results["moves"] == sum(needed)
