"""The move model: canonical frames, forward kinematics, its data, training, checkpoint and guide."""
import math
import os

import numpy as np
import pytest
import torch

import main
from planner import config
from planner.checkpoint import CheckpointError, load_mover, read_mover
from planner.guides import ToolAt
from planner.kinematics import ToolFK
from planner.move_data import extract, load, save
from planner.mover import channels_to_states, tool_targets
from planner.moves import COND_DIM, Move, demonstrated_move, move_condition, segment_channels
from tasks.dataset import load_states
from tasks.execute import execute
from tasks.goals import Arrangement
from tasks.layout import LAYOUT, PHASES
from tasks.world import World

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "assets", "sample_demos.h5")
SHIPPED_MOVER = str(config.SHIPPED_MOVER)


def first_segment():
    states = next(iter(load_states(SAMPLE).values())).astype(np.float64)
    seg = states[:PHASES.length]
    return seg, demonstrated_move(seg)


def rotate_state(state: np.ndarray, angle: float) -> np.ndarray:
    """The whole scene turned about the robot's base axis: joint 1 plus the angle."""
    out = state.copy()
    out[LAYOUT.joints.start] += angle
    c, s = math.cos(angle), math.sin(angle)
    turn = np.array([0, 0, math.sin(angle / 2), math.cos(angle / 2)])
    for b in LAYOUT.blocks:
        sl = LAYOUT.block(b)
        x, y, z = out[sl.position]
        out[sl.position] = [c * x - s * y, s * x + c * y, z]
        qx, qy, qz, qw = out[sl.orientation]
        tx, ty, tz, tw = turn
        out[sl.orientation] = [tw * qx + tx * qw + ty * qz - tz * qy, tw * qy - tx * qz + ty * qw + tz * qx,
                               tw * qz + tx * qy - ty * qx + tz * qw, tw * qw - tx * qx - ty * qy - tz * qz]
    return LAYOUT.canonical(out[None])[0]


def test_tool_fk_matches_pybullet():
    fk = ToolFK()
    rng = np.random.default_rng(0)
    with World() as w:
        q = rng.uniform(w.joint_lower, w.joint_upper, size=(40, 7))
        expected = np.array([w.tcp_pose(x).position for x in q])
    assert np.abs(fk(torch.tensor(q)).numpy() - expected).max() < 1e-6


def test_the_move_condition_does_not_change_when_the_scene_turns():
    seg, move = first_segment()
    assert move is not None
    base = move_condition(seg[0], move)
    assert base.shape == (COND_DIM,)
    for angle in (-0.3, 0.2):
        assert np.allclose(move_condition(rotate_state(seg[0], angle), move), base, atol=1e-9)
    # ...while a different move does change it.
    other = next(b for b in LAYOUT.blocks if b not in (move.block, move.onto))
    assert not np.allclose(move_condition(seg[0], Move(move.block, other)), base)
    with pytest.raises(ValueError, match="unknown block 'purple'"):
        move_condition(seg[0], Move("purple", "red"))  # a block of the palette, not of this scene


def test_channels_turn_back_into_the_demonstrated_segment_which_achieves_the_move():
    seg, move = first_segment()
    channels = segment_channels(seg, move)
    with World() as w:
        states = channels_to_states(seg[0], move, channels, w)
    assert np.allclose(states[:, LAYOUT.joints], seg[:, LAYOUT.joints], atol=1e-9)
    assert np.array_equal(states[:, LAYOUT.attached_dims] > 0.5, seg[:, LAYOUT.attached_dims] > 0.5)
    result = execute(states, Arrangement(((move.block, move.onto),)))
    assert result.strict_success


def test_tool_at_guide_is_zero_on_a_demonstration_and_pulls_a_shifted_arm_back():
    seg, move = first_segment()
    x = torch.tensor(segment_channels(seg, move))[None]
    guide = ToolAt(*tool_targets(seg[0], move))
    assert float(guide.errors(x).max()) < 0.01  # the demonstrator's tool is on the targets
    shifted = x.clone()
    shifted[..., 1] += 0.08  # joint 2: the tool moves off by several centimetres
    value, grad = guide.gradients(shifted)
    assert float(guide.errors(shifted).max()) > 0.03
    assert guide(shifted + 0.05 * grad / grad.abs().max()) > value


