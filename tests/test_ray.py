"""collect and evaluate on Ray workers (--ray), against one local Ray instance that the module
shares: the same files as this process and worker processes write, a clear and quick refusal of
an address where no cluster answers, and a worker killed mid-run that loses nothing."""
import importlib.util
import json
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

# Not imported here: the local instance must be the first to import Ray (tasks/cluster.py, import_ray).
if importlib.util.find_spec("ray") is None:
    pytest.skip("Ray is an optional extra: pip install -r requirements-ray.txt", allow_module_level=True)

import main  # noqa: E402
from tasks import cluster  # noqa: E402
from tasks.cluster import ClusterError, RayTarget, check_reachable, ray_session  # noqa: E402
from tasks.collect import collect  # noqa: E402

COLLECTION = ["--task", "conditional", "--episodes", "6", "--seed", "7", "--blocks", "2"]


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray instance of 2 CPUs (no dashboard), shut down after the module."""
    with ray_session(RayTarget(cpus=2)):
        yield


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The collection as this process writes it (the same file as worker processes write:
    test_files.py)."""
    path = tmp_path_factory.mktemp("here") / "demos.h5"
    assert main.main(["collect", *COLLECTION, "--out", str(path)]) == 0
    return path


def contents(path: Path, timing: str = "plan_seconds") -> dict:
    """Every dataset and attribute in the file, by name; `timing` (wall-clock seconds) left out."""
    out = {}
    with h5py.File(path, "r") as f:
        out["/"] = {k: v for k, v in f.attrs.items()}

        def visit(name, obj):
            attrs = {k: v for k, v in obj.attrs.items() if k != timing}
            out[name] = (obj[()] if isinstance(obj, h5py.Dataset) else None, attrs)

        f.visititems(visit)
    return out


def assert_same_file(a: Path, b: Path) -> None:
    x, y = contents(a), contents(b)
    assert sorted(x) == sorted(y)
    for name in x:
        if name == "/":
            assert {k: str(v) for k, v in x[name].items()} == {k: str(v) for k, v in y[name].items()}
            continue
        (dx, ax), (dy, ay) = x[name], y[name]
        assert (dx is None) == (dy is None) and (dx is None or np.array_equal(dx, dy)), name
        assert sorted(ax) == sorted(ay) and all(np.array_equal(ax[k], ay[k]) for k in ax), name


