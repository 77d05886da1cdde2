"""PDDLStream-style task and motion planning demonstrator (domain.pddl + streams)."""
from tasks.demonstrator.solver import GENERATOR_VERSION, Solution, Demonstrator, PlanningError

__all__ = ["Demonstrator", "Solution", "PlanningError", "GENERATOR_VERSION"]


_shared: Demonstrator | None = None


def shared() -> Demonstrator:
    """This process's demonstrator, made on first use (it holds a planning physics client)."""
    global _shared
    if _shared is None:
        _shared = Demonstrator()
    return _shared
