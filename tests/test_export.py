"""export-dataset: demonstrations and plans as datasets that LeRobot and robomimic load with their
own loaders (LeRobot 0.4.4's LeRobotDataset, format v3.0; robomimic 0.3.0's SequenceDataset and
get_shape_metadata_from_dataset), their values and frames checked against our files.

The libraries come from requirements-export.txt. Their torchvision dependency cannot be
installed beside our CPU build of torch (PyPI's torchvision wheels link CUDA's torch libraries), and
neither loader uses it for low-dimensional data or H.264 video: where it does not import, a
stand-in with the few names their modules import at load time takes its place (see
`torchvision_or_stand_in`). LeRobot decodes video frames with torchcodec, which needs FFmpeg's
shared libraries from the system: where they are missing, that one test is skipped and the frames
are checked by decoding the MP4s with PyAV (LeRobot's own dependency) at the timestamps LeRobot's
metadata gives.
"""
import importlib.machinery
import importlib.metadata
import json
import sys
import types
from pathlib import Path

import h5py
import numpy as np
import pytest

from tasks.dataset import actions_of
from tasks.goals import goal_from_json, parse_goal
from tests.export_helpers import files_fixture, main  # noqa: F401  (the `files` fixture)

SIZE = (48, 48)
LEROBOT_VERSION, ROBOMIMIC_VERSION = "0.4.4", "0.3.0"  # what requirements-export.txt pins


def stored(demos: Path, plans: Path) -> list[dict]:
    """Our files' episodes as the exports must hold them: the demos, then the four-block plan."""
    from tasks.rewards import rewards

    out = []
    with h5py.File(demos) as f:
        for name in sorted(f["data"], key=lambda n: int(n.split("_")[1])):
            g = f["data"][name]
            out.append({"source": name, "states": g["states"][:], "actions": g["actions"][:],
                        "rewards": g["rewards"][:], "goal": json.loads(g.attrs["goal"])})
    with h5py.File(plans) as f:
        g = f["plans"]["plan_00000"]
        states = g["states"][:]
        out.append({"source": "plan_00000", "states": states, "actions": actions_of(states),
                    "rewards": rewards(states, parse_goal("green on red")), "goal": json.loads(g.attrs["goal"])})
    return out


def shifted(rewards: np.ndarray) -> np.ndarray:
    return np.concatenate([rewards[1:], rewards[-1:]])


def torchvision_or_stand_in() -> None:
    """Make `import torchvision` work for the loaders' module imports. LeRobot's dataset modules
    import `torchvision.transforms` (for image features, which these exports do not have) and
    `torchvision` (for its old video reader; torchcodec decodes here); robomimic's model modules
    import `torchvision.models` and transforms for image encoders. None of it runs on these
    datasets: a stand-in that has the names and nothing else is enough, and anything that did
    call it would fail loudly."""
    try:
        import torchvision  # noqa: F401
        return
    except Exception:
        pass
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]  # a half-imported real one
    for name in ("torchvision", *(f"torchvision.{s}" for s in ("transforms", "transforms.functional", "models", "io"))):
        module = types.ModuleType(name)
        module.__spec__ = importlib.machinery.ModuleSpec(name, None)  # what importlib.util.find_spec reads
        module.__stand_in__ = True
        sys.modules[name] = module
    tv = sys.modules["torchvision"]
    for cls in ("Lambda", "Compose", "ToTensor"):
        setattr(sys.modules["torchvision.transforms"], cls, type(cls, (), {}))
    sys.modules["torchvision.transforms"].functional = sys.modules["torchvision.transforms.functional"]
    tv.transforms, tv.models, tv.io = (sys.modules[f"torchvision.{s}"] for s in ("transforms", "models", "io"))
    sys.modules["torchvision"] = tv


@pytest.fixture(scope="module")
def lerobot_export(files) -> Path:
    out = files["folder"] / "lerobot"
    assert main("export-dataset", "--data", str(files["demos"]), "--plans", str(files["plans"]), "--format", "lerobot",
                "--out", str(out), "--size", *map(str, SIZE)) == 0
    return out


@pytest.fixture(scope="module")
def lerobot_dataset(lerobot_export, tmp_path_factory):
    with pytest.MonkeyPatch.context() as env:
        # Nothing is fetched (the export is whole on disk), and the datasets library's cache goes to a
        # test folder, not the home folder (it reads the variables when it is first imported).
        env.setenv("HF_HUB_OFFLINE", "1")
        env.setenv("HF_HOME", str(tmp_path_factory.mktemp("hf_home")))
        torchvision_or_stand_in()
        from lerobot.datasets.lerobot_dataset import CODEBASE_VERSION, LeRobotDataset

        assert importlib.metadata.version("lerobot") == LEROBOT_VERSION and CODEBASE_VERSION == "v3.0"
        yield LeRobotDataset("kuka/export-test", root=lerobot_export)


