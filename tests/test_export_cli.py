"""export-dataset at the command line: bad input and bad options are one line and write nothing,
--episodes caps the export, Ctrl+C leaves nothing, and each kind of goal becomes its task text."""
import json
import os
import signal
import subprocess
import sys
import time

import h5py
import pytest

from tasks.goals import parse_goal
from tests.export_helpers import ROOT, SAMPLE, files_fixture, main  # noqa: F401  (the `files` fixture)


def test_task_text_says_each_kind_of_goal():
    from tasks.export.episodes import task_text

    said = {g: task_text(parse_goal(g)) for g in ("tallest", "red,green,blue", "green on red, yellow on blue",
                                                  "red at 0.55,0.20,30deg; green on red", "clear")}
    assert said == {
        "tallest": "build the tallest tower",
        "red,green,blue": "stack blue on green on red",
        "green on red, yellow on blue": "put green on red, yellow on blue",
        "red at 0.55,0.20,30deg; green on red": "arrange red on the floor at 0.55, 0.20 turned 30 degrees; green on red",
        "clear": "arrange every block on the floor",
    }


@pytest.mark.parametrize("fmt, out", [("lerobot", "ds"), ("robomimic", "ds.h5")])
def test_bad_input_is_one_line_and_writes_nothing(files, tmp_path, capsys, fmt, out):
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"not hdf5")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken.h5").write_bytes(b"mine")
    cases = [
        (["--data", str(tmp_path / "missing.h5")], "no such demonstrations file"),
        (["--data", str(garbage)], "not an HDF5 demonstrations file"),
        (["--data", str(files["plans"])], "not a demonstrations file"),
        (["--plans", str(files["demos"])], "not a plans file"),
        ([], "give --data FILE.h5 (demonstrations), --plans FILE.h5, or both"),
    ]
    for extra, says in cases:
        assert main("export-dataset", "--format", fmt, "--out", str(tmp_path / out), *extra) == 2, says
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and says in err[0], (says, err)
        assert not (tmp_path / out).exists()
    taken = tmp_path / ("taken" if fmt == "lerobot" else "taken.h5")
    assert main("export-dataset", "--data", str(files["demos"]), "--format", fmt, "--out", str(taken)) == 2
    assert "exists; give a new name" in capsys.readouterr().err
    assert (tmp_path / "taken.h5").read_bytes() == b"mine" and not any((tmp_path / "taken").iterdir())
    assert garbage.read_bytes() == b"not hdf5"


def test_bad_options_are_refused_before_any_work(files, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main("export-dataset", "--data", str(files["demos"]), "--format", "rlds", "--out", str(tmp_path / "x"))
    assert e.value.code == 2 and "invalid choice: 'rlds'" in capsys.readouterr().err
    assert main("export-dataset", "--data", str(files["demos"]), "--format", "robomimic", "--out",
                str(tmp_path / "x.zip")) == 2
    assert "end it in .h5" in capsys.readouterr().err
    assert main("export-dataset", "--data", str(files["demos"]), "--format", "lerobot", "--out", str(tmp_path / "x"),
                "--size", "33", "32") == 2
    assert "even sizes" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_episodes_caps_the_export_and_a_missing_folder_is_made(files, tmp_path, capsys):
    out = tmp_path / "new" / "folder" / "ds"
    assert main("export-dataset", "--data", str(files["demos"]), "--plans", str(files["plans"]), "--format", "lerobot",
                "--out", str(out), "--episodes", "2", "--no-video") == 0
    said = capsys.readouterr()
    assert "wrote 2 episodes (2 demonstrations, 0 plans, 4 blocks)" in said.out
    info = json.loads((out / "meta" / "info.json").read_text())
    assert info["total_episodes"] == 2 and info["video_path"] is None and not (out / "videos").exists()
    assert sorted(p.name for p in out.parent.iterdir()) == ["ds"]  # no partial folder beside it
    plans_only = tmp_path / "plans.h5"
    assert main("export-dataset", "--plans", str(files["plans"]), "--format", "robomimic", "--out", str(plans_only)) == 0
    said = capsys.readouterr()
    assert "wrote 1 episode (0 demonstrations, 1 plan, 4 blocks)" in said.out
    assert "left out 1 plan of another number of blocks than 4" in said.err
    with h5py.File(plans_only) as f:
        assert f["data/demo_0"].attrs["source"] == "plan_00000" and f["data/demo_0"].attrs["kind"] == "plan"
        assert json.loads(f["data"].attrs["env_args"])["state_names"][7] == "red_x"


def test_ctrl_c_stops_the_export_and_leaves_nothing(tmp_path):
    out = tmp_path / "ds"
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "export-dataset", "--data", str(SAMPLE), "--format",
                             "lerobot", "--out", str(out), "--episodes", "20", "--size", "16", "16"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            # SIGINT at its default, as a terminal starts a command: a suite run as a
                            # background job (`bash .ci/run &`) would hand it on ignored
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen, deadline = b"", time.monotonic() + 60
    while b"export lerobot" not in seen and time.monotonic() < deadline:  # the bar: the export has begun
        chunk = os.read(proc.stderr.fileno(), 4096)
        if not chunk:  # it ended before the export began
            break
        seen += chunk
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (seen + err).decode()[-2000:]
    assert "stopped by SIGINT (Ctrl+C); nothing was written" in err.decode()
    assert list(tmp_path.iterdir()) == []  # neither the dataset nor its partial folder
