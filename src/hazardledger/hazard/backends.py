"""Where blocks of parameter samples are computed: here (NumPy) or on a Dask cluster.

Every sample draws from its own random stream and every block computes each sample
row by row, so the figures are identical whichever backend runs them and however the
samples are split into chunks. Here, blocks run on a thread per core
(``HAZARDLEDGER_THREADS`` to choose; NumPy's loops release the interpreter lock, and each
thread keeps its own buffers), bit for bit the same figures for any number of threads.
Dask uses the cluster at ``DASK_SCHEDULER_ADDRESS`` or, without one, a local cluster of
worker processes on this machine.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import numpy as np

ENGINES = ("numpy", "dask")
THREADS_ENV = "HAZARDLEDGER_THREADS"
MAX_THREADS = 256
THREADED_RECORDS = 20_000  # measured: the demo's 512 records ran 1.6x slower on 2 threads
T = TypeVar("T")

# Told (blocks done, blocks in all) as blocks finish, in the thread that called map_blocks:
# a server preparing figures in the background shows how far it has got, and may give the
# computation up by raising (the blocks not yet started are then dropped).
PROGRESS: ContextVar[Callable[[int, int], None] | None] = ContextVar("PROGRESS", default=None)


def threads() -> int:
    """Threads the NumPy engine runs blocks on: ``HAZARDLEDGER_THREADS``, else one per core
    this process may use."""
    text = os.environ.get(THREADS_ENV, "").strip()
    if not text:
        return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                   else os.cpu_count() or 1)
    if not text.isdigit() or not 1 <= int(text) <= MAX_THREADS:
        raise ValueError(f"{THREADS_ENV}={text!r}: a whole number of threads from 1 to "
                         f"{MAX_THREADS}")
    return int(text)


def threaded(records: int | None) -> bool:
    """Whether the NumPy engine runs blocks of ``records`` records on several threads."""
    return threads() > 1 and (records is None or records >= THREADED_RECORDS)


def sample_blocks(n_samples: int, size: int, start: int = 0) -> list[np.ndarray]:
    """The samples from ``start`` to ``n_samples`` in blocks of ``size``."""
    return [np.arange(s, min(s + size, n_samples)) for s in range(start, n_samples, size)]


@contextmanager
def dask_client() -> Iterator[Any]:
    """A client of the cluster at ``DASK_SCHEDULER_ADDRESS``, else of a local cluster of one
    single-threaded worker process per core (their engine on one thread each)."""
    from distributed import Client, LocalCluster

    address = os.environ.get("DASK_SCHEDULER_ADDRESS")
    if address:
        with Client(address) as client:
            yield client
        return
    # Loopback only: the local cluster serves this process and nothing else.
    with LocalCluster(n_workers=os.cpu_count() or 1, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=None,
                      env={THREADS_ENV: "1"}) as cluster, Client(cluster) as client:
        yield client


def map_blocks(task: Callable[..., T], n_samples: int, chunk: int, engine: str,
               *shared: Any, records: int | None = None, start: int = 0) -> list[T]:
    """``task(block, *shared)`` for each block of the samples from ``start`` to
    ``n_samples``, in sample order. Blocks of fewer than THREADED_RECORDS ``records`` run on
    one thread: on small inputs NumPy's calls are too short to release the interpreter lock
    for long, and threads only contend for it."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine '{engine}' (engines: {', '.join(ENGINES)})")
    chunks = sample_blocks(n_samples, chunk, start)
    report = PROGRESS.get()

    def told(results: Iterator[T]) -> list[T]:
        out = []
        for result in results:
            out.append(result)
            if report is not None:
                report(len(out), len(chunks))
        return out

    if engine == "numpy":
        workers = min(threads(), len(chunks)) if threaded(records) else 1
        if workers <= 1:
            return told(task(block, *shared) for block in chunks)
        with ThreadPoolExecutor(workers, thread_name_prefix="hazard") as pool:
            futures = [pool.submit(task, block, *shared) for block in chunks]
            try:
                return told(f.result() for f in futures)
            except BaseException:
                # the blocks not started are dropped: a computation given up (a server's
                # checkpoint giving way, say) ends with the blocks running, not all of them
                for future in futures:
                    future.cancel()
                raise
    with dask_client() as client:
        # Inputs go to the workers once, not once per task.
        scattered = [client.scatter(obj, broadcast=True) for obj in shared]
        futures = [client.submit(task, block, *scattered, pure=False) for block in chunks]
        return told(iter(client.gather(futures)))
