import os
import subprocess
import sys

import numpy as np
import pytest
import planner as _thread_policy  # noqa: F401  (sets PyTorch's thread policy before torch loads)
import torch

from planner.checkpoint import CheckpointError, load, read, save_atomic
from planner.config import SHIPPED_CHECKPOINT, DiffusionConfig, ModelConfig
from planner.diffusion import Constraints, GaussianDiffusion, cosine_beta_schedule
from planner.guides import PlacedOn
from planner.masks import keyframe_mask, moved_block, start_mask
from planner.model import TemporalUnet
from tasks.dataset import load_states
from tasks.layout import BLOCK_HEIGHT, LAYOUT, PHASES
from tasks.plans import Proposal
from tasks.scene import SymbolicScene

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "assets", "sample_demos.h5")
TINY = ModelConfig(horizon=128, dim=8, dim_mults=(1, 2))


def tiny_diffusion(n=20):
    torch.manual_seed(0)
    return GaussianDiffusion(TemporalUnet(TINY), DiffusionConfig(n_timesteps=n))


def test_model_keeps_the_trajectory_shape():
    x = torch.randn(3, 128, 39)
    assert TemporalUnet(ModelConfig(dim=8, dim_mults=(1, 2, 4, 8)))(x, torch.tensor([0, 5, 9])).shape == x.shape
    with pytest.raises(ValueError, match="divisible"):
        TemporalUnet(ModelConfig(horizon=100, dim=8, dim_mults=(1, 2, 4, 8)))


def test_cosine_schedule_is_increasing_and_bounded():
    b = cosine_beta_schedule(1000)
    assert b.shape == (1000,) and float(b.min()) > 0 and float(b.max()) <= 0.999 + 1e-6
    assert torch.all(b[1:] >= b[:-1] - 1e-6)


@pytest.mark.parametrize("steps", [5, None])  # DDIM few-step and full ancestral DDPM
def test_inpainted_values_hold_exactly(steps):
    d = tiny_diffusion().eval()
    mask = torch.tensor(keyframe_mask(128, "green"))
    values = torch.rand(128, 39) * 2 - 1
    x = d.sample((4, 128, 39), Constraints(mask, values), steps=steps, generator=torch.Generator().manual_seed(1))
    assert torch.equal(x[:, mask], values[mask].expand(4, -1))
    assert not torch.equal(x[:, ~mask], values[~mask].expand(4, -1))


def test_guide_gradient_moves_the_block_toward_its_target():
    x = torch.zeros(1, 128, 39)
    red, green = LAYOUT.block("red"), LAYOUT.block("green")
    x[..., red.position] = torch.tensor([0.6, 0.0, BLOCK_HEIGHT / 2])
    x[..., green.position] = torch.tensor([0.0, 0.6, BLOCK_HEIGHT / 2])
    guide = PlacedOn("green", "red")
    value, grad = guide.gradients(x)
    moved = x + 0.5 * grad
    dist = lambda y: torch.linalg.norm(y[0, -1, green.position][:2] - y[0, -1, red.position][:2])  # noqa: E731
    assert dist(moved) < dist(x)
    assert guide(moved) > value
    assert torch.all(grad[:, : PHASES.release_index] == 0)  # only the end of the segment is judged


def test_loss_weights_scale_each_dimension():
    d = tiny_diffusion()
    x0 = torch.rand(2, 128, 39) * 2 - 1
    mask = torch.tensor(start_mask(128)).expand(2, -1, -1)
    torch.manual_seed(3)
    plain = d.loss(x0, mask)
    torch.manual_seed(3)
    assert torch.allclose(d.loss(x0, mask, torch.full((39,), 2.0)), 2 * plain)
    torch.manual_seed(3)
    assert d.loss(x0, mask, torch.zeros(39)).item() == 0.0


def test_x0_floor_weighs_high_noise_errors_by_inverse_snr():
    from planner.diffusion import X0_FLOOR_CAP

    d = tiny_diffusion()
    x0 = torch.rand(1, 128, 39) * 2 - 1
    mask = torch.tensor(start_mask(128))[None]
    for seed in range(6):
        torch.manual_seed(seed)
        t = int(torch.randint(0, d.n_timesteps, (1,)))
        torch.manual_seed(seed)
        plain = d.loss(x0, mask)
        torch.manual_seed(seed)
        floored = d.loss(x0, mask, x0_floor=torch.full((39,), 0.5))
        abar = float(d.abar[t])
        expected = min(max(1.0, 0.5 * (1 - abar) / abar), X0_FLOOR_CAP)
        assert floored.item() == pytest.approx(expected * plain.item(), rel=1e-4), t


