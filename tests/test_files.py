"""Files as the README promises them: every HDF5 file written carries its format tag, and a
collected file does not depend on the number of workers."""
import shutil
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
import pytest

import main
from tasks.dataset import Demo, append_demo, load_states, read_index, remove_demo
from tasks.evaluate import evaluate
from tasks.goals import TowerOrder
from tasks.h5io import FORMATS, FileFormatError
from tasks.plans import Plan, append_plan, delete_plan, export_plan, rename_plan, save_scene
from tasks.world import initial_state

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "assets" / "sample_demos.h5"
TAGS = {kind: tag for kind, (tag, _) in FORMATS.items()}


def format_of(path: Path) -> str | None:
    with h5py.File(path, "r") as f:
        value = f.attrs.get("format")
    return None if value is None else str(value)


def _plan(k: int = 0) -> Plan:
    return Plan(np.repeat(initial_state(k)[None], 3, 0), TowerOrder(("red", "green")), "demonstrator", seed=k)


class NaNPlanner:
    """Fails every episode at once: an evaluation's files without planning."""
    name = "nan"
    settings: dict = {}

    def plan(self, state, goal, seed):
        return Plan(np.full((5, len(state)), np.nan), goal, self.name)


def test_every_file_written_carries_its_format_tag(tmp_path):
    demos = tmp_path / "demos.h5"
    states = np.repeat(initial_state(0)[None], 4, 0)
    demo = Demo(states, TowerOrder(("red", "green")), "conditional", 1, 0, 0, True)
    append_demo(demos, demo, "test")
    assert format_of(demos) == TAGS["demonstrations"]
    old = tmp_path / "old.h5"  # written before the tag existed: tagged by its next append
    shutil.copy(SAMPLE, old)
    with h5py.File(old, "a") as f:
        del f.attrs["format"]
    assert format_of(old) is None and read_index(old)
    append_demo(old, replace(demo, seed=7), "test")
    assert format_of(old) == TAGS["demonstrations"]
    remove_demo(old, "demo_0")
    assert format_of(old) == TAGS["demonstrations"]

    plans, scenes = tmp_path / "plans.h5", tmp_path / "scenes.h5"
    a = append_plan(plans, _plan(0))
    append_plan(plans, _plan(1))
    save_scene(scenes, "start", initial_state(2))
    exported = tmp_path / "exported.h5"
    export_plan(plans, a, exported)
    rename_plan(plans, a, "renamed")
    delete_plan(plans, a)
    for path in (plans, scenes, exported):
        assert format_of(path) == TAGS["plans"], path

    evaluate(NaNPlanner(), "conditional", 1, 0, tmp_path / "finished")
    calls = []
    evaluate(NaNPlanner(), "conditional", 3, 0, tmp_path / "stopped", should_stop=lambda: calls.append(1) or len(calls) > 1)
    for path in (tmp_path / "finished" / "episodes.h5", tmp_path / "stopped" / "episodes.interrupted.h5"):
        assert format_of(path) == TAGS["episodes"], path


@pytest.mark.parametrize("kind, other", [("plans", "demonstrations"), ("demonstrations", "episodes")])
def test_a_file_tagged_as_another_kind_is_refused_by_its_tag(tmp_path, kind, other):
    path = tmp_path / "x.h5"
    with h5py.File(path, "w") as f:
        f.attrs["format"] = TAGS[other]
    before = path.read_bytes()
    with pytest.raises(FileFormatError, match=f"a {TAGS[other]} file, not an? {kind} file"):
        if kind == "plans":
            append_plan(path, _plan())
        else:
            append_demo(path, Demo(np.repeat(initial_state(0)[None], 4, 0), TowerOrder(("red", "green")),
                                   "conditional", 1, 0, 0, True), "test")
    assert path.read_bytes() == before


def test_a_collected_file_is_the_same_with_one_worker_or_two(tmp_path, capsys):
    files = {}
    for workers in (1, 2):
        files[workers] = out = tmp_path / f"w{workers}.h5"
        code = main.main(["collect", "--task", "conditional", "--episodes", "2", "--seed", "1", "--workers",
                          str(workers), "--out", str(out)])
        assert code == 0 and f"wrote 2 demos to {out}" in capsys.readouterr().out
        assert format_of(out) == TAGS["demonstrations"]
    one, two = (read_index(files[w]) for w in (1, 2))
    assert [d.episode for d in one] == [0, 1] and one == two
    s1, s2 = load_states(files[1]), load_states(files[2])
    assert list(s1) == list(s2) == ["demo_0", "demo_1"]
    for name in s1:
        np.testing.assert_array_equal(s1[name], s2[name])