def test_lerobot_0_4_4_loads_the_export_and_its_tables_are_our_files(files, lerobot_dataset, capsys):
    from tasks.export.episodes import task_text
    from tasks.export.lerobot import FPS

    ds = lerobot_dataset
    expected = stored(files["demos"], files["plans"])
    assert ds.meta.info["codebase_version"] == "v3.0" and ds.fps == FPS == 12
    assert ds.num_episodes == len(expected) == 5  # the two-block plan is left out: one state width per dataset
    assert ds.num_frames == sum(len(e["states"]) for e in expected)
    assert ds.meta.video_keys == ["observation.images.view"] and ds.meta.shapes["observation.images.view"] == (48, 48, 3)
    assert ds.meta.names["observation.state"][:8] == ["joint_1", "joint_2", "joint_3", "joint_4", "joint_5",
                                                      "joint_6", "joint_7", "red_x"]
    table = ds.hf_dataset.with_format("numpy")[:]
    for e, want in enumerate(expected):
        rows = table["episode_index"] == e
        meta = ds.meta.episodes[e]
        assert meta["kuka/source"] == want["source"] and json.loads(meta["kuka/goal"]) == want["goal"]
        assert (meta["dataset_from_index"], meta["dataset_to_index"]) == tuple(np.flatnonzero(rows)[[0, -1]] + [0, 1])
        np.testing.assert_array_equal(np.stack(table["observation.state"][rows]), want["states"])
        np.testing.assert_allclose(np.stack(table["action"][rows]), want["actions"], atol=1e-7)
        np.testing.assert_array_equal(table["next.reward"][rows], shifted(want["rewards"]))
        assert table["next.done"][rows].tolist() == [False] * (rows.sum() - 1) + [True]
        np.testing.assert_allclose(table["timestamp"][rows], np.arange(rows.sum()) / FPS, atol=1e-6)
        task = meta["tasks"][0]
        assert task == task_text(goal_from_json(json.dumps(want["goal"])))
        assert ds.meta.tasks.loc[task].task_index == table["task_index"][rows][0]
    texts = [task_text(goal_from_json(json.dumps(e["goal"]))) for e in expected]
    assert list(ds.meta.tasks.index) == list(dict.fromkeys(texts))
    assert texts[:2] == ["build the tallest tower", "stack " + " on ".join(reversed(expected[1]["goal"]["order"]))]
    stats = ds.meta.stats["observation.state"]
    everything = np.concatenate([e["states"] for e in expected])
    np.testing.assert_allclose(stats["mean"], everything.mean(0), atol=1e-5)
    np.testing.assert_allclose(stats["max"], everything.max(0))
    assert ds.meta.stats["observation.images.view"]["mean"].shape == (3, 1, 1)


def rendered(states: np.ndarray) -> np.ndarray:
    from export_commands import rendered_frames

    frames, renderer = rendered_frames(SIZE)
    try:
        return np.stack(list(frames(states)))
    finally:
        renderer.close()


def assert_frames_show(decoded: np.ndarray, states: np.ndarray) -> None:
    """Each decoded frame is the 3-D view of its own state (H.264 is lossy: a few levels of 255),
    and closer to it than to the view a second later."""
    views = rendered(states).astype(float)
    error = np.abs(decoded.astype(float) - views).mean(axis=(1, 2, 3))
    assert error.max() < 8, error
    later = np.abs(decoded[:-12].astype(float) - views[12:]).mean()
    assert error.mean() < later / 2, (error.mean(), later)