def test_masks_pin_what_the_segment_fixes():
    start = start_mask(128)
    assert start[0].all() and not start[1:].any()
    m = keyframe_mask(128, "blue")
    assert m[:, LAYOUT.attached_dims].all()
    assert m[:, LAYOUT.block("red").position].all()
    assert not m[PHASES.grasp_index + 10, LAYOUT.block("blue").position].any()
    assert m[PHASES.grasp_index, LAYOUT.joints].all() and not m[20, LAYOUT.joints].any()
    seg = next(iter(load_states(SAMPLE, ["demo_0"]).values()))[:128]
    assert moved_block(seg) is not None


def test_tiny_model_overfits_a_few_segments_and_reproduces_them():
    from planner.data import Normaliser

    torch.manual_seed(0)
    demos = load_states(SAMPLE, ["demo_0", "demo_1"])
    segs = np.stack([s[:128] for s in demos.values()])
    norm = Normaliser.fit(np.concatenate(list(demos.values())))
    x0 = torch.tensor(norm.normalise(segs), dtype=torch.float32)
    masks = torch.tensor(np.stack([keyframe_mask(128, moved_block(s)) for s in segs]))
    free = ~masks[..., LAYOUT.joints]
    d = GaussianDiffusion(TemporalUnet(ModelConfig(dim=16, dim_mults=(1, 2))), DiffusionConfig(n_timesteps=20))

    def sample_error() -> float:
        x = d.eval().sample((2, 128, 39), Constraints(masks, x0), generator=torch.Generator().manual_seed(0))
        d.train()
        return float((x - x0)[..., LAYOUT.joints].abs()[free].mean())

    untrained = sample_error()
    opt = torch.optim.Adam(d.parameters(), 2e-3)
    xb, mb = x0.repeat(4, 1, 1), masks.repeat(4, 1, 1)
    losses = []
    for _ in range(600):
        loss = d.loss(xb, mb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-50:]) < np.mean(losses[:10]) / 5
    with torch.no_grad():  # from moderate noise, one denoising step recovers the demos' motion
        t = torch.full((2,), 5)
        xt = torch.where(masks, x0, d.q_sample(x0, t, torch.randn_like(x0)))
        x0_hat = d.eval()._x0_from_eps(xt, t, d.model(xt, t))
    assert float((x0_hat - x0)[..., LAYOUT.joints].abs()[free].mean()) < 0.1
    assert sample_error() < 0.6 * untrained


def _train_tiny(tmp_path, steps=4, extra=()):
    out = tmp_path / "tiny.pt"
    cmd = [sys.executable, os.path.join(ROOT, "main.py"), "train", "--data", SAMPLE, "--out", str(out),
           "--steps", str(steps), "--dim", "8", "--dim-mults", "1", "2", "--save-every", "2", *extra]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return out


