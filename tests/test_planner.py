"""The Diffuser's pieces: the U-Net, the schedule, inpainting, guides, losses, masks, training and
checkpoints (the shipped model: test_shipped.py; the classifier: test_classifier.py)."""
import os
import subprocess
import sys

import numpy as np
import pytest
import planner as _thread_policy  # noqa: F401  (sets PyTorch's thread policy before torch loads)
import torch

from planner.checkpoint import CheckpointError, load, read, save_atomic
from planner.config import DiffusionConfig, ModelConfig
from planner.diffusion import Constraints, GaussianDiffusion, cosine_beta_schedule
from planner.guides import PlacedOn
from planner.masks import keyframe_mask, moved_block, start_mask
from planner.model import TemporalUnet
from tasks.dataset import load_states
from tasks.layout import BLOCK_HEIGHT, LAYOUT, PHASES

from tests.model_helpers import ROOT, SAMPLE, tiny_diffusion


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
    segs = np.stack([s[:64] for s in demos.values()])
    norm = Normaliser.fit(np.concatenate(list(demos.values())))
    x0 = torch.tensor(norm.normalise(segs), dtype=torch.float32)
    masks = torch.tensor(np.stack([keyframe_mask(64, moved_block(s)) for s in segs]))
    free = ~masks[..., LAYOUT.joints]
    d = GaussianDiffusion(TemporalUnet(ModelConfig(dim=16, dim_mults=(1, 2))), DiffusionConfig(n_timesteps=20))

    def sample_error() -> float:
        x = d.eval().sample((2, 64, 39), Constraints(masks, x0), generator=torch.Generator().manual_seed(0))
        d.train()
        return float((x - x0)[..., LAYOUT.joints].abs()[free].mean())

    untrained = sample_error()
    opt = torch.optim.Adam(d.parameters(), 5e-3)
    xb, mb = x0.repeat(2, 1, 1), masks.repeat(2, 1, 1)
    losses = []
    for _ in range(150):
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
    """`main.py train` of a tiny model, in this process (the command's own process and signals:
    test_faults.py)."""
    import main

    out = tmp_path / "tiny.pt"
    assert main.main(["train", "--data", SAMPLE, "--out", str(out), "--steps", str(steps), "--dim", "8",
                      "--dim-mults", "1", "2", "--save-every", "2", *extra]) == 0
    return out


def test_checkpoint_save_load_resume_and_refusals(tmp_path):
    out = _train_tiny(tmp_path, steps=2)
    ckpt = read(out)
    assert ckpt["step"] == 2 and ckpt["commit"]
    assert ckpt["command"] == f"python main.py train --data {SAMPLE} --out {out} --steps 2 --dim 8 --dim-mults 1 2 --save-every 2"
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


def test_warm_start_adds_start_conditioning_and_input_gain_to_an_older_model(tmp_path, capsys):
    old = _train_tiny(tmp_path, steps=2, extra=("--original-unet",))
    assert load(old).diffusion.model.start_mlp is None and load(old).diffusion.model.input_gain is None
    legacy = read(old)
    legacy["model_config"].pop("start_conditioning")  # as written before the option existed
    save_atomic(legacy, tmp_path / "legacy.pt")
    assert load(tmp_path / "legacy.pt").diffusion.model.config.start_conditioning is False

    import main

    new = tmp_path / "new.pt"
    argv = ["train", "--data", SAMPLE, "--out", str(new), "--steps", "2", "--dim", "8", "--dim-mults", "1", "2",
            "--init-from", str(tmp_path / "legacy.pt")]
    assert main.main(argv) == 0
    assert read(new)["step"] == 2  # counts on from the source's steps: nothing more to do
    warm = load(new).diffusion.model
    assert warm.start_mlp is not None and warm.input_gain is not None and warm.start_gain is not None
    x, t = torch.randn(2, 128, 39), torch.tensor([3, 700])
    with torch.no_grad():  # the added modules start at zero: the same function as before
        assert torch.allclose(warm(x, t), load(old).diffusion.model(x, t), atol=1e-6)

    argv[argv.index("--dim") + 1] = "16"
    argv[argv.index("--out") + 1] = str(tmp_path / "wide.pt")
    capsys.readouterr()
    code = main.main(argv)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "has shape" in lines[0], err[-1000:]
    assert not (tmp_path / "wide.pt").exists()


def test_torchrun_trains_with_two_cpu_processes(tmp_path):
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    out = tmp_path / "ddp.pt"
    cmd = [torchrun, "--standalone", "--nproc_per_node", "2", os.path.join(ROOT, "main.py"), "train",
           "--data", SAMPLE, "--out", str(out), "--steps", "3", "--dim", "8", "--dim-mults", "1", "2",
           "--device", "cpu"]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr[-2000:]
    assert read(out)["step"] == 3
