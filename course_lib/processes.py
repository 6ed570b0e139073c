"""Worker processes on this machine: launch, deadlines, clean-up.

Lesson 06's measurements run in fresh Python processes (multiprocessing
"spawn": forking a Jupyter kernel that already runs threads can deadlock):
the DDP/FSDP ranks of :mod:`course_lib.distributed` and the serving replicas
of :mod:`course_lib.serving`. This module is the plumbing they share and
nothing else:

- :func:`check_world_size`: how many workers this machine can start;
- :func:`launch`: start them, run a function in each, return its results;
  every wait has a deadline, a worker's exception is re-raised here with its
  traceback, a worker whose parent disappears exits by itself;
- :func:`shutdown` and :func:`worker_processes`: nothing is left behind.

Scripts that call :func:`launch` need the usual ``if __name__ == "__main__":``
guard.
"""

from __future__ import annotations

import atexit
import gc
import multiprocessing as mp
import multiprocessing.connection
import os
import threading
import time
import traceback
from multiprocessing import resource_tracker

import psutil

from . import _validate as v

MAX_WORLD_SIZE = 8
WORKER_MB = 350  # resident memory of one worker (torch + FSDP + dynamo): ~320 MB measured here
DEFAULT_TIMEOUT_S = 120.0


def check_world_size(world_size: int, *, name: str = "world_size", per_worker_mb: int = WORKER_MB) -> int:
    """Validate a number of worker processes against what this machine can start:
    at most :data:`MAX_WORLD_SIZE`, and enough free memory for
    ``per_worker_mb`` MB each. Raises ``ValueError`` naming the limit. Used by
    :func:`course_lib.distributed.run_training` and :func:`course_lib.serving.serve`; not tied to one lesson.
    """
    n = v.positive_int(name, world_size)
    per_worker_mb = v.positive("per_worker_mb", per_worker_mb, maximum=1e7)
    if n > MAX_WORLD_SIZE:
        raise ValueError(
            f"{name} must be <= {MAX_WORLD_SIZE} worker processes on this machine, got {n}; "
            "bigger worlds belong on a cluster (torchrun --nnodes ...)"
        )
    free_mb = v.available_memory() / 2**20  # the container's limit when it has one
    if n * per_worker_mb > free_mb:
        most = int(free_mb // per_worker_mb)
        raise ValueError(
            f"{name}={n} needs about {n * per_worker_mb:g} MB (per_worker_mb={per_worker_mb:g} MB per worker process) "
            f"but only {free_mb:.0f} MB are free; "
            + (f"use {name} <= {most}" if most else "not even one worker fits: lower per_worker_mb")
        )
    return n


def _stop_processes(procs) -> None:
    """Terminate, then kill, every process still alive; join them all."""
    for p in procs:
        if p.is_alive():
            p.terminate()
    deadline = time.monotonic() + 5.0
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.kill()
            p.join(5.0)
    for p in procs:
        try:
            p.close()
        except ValueError:
            pass


def _orphan_watch(parent: int) -> None:
    """In a worker: exit if the process that started us is gone (never outlive it)."""
    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(3)

    threading.Thread(target=watch, daemon=True).start()


def _entry(target, rank, n, conn, queues, parent, args):
    """Worker main: run ``target``, send ``("ok", value)`` or ``("error", traceback)``."""
    _orphan_watch(parent)
    try:
        value = target(rank, n, queues, lambda info=None: conn.send(("ready", info)), *args)
        conn.send(("ok", value))
    except BaseException:
        conn.send(("error", traceback.format_exc()))
    finally:
        conn.close()


@v.checked(finite=False)  # the workers' results are theirs to report (a NaN measurement is not an overflow of launch's)
def launch(
    target, n_workers: int, args: tuple = (), *, timeout_s: v.Timeout = DEFAULT_TIMEOUT_S, feed=None,
    n_queues: v.IntRange(0, 1000) = 0
) -> list:
    """Start ``n_workers`` fresh Python processes (multiprocessing ``"spawn"``),
    each running ``target(rank, n_workers, queues, ready, *args)``, and return
    their return values in rank order.

    ``queues`` is a list of ``n_queues`` shared ``multiprocessing`` queues.
    With ``feed``, this process waits until every worker has called
    ``ready(info)`` once, then runs ``feed(queues, wait_ready, infos,
    deadline)``: ``infos`` lists what each rank passed to ``ready``, and
    ``wait_ready(ranks)`` blocks until each of those ranks has called
    ``ready`` once more (the serving measurement sends its requests and
    waits for each phase this way).

    Every wait has a deadline: raises ``TimeoutError`` if the workers do not
    all finish within ``timeout_s``, ``RuntimeError`` with the worker's
    traceback if one raises, and ``RuntimeError`` with its exit code if one
    dies. Whatever happens, every worker is terminated and joined before this
    returns; a worker whose parent disappears exits by itself. Used by
    :func:`course_lib.distributed.run_training`, :func:`course_lib.serving.serve` and
    :func:`course_lib.engine.run_replicas`; not tied to one lesson.
    """
    # Arguments are checked before anything starts, so a bad one costs no clean-up.
    if not callable(target):
        raise TypeError(f"target must be a function to run in each worker, got {v.show(target)}")
    if feed is not None and not callable(feed):
        raise TypeError(f"feed must be a function or None, got {v.show(feed)}")
    n_workers = check_world_size(n_workers, name="n_workers")
    try:
        return _launch(target, n_workers, args, timeout_s, feed, n_queues)
    except BaseException as err:
        err.__traceback__ = None  # drop _launch's frame: it holds the queues, whose semaphores must go first
        raise
    finally:
        gc.collect()
        shutdown()  # the resource tracker that "spawn" starts: nothing of ours outlives the call


def _launch(target, n_workers, args, timeout_s, feed, n_queues) -> list:
    n = n_workers  # checked by launch
    ctx = mp.get_context("spawn")  # fresh interpreters: fork from a threaded kernel can deadlock
    queues = [ctx.Queue() for _ in range(n_queues)]
    pipes = [ctx.Pipe(duplex=False) for _ in range(n)]
    procs = [
        ctx.Process(target=_entry, args=(target, r, n, pipes[r][1], queues, os.getpid(), args), daemon=True)
        for r in range(n)
    ]
    started: list = []
    results: dict[int, object] = {}
    readies: list[list] = [[] for _ in range(n)]
    deadline = time.monotonic() + timeout_s

    def pump(done) -> None:
        """Handle worker messages until ``done()`` is true."""
        while not done():
            pending = {pipes[r][0]: r for r in range(n) if r not in results}
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"workers {sorted(pending.values())} did not finish within timeout_s={timeout_s:g} s"
                )
            for conn in mp.connection.wait(list(pending), timeout=min(remaining, 1.0)):
                rank = pending[conn]
                try:
                    kind, value = conn.recv()
                except (EOFError, OSError):
                    procs[rank].join(1.0)
                    raise RuntimeError(
                        f"worker {rank} died (exit code {procs[rank].exitcode}) before reporting"
                    ) from None
                if kind == "error":
                    raise RuntimeError(f"worker {rank} failed:\n{value}")
                if kind == "ready":
                    readies[rank].append(value)
                else:
                    results[rank] = value

    try:
        for p in procs:
            p.start()
            started.append(p)
        for _, child_end in pipes:
            child_end.close()  # so a dead worker reads as EOF here
        if feed is not None:
            pump(lambda: all(readies))

            def wait_ready(ranks):
                ranks = list(ranks)
                want = {r: len(readies[r]) + 1 for r in ranks}
                pump(lambda: all(len(readies[r]) >= want[r] for r in ranks))

            feed(queues, wait_ready, [readies[r][0] for r in range(n)], deadline)
        pump(lambda: len(results) == n)
        for p in started:
            p.join(max(0.1, deadline - time.monotonic()))
        return [results[r] for r in range(n)]
    finally:
        _stop_processes(started)
        for parent_end, _ in pipes:
            parent_end.close()
        for q in queues:
            q.close()
            if len(results) == n:
                q.join_thread()  # every item was read: the feeder thread ends at once
            else:
                q.cancel_join_thread()  # a dead reader would block it forever


def shutdown() -> None:
    """Stop multiprocessing's helper process (the resource tracker that every
    "spawn" start uses), so nothing this module started outlives a lesson.
    :func:`launch` calls it when it returns; safe to call any number of
    times; also runs at interpreter exit. Used by :func:`course_lib.processes.launch`; not tied to one lesson."""
    try:
        # Python (3.11–3.13) has no public call that stops the tracker: the
        # module offers only ensure_running/register/unregister, so this is
        # the one private call, kept here.
        resource_tracker._resource_tracker._stop()
    except Exception:  # pragma: no cover - not started, or already stopped
        pass


atexit.register(shutdown)


def worker_processes() -> list[int]:
    """Process ids of this process's living children. Empty after
    :func:`course_lib.distributed.run_training` or :func:`course_lib.serving.serve` return and
    :func:`shutdown` ran. Lesson 06 and its tests use it to show no process
    is left behind. Lesson 06, sections 2 and 7."""
    alive = []
    for p in psutil.Process().children(recursive=True):
        try:
            if p.status() != psutil.STATUS_ZOMBIE:
                alive.append(p.pid)
        except psutil.Error:
            pass
    return sorted(alive)