def test_checkpoint_save_load_resume_and_refusals(tmp_path):
    out = _train_tiny(tmp_path, steps=2)
    ckpt = read(out)
    assert ckpt["step"] == 2 and ckpt["command"].startswith("python main.py train") and ckpt["commit"]
    out = _train_tiny(tmp_path, steps=4, extra=("--flag-weight", "10", "--flag-x0-floor", "1",
                                                 "--position-x0-floor", "0.5"))  # resumes
    cfg = read(out)["train_config"]
    assert read(out)["step"] == 4 and cfg["flag_weight"] == 10 and cfg["flag_x0_floor"] == 1
    assert cfg["position_x0_floor"] == 0.5
    loaded = load(out)
    assert loaded.diffusion.model.config.dim == 8 and loaded.meta["train_config"]["data"] == SAMPLE

    wrong_layout = dict(ckpt, state_names=["x"] * 39)
    save_atomic(wrong_layout, tmp_path / "layout.pt")
    with pytest.raises(CheckpointError, match="different state layout"):
        load(tmp_path / "layout.pt")
    wrong_shape = dict(ckpt, model_config={**ckpt["model_config"], "dim": 16})
    save_atomic(wrong_shape, tmp_path / "shape.pt")
    with pytest.raises(CheckpointError, match="do not fit"):
        load(tmp_path / "shape.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="junk.pt.*not a readable checkpoint"):
        load(tmp_path / "junk.pt")
    torch.save({"weights": 1}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not a Diffuser checkpoint"):
        load(tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load(tmp_path / "missing.pt")


def test_warm_start_adds_start_conditioning_and_input_gain_to_an_older_model(tmp_path):
    old = _train_tiny(tmp_path, steps=2, extra=("--original-unet",))
    assert load(old).diffusion.model.start_mlp is None and load(old).diffusion.model.input_gain is None
    legacy = read(old)
    legacy["model_config"].pop("start_conditioning")  # as written before the option existed
    save_atomic(legacy, tmp_path / "legacy.pt")
    assert load(tmp_path / "legacy.pt").diffusion.model.config.start_conditioning is False

    new = tmp_path / "new.pt"
    cmd = [sys.executable, os.path.join(ROOT, "main.py"), "train", "--data", SAMPLE, "--out", str(new), "--steps", "2",
           "--dim", "8", "--dim-mults", "1", "2", "--init-from", str(tmp_path / "legacy.pt")]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert read(new)["step"] == 2  # counts on from the source's steps: nothing more to do
    warm = load(new).diffusion.model
    assert warm.start_mlp is not None and warm.input_gain is not None and warm.start_gain is not None
    x, t = torch.randn(2, 128, 39), torch.tensor([3, 700])
    with torch.no_grad():  # the added modules start at zero: the same function as before
        assert torch.allclose(warm(x, t), load(old).diffusion.model(x, t), atol=1e-6)

    wide = tmp_path / "wide.pt"
    cmd[cmd.index("--dim") + 1] = "16"
    cmd[cmd.index("--out") + 1] = str(wide)
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and "has shape" in lines[0], r.stderr[-1000:]


def test_torchrun_trains_with_two_cpu_processes(tmp_path):
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    out = tmp_path / "ddp.pt"
    cmd = [torchrun, "--standalone", "--nproc_per_node", "2", os.path.join(ROOT, "main.py"), "train",
           "--data", SAMPLE, "--out", str(out), "--steps", "3", "--dim", "8", "--dim-mults", "1", "2",
           "--device", "cpu"]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr[-2000:]
    assert read(out)["step"] == 3


SHIPPED = str(SHIPPED_CHECKPOINT)


def test_shipped_checkpoint_plans_a_tower_segment_on_the_cpu():
    from planner.plan import DiffuserPlanner
    from planner.config import PlannerSettings
    from tasks.goals import TowerOrder
    from tasks.world import initial_state

    planner = DiffuserPlanner(SHIPPED, PlannerSettings.whole_state(candidates=8, max_checks=2, extra_segments=0))
    state = initial_state(3)
    plan = planner.plan(state, TowerOrder(("red", "green")), seed=0)
    planner.close()
    assert plan.states.shape == (PHASES.length, LAYOUT.dim)
    np.testing.assert_allclose(plan.states[0], state, atol=1e-5)
    seg = plan.segments[0]
    assert seg.move == "green on red" and seg.keyframes
    # the keyframes hold: the green block is held from the grasp to the release, nothing else is
    green = plan.states[:, LAYOUT.block("green").attached]
    assert np.all(green[PHASES.grasp_index:PHASES.release_index] == 1) and green[: PHASES.grasp_index].max() == 0
    assert plan.settings["train_step"] > 0
    # while held, green rides with the tool: its height follows the tool's, rigidly
    from tasks.metrics import tool_heights
    from tasks.world import World

    with World() as w:
        tool = tool_heights(plan.states, w)
    held = slice(PHASES.grasp_index, PHASES.release_index)
    gap = plan.states[held, LAYOUT.block("green").position][:, 2] - tool[held]
    assert np.ptp(gap) < 0.01
    # and executed in physics, the segment stacks green on red
    from tasks.execute import execute

    result = execute(plan.states, TowerOrder(("red", "green")), start=state)
    assert seg.achieved and result.strict_success and result.score == 100


def test_paper_setting_unconditional_samples_from_the_start_state_alone():
    from dataclasses import replace

    from planner.plan import DiffuserPlanner
    from planner.config import PlannerSettings
    from tasks.goals import Unconditional
    from tasks.world import initial_state

    settings = replace(PlannerSettings.paper(), steps=4)  # the paper's shape, few steps for the test
    planner = DiffuserPlanner(SHIPPED, settings)
    state = initial_state(4)
    plan = planner.plan(state, Unconditional(), seed=1)
    planner.close()
    segs = plan.segments
    assert len(segs) == 3 and plan.states.shape == (3 * PHASES.length, LAYOUT.dim)
    assert all(s.proposal == Proposal.SAMPLED and not s.keyframes and s.checked == 0 for s in segs)
    np.testing.assert_allclose(plan.states[0], state, atol=1e-5)


def test_unconditional_moves_are_chosen_by_the_models_scores():
    from planner.choice import grows_tower
    from planner.moves import Move
    from planner.plan import DiffuserPlanner
    from planner.config import PlannerSettings
    from tasks.goals import Unconditional
    from tasks.rewards import strictly_on
    from tasks.world import initial_state

    planner = DiffuserPlanner(SHIPPED, PlannerSettings.whole_state(candidates=4, max_checks=2, extra_segments=0))
    state = initial_state(3)
    plan = planner.plan(state, Unconditional(), seed=2)
    planner.close()
    first = plan.segments[0]
    scores = first.move_scores
    assert len(scores) == 12  # four clear blocks: every ordered pair
    finite = {m: v for m, v in scores.items() if np.isfinite(v)}
    assert len(finite) >= 10 and len(set(finite.values())) == len(finite)  # scores tell the moves apart
    # at the start every move grows the tower, so the model's best-scored move is the one planned
    assert first.proposal == Proposal.DIFFUSER and first.move == min(finite, key=finite.get)
    top, onto = first.move.split(" on ")
    assert grows_tower(SymbolicScene.read(state), Move(top, onto))
    assert strictly_on(plan.states[PHASES.length - 1], top, onto)


def test_denoising_error_prefers_each_demonstrated_segment_to_a_wrong_flag():
    from planner.checkpoint import load
    from tasks.layout import BLOCK_NAMES

    loaded = load(SHIPPED, torch.device("cpu"))
    states = next(iter(load_states(SAMPLE, ["demo_0"]).values())).astype(np.float64)
    start = torch.as_tensor(start_mask(128))
    for k in range(3):
        seg = states[k * PHASES.length:(k + 1) * PHASES.length]
        held = moved_block(seg)
        other = [b for b in BLOCK_NAMES if b != held][k]
        wrong = seg.copy()  # the other block's flag rises instead: it "holds" a block that never moves
        a, b = LAYOUT.block(held).attached, LAYOUT.block(other).attached
        wrong[:, [a, b]] = wrong[:, [b, a]]
        x = torch.as_tensor(loaded.normaliser.normalise(np.stack([seg, wrong])).astype(np.float32))
        err = loaded.diffusion.denoising_error(x, start, 8, torch.Generator().manual_seed(0))
        assert err[1] > 1.5 * err[0], (k, err)
    every = torch.ones(128, LAYOUT.dim, dtype=torch.bool)
    assert float(loaded.diffusion.denoising_error(x, every).abs().max()) == 0.0  # nothing free, nothing to err


def test_the_tower_growing_moves(state_factory):
    from planner.choice import grows_tower, moves_between_clear
    from planner.moves import Move

    h = BLOCK_HEIGHT / 2
    state = state_factory({"red": [0.6, 0, h], "green": [0.6, 0, 3 * h]})  # green on red; blue, yellow apart
    scene = SymbolicScene.read(state)
    assert scene.height("green") == 2 and scene.height("blue") == 1 and scene.tallest == ("green", 2)
    moves = moves_between_clear(scene)
    assert Move("red", "green") not in moves and len(moves) == 6  # red is covered
    assert {m for m in moves if grows_tower(scene, m)} == {Move("blue", "green"), Move("yellow", "green")}
    empty = SymbolicScene.read(state_factory({}))
    assert all(grows_tower(empty, m) for m in moves_between_clear(empty))


def test_smoothing_keeps_pinned_cells_and_removes_jumps():
    from planner.postprocess import smooth_joints

    demo = next(iter(load_states(SAMPLE, ["demo_0"]).values()))[:128].astype(np.float64)
    mask = keyframe_mask(128, moved_block(demo))
    free = ~mask[:, LAYOUT.joints]
    noisy = np.repeat(demo[None], 2, axis=0)
    noisy[:, :, LAYOUT.joints] += np.where(free, np.random.default_rng(0).normal(0, 0.3, (2, 128, 7)), 0)
    out = smooth_joints(noisy, mask, 30)
    assert np.array_equal(out[:, mask], noisy[:, mask])
    assert np.array_equal(out[..., 7:], noisy[..., 7:])  # only joints are touched
    step = lambda x: np.abs(np.diff(x[..., LAYOUT.joints], axis=1)).max()  # noqa: E731
    assert step(out) < step(noisy) / 3
    error = lambda x: np.abs(x[..., LAYOUT.joints] - demo[..., LAYOUT.joints]).mean()  # noqa: E731
    assert error(out) < error(noisy) / 2  # closer to the smooth motion the noise hid
    assert np.array_equal(smooth_joints(noisy, mask, 0), noisy)


def test_a_demonstrated_segment_reads_as_its_own_move_at_every_tower_height():
    from planner.choice import read_move
    from tasks.rewards import strictly_on

    states = next(iter(load_states(SAMPLE, ["demo_0"]).values())).astype(np.float64)
    for k in range(3):  # towers of 1, 2 and 3 blocks
        seg = states[k * PHASES.length:(k + 1) * PHASES.length]
        move = read_move(seg, seg[0])
        assert move is not None and move.block == moved_block(seg), k
        assert strictly_on(seg[-1], move.block, move.onto), k


CLASSIFIER = os.path.join(ROOT, "assets", "stack_classifier.pt")


def test_shipped_classifier_reads_the_demonstrated_relations_and_its_guide_pulls_the_block():
    from planner.classifier import PAIRS, LearnedPlacedOn, load_classifier, stack_labels
    from tasks.rewards import strictly_on

    clf = load_classifier(CLASSIFIER)
    demos = load_states(SAMPLE, split="valid")
    segs = [s[t:t + 128] for s in demos.values() for t in range(0, len(s) - 127, 128)]
    x = torch.as_tensor(clf.normaliser.normalise(np.stack(segs)).astype(np.float32))
    with torch.no_grad():
        predicted = (clf.model(x, torch.zeros(len(x), dtype=torch.long)) > 0).numpy()
    right = predicted == (np.stack([stack_labels(s[-1]) for s in segs]) > 0.5)
    assert right.all(1).mean() > 0.9, right.all(1).mean()  # held-out segments, every relation right
    seg = torch.as_tensor(segs[0], dtype=torch.float32)[None]
    top = moved_block(segs[0])
    bottom = next(b for a, b in PAIRS if a == top and strictly_on(segs[0][-1], a, b))
    guide = LearnedPlacedOn(clf, top, bottom)
    shifted = seg.clone()
    shifted[0, PHASES.release_index:, LAYOUT.block(top).position.start] += 0.05  # 5 cm off in x
    assert guide(seg) > guide(shifted)  # the demonstrated placement is the likelier one
    _, grad = guide.gradients(shifted)
    # the gradient at the end pulls the block back toward where it belongs (-x)
    assert grad[0, PHASES.release_index:, LAYOUT.block(top).position.start].sum() < 0


def test_classifier_checkpoints_are_checked(tmp_path):
    from planner.classifier import load_classifier

    with pytest.raises(CheckpointError, match="not a stack-classifier checkpoint"):
        load_classifier(SHIPPED)  # a Diffuser checkpoint
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"junk")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_classifier(bad)
    with pytest.raises(CheckpointError, match="no such"):
        load_classifier(tmp_path / "missing.pt")


def test_train_classifier_command_writes_a_loadable_checkpoint(tmp_path):
    from planner.classifier import load_classifier

    out = tmp_path / "clf.pt"
    cmd = [sys.executable, os.path.join(ROOT, "main.py"), "train-classifier", "--data", SAMPLE, "--out", str(out),
           "--steps", "20"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-1000:]
    assert "held-out segments with every relation right" in done.stdout
    loaded = load_classifier(out)
    assert loaded.meta["steps"] == 20 and "train-classifier" in loaded.meta["command"]


def test_planner_guides_with_the_learned_classifier_when_given_one():
    from planner.plan import DiffuserPlanner
    from planner.config import PlannerSettings
    from tasks.goals import TowerOrder
    from tasks.world import initial_state

    from dataclasses import replace

    # one candidate: the plan is the guided sample itself, whatever the ranking
    settings = PlannerSettings(steps=4, candidates=1, guide_scale=10.0, keyframes=False, physics_check=False,
                               extra_segments=0, classifier=CLASSIFIER, mover=None)
    planner = DiffuserPlanner(SHIPPED, settings)
    plan = planner.plan(initial_state(1), TowerOrder(("red", "green")), seed=0)
    planner.close()
    assert plan.settings["classifier"] == "stack_classifier.pt" and plan.states.shape == (128, LAYOUT.dim)
    # The same seed with the hand-written guide instead, or the learned one too weak to act (its
    # path through the sampler, a vanishing step) samples other states: the learned guide moves them.
    for other in (replace(settings, classifier=None), replace(settings, guide_scale=1e-6)):
        planner = DiffuserPlanner(SHIPPED, other)
        states = planner.plan(initial_state(1), TowerOrder(("red", "green")), seed=0).states
        planner.close()
        assert np.abs(states - plan.states)[:, LAYOUT.joints].max() > 1e-3, other


@pytest.mark.parametrize("entry", ["import main", "import app.main_window", "import planner.plan"])
def test_every_entry_point_sets_the_thread_policy_before_torch_loads(entry):
    """Spinning OpenMP threads made plans 3 to 40 times slower beside any busy process; the policy
    only counts if it is set before torch is imported, whichever module a program imports first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMP_")}
    code = f"{entry}\nimport os, torch\nprint(torch.get_num_threads(), os.environ['OMP_WAIT_POLICY'])"
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["1", "PASSIVE"]


def test_a_plan_is_the_same_from_its_seed_whatever_was_planned_before():
    """Each plan gets a fresh physics world: a used one keeps contact and solver caches that
    changed which candidate passed the physics check."""
    from planner.plan import DiffuserPlanner
    from planner.config import PlannerSettings
    from tasks.goals import parse_goal
    from tasks.starts import start_state

    planner = DiffuserPlanner(SHIPPED, PlannerSettings(candidates=4))
    state, goal = start_state("arrangement", 7), parse_goal("yellow,green,red")
    first = planner.plan(state, goal, seed=1).states
    planner.plan(start_state("arrangement", 8), parse_goal("clear"), seed=2)
    again = planner.plan(state, goal, seed=1).states
    np.testing.assert_array_equal(first, again)
    # A candidate past joint 1's limit is ranked after every feasible one, however smooth.
    from planner.conditioning import SegmentConditions

    segs = np.stack([first[:128], first[128:256]]).astype(np.float64)
    segs[0, 60:, 0] = 3.0  # past +170 degrees
    assert planner.within_limits(segs).tolist() == [False, True]
    order, _ = planner._rank(segs, SegmentConditions(None, np.zeros((128, 39), bool), segs[0], None))
    planner.close()
    assert order.tolist() == [1, 0]


def test_plans_from_two_threads_take_turns_and_close_waits_for_the_plan():
    """The app's warm-up and the user's first plan may use one planner at once, and a change of
    settings closes the old planner: neither may pull the physics world from under a plan."""
    import threading

    from planner.plan import DiffuserPlanner
    from planner.config import PlannerSettings
    from tasks.goals import parse_goal
    from tasks.world import initial_state

    planner = DiffuserPlanner(SHIPPED, PlannerSettings(candidates=2, extra_segments=0))
    goal, state = parse_goal("red,green"), initial_state(4)
    alone = planner.plan(state, goal, seed=3).states
    results, started = [], threading.Event()

    def plan() -> None:
        results.append(planner.plan(state, goal, seed=3, progress=lambda *a: started.set()).states)

    threads = [threading.Thread(target=plan) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2 and all(np.array_equal(r, alone) for r in results)  # in turn, not interleaved
    started.clear()
    results.clear()
    one = threading.Thread(target=plan)
    one.start()
    assert started.wait(60)
    planner.close()  # waits for the plan under way
    one.join()
    assert len(results) == 1 and np.array_equal(results[0], alone)
