"""The one place that knows the blocks and the state layout, for any number of blocks.

State per timestep: 7 joint angles, then for each block its position xyz, orientation quaternion
xyzw and attached flag: 7 + 8 N numbers (39 for the paper's four blocks). A scene of N blocks
holds the first N of :data:`PALETTE` (red, green, blue, yellow, ...), so a state's width says
its blocks: :func:`layout_of` reads it. Everything else reads and writes states through a
:class:`StateLayout`; no other module indexes a state with bare numbers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Every block a scene can hold, in order: a scene of N blocks has the first N.
BLOCK_COLOURS: dict[str, tuple[float, float, float, float]] = {
    "red": (0.85, 0.15, 0.15, 1.0),
    "green": (0.15, 0.70, 0.25, 1.0),
    "blue": (0.15, 0.35, 0.90, 1.0),
    "yellow": (0.95, 0.80, 0.10, 1.0),
    "orange": (0.95, 0.50, 0.10, 1.0),
    "purple": (0.55, 0.25, 0.75, 1.0),
    "cyan": (0.10, 0.80, 0.85, 1.0),
    "pink": (0.95, 0.55, 0.75, 1.0),
}
PALETTE: tuple[str, ...] = tuple(BLOCK_COLOURS)
MIN_BLOCKS, MAX_BLOCKS = 2, len(PALETTE)
DEFAULT_BLOCKS = 4  # the paper's scene; every command's default
BLOCK_NAMES: tuple[str, ...] = PALETTE[:DEFAULT_BLOCKS]
# The paper's flat cuboids: a stacked pair sits 0.06 m apart, above the reward's 0.05 m rule.
BLOCK_SIZE: tuple[float, float, float] = (0.20, 0.20, 0.06)
BLOCK_HALF_EXTENTS: tuple[float, float, float] = tuple(s / 2 for s in BLOCK_SIZE)  # type: ignore[assignment]
BLOCK_HEIGHT: float = BLOCK_SIZE[2]
BLOCK_WIDTH: float = BLOCK_SIZE[0]

# Where a block may rest on the floor (scenes, floor placements, reference spots): the paper put
# blocks 0.6 m from the base at random angles; the radius is drawn from a band around it and the
# angle kept away from joint 1's +-170 degree limit.
SCENE_RADIUS = (0.50, 0.68)
SCENE_MAX_ANGLE = math.radians(150.0)
SCENE_MIN_SEPARATION = 0.32  # > block diagonal (0.283) so footprints never overlap

NUM_JOINTS = 7
_BLOCK_DIMS = 8  # xyz, quaternion xyzw, attached


@dataclass(frozen=True)
class BlockSlices:
    """Named slices of one block inside a state vector."""

    position: slice
    orientation: slice
    attached: int


class StateLayout:
    """Named views into a (..., 7 + 8 N) state array. Works on numpy arrays and torch tensors."""

    def __init__(self, blocks: tuple[str, ...] = BLOCK_NAMES) -> None:
        self.blocks = blocks
        self.joints = slice(0, NUM_JOINTS)
        self._block: dict[str, BlockSlices] = {}
        for i, name in enumerate(blocks):
            base = NUM_JOINTS + _BLOCK_DIMS * i
            self._block[name] = BlockSlices(
                position=slice(base, base + 3),
                orientation=slice(base + 3, base + 7),
                attached=base + 7,
            )
        self.dim = NUM_JOINTS + _BLOCK_DIMS * len(blocks)

    def block(self, name: str) -> BlockSlices:
        """Slices of block `name`; raises ValueError naming the block if it does not exist."""
        try:
            return self._block[name]
        except KeyError:
            raise ValueError(f"unknown block {name!r}; blocks are {', '.join(self.blocks)}") from None

    @property
    def names(self) -> list[str]:
        """One human-readable name per dimension, in order (stored in files)."""
        names = [f"joint_{j + 1}" for j in range(NUM_JOINTS)]
        for b in self.blocks:
            names += [f"{b}_{k}" for k in ("x", "y", "z", "qx", "qy", "qz", "qw", "attached")]
        return names

    @property
    def attached_dims(self) -> list[int]:
        return [self._block[b].attached for b in self.blocks]

    @property
    def position_dims(self) -> list[int]:
        return [d for b in self.blocks for d in range(self._block[b].position.start, self._block[b].position.stop)]

    def positions(self, states):
        """(..., dim) -> (..., n_blocks, 3) block positions."""
        return np_or_torch_stack([states[..., self._block[b].position] for b in self.blocks], axis=-2)

    def attached(self, states):
        """(..., dim) -> (..., n_blocks) attached flags."""
        return states[..., self.attached_dims]

    def canonical(self, states: np.ndarray) -> np.ndarray:
        """Quaternions with w >= 0 (q and -q are one rotation; a network should see one of them)."""
        out = np.array(states, dtype=np.asarray(states).dtype, copy=True)
        for b in self.blocks:
            q = out[..., self._block[b].orientation]
            out[..., self._block[b].orientation] = np.where(q[..., 3:4] < 0, -q, q)
        return out

    def compose(
        self,
        joints: np.ndarray,
        positions: dict[str, np.ndarray],
        orientations: dict[str, np.ndarray],
        attached: dict[str, float] | None = None,
    ) -> np.ndarray:
        """Build one state vector from its named parts."""
        state = np.zeros(self.dim, dtype=np.float64)
        state[self.joints] = joints
        for b in self.blocks:
            s = self._block[b]
            state[s.position] = positions[b]
            state[s.orientation] = orientations[b]
            state[s.attached] = (attached or {}).get(b, 0.0)
        return self.canonical(state)

    def decompose(self, state: np.ndarray) -> tuple[np.ndarray, dict, dict, dict]:
        """Inverse of :meth:`compose`: joints, positions, orientations, attached flags."""
        pos = {b: np.asarray(state[self._block[b].position]) for b in self.blocks}
        orn = {b: np.asarray(state[self._block[b].orientation]) for b in self.blocks}
        att = {b: float(state[self._block[b].attached]) for b in self.blocks}
        return np.asarray(state[self.joints]), pos, orn, att

    def check(self, states: np.ndarray, what: str = "states") -> np.ndarray:
        """Return `states` as float array of shape (T, dim) or raise a message naming the problem."""
        arr = np.asarray(states, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != self.dim:
            raise ValueError(f"{what} must have shape (T, {self.dim}) for {len(self.blocks)} blocks, "
                             f"got {tuple(arr.shape)}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{what} contain NaN or infinite values")
        return arr


def np_or_torch_stack(parts, axis: int):
    """Stack numpy arrays or torch tensors without importing torch here."""
    if isinstance(parts[0], np.ndarray):
        return np.stack(parts, axis=axis)
    import torch  # only reached when the caller already uses torch

    return torch.stack(parts, dim=axis)


def check_block_count(n: int) -> int:
    """`n` if a scene can hold that many blocks; ValueError naming the range otherwise."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not MIN_BLOCKS <= n <= MAX_BLOCKS:
        raise ValueError(f"a scene holds {MIN_BLOCKS} to {MAX_BLOCKS} blocks, got {n!r}")
    return int(n)


