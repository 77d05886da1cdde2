import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from tasks.collect import collect_episode, pending_episodes
from planner.data import Normaliser, TrajectoryWindows
from tasks.dataset import append_demo, load_states, read_index, remove_demo
from tasks.h5io import FileFormatError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def demos():
    return [collect_episode("conditional", 3, k).demo for k in range(3)]


def test_append_and_read_back(tmp_path, demos):
    path = tmp_path / "d.h5"
    names = [append_demo(path, d, "test") for d in demos]
    assert names == ["demo_0", "demo_1", "demo_2"]
    index = read_index(path)
    assert [d.episode for d in index] == [0, 1, 2]
    assert index[0].goal == demos[0].goal and index[0].success
    with h5py.File(path) as f:
        assert f["data"].attrs["total"] == sum(len(d.states) for d in demos)
        g = f["data/demo_1"]
        assert g["actions"].shape == (len(demos[1].states), 11)
        assert g["rewards"][-1] == 3 and g["dones"][-1] == 1 and g["dones"][:-1].sum() == 0
        masks = [n.decode() for n in np.concatenate([f["mask"][k][:] for k in f["mask"]])]
        assert sorted(masks) == names
    np.testing.assert_array_equal(load_states(path)["demo_2"], demos[2].states)


def test_a_removed_demo_leaves_no_trace_and_its_name_is_never_reused(tmp_path, demos):
    path = tmp_path / "d.h5"
    for d in demos:
        append_demo(path, d, "test")
    remove_demo(path, "demo_1")
    assert [d.name for d in read_index(path)] == ["demo_0", "demo_2"]
    with h5py.File(path) as f:
        assert f["data"].attrs["total"] == len(demos[0].states) + len(demos[2].states)
        masks = sorted(n.decode() for k in f["mask"] for n in f["mask"][k][:])
        assert masks == ["demo_0", "demo_2"]
    np.testing.assert_array_equal(load_states(path)["demo_2"], demos[2].states)  # the others untouched
    assert append_demo(path, demos[1], "test") == "demo_3"  # the highest + 1, not the count
    remove_demo(path, "demo_3")
    assert append_demo(path, demos[1], "test") == "demo_4"  # the removed highest's name is not taken again
    with pytest.raises(FileFormatError, match="no demo 'demo_3'"):
        remove_demo(path, "demo_3")


def test_appending_never_rewrites_earlier_demos(tmp_path, demos):
    path = tmp_path / "d.h5"
    append_demo(path, demos[0], "test")
    with h5py.File(path) as f:
        offset = f["data/demo_0/states"].id.get_offset()
    append_demo(path, demos[1], "test")
    with h5py.File(path) as f:
        assert f["data/demo_0/states"].id.get_offset() == offset
        np.testing.assert_array_equal(f["data/demo_0/states"][:], demos[0].states)


def test_windows_are_normalised_and_any_start(tmp_path, demos):
    path = tmp_path / "d.h5"
    for d in demos:
        append_demo(path, d, "test")
    w = TrajectoryWindows(path, horizon=128, split=None)
    assert len(w) == sum(len(d.states) - 127 for d in demos)
    x = np.stack([w[i] for i in range(0, len(w), 50)])
    assert x.shape[1:] == (128, 39) and x.min() >= -1.0001 and x.max() <= 1.0001
    n = Normaliser.from_dict(w.normaliser.to_dict())
    np.testing.assert_allclose(n.unnormalise(w[0]), demos[0].states[:128], atol=1e-5)


def test_corrupt_foreign_and_wrong_layout_files_are_refused(tmp_path, demos):
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"this is not hdf5" * 100)
    with pytest.raises(FileFormatError, match="junk.h5.*not an HDF5"):
        append_demo(junk, demos[0], "test")
    assert junk.read_bytes() == b"this is not hdf5" * 100  # never overwritten
    with pytest.raises(FileFormatError, match="junk.h5"):
        read_index(junk)

    good = tmp_path / "good.h5"
    append_demo(good, demos[0], "test")
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(FileFormatError, match="truncated.h5"):
        load_states(truncated)

    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["images"] = np.zeros(3)
    with pytest.raises(FileFormatError, match="not a demonstrations file"):
        read_index(foreign)

    other = tmp_path / "other.h5"
    append_demo(other, demos[0], "test")
    with h5py.File(other, "a") as f:
        f["data"].attrs["env_args"] = '{"state_names": ["x", "y"]}'
    with pytest.raises(FileFormatError, match="layout differs"):
        append_demo(other, demos[1], "test")
    with pytest.raises(FileFormatError, match="no such"):
        read_index(tmp_path / "missing.h5")


def pending_unless_mid_write(path) -> list:
    """The collection's pending episodes; all of them while the file is caught mid-append (HDF5
    has no reader beside a writer: the look is simply taken again)."""
    try:
        return pending_episodes(path, "rearrangement", 4, 6, n_blocks=2)
    except FileFormatError:
        return list(range(6))


def test_kill_9_then_resume(tmp_path):
    path = tmp_path / "k.h5"
    cmd = [sys.executable, os.path.join(ROOT, "main.py"), "collect", "--task", "rearrangement", "--blocks", "2",
           "--episodes", "6", "--seed", "4", "--workers", "1", "--out", str(path)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    deadline = time.time() + 60
    while time.time() < deadline and len(pending_unless_mid_write(path)) > 4:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    kept = read_index(path)  # readable after kill -9
    assert 2 <= len(kept) < 6
    assert subprocess.run(cmd, cwd=ROOT, capture_output=True).returncode == 0
    index = read_index(path)
    assert sorted(d.episode for d in index) == list(range(6))
    # the resumed file holds exactly what an uninterrupted collection makes
    for d, states in zip(index, load_states(path, [d.name for d in index]).values()):
        np.testing.assert_array_equal(states, collect_episode("rearrangement", 4, d.episode, n_blocks=2).demo.states)
