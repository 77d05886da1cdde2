"""The "Constraints and guides" panel: what the shown plan's goal became (app.constraints.describe,
read without Qt), and the panel in the window for a Diffuser plan and a demonstrator plan."""
import os
from dataclasses import asdict

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

from app.constraints import PLAN, describe  # noqa: E402
from app.constraints_panel import EMPTY  # noqa: E402
from planner.config import PlannerSettings  # noqa: E402
from tasks.goals import TowerOrder  # noqa: E402
from tasks.layout import layout_for  # noqa: E402
from tasks.plans import Plan, Proposal, SegmentReport  # noqa: E402
from tests.app_helpers import plan_goal  # noqa: E402


def kinds(rows, section: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in rows:
        if r.section == section:
            out.setdefault(r.kind, []).append(r.text)
    return out


def a_plan(**settings) -> Plan:
    s = {**asdict(PlannerSettings()), "mover": "move_diffuser.pt", **settings}
    segs = (SegmentReport("green on red", Proposal.GOAL, "mover", False, 0.4, 2, 1, True, (1.0,), None,
                          (-0.01, -1e-3, -1e-5), 16),
            SegmentReport("blue to the floor at 0.550,-0.300,30deg", Proposal.GOAL, "mover", True, 0.5, 0, 2, False,
                          sampled=32))
    return Plan(np.zeros((256, layout_for(5).dim), np.float32), TowerOrder(("red", "green")), "diffuser", s, seed=7,
                segments=segs)


def test_describe_lists_each_segments_pins_conditioning_guides_and_denoising():
    rows = describe(a_plan(clearance=2.0))
    assert kinds(rows, PLAN)["Sampling"] == ["10 denoising steps, 16 candidates per batch, plan seed 7"]
    first = kinds(rows, "Segment 1: green on red")
    assert first["Pinned"] == ["the start state (t = 0: the arm's joints, nothing held)"]  # no keyframes
    assert "green's pose, red's pose, the start joints, 3 other block(s) seen" in first["Conditioning"][0]  # five blocks
    assert first["Guide"][0].startswith("ToolAt ×10: the tool onto green at the grasp, above red at the release")
    assert first["Guide"][1].startswith("Clearance, weight 2, ×10")
    assert first["Ranking"] == ["PlacedAt (green let go within 3 cm of centred on red) + Smoothness"]
    assert first["Physics check"] == ["best ranked first, up to 4; if none passes, the rest and up to 2 more batches: "
                                      "1 tried, candidate 3 of 16 kept"]
    assert first["Post-processing"][0].startswith("dwells settled")
    assert first["Post-processing"][1].startswith("30 smoothing passes")
    assert first["Post-processing"][2].startswith("lifted: transit and carry raised over the blocks")
    assert first["Denoising"][0].startswith("ToolAt value -0.01 → -1e-05 m² (tool 10.0 → 0.32 cm off its targets) over 3 "
                                            "steps: segment 1's curve in the plot")
    second = kinds(rows, "Segment 2: blue to the floor at 0.550,-0.300,30deg")
    assert second["Pinned"][1].startswith("IK keyframes: the joints through the grasp dwell (t = 45–49) and the release "
                                          "dwell (t = 109–115) of 128")
    assert "the floor spot" in second["Conditioning"][0] and "4 other block(s)" in second["Conditioning"][0]
    assert "within 3 cm and 15° of its spot" in second["Ranking"][0]
    assert len(second["Post-processing"]) == 2  # keyframes pin the dwells: nothing to settle (smoothed, lifted)
    assert "not kept" in second["Denoising"][0]


def test_describe_follows_the_settings_off():
    rows = describe(a_plan(guide_scale=0.0, candidates=1, physics_check=False, smooth=0, settle=False, lift=False,
                          cond_scale=2.0))
    first = kinds(rows, "Segment 1: green on red")
    assert first["Guide"] == ["ToolAt: off (scale 0: the model alone)"]
    assert first["Conditioning"][0].endswith("; classifier-free guidance ×2")
    assert first["Physics check"] == ["off: the best ranked is played (candidate 3 of 16 kept)"]
    assert first["Post-processing"] == ["none: played as sampled"]


def test_describe_says_the_demonstrator_has_no_constraints():
    plan = Plan(np.zeros((128, layout_for(4).dim)), TowerOrder(("red", "green")), "demonstrator", {"version": 1})
    [row] = describe(plan)
    assert row.section == PLAN and row.text.startswith("none: the demonstrator is the task-and-motion planner")
    assert describe(None) == []


def test_the_panel_lists_the_shown_diffuser_plans_constraints_and_guides(window, qtbot):
    panel = window.viewer.constraints
    assert panel.rows() == [] and panel.topLevelItem(0).text(1) == EMPTY
    assert window.constraints_dock.widget() is panel  # a tab beside the library
    window.planner_panel.candidates.setValue(4)
    plan, _ = plan_goal(window, qtbot, "red,green")
    rows = panel.rows()
    assert rows == [(r.section, r.kind, r.text) for r in describe(plan)]
    seg = plan.segments[0]
    section = f"Segment 1: {seg.move}"
    shown = kinds(describe(plan), section)
    assert shown["Pinned"] == ["the start state (t = 0: the arm's joints, nothing held)"]
    assert shown["Guide"][0].startswith(f"ToolAt ×{plan.settings['guide_scale']:g}: the tool onto green")
    assert "green's pose, red's pose, the start joints, 2 other block(s) seen" in shown["Conditioning"][0]
    assert shown["Ranking"][0].startswith("PlacedAt (green let go within 3 cm of centred on red)")
    assert f"{seg.checked} tried, candidate {seg.chosen + 1} of {seg.sampled} kept" in shown["Physics check"][0]
    assert f"over {window.planner_panel.steps.value()} steps: segment 1's curve" in shown["Denoising"][0]
    window.new_scene()  # a still scene: no plan shown
    assert panel.rows() == []


def test_the_panel_says_the_demonstrators_plan_has_no_constraints(window, qtbot):
    window.planner_panel.planner_choice.setCurrentIndex(window.planner_panel.planner_choice.findData("demonstrator"))
    plan_goal(window, qtbot, "red,green")
    [(section, kind, text)] = window.viewer.constraints.rows()
    assert (section, kind) == (PLAN, "Constraints") and "the demonstrator is the task-and-motion planner" in text


def test_describe_a_whole_state_plan():
    seg = SegmentReport("green on red", Proposal.GOAL, "diffuser", True, 0.4, 0, 1, True, sampled=16)
    plan = Plan(np.zeros((128, layout_for(4).dim)), TowerOrder(("red", "green")), "diffuser",
                asdict(PlannerSettings.whole_state(guide_scale=5.0)), segments=(seg,))
    rows = kinds(describe(plan), "Segment 1: green on red")
    assert rows["Model"][0].startswith("the whole-state Diffuser")
    assert rows["Pinned"][1].endswith("the held flags, the other blocks' poses, the moved block's before and after")
    assert rows["Conditioning"] == ["none beyond the pinned states (the whole-state model sees no move)"]
    assert rows["Guide"] == ["PlacedOn(green on red) ×5"]
    assert rows["Post-processing"] == ["30 smoothing passes over the free joints (the start and the grasp and release "
                                       "dwells kept)"]
