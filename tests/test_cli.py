import io
import json
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout

import h5py
import imageio.v2 as imageio
import numpy as np
import pytest

import main
from tasks.plans import list_plans, load_plan

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(*args) -> subprocess.CompletedProcess:
    """`main.py ARGS` run in this process, its exit code and what it printed (the commands in
    processes of their own, with signals: test_faults.py; output a C library prints: run_process)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main.main(list(args))
        except SystemExit as e:  # argparse's refusals
            code = e.code
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def run_process(*args) -> subprocess.CompletedProcess:
    """`main.py ARGS` as a process of its own."""
    return subprocess.run([sys.executable, os.path.join(ROOT, "main.py"), *args], cwd=ROOT, capture_output=True, text=True)


def test_plan_appends_to_the_plans_file(tmp_path):
    out = tmp_path / "plans.h5"
    for goal in ["green on red, yellow on blue", "tallest"]:
        r = run("plan", "--planner", "demonstrator", "--goal", goal, "--seed", "2", "--out", str(out))
        assert r.returncode == 0, r.stderr
    plans = list_plans(out)
    assert [str(p.goal) for p in plans] == ["green on red, yellow on blue", "tallest"]
    assert all(p.score == 100 and p.strict_success and p.plan_seconds > 0 for p in plans)
    assert load_plan(out, plans[0].id).states.shape == (256, 39)
    with h5py.File(out) as f:
        attrs = f[f"plans/{plans[1].id}"].attrs
        assert json.loads(attrs["goal"]) == {"tallest": True}
        assert attrs["planner"] == "demonstrator" and "version" in json.loads(attrs["settings"])


@pytest.mark.parametrize("goal, message", [
    ("red,magenta", "unknown block 'magenta'"),
    ("red on green, green on red", "cycle red on green on red"),
])
def test_bad_goal_is_one_line_without_traceback(tmp_path, goal, message):
    r = run("plan", "--goal", goal, "--out", str(tmp_path / "p.h5"))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert not (tmp_path / "p.h5").exists()


def test_evaluate_writes_results_and_episodes(tmp_path):
    r = run("evaluate", "--planner", "demonstrator", "--task", "rearrangement", "--episodes", "2", "--seed", "0", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    table = r.stdout.splitlines()
    row = next(line for line in table if line.startswith("rearrangement"))
    assert row.split()[:6] == ["rearrangement", "demonstrator", "4", "2", "100.0", "±"]
    assert row.split()[7] == "100%"
    res = json.loads((tmp_path / "results.json").read_text())
    for key in ("task", "planner", "episodes", "score_mean", "score_sem", "strict_success", "plan_seconds_mean"):
        assert key in res
    assert res["episodes"] == 2 and res["score_mean"] == 100 and res["strict_success"] == 1
    with h5py.File(tmp_path / "episodes.h5") as f:
        g = f["episodes/1"]
        assert g["states"].shape[1] == 39
        assert set(g.attrs) >= {"task", "seed", "score", "strict_success", "goal"}
        assert "pairs" in json.loads(g.attrs["goal"])


def test_corrupt_plans_file_is_reported_not_overwritten(tmp_path):
    out = tmp_path / "plans.h5"
    out.write_bytes(b"garbage")
    r = run("plan", "--goal", "tallest", "--out", str(out))
    assert r.returncode == 2 and "plans.h5" in r.stderr and "Traceback" not in r.stderr
    assert out.read_bytes() == b"garbage"


def test_plan_with_the_diffuser_records_its_settings_and_time(tmp_path):
    out = tmp_path / "plans.h5"
    r = run("plan", "--planner", "diffuser", "--goal", "red,green", "--seed", "4", "--candidates", "4",
            "--max-checks", "1", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "segment 1: green on red" in r.stdout and "in physics: score 100, strict success yes" in r.stdout
    plan = list_plans(out)[0]
    assert plan.score == 100 and plan.strict_success
    assert plan.planner == "diffuser" and plan.plan_seconds > 0
    assert plan.settings["candidates"] == 4 and plan.settings["steps"] == 10
    assert plan.segments[0].move == "green on red"


def test_plans_file_rename_delete_export(tmp_path):
    from tasks.plans import delete_plan, export_plan, rename_plan

    out = tmp_path / "plans.h5"
    for _ in range(2):
        assert run("plan", "--planner", "demonstrator", "--goal", "red,green", "--out", str(out)).returncode == 0
    a, b = [p.id for p in list_plans(out)]
    rename_plan(out, a, "my tower")
    assert list_plans(out)[0].name == "my tower"
    new = export_plan(out, b, tmp_path / "export.h5")
    np.testing.assert_array_equal(load_plan(tmp_path / "export.h5", new).states, load_plan(out, b).states)
    delete_plan(out, a)
    assert [p.id for p in list_plans(out)] == [b]
    assert run("plan", "--planner", "demonstrator", "--goal", "red,green", "--out", str(out)).returncode == 0
    assert len({p.id for p in list_plans(out)}) == 2  # ids are never reused after a delete


def test_a_planner_that_fails_scores_zero_without_stopping_the_evaluation(tmp_path):
    from tasks.evaluate import evaluate
    from tasks.plans import Plan

    class NaNPlanner:
        name = "nan"
        settings: dict = {}

        def plan(self, state, goal, seed):
            return Plan(np.full((5, 39), np.nan), goal, self.name)

    res = evaluate(NaNPlanner(), "conditional", 2, 0, tmp_path)
    assert res["episodes"] == 2 and res["score_mean"] == 0 and res["planning_failures"] == 2


def test_render_writes_gif_and_mp4_and_refuses_what_it_cannot(tmp_path):
    plans = tmp_path / "plans.h5"
    r = run("plan", "--planner", "demonstrator", "--goal", "red,green", "--seed", "1", "--out", str(plans))
    assert r.returncode == 0, r.stderr
    pid = list_plans(plans)[0].id
    for name in ("one.gif", "one.mp4"):
        r = run("render", "--plans", str(plans), "--out", str(tmp_path / name), "--speed", "4", "--size", "160", "120")
        assert r.returncode == 0, r.stderr
        assert f"of {pid} to" in r.stdout
        written = int(r.stdout.split("wrote ")[1].split()[0])
        reader = imageio.get_reader(tmp_path / name)
        first = reader.get_data(0)
        assert written > 10 and first.shape[:2] == (120, 160)
        if name.endswith(".mp4"):
            assert reader.count_frames() == written
        else:  # the GIF writer merges a repeated frame (the arm at rest) into a longer one
            assert written - 5 <= len(imageio.mimread(tmp_path / name)) <= written
        reader.close()
    for args, message in [
        (["--out", str(tmp_path / "x.avi")], "must end in .mp4 or .gif"),
        (["--out", str(tmp_path / "d.gif"), "--denoising"], "without its denoising steps: make it with plan"),
        (["--out", str(tmp_path / "x.gif"), "--id", "plan_99999"], "no plan 'plan_99999'"),
    ]:
        r = run("render", "--plans", str(plans), *args)
        assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_plan_keeps_its_denoising_steps_for_render_when_asked(tmp_path):
    plans = tmp_path / "plans.h5"
    r = run("plan", "--planner", "diffuser", "--goal", "red,green", "--blocks", "2", "--seed", "4", "--candidates", "2",
            "--max-checks", "1", "--extra-segments", "0", "--keep-denoising", "--out", str(plans))
    assert r.returncode == 0, r.stderr
    plan = load_plan(plans, list_plans(plans)[0].id)
    assert plan.denoising is not None and plan.denoising.shape[:2] == (1, plan.settings["steps"])
    r = run("render", "--plans", str(plans), "--denoising", "--size", "64", "48", "--out", str(tmp_path / "d.gif"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "d.gif").stat().st_size > 1000
    r = run("plan", "--planner", "demonstrator", "--goal", "red,green", "--blocks", "2", "--keep-denoising", "--out",
            str(plans))
    assert r.returncode == 2 and "--keep-denoising" in r.stderr and len(list_plans(plans)) == 1


def test_every_command_creates_a_missing_out_folder_and_render_prints_only_its_result(tmp_path):
    demos, plans, video = tmp_path / "a" / "d.h5", tmp_path / "b" / "c" / "p.h5", tmp_path / "v" / "x.gif"
    r = run_process("collect", "--task", "conditional", "--blocks", "2", "--episodes", "1", "--out", str(demos))
    assert r.returncode == 0 and demos.exists(), r.stderr
    r = run_process("plan", "--planner", "demonstrator", "--goal", "red,green", "--blocks", "2", "--out", str(plans))
    assert r.returncode == 0 and plans.exists(), r.stderr
    r = run_process("render", "--plans", str(plans), "--size", "64", "48", "--speed", "8", "--out", str(video))
    assert r.returncode == 0 and video.exists(), r.stderr
    assert r.stdout.splitlines() == [f"wrote {r.stdout.split()[1]} frames of plan_00000 to {video}"]  # no "ven = ..."
    (tmp_path / "file").write_text("x")
    r = run_process("plan", "--planner", "demonstrator", "--goal", "red,green", "--out", str(tmp_path / "file" / "p.h5"))
    assert r.returncode == 2 and "not a writable folder" in r.stderr


def test_a_resumed_evaluation_counts_the_episodes_it_kept(tmp_path, capsys):
    import main
    from tasks.demonstrator import Demonstrator
    from tasks.evaluate import evaluate

    asked = iter([False, True])
    kept = evaluate(Demonstrator(), "conditional", 2, 0, tmp_path, should_stop=lambda: next(asked), n_blocks=2)
    assert kept["episodes"] == 1 and not kept["complete"]
    assert main.main(["evaluate", "--planner", "demonstrator", "--task", "conditional", "--blocks", "2",
                      "--episodes", "2", "--out", str(tmp_path)]) == 0
    bar = capsys.readouterr().err
    assert " 1/2 " in bar and " 2/2 " in bar and " 0/2 " not in bar


@pytest.mark.parametrize("command, args, says", [
    ("render", ["--plans", "p.h5", "--out", "x.gif"], "no partial video is left"),
    ("plan", ["--goal", "red,green"], "no plan was written"),
    ("collect", ["--task", "conditional", "--episodes", "1", "--out", "d.h5"], "every record already written"),
])
def test_ctrl_c_says_what_the_command_leaves(monkeypatch, capsys, command, args, says):
    import main

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setitem(main.COMMANDS, command, interrupted)
    assert main.main([command, *args]) == 130
    assert says in capsys.readouterr().err


@pytest.mark.parametrize("text", ["", "   ", "red," * 300])
def test_empty_and_too_long_goals_name_every_kind_of_goal(text):
    from tasks.goals import GoalError, parse_goal

    with pytest.raises(GoalError) as e:
        parse_goal(text)
    assert all(kind in str(e.value) for kind in ("tower order", "pairs", "tallest", "reference arrangement"))