def test_a_file_written_before_the_blocks_attribute_reads_its_blocks_from_its_state_names(tmp_path):
    """Files from before the root `blocks` attribute existed name their blocks only in their state
    names: a two-block one is read as two blocks (not the paper's four), and appended to as such."""
    from tasks.collect import collect
    from tasks.layout import layout_for

    path = tmp_path / "old.h5"
    collect(path, "conditional", 2, 0, 1, n_blocks=2)
    with h5py.File(path, "a") as f:
        del f.attrs["blocks"]
    index = read_index(path)
    states = load_states(path, [index[0].name])[index[0].name]
    assert states.shape[1] == layout_for(2).dim
    with pytest.raises(FileFormatError, match="holds scenes of 2 blocks"):
        collect(path, "conditional", 3, 0, 1, n_blocks=4)  # an append of another number of blocks is refused
    collect(path, "conditional", 3, 0, 1, n_blocks=2)
    assert len(read_index(path)) == 3


def test_an_evaluation_folder_with_a_foreign_results_file_is_refused_and_left_alone(tmp_path):
    from tasks.evaluate import check_out_dir

    for text in ("{not json", '{"score": 3}'):  # unreadable; readable but not an evaluation's
        (tmp_path / "results.json").write_text(text)
        with pytest.raises(FileFormatError, match="not an evaluation's results file"):
            check_out_dir(tmp_path)
        assert (tmp_path / "results.json").read_text() == text


def test_an_interrupted_evaluation_counts_what_it_kept_and_its_summary_has_a_spread(tmp_path):
    from tasks.demonstrator import shared
    from tasks.evaluate import episodes_kept, summarise

    planner = shared()
    assert episodes_kept(planner, "rearrangement", 0, 5, tmp_path) == 0  # nothing there yet
    stops = iter([False, False, False, True])
    partial = evaluate(planner, "rearrangement", 5, 0, tmp_path, should_stop=lambda: next(stops))
    assert partial["complete"] is False and partial["episodes"] == 3
    assert episodes_kept(planner, "rearrangement", 0, 5, tmp_path) == 3
    assert episodes_kept(planner, "rearrangement", 0, 2, tmp_path) == 2  # asked for fewer: only those count
    assert episodes_kept(planner, "rearrangement", 1, 5, tmp_path) == 0  # another seed: not this run
    from tasks.evaluate import _read_episodes
    from tasks.h5io import open_h5

    with open_h5(tmp_path / "episodes.interrupted.h5", "r", "episodes") as f:
        two = sorted(_read_episodes(f["episodes"]), key=lambda e: e.episode)[:2]
    two = [replace(two[0], score=100.0), replace(two[1], score=40.0)]
    assert summarise("rearrangement", planner, two, 0)["score_sem"] == pytest.approx(30.0)  # |100 - 40| / 2


def test_a_plan_kept_from_another_thread_while_the_file_is_read(tmp_path):
    """The app keeps a plan from its plan worker's thread while the window may read the file: HDF5
    refuses to open for writing a file open for reading, so tasks.plans takes them in turn."""
    import threading

    from tasks.plans import list_plans, load_plan

    path = tmp_path / "plans.h5"
    append_plan(path, _plan(0))
    errors: list[Exception] = []

    def keep() -> None:
        try:
            for k in range(1, 16):
                append_plan(path, replace(_plan(k), denoising=np.zeros((2, 10, 64, 39), np.float32)))
        except Exception as e:  # noqa: BLE001 (reported by the test)
            errors.append(e)

    writer = threading.Thread(target=keep)
    writer.start()
    reads = 0
    while writer.is_alive() or reads < 5:
        assert load_plan(path, "plan_00000").seed == 0
        reads += len(list_plans(path)) > 0
    writer.join()
    assert not errors, errors
    assert [p.id for p in list_plans(path)] == [f"plan_{k:05d}" for k in range(16)]
