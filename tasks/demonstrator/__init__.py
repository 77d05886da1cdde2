"""PDDLStream-style task and motion planning demonstrator (domain.pddl + streams)."""
from tasks.demonstrator.solver import GENERATOR_VERSION, DemoResult, Demonstrator, PlanningError

__all__ = ["Demonstrator", "DemoResult", "PlanningError", "GENERATOR_VERSION"]
