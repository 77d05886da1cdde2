"""An evaluation's bookkeeping (tasks/evaluate.py): which interrupted run the same call continues,
where its files go, what a run stopped before its first episode returns, and the results table.
Episodes here fail at once (the planner returns NaN states), so no planning or physics runs."""
import json

import numpy as np

from tasks.evaluate import episodes_kept, evaluate, format_table
from tasks.plans import Plan


class NaNPlanner:
    """Fails every episode at once; `settings` in the order given."""
    name = "nan"

    def __init__(self, settings: dict | None = None) -> None:
        self.settings = settings or {}

    def plan(self, state, goal, seed):
        return Plan(np.full((5, len(state)), np.nan), goal, self.name)


def _stopped_after(n: int):
    """`progress` and `should_stop` for a run that stops once `n` episodes are done."""
    done = []
    return done.append, lambda: len(done) >= n


def test_the_same_settings_in_another_order_continue_the_interrupted_run(tmp_path):
    first = NaNPlanner({"steps": 10, "guide": "tower", "samples": 4})
    progress, stop = _stopped_after(1)
    partial = evaluate(first, "conditional", 3, 0, tmp_path, progress=progress, should_stop=stop)
    assert partial["complete"] is False and partial["episodes"] == 1
    reordered = NaNPlanner({"samples": 4, "guide": "tower", "steps": 10})
    assert list(reordered.settings) != list(first.settings)
    assert episodes_kept(reordered, "conditional", 0, 3, tmp_path) == 1
    planned = []
    results = evaluate(reordered, "conditional", 3, 0, tmp_path, progress=planned.append)
    assert results["complete"] and results["episodes"] == 3
    assert [e.episode for e in planned] == [1, 2]  # episode 0 was kept, not planned again
    # different settings are another run: nothing kept
    assert episodes_kept(NaNPlanner({"steps": 11, "guide": "tower", "samples": 4}), "conditional", 0, 3, tmp_path) == 0


def test_the_results_folder_is_made_with_its_parents(tmp_path):
    out = tmp_path / "runs" / "today" / "conditional"
    results = evaluate(NaNPlanner(), "conditional", 1, 0, out)
    assert results["complete"] and json.loads((out / "results.json").read_text())["episodes"] == 1
    assert (out / "episodes.h5").is_file()


def test_a_run_stopped_before_its_first_episode_is_incomplete_and_writes_nothing(tmp_path):
    results = evaluate(NaNPlanner(), "conditional", 2, 0, tmp_path, should_stop=lambda: True)
    assert results["complete"] is False and results["episodes"] == 0 and np.isnan(results["score_mean"])
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_the_table_shows_blocks_four_for_older_results_and_success_in_percent():
    row = {"task": "conditional", "planner": "diffuser", "episodes": 20, "score_mean": 62.5, "score_sem": 4.3,
           "strict_success": 0.45, "plan_seconds_mean": 1.5}  # an older results file: no blocks, no s/move
    header, line = format_table([row]).splitlines()
    assert header.split()[:4] == ["task", "planner", "blocks", "episodes"]
    assert line.split() == ["conditional", "diffuser", "4", "20", "62.5", "±", "4.3", "45%", "1.50", "nan"]
    six = format_table([{**row, "blocks": 6, "strict_success": 1.0}]).splitlines()[1].split()
    assert six[2] == "6" and six[7] == "100%"