def our_workers() -> list[tuple[int, bool]]:
    """This test process's Ray workers (pid, running a job): its descendants titled ray::EpisodeWorker."""
    parents, titles = {}, {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                titles[int(entry.name)] = (entry / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
            except (OSError, IndexError, ValueError):
                continue

    def ours(pid: int) -> bool:
        while pid > 1:
            pid = parents.get(pid, 1)
            if pid == os.getpid():
                return True
        return False

    return [(pid, ".run" in t) for pid, t in titles.items() if t.startswith("ray::EpisodeWorker") and ours(pid)]


def kill_a_worker() -> int:
    """SIGKILL one of our Ray workers, a busy one if any; its pid."""
    for _ in range(100):
        workers = sorted(our_workers(), key=lambda w: not w[1])
        if workers:
            os.kill(workers[0][0], signal.SIGKILL)
            return workers[0][0]
        time.sleep(0.05)
    raise AssertionError("no Ray worker to kill")


def test_collect_on_ray_writes_what_this_process_writes(local_ray, reference, tmp_path):
    path = tmp_path / "demos.h5"
    assert main.main(["collect", *COLLECTION, "--ray", "--out", str(path)]) == 0
    assert_same_file(path, reference)


def test_evaluate_on_ray_equals_worker_processes_and_this_process(local_ray, tmp_path):
    runs = {"ray": ["--ray"], "workers": ["--workers", "2"], "here": []}
    for name, where in runs.items():
        assert main.main(["evaluate", "--planner", "demonstrator", "--task", "conditional", "--blocks", "2",
                          "--episodes", "2", "--seed", "3", "--out", str(tmp_path / name), *where]) == 0
    results = {name: json.loads((tmp_path / name / "results.json").read_text()) for name in runs}
    for name in ("ray", "workers"):
        assert_same_file(tmp_path / name / "episodes.h5", tmp_path / "here" / "episodes.h5")  # states, scores, goals
        for key in ("episodes", "score_mean", "strict_success", "moves", "settings"):
            assert results[name][key] == results["here"][key], key


def test_an_address_where_nothing_answers_is_refused_quickly_and_the_file_is_untouched(local_ray, reference,
                                                                                      tmp_path, capsys):
    path = tmp_path / "demos.h5"
    path.write_bytes(reference.read_bytes())
    before = path.read_bytes()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    address = f"127.0.0.1:{closed.getsockname()[1]}"  # bound, never listening: refused
    t0 = time.perf_counter()
    assert main.main(["collect", *COLLECTION[:3], "12", *COLLECTION[4:], "--ray", address, "--out", str(path)]) == 2
    assert time.perf_counter() - t0 < 10
    err = capsys.readouterr().err
    assert f"the Ray cluster at {address} cannot be reached" in err and "nothing was run" in err
    assert path.read_bytes() == before
    assert main.main(["collect", *COLLECTION, "--ray", address, "--workers", "2", "--out", str(path)]) == 2
    assert "on the cluster at" in capsys.readouterr().err  # --workers counts this machine's processes only
    closed.close()

    # An address that takes the connection but never answers: refused after the time allowed.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(0)  # never accepted: once its queue is full, new connections get no answer
    address = f"127.0.0.1:{silent.getsockname()[1]}"
    queued = []
    for _ in range(3):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", silent.getsockname()[1]))
        queued.append(c)
    t0 = time.perf_counter()
    with pytest.raises(ClusterError, match=f"at {address} cannot be reached: no answer within 1 s"):
        check_reachable(address, timeout_s=1.0)
    assert time.perf_counter() - t0 < 3
    for c in [*queued, silent]:
        c.close()


def test_without_ray_installed_the_command_says_how_to_install_it(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails, as where it is not installed
    assert main.main(["collect", *COLLECTION, "--ray", "--out", str(tmp_path / "demos.h5")]) == 2
    assert "pip install -r requirements-ray.txt" in capsys.readouterr().err
    assert not (tmp_path / "demos.h5").exists()


def test_a_killed_worker_s_episode_goes_to_a_new_worker(local_ray, reference, tmp_path, caplog):
    path, killed = tmp_path / "demos.h5", []

    def progress(done: int, total: int, failures: int) -> None:
        if not killed:
            killed.append(kill_a_worker())

    written, failures = collect(path, "conditional", 6, 7, progress=progress, n_blocks=2, ray=RayTarget())
    assert killed and (written, failures) == (6, [])
    assert "died while running episode" in caplog.text and "goes to a new worker" in caplog.text
    assert_same_file(path, reference)


def test_a_run_stopped_by_lost_workers_keeps_its_demos_and_resumes(local_ray, reference, tmp_path, capsys,
                                                                  monkeypatch):
    path = tmp_path / "demos.h5"
    monkeypatch.setattr(cluster, "LOSSES_PER_JOB", 1)  # the first worker lost stops the run

    def kill_after_the_first_demo() -> None:
        deadline = time.monotonic() + 60
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        kill_a_worker()

    killer = threading.Thread(target=kill_after_the_first_demo)
    killer.start()
    code = main.main(["collect", *COLLECTION, "--ray", "--out", str(path)])
    killer.join()
    err = capsys.readouterr().err
    assert code == 2 and "died while running episode" in err, err
    assert "demos are in" in err and "the same command resumes after them" in err
    with h5py.File(path, "r") as f:
        assert 1 <= len(f["data"]) < 6

    monkeypatch.setattr(cluster, "LOSSES_PER_JOB", 2)
    assert main.main(["collect", *COLLECTION, "--ray", "--out", str(path)]) == 0
    assert_same_file(path, reference)
