"""Fault injection: hostile input to the real commands and functions (cases in fault_cases.py).

Each case asserts one line on stderr naming the problem, the exit code, no traceback, and that
every watched file is byte-for-byte unchanged and nothing new was left behind.
"""
import hashlib
import json
import shutil
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import main
from fault_cases import CASES, SAMPLE, Case, digest, make_files, start_signalled
from tasks.dataset import Demo, append_demo, load_states, read_index
from tasks.goals import TowerOrder
from tasks.h5io import FileFormatError
from tasks.plans import Plan, append_plan, list_plans, load_plan
from tasks.rewards import strict_success

IN_PROCESS = [c for c in CASES if c.send is None]
SIGNALLED = [c for c in CASES if c.send is not None]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("faults")
    make_files(d)
    return d


def snapshot(d: Path) -> dict[str, str]:
    return {str(p.relative_to(d)): digest(p) for p in sorted(d.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", IN_PROCESS, ids=[c.name for c in IN_PROCESS])
def test_hostile_command_is_refused_in_one_line(case, files, capsys):
    if "cuda" in case.argv:
        import torch

        if torch.cuda.is_available():
            pytest.skip("this machine has CUDA")
    before = snapshot(files)
    try:
        code = main.main(case.args(files))
    except SystemExit as e:  # argparse's own refusals
        code = e.code
    err = capsys.readouterr().err.strip()
    assert code == case.code, err
    assert case.message in err
    assert "Traceback" not in err and "\n" not in err, err
    assert len(err) < 400, err  # never the whole of a huge input
    assert snapshot(files) == before  # watched files untouched, nothing new left behind
    for name in case.watch:
        assert (files / name).is_file()


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] not in "ZX"
    except (OSError, IndexError):
        return False


def _run_and_signal(case, d: Path) -> tuple[int, str, list[int], float]:
    """Start the case's command, signal it, wait: exit code, stderr, its children, when they were gone."""
    children: list[int] = []
    proc, stderr = start_signalled(case, d, before=lambda p: children.extend(_children(p.pid)))
    t0 = time.monotonic()
    gone = float("inf")
    while time.monotonic() - t0 < 30:
        if not any(_alive(c) for c in children):
            gone = time.monotonic() - t0
            break
        time.sleep(0.02)
    proc.wait(timeout=120)
    return proc.returncode, stderr(), children, gone


def test_interrupted_evaluation_keeps_the_finished_run_and_continues(tmp_path, files, capsys):
    case = next(c for c in SIGNALLED if c.argv[0] == "evaluate")
    shutil.copytree(files, tmp_path, dirs_exist_ok=True)  # the cases' files, made once
    before = {name: digest(tmp_path / name) for name in case.watch}
    code, err, _, _ = _run_and_signal(case, tmp_path)
    last = err.strip().splitlines()[-1]
    assert code == case.code and case.message in last, err[-2000:]
    assert "Traceback" not in err
    assert {name: digest(tmp_path / name) for name in case.watch} == before  # the finished run is untouched
    partial = json.loads((tmp_path / "eval" / "results.interrupted.json").read_text())
    done = partial["episodes"]
    assert done >= 1 and partial["complete"] is False
    kept = _episodes(tmp_path / "eval" / "episodes.interrupted.h5")
    assert sorted(kept) == list(range(done))
    # The same command continues; asked for one episode more it finishes and replaces the old run.
    args = case.args(tmp_path)
    args[args.index("--episodes") + 1] = str(done + 1)
    assert main.main(args) == 0
    results = json.loads((tmp_path / "eval" / "results.json").read_text())
    assert results["episodes"] == done + 1 and results["complete"]
    final = _episodes(tmp_path / "eval" / "episodes.h5")
    assert sorted(final) == list(range(done + 1))
    # continued, not started over: the interrupted episodes are the very records (their measured
    # planning times included), and only the last one was planned now
    assert {k: final[k] for k in kept} == kept
    assert not (tmp_path / "eval" / "episodes.interrupted.h5").exists()
    assert not (tmp_path / "eval" / "results.interrupted.json").exists()


def _episodes(path: Path) -> dict[int, tuple]:
    """An episodes file's records: episode -> (planning seconds, score, digest of its states)."""
    import h5py

    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "kuka-episodes-1"
        return {int(k): (float(g.attrs["plan_seconds"]), float(g.attrs["score"]),
                         hashlib.sha256(g["states"][:].tobytes()).hexdigest()) for k, g in f["episodes"].items()}


def test_sigterm_stops_collection_workers_within_a_second(tmp_path, files):
    case = next(c for c in SIGNALLED if c.argv[0] == "collect")
    shutil.copytree(files, tmp_path, dirs_exist_ok=True)  # the cases' files, made once
    before = read_index(tmp_path / "demos.h5")
    code, err, children, gone = _run_and_signal(case, tmp_path)
    assert code == case.code and case.message in err.strip().splitlines()[-1], err[-2000:]
    assert "the same command resumes" in err and "Traceback" not in err
    assert len(children) >= 2 and gone < 1.0, (children, gone)  # 2 workers (+ the resource tracker)
    after = read_index(tmp_path / "demos.h5")
    assert after[: len(before)] == before  # earlier demos intact
    new = after[len(before):]
    states = load_states(tmp_path / "demos.h5", [d.name for d in new])
    for d in new:  # new ones whole: every state written, ending with the goal met
        assert d.task == "conditional" and d.collection_seed == 5 and d.success
        assert states[d.name].shape == (d.num_samples, 39) and np.isfinite(states[d.name]).all()
        assert strict_success(states[d.name][-1].astype(np.float64), d.goal), d.name


def test_sigint_ignored_by_a_background_job_stays_ignored_and_sigterm_saves(tmp_path):
    import signal

    from planner.checkpoint import read

    out = tmp_path / "bg.pt"
    case = Case("a background job", ("train", "--data", str(SAMPLE), "--out", str(out), "--steps", "100000", "--dim",
                "8", "--dim-mults", "1", "2", "--save-every", "100000"), "", send=(signal.SIGTERM, 1.0))
    running = []

    def ctrl_c_first(proc) -> None:
        proc.send_signal(signal.SIGINT)
        time.sleep(1)
        running.append(proc.poll() is None)

    proc, stderr = start_signalled(case, tmp_path, before=ctrl_c_first, ignore_sigint=True)
    proc.wait(timeout=60)
    err = stderr()
    assert running == [True]  # still training after the Ctrl+C
    assert proc.returncode == 143 and "stopped by SIGTERM" in err, err[-1000:]  # 128 + SIGTERM
    assert "the same command resumes" in err
    assert 0 < read(out)["step"] < 100000  # saved where it stopped, not at a periodic save


# ---------------------------------------------------------------- appends are all or nothing
def _plan(seed=0, **changes) -> Plan:
    states = next(iter(__import__("tasks.dataset", fromlist=["x"]).load_states(SAMPLE, names=["demo_0"]).values()))
    return replace(Plan(states, TowerOrder(("red", "green")), "demonstrator", seed=seed), **changes)


def test_a_plan_with_a_seed_hdf5_cannot_store_leaves_the_file_byte_for_byte(tmp_path):
    path = tmp_path / "plans.h5"
    append_plan(path, _plan())
    before = digest(path)
    with pytest.raises(OverflowError):
        append_plan(path, _plan(seed=2**70))
    assert digest(path) == before
    assert [p.id for p in list_plans(path)] == ["plan_00000"]


def test_a_plan_failing_mid_record_is_removed_and_the_file_stays_usable(tmp_path):
    path = tmp_path / "plans.h5"
    first = append_plan(path, _plan())
    bad = _plan(denoising=np.array([["not", "numbers"]]))  # fails after the states are written
    with pytest.raises(FileFormatError, match="could not write the plans record"):
        append_plan(path, bad)
    assert [p.id for p in list_plans(path)] == [first]
    assert np.array_equal(load_plan(path, first).states, _plan().states.astype(np.float32))
    assert append_plan(path, _plan()) == "plan_00001"  # the id the failed record would have had


def test_a_failed_first_append_leaves_no_file(tmp_path):
    path = tmp_path / "new.h5"
    with pytest.raises(FileFormatError):
        append_plan(path, _plan(denoising=np.array([["x"]])))
    assert not path.exists()


def test_a_demo_failing_mid_record_leaves_the_earlier_demos(tmp_path, monkeypatch):
    import tasks.dataset as dataset

    path = tmp_path / "demos.h5"
    states = _plan().states
    demo = Demo(states, TowerOrder(("red", "green")), "conditional", 1, 0, 0, True)
    append_demo(path, demo, "test")
    before = read_index(path)

    def full_disk(*args, **kwargs):  # the last write of the record fails, as on a full disk
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(dataset, "append_strings", full_disk)
    with pytest.raises(FileFormatError, match="No space left"):
        append_demo(path, replace(demo, seed=2), "test")
    monkeypatch.undo()
    assert read_index(path) == before
    assert append_demo(path, replace(demo, seed=3), "test") == "demo_1"


def test_plan_refuses_its_output_before_planning(tmp_path, capsys):
    # The Diffuser would take seconds; the refusal comes first, so nothing is planned.
    t0 = time.perf_counter()
    code = main.main(["plan", "--goal", "red,green", "--out", str(SAMPLE)])
    assert code == 2 and "not a plans file" in capsys.readouterr().err
    assert time.perf_counter() - t0 < 5


# Each command's own signal and exit code, beyond the cases the tests above follow in detail.
PLAIN_STOPS = [c for c in SIGNALLED if c.name in (
    "collect stopped by Ctrl+C", "evaluate stopped by SIGTERM", "train-mover stopped by Ctrl+C",
    "train-classifier stopped by SIGTERM", "render stopped by Ctrl+C")]


@pytest.mark.parametrize("case", PLAIN_STOPS, ids=[c.name for c in PLAIN_STOPS])
def test_a_signal_stops_each_command_with_its_exit_code_and_keeps_what_it_saved(case, tmp_path, files):
    shutil.copytree(files, tmp_path, dirs_exist_ok=True)  # the cases' files, made once
    before = {name: digest(tmp_path / name) for name in case.watch}
    code, err, _, _ = _run_and_signal(case, tmp_path)
    assert code == case.code and case.message in err.strip().splitlines()[-1], err[-2000:]
    assert "Traceback" not in err
    assert {name: digest(tmp_path / name) for name in case.watch} == before
    out = tmp_path / case.argv[case.argv.index("--out") + 1].replace("{d}/", "")
    if case.argv[0] in ("train-mover", "train-classifier"):
        assert out.is_file()  # the checkpoint of the steps done is saved
    if case.argv[0] == "collect":  # the demos written before the signal are whole: the file opens and lists them
        from tasks.dataset import load_states

        demos = load_states(out)
        assert demos and all(len(s) % 128 == 0 and np.isfinite(s).all() for s in demos.values())
    if case.argv[0] == "render":
        assert not out.exists() and not list(out.parent.glob("*.mp4*"))  # no partial video, no temporary file
    if case.argv[0] == "evaluate":
        assert json.loads((out / "results.interrupted.json").read_text())["episodes"] >= 1