def block_names(n: int = DEFAULT_BLOCKS) -> tuple[str, ...]:
    """The blocks of an N-block scene, in state order."""
    return PALETTE[:check_block_count(n)]


_LAYOUTS: dict[int, StateLayout] = {}


def layout_for(n: int = DEFAULT_BLOCKS) -> StateLayout:
    """The layout of an N-block scene (one object per N)."""
    n = check_block_count(n)
    if n not in _LAYOUTS:
        _LAYOUTS[n] = StateLayout(PALETTE[:n])
    return _LAYOUTS[n]


def blocks_of_dim(dim: int) -> int:
    """How many blocks a state of `dim` numbers holds; ValueError when no scene has that width."""
    n, rest = divmod(int(dim) - NUM_JOINTS, _BLOCK_DIMS)
    if rest or not MIN_BLOCKS <= n <= MAX_BLOCKS:
        raise ValueError(f"a state holds {NUM_JOINTS} joints and {_BLOCK_DIMS} numbers per block "
                         f"({MIN_BLOCKS} to {MAX_BLOCKS} blocks), not {dim} numbers")
    return n


def layout_of(states) -> StateLayout:
    """The layout of a (..., dim) state array, read from its width."""
    return layout_for(blocks_of_dim(states.shape[-1] if hasattr(states, "shape") else len(states)))


def block_slices(name: str) -> BlockSlices:
    """Where block `name` lies in a state: the same in every scene that has it (a scene of N
    blocks holds the palette's first N, in order). ValueError for a name not in the palette."""
    return layout_for(MAX_BLOCKS).block(name)


LAYOUT = layout_for(DEFAULT_BLOCKS)
STATE_DIM = LAYOUT.dim  # of the paper's four-block scene (the whole-state Diffuser's width)
assert STATE_DIM == 39


@dataclass(frozen=True)
class SegmentPhases:
    """State counts of one pick-and-place, which always spans `length` states.

    State 0 is the segment's start. Fixed phase lengths put the grasp and the release at the
    same timesteps in every segment, which the Diffuser's keyframe constraints rely on.
    """

    transit: int = 33
    descend: int = 12
    grasp_dwell: int = 4
    lift: int = 12
    carry: int = 36
    place_descend: int = 12
    release_dwell: int = 6
    ascend: int = 12

    @property
    def length(self) -> int:
        return 1 + sum(getattr(self, f) for f in self.__dataclass_fields__)

    @property
    def grasp_index(self) -> int:
        """First state with the attached flag on (the tool is at the block one state before)."""
        return 1 + self.transit + self.descend

    @property
    def release_index(self) -> int:
        """First state with the attached flag off again."""
        return self.grasp_index + self.grasp_dwell + self.lift + self.carry + self.place_descend


PHASES = SegmentPhases()
SEGMENT_LENGTH = PHASES.length
assert SEGMENT_LENGTH == 128


def quaternion_yaw(q) -> float:
    """Yaw (rad) of an (x, y, z, w) quaternion."""
    x, y, z, w = q
    return math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
