"""Where a command's episodes run: in this process, in spawned worker processes, or on Ray workers.

Every executor runs the same `work(job)` over the same jobs and yields the results in job order,
so the command's one writer (collect, evaluate) writes the same file whichever executor ran
them. `work` is pickled once per worker, so a worker builds what it needs (a planner) once.
"""
from __future__ import annotations

import multiprocessing as mp
import signal
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tasks.cluster import RayTarget


def ordered_results(work: Callable[[Any], Any], jobs: Sequence, workers: int = 1, processes: bool = False,
                    should_stop: Callable[[], bool] = lambda: False, ray: RayTarget | None = None,
                    label: Callable[[Any], str] = str) -> Iterator[Any]:
    """`work(job)` for each job, yielded in job order.

    In this process when workers <= 1 (unless `processes`: a GUI must keep PyBullet, which holds
    Python's lock, out of its own process); in `workers` spawned processes; or, with `ray`, on
    one Ray worker per CPU (tasks/cluster.py; `label(job)` names a job in its messages). In worker
    processes `should_stop()` is polled while waiting; when it says stop, the workers are ended at
    once (the jobs they were running are simply not yielded).
    """
    if not jobs:
        return  # nothing to run: no Ray instance or worker processes started for it
    if ray is not None:
        from tasks.cluster import ray_results

        yield from ray_results(work, jobs, ray, should_stop, label)
        return
    if workers <= 1 and not processes:
        yield from map(work, jobs)
        return
    # spawn: a fresh interpreter per worker, never a forked PyBullet or PyTorch state.
    with mp.get_context("spawn").Pool(max(1, workers), initializer=_start_worker, initargs=(work,)) as pool:
        results = pool.imap(_run, jobs, chunksize=1)
        for _ in jobs:
            while True:
                if should_stop():
                    return  # leaving the block terminates the pool
                try:
                    result = results.next(timeout=0.1)
                    break
                except mp.TimeoutError:
                    continue
            yield result


_work: Callable[[Any], Any] | None = None  # a worker process's work, set once when it starts


def _start_worker(work: Callable[[Any], Any]) -> None:
    global _work
    # Ctrl+C reaches every process of the terminal's group: the parent decides when to stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from tasks.lifeline import bind_to_parent

    bind_to_parent()  # and a parent ended otherwise, even by SIGKILL, takes its workers with it
    _work = work


def _run(job: Any) -> Any:
    return _work(job)
