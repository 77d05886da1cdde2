"""What a plan's goal became, segment by segment: the states pinned (inpainting), the conditioning,
the guides and their scales, the ranking, the physics check, the post-processing, and the guide's
value across denoising. Read from the plan's settings and segment reports alone (no Qt): the
constraints panel shows these rows, and the tests read them."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from planner.masks import grasp_dwell, release_dwell
from planner.moves import FREE_XY, OBSTACLES
from planner.segment import STACK_RANK_XY
from tasks.layout import PHASES, blocks_of_dim
from tasks.plans import Proposal
from tasks.rewards import SPOT_XY, SPOT_YAW

PLAN = "Plan"  # the section of the rows about the whole plan
KNOWN_SCALES = ("guide_scale", "cond_scale")
PROPOSALS = {
    Proposal.GOAL: "the task layer's next move towards the goal",
    Proposal.DIFFUSER: "the model's best-scored move (it grows the tower)",
    Proposal.DIFFUSER_RULE: "the best-scored move that grows the tower",
    Proposal.SAMPLED: "none: a start-only sample (the paper's)",
    Proposal.NONE: "no move was possible",
}


@dataclass(frozen=True)
class Row:
    section: str  # "Plan", or "Segment 2: green on red"
    kind: str  # "Pinned", "Conditioning", "Guide", "Ranking", "Physics check", "Post-processing", "Denoising", ...
    text: str


def _span(steps: range) -> str:
    return f"t = {steps.start}–{steps.stop - 1}"


def _cm(value: float) -> float:
    """A ToolAt value (minus the mean squared distance, m^2) as the RMS tool distance in cm."""
    return math.sqrt(max(-value, 1e-8)) * 100


def _parts(move: str) -> tuple[str, str | None]:
    """(block, what it goes onto: a block's name, or None for the floor) from a move's text."""
    words = move.split()
    if len(words) >= 3 and words[1] == "on":
        return words[0], words[2]
    return words[0], None


def describe(plan) -> list[Row]:
    """The rows for `plan` (none for no plan)."""
    if plan is None:
        return []
    if plan.planner != "diffuser":
        return [Row(PLAN, "Constraints", f"none: the {plan.planner} is the task-and-motion planner (the task layer's "
                                         "moves bound by grasp, placement, inverse-kinematics and motion streams); "
                                         "nothing is sampled, pinned or guided")]
    s = plan.settings
    states = np.asarray(plan.states)
    blocks = blocks_of_dim(states.shape[-1]) if states.ndim == 2 and states.shape[-1] else None
    rows = [Row(PLAN, "Goal", f"'{plan.goal}': {len(plan.segments)} segment(s), one move each"),
            Row(PLAN, "Sampling", f"{s.get('steps', '?')} denoising steps, {s.get('candidates', '?')} candidates per "
                                  f"batch, plan seed {plan.seed}")]
    if not plan.segments:
        rows.append(Row(PLAN, "Segments", "none (the goal held at the start, or no move was possible)"))
    for i, seg in enumerate(plan.segments, 1):
        rows += _segment_rows(f"Segment {i}: {seg.move}", i, seg, s, blocks)
    return rows


def _segment_rows(section: str, i: int, seg, s: dict, blocks: int | None) -> list[Row]:
    row = lambda kind, text: Row(section, kind, text)
    mover = seg.model == "mover"
    block, onto = _parts(seg.move)
    out = [row("Proposal", PROPOSALS.get(seg.proposal, str(seg.proposal))
               + f"; {'achieved' if seg.achieved else 'not achieved'} in physics")]
    sampled = seg.sampled or s.get("candidates", 1)
    model = f"the move model ({s['mover']})" if mover and s.get("mover") else "the whole-state Diffuser"
    out.append(row("Model", f"{model}, {sampled} candidate(s) drawn, {seg.seconds:.2f} s"))
    out += _pinned(row, mover, seg.keyframes)
    out += _conditioning(row, mover, seg, s, block, onto, blocks)
    out += _guides(row, mover, s, block, onto)
    out += _choice(row, seg, s, sampled, block, onto, mover)
    out += _post(row, mover, seg.keyframes, s)
    if seg.guide_values:
        v = seg.guide_values
        out.append(row("Denoising", f"ToolAt value {v[0]:.2g} → {v[-1]:.2g} m² (tool {_cm(v[0]):.1f} → {_cm(v[-1]):.2f} "
                                    f"cm off its targets) over {len(v)} steps: segment {i}'s curve in the plot "
                                    "beside the 3-D view"))
    else:
        out.append(row("Denoising", "the guide's values were not kept with this plan (the app keeps them)" if mover
                       else "no guide values (recorded for the move model only)"))
    return out


def _pinned(row, mover: bool, keyframes: bool) -> list[Row]:
    out = [row("Pinned", "the start state (t = 0: the arm's joints" + (", nothing held)" if mover else ", every block)"))]
    if keyframes:
        out.append(row("Pinned", f"IK keyframes: the joints through the grasp dwell ({_span(grasp_dwell())}) and the "
                                 f"release dwell ({_span(release_dwell())}) of {PHASES.length}"
                                 + ("; the gripper closed from grasp to release" if mover else
                                    "; the held flags, the other blocks' poses, the moved block's before and after")))
    return out


def _conditioning(row, mover: bool, seg, s: dict, block: str, onto: str | None, blocks: int | None) -> list[Row]:
    if not mover:
        return [row("Conditioning", "none beyond the pinned states (the whole-state model sees no move)")]
    target = f"{onto}'s pose" if onto else "the floor spot"
    seen = "the other blocks" if blocks is None else min(blocks - 1 - (onto is not None), OBSTACLES)
    text = f"the move: {block}'s pose, {target}, the start joints, {seen} other block(s) seen (up to {OBSTACLES})"
    scale = s.get("cond_scale", 1.0)
    return [row("Conditioning", text + ("" if scale == 1 else f"; classifier-free guidance ×{scale:g}"))]


def _guides(row, mover: bool, s: dict, block: str, onto: str | None) -> list[Row]:
    scale = float(s.get("guide_scale", 0.0))
    if not mover:
        if s.get("classifier"):
            what = f"the learned stack classifier ({s['classifier']})"
        elif onto:
            what = f"PlacedOn({block} on {onto})"
        else:
            return [row("Guide", "none")]
        return [row("Guide", f"{what} ×{scale:g}" if scale else f"{what}: off (scale 0)")]
    tool = (f"ToolAt ×{scale:g}: the tool onto {block} at the grasp, above {onto or 'the spot'} at the release, "
            "every denoising step") if scale else "ToolAt: off (scale 0: the model alone)"
    out = [row("Guide", tool)]
    if s.get("clearance"):
        out.append(row("Guide", f"Clearance, weight {s['clearance']:g}, ×{scale:g}: the arm and the carried block "
                                "above the other blocks"))
    out += [row("Guide", f"{k.removesuffix('_scale').replace('_', ' ')} ×{v:g}") for k, v in s.items()
            if k.endswith("_scale") and k not in KNOWN_SCALES and isinstance(v, (int, float))]
    return out


def _choice(row, seg, s: dict, sampled: int, block: str, onto: str | None, mover: bool) -> list[Row]:
    kept = f"candidate {seg.chosen + 1} of {sampled} kept"
    if sampled > 1:
        if not mover:
            target = "the guide"
        elif onto:
            target = f"PlacedAt ({block} let go within {STACK_RANK_XY * 100:g} cm of centred on {onto})"
        elif "near" in seg.move.split():
            target = f"PlacedAt ({block} let go within {FREE_XY * 100:g} cm of its aim)"
        else:
            target = (f"PlacedAt ({block} let go within {SPOT_XY * 100:g} cm and {math.degrees(SPOT_YAW):g}° "
                      "of its spot)")
        out = [row("Ranking", f"{target} + Smoothness")]
    else:
        out = [row("Ranking", "one candidate: nothing to rank")]
    if s.get("physics_check"):
        rescue = f"; if none passes, the rest and up to {s['rescues']} more batches" if s.get("rescues") else ""
        out.append(row("Physics check", f"best ranked first, up to {s.get('max_checks', '?')}{rescue}: {seg.checked} "
                                        f"tried, {kept}"))
    else:
        out.append(row("Physics check", f"off: the best ranked is played ({kept})"))
    return out


def _post(row, mover: bool, keyframes: bool, s: dict) -> list[Row]:
    out = []
    if mover and s.get("settle") and not keyframes:
        out.append(row("Post-processing", "dwells settled: the grasp and release moved onto the tool guide's targets"))
    passes = int(s.get("smooth", 0))
    if passes:
        kept = "the start and the grasp and release dwells kept" if mover or keyframes else "the start kept"
        out.append(row("Post-processing", f"{passes} smoothing passes over the free joints ({kept})"))
    if mover and s.get("lift"):
        out.append(row("Post-processing", "lifted: transit and carry raised over the blocks they would pass through"))
    return out or [row("Post-processing", "none: played as sampled")]