def test_segments_file_round_trip_and_refusal(tmp_path):
    segments = extract(SAMPLE)
    assert len(segments) > 100 and segments.valid.any() and not segments.valid.all()
    path = tmp_path / "s.npz"
    save(segments, path)
    back = load(path)
    assert np.abs(back.channels - segments.channels).max() <= 1.01e-4
    assert np.array_equal(back.cond, segments.cond)
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(Exception, match="other.npz"):
        load(tmp_path / "other.npz")


def test_train_mover_command_writes_a_loadable_checkpoint_and_resumes(tmp_path):
    import shutil

    out, slim, data = tmp_path / "m.pt", tmp_path / "slim.pt", tmp_path / "demos.h5"
    shutil.copy(SAMPLE, data)  # its extracted segments are cached beside it
    # In this process (the command's own process and signals: test_faults.py).
    argv = ["train-mover", "--data", str(data), "--out", str(out), "--slim", str(slim), "--steps", "2",
            "--batch-size", "4", "--device", "cpu"]
    assert main.main(argv) == 0
    loaded = load_mover(slim)
    assert loaded.meta["step"] == 2 and loaded.meta["format"] == "kuka-move-diffuser-1"
    assert loaded.meta["command"] == "python main.py " + " ".join(argv)
    assert main.main(argv[:-6] + ["--steps", "3", "--batch-size", "4", "--device", "cpu"]) == 0
    assert load_mover(out).meta["step"] == 3
    assert (tmp_path / "demos.segments.npz").exists()
    with pytest.raises(CheckpointError, match="not a move-model checkpoint"):
        load_mover(str(config.SHIPPED_CHECKPOINT))


@pytest.mark.skipif(not os.path.exists(SHIPPED_MOVER), reason="no shipped move model")
def test_shipped_move_model_makes_a_move_from_one_sample_without_keyframes():
    from planner.plan import DiffuserPlanner
    from planner.config import PlannerSettings
    from tasks.goals import TowerOrder
    from tasks.world import initial_state

    settings = PlannerSettings(keyframes=False, candidates=1, physics_check=False, mover=SHIPPED_MOVER)
    planner = DiffuserPlanner(str(config.SHIPPED_CHECKPOINT), settings)
    goal = TowerOrder(("red", "green"))
    plan = planner.plan(initial_state(7), goal, seed=0)
    seg = plan.segments[0]
    assert seg.model == "mover" and not seg.keyframes
    # where its time went: the phases within the segment's seconds, the guides within the sampling
    top = ("choosing the move", "sampling", "smoothing and ranking", "physics")
    assert set(top) <= set(seg.phases) and sum(seg.phases[k] for k in top) <= seg.seconds + 1e-3  # rounded to 0.1 ms
    assert 0 < seg.phases["guides"] <= seg.phases["sampling"] and seg.phases["physics"] > 0
    assert execute(plan.states, goal, start=initial_state(7)).strict_success


def test_a_checkpoint_that_would_run_code_is_refused(tmp_path):
    import pickle

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    path = tmp_path / "hostile.pt"
    torch.save({"format": "kuka-move-diffuser-1", "x": Payload()}, path, pickle_module=pickle)
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_mover(path)
    assert not (tmp_path / "pwned").exists()


def test_blend_mover_weighs_each_weight_and_refuses_models_of_another_lineage(tmp_path, capsys):
    import main

    shipped = torch.load(SHIPPED_MOVER, map_location="cpu", weights_only=True)
    tuned = dict(shipped, ema={k: v * 3 if v.is_floating_point() else v for k, v in shipped["ema"].items()}, step=5)
    torch.save(tuned, tmp_path / "tuned.pt")
    out = tmp_path / "blend.pt"
    args = ["blend-mover", "--base", SHIPPED_MOVER, "--tuned", str(tmp_path / "tuned.pt"), "--weight", "0.25"]
    assert main.main([*args, "--out", str(out)]) == 0
    blended = load_mover(out).diffusion.model.state_dict()
    for name, v in read_mover(SHIPPED_MOVER)["ema"].items():  # the shipped two-slot model, grown
        if v.is_floating_point():
            torch.testing.assert_close(blended[name], v * 1.5)  # 0.75 x v + 0.25 x 3v
    meta = load_mover(out).meta
    assert meta["blend"]["weight"] == 0.25 and meta["blend"]["base_step"] == shipped["step"]
    # another normaliser (a model trained apart, not fine-tuned from the base) is refused, nothing written
    other = dict(tuned, normaliser={"low": [0.0] * 8, "high": [1.0] * 8})
    torch.save(other, tmp_path / "other.pt")
    assert main.main(["blend-mover", "--base", SHIPPED_MOVER, "--tuned", str(tmp_path / "other.pt"), "--weight", "0.5",
                      "--out", str(tmp_path / "no.pt")]) == 2
    assert "normaliser differs" in capsys.readouterr().err and not (tmp_path / "no.pt").exists()