def test_the_lerobot_videos_hold_the_3d_view_of_every_state(files, lerobot_export, lerobot_dataset):
    import av
    from lerobot.datasets.video_utils import get_video_info

    ds = lerobot_dataset
    expected = stored(files["demos"], files["plans"])
    for e in (0, len(expected) - 1):  # a demonstration and the plan
        path = lerobot_export / ds.meta.get_video_file_path(e, "observation.images.view")
        info = get_video_info(path)  # LeRobot's own probe agrees with info.json
        assert {k: v for k, v in info.items() if k in ds.meta.features["observation.images.view"]["info"]} == \
            ds.meta.features["observation.images.view"]["info"]
        start = ds.meta.episodes[e]["videos/observation.images.view/from_timestamp"]
        with av.open(str(path)) as container:
            frames = [(f.time - start, f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]
        times = np.array([t for t, _ in frames])
        np.testing.assert_allclose(times, np.arange(len(expected[e]["states"])) / ds.fps, atol=1e-4)  # LeRobot's tolerance
        assert_frames_show(np.stack([img for _, img in frames]), expected[e]["states"])


def torchcodec_loads() -> bool:
    try:
        from torchcodec.decoders import VideoDecoder  # noqa: F401  (loads FFmpeg's libraries)
        return True
    except Exception:
        return False


@pytest.mark.skipif(not torchcodec_loads(), reason="torchcodec finds no FFmpeg shared libraries on this machine "
                    "(Debian: apt-get install libavcodec59 libavformat59 libavdevice59 libavfilter8 libswscale6); "
                    "the frames are checked with PyAV instead")
def test_lerobot_decodes_the_frames_itself(files, lerobot_dataset):
    ds = lerobot_dataset
    assert ds.video_backend == "torchcodec"
    expected = stored(files["demos"], files["plans"])
    start = ds.meta.episodes[1]["dataset_from_index"]
    items = [ds[start + k] for k in range(len(expected[1]["states"]))]
    np.testing.assert_array_equal(np.stack([i["observation.state"].numpy() for i in items]), expected[1]["states"])
    assert items[0]["task"] == "stack " + " on ".join(reversed(expected[1]["goal"]["order"]))
    frames = np.stack([(i["observation.images.view"].numpy().transpose(1, 2, 0) * 255).round() for i in items])
    assert_frames_show(frames, expected[1]["states"])


@pytest.fixture(scope="module")
def robomimic_export(files) -> Path:
    out = files["folder"] / "robomimic.h5"
    assert main("export-dataset", "--data", str(files["demos"]), "--plans", str(files["plans"]), "--format",
                "robomimic", "--out", str(out)) == 0
    return out


def test_robomimic_0_3_0_loads_the_export(files, robomimic_export):
    from tasks.export.robomimic import OBS_KEYS

    out = robomimic_export
    torchvision_or_stand_in()
    import robomimic.utils.file_utils as FileUtils
    import robomimic.utils.obs_utils as ObsUtils
    from robomimic.utils.dataset import SequenceDataset

    assert importlib.metadata.version("robomimic") == ROBOMIMIC_VERSION
    ObsUtils.initialize_obs_modality_mapping_from_dict({"low_dim": list(OBS_KEYS)})
    shape = FileUtils.get_shape_metadata_from_dataset(str(out))
    assert shape["ac_dim"] == 11 and not shape["use_images"]
    assert dict(shape["all_shapes"]) == {"block_attached": [4], "block_pos": [12], "block_quat": [16], "joint_pos": [7]}
    env = FileUtils.get_env_metadata_from_dataset(str(out))
    assert env["env_name"] == "KukaBlockStacking" and env["env_kwargs"]["blocks"] == ["red", "green", "blue", "yellow"]

    expected = stored(files["demos"], files["plans"])
    ds = SequenceDataset(str(out), obs_keys=OBS_KEYS, dataset_keys=("actions", "rewards", "dones"), seq_length=1,
                         hdf5_cache_mode="all", load_next_obs=True)
    assert len(ds) == sum(len(e["states"]) for e in expected) and ds.n_demos == len(expected)
    k = 0
    for want in expected:
        for t in (0, 7, len(want["states"]) - 1):
            item = ds[k + t]
            s = want["states"][t]
            np.testing.assert_allclose(item["obs"]["joint_pos"][0], s[:7])
            np.testing.assert_allclose(item["obs"]["block_pos"][0][:3], s[7:10])  # red's position
            np.testing.assert_allclose(item["obs"]["block_quat"][0][:4], s[10:14])
            np.testing.assert_allclose(item["obs"]["block_attached"][0], s[[14, 22, 30, 38]])
            nxt = want["states"][min(t + 1, len(want["states"]) - 1)]
            np.testing.assert_allclose(item["next_obs"]["joint_pos"][0], nxt[:7])
            np.testing.assert_allclose(item["actions"][0], want["actions"][t], atol=1e-7)
            assert item["rewards"][0] == shifted(want["rewards"])[t]
            assert item["dones"][0] == (t == len(want["states"]) - 1)
        k += len(want["states"])
    with h5py.File(out) as f:
        train = [n.decode() for n in f["mask/train"][:]]
        valid = [n.decode() for n in f["mask/valid"][:]]
        assert sorted(train + valid) == sorted(f["data"]) and f["data"].attrs["total"] == len(ds)
        assert [f["data"][f"demo_{i}"].attrs["source"] for i in range(5)] == [e["source"] for e in expected]
        np.testing.assert_array_equal(f["data/demo_4/states"][:], expected[4]["states"])
    train_only = SequenceDataset(str(out), obs_keys=OBS_KEYS, dataset_keys=("actions",), hdf5_cache_mode="low_dim",
                                 filter_by_attribute="train")
    assert train_only.n_demos == len(train)


def test_formats_md_names_what_the_exports_write(robomimic_export, lerobot_export):
    from test_docs import documented, names_in

    with h5py.File(robomimic_export) as f:
        names = names_in(f)
    info = json.loads((lerobot_export / "meta" / "info.json").read_text())
    names |= set(info) | set(info["features"]) | set(info["features"]["observation.images.view"]["info"])
    import pyarrow.parquet as pq

    columns = pq.read_schema(lerobot_export / "meta" / "episodes" / "chunk-000" / "file-000.parquet").names
    names |= {c for c in columns if not c.startswith("stats/")}
    missing = sorted(n for n in names if not documented(n))
    assert not missing, f"not in docs/formats.md: {missing}"
