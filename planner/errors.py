"""The planner's errors, importable without PyTorch: a command that never loads a model (the
demonstrator's plan, collection) catches them without paying for torch's import."""


class CheckpointError(ValueError):
    """A missing, unreadable or unfit checkpoint; the message names the file and the problem."""