def test_a_swing_across_joint_1s_cut_is_turned_the_other_way_round():
    from planner.masks import grasp_dwell, release_dwell
    from planner.postprocess import wrap_joint1

    lo, hi = math.radians(-170), math.radians(170)
    t = np.arange(PHASES.length)
    grasp, release = grasp_dwell().start, release_dwell().start
    # From home to a block at -134 degrees, then the short way (-76 degrees) across the cut.
    q = np.where(t < grasp, math.radians(-134) * t / grasp, math.radians(-134))
    carry = (t >= grasp_dwell().stop) & (t < release)
    q = np.where(carry, math.radians(-134) - math.radians(76) * (t - grasp_dwell().stop) / (release - grasp_dwell().stop), q)
    q = np.where(t >= release, math.radians(-210), q)
    inside = np.radians(np.linspace(0, 120, PHASES.length))
    wrapped = wrap_joint1(np.stack([q, inside]), lo, hi)
    assert wrapped[0].min() >= lo and wrapped[0].max() <= hi
    np.testing.assert_allclose(wrapped[0, :grasp_dwell().stop], q[:grasp_dwell().stop])  # up to the grasp: as sampled
    np.testing.assert_allclose(wrapped[0, release:], math.radians(150))  # -210 degrees, one turn on
    assert np.all(np.diff(wrapped[0][carry]) > 0)  # the long way round, counter-clockwise
    np.testing.assert_array_equal(wrapped[1], inside)  # within the limits: untouched
    # A release at 175 degrees has no turn within the limits: left as it is (physics will refuse it).
    beyond = np.radians(np.linspace(0, 175, PHASES.length))
    np.testing.assert_array_equal(wrap_joint1(beyond[None], lo, hi)[0], beyond)


def test_a_two_slot_model_grows_into_the_any_n_condition_computing_what_it_did(tmp_path):
    """The first move models had two obstacle slots (four blocks, 23 condition numbers); loaded,
    such a model takes the any-N condition, and with zero weights on the new inputs its output is
    unchanged. A two-slot model is made here from the shipped one by keeping its first 23 inputs."""
    from planner.checkpoint import build
    from planner.config import DiffusionConfig, ModelConfig
    from planner.data import CondNormaliser
    from planner.moves import COND_DIM, TWO_SLOT_COND_NAMES
    from tasks.world import initial_state

    raw = torch.load(SHIPPED_MOVER, map_location="cpu", weights_only=True)
    k = len(TWO_SLOT_COND_NAMES)
    two = dict(raw, cond_names=list(TWO_SLOT_COND_NAMES), model_config={**raw["model_config"], "cond_dim": k},
               cond_normaliser={key: list(v)[:k] for key, v in raw["cond_normaliser"].items()},
               ema={**raw["ema"], "cond_mlp.0.weight": raw["ema"]["cond_mlp.0.weight"][:, :k].clone()})
    torch.save(two, tmp_path / "two.pt")
    old = build(ModelConfig.from_dict(two["model_config"]), DiffusionConfig(**two["diffusion_config"]))
    old.model.load_state_dict(two["ema"])
    grown = load_mover(tmp_path / "two.pt")
    assert grown.diffusion.model.config.cond_dim == COND_DIM
    cond = move_condition(initial_state(5), Move("green", "red"))
    assert cond.shape == (COND_DIM,) and cond[-7:].tolist() == [1, 1, 0, 0, 0, 0, 0]  # two others in a 4-block scene
    x, t = torch.randn(2, 128, 8, generator=torch.Generator().manual_seed(0)), torch.tensor([10, 500])
    c_old = torch.as_tensor(CondNormaliser.from_dict(two["cond_normaliser"])(cond[:k]))[None].expand(2, -1)
    c_new = torch.as_tensor(CondNormaliser.from_dict(grown.meta["cond_normaliser"])(cond))[None].expand(2, -1)
    with torch.no_grad():
        torch.testing.assert_close(grown.diffusion.model(x, t, c_new), old.model.eval()(x, t, c_old))
