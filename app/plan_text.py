"""What the window says of a plan: its outcome beside the view, its settings in the library."""
from __future__ import annotations

from tasks.plans import Plan, Proposal


def short_settings(plan: Plan) -> str:
    """A plan's settings in a few words (the library's column)."""
    s = plan.settings
    if plan.planner == "diffuser":
        model = f"move model step {s['mover_train_step']}" if s.get("mover") else f"whole-state step {s.get('train_step')}"
        return f"{s.get('steps')} steps, {s.get('candidates')} cand., {model}"
    return f"TAMP {s.get('version', '')}".strip()


def result_text(plan: Plan, result) -> str:
    """One plan's outcome for the side panel: planner, goal, time, score, and its moves in order
    (saying how many the Diffuser chose itself, for the tallest-tower goal)."""
    verdict = "strict success" if result.strict_success else "no strict success"
    text = (f"<b>{plan.planner}</b>: '{plan.goal}' in {plan.plan_seconds:.2f} s<br>"
            f"score {result.score:.0f} / 100, {verdict}, {len(result.states)} states")
    segs = plan.segments
    if not segs:
        return text
    chosen = sum(s.proposal in (Proposal.DIFFUSER, Proposal.DIFFUSER_RULE) for s in segs)
    head = ("moves" if not chosen else "moves chosen by the Diffuser" if chosen == len(segs)
            else f"moves ({chosen} chosen by the Diffuser)")
    return f"{text}<br>{head}: " + " → ".join(s.move for s in segs)
