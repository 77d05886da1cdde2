"""Resting starts (tasks.starts): the random towers every arrangement episode and `--from-towers`
evaluation begins from are what their seed made them before (the datasets and the figures depend
on it), stand where the seed's scene put their bases, with their blocks stacked square; a start
state file holding pickled objects is refused."""
import numpy as np
import pytest

from tasks.h5io import FileFormatError
from tasks.layout import layout_of, quaternion_yaw
from tasks.scene import FLOOR, SymbolicScene
from tasks.starts import load_start_state, resting_state
from tasks.world import sample_scene

# (blocks, seed) -> who is on whom, and where red stands (m, to the millimetre)
KNOWN = {
    (4, 0): ({("yellow", "green")}, (0.2196, -0.5741, 0.03)),
    (4, 2): ({("blue", "yellow"), ("green", "red")}, (0.2698, -0.4759, 0.03)),
    (4, 4): ({("blue", "green"), ("red", "yellow")}, (-0.305, 0.5143, 0.09)),
    (6, 0): ({("blue", "yellow"), ("green", "red"), ("orange", "purple"), ("purple", "blue"), ("red", "orange")},
             (-0.4524, -0.3588, 0.2696)),
    (6, 4): ({("blue", "green"), ("purple", "red"), ("yellow", "orange")}, (0.6686, 0.0396, 0.03)),
    (6, 5): (set(), (-0.0268, 0.6444, 0.03)),
}


@pytest.mark.parametrize("n, seed", sorted(KNOWN))
def test_a_seed_makes_the_towers_it_always_made(n, seed):
    on, red = KNOWN[(n, seed)]
    state = resting_state(seed, n)
    assert set(SymbolicScene.read(state).on) == on
    assert np.allclose(position(state, "red"), red, atol=1e-3)


def position(state, block: str) -> np.ndarray:
    return state[layout_of(state).block(block).position]


def yaw(state, block: str) -> float:
    return quaternion_yaw(state[layout_of(state).block(block).orientation])


def yaw_gap(a: float, b: float) -> float:
    """Between two yaws of a square block (the same every 90 degrees), in radians."""
    d = (a - b) % (np.pi / 2)
    return min(d, np.pi / 2 - d)


def test_towers_stand_on_their_bases_scene_places_square_and_come_in_every_height():
    heights = set()
    for seed in range(12):
        state = resting_state(seed, 6)
        layout, scene = layout_of(state), SymbolicScene.read(state)
        places = sample_scene(seed, 6)
        for block in layout.blocks:
            below = scene.support[block]
            xy, turn = position(state, block)[:2], yaw(state, block)
            if below == FLOOR:  # a tower's base: where the seed's scene put that block, as it turned it
                assert np.linalg.norm(xy - places[block].position[:2]) < 0.01, (seed, block)
                assert yaw_gap(turn, quaternion_yaw(places[block].orientation)) < 0.02, (seed, block)
            else:  # stacked on its support, turned at most 0.15 rad from its tower's base
                base = below
                while scene.support[base] != FLOOR:
                    base = scene.support[base]
                assert np.linalg.norm(xy - position(state, below)[:2]) < 0.01, (seed, block)
                assert yaw_gap(turn, yaw(state, base)) < 0.17, (seed, block)
            heights.add(scene.height(block))
    assert heights >= {1, 2, 3, 4}  # single blocks and tall towers both occur


def test_a_start_state_file_with_pickled_objects_is_refused(tmp_path):
    path = tmp_path / "start.npy"
    np.save(path, np.array([{"joints": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(FileFormatError, match="not a readable .npy state"):
        load_start_state(path)
