import numpy as np
import pytest

from tasks.layout import BLOCK_NAMES, LAYOUT, PHASES, SEGMENT_LENGTH, STATE_DIM
from tasks.world import World, initial_state, sample_scene


def test_layout_has_39_named_dimensions():
    assert STATE_DIM == 39 and len(LAYOUT.names) == 39
    assert LAYOUT.names[:2] == ["joint_1", "joint_2"]
    assert LAYOUT.names[LAYOUT.block("blue").attached] == "blue_attached"


def test_compose_decompose_round_trip():
    rng = np.random.default_rng(0)
    state = LAYOUT.canonical(rng.normal(size=STATE_DIM))
    joints, pos, orn, att = LAYOUT.decompose(state)
    again = LAYOUT.compose(joints, pos, orn, att)
    np.testing.assert_array_equal(state, again)
    np.testing.assert_array_equal(LAYOUT.positions(state[None])[0, 2], state[LAYOUT.block("blue").position])


def test_canonical_quaternions_have_non_negative_w_and_the_same_rotation():
    state = np.random.default_rng(1).normal(size=(5, STATE_DIM))
    canon = LAYOUT.canonical(state)
    for b in BLOCK_NAMES:
        q, c = state[:, LAYOUT.block(b).orientation], canon[:, LAYOUT.block(b).orientation]
        assert np.all(c[:, 3] >= 0)
        np.testing.assert_allclose(np.abs(c), np.abs(q))  # same quaternion up to sign
    np.testing.assert_array_equal(canon[:, LAYOUT.joints], state[:, LAYOUT.joints])
    np.testing.assert_array_equal(LAYOUT.canonical(canon), canon)


def test_unknown_block_and_bad_shape_are_named():
    with pytest.raises(ValueError, match="purple"):
        LAYOUT.block("purple")
    with pytest.raises(ValueError, match=r"\(T, 39\)"):
        LAYOUT.check(np.zeros((5, 38)))


def test_world_state_round_trip_and_seeded_reset():
    with World() as w:
        s0 = w.reset(3)
        np.testing.assert_allclose(s0, initial_state(3), atol=1e-9)
        target = s0.copy()
        target[LAYOUT.joints] += 0.1
        target[LAYOUT.block("red").position] = [0.3, 0.3, 0.5]
        w.set_state(target)
        np.testing.assert_allclose(w.get_state(), target, atol=1e-6)
        np.testing.assert_allclose(w.reset(3), s0, atol=1e-9)


@pytest.mark.parametrize("seed", range(20))
def test_scenes_are_reproducible_reachable_and_non_overlapping(seed):
    a, b = sample_scene(seed), sample_scene(seed)
    xy = [a[n].position[:2] for n in BLOCK_NAMES]
    for n in BLOCK_NAMES:
        np.testing.assert_array_equal(a[n].position, b[n].position)
        assert 0.45 < np.linalg.norm(a[n].position[:2]) < 0.7
    d = [np.linalg.norm(xy[i] - xy[j]) for i in range(4) for j in range(i + 1, 4)]
    assert min(d) > 0.283  # block diagonal: footprints cannot overlap


def test_segment_phases_put_grasp_and_release_inside_128_states():
    assert SEGMENT_LENGTH == 128
    assert 0 < PHASES.grasp_index < PHASES.release_index < SEGMENT_LENGTH
