"""Several server processes on one port, each with its own listening socket.

uvicorn's own multi-process mode shares one listening socket, and each worker's event loop
accepts every waiting connection it can at once: when a client opens its connections in a
burst (QGIS, a proxy, a load test), one worker often takes nearly all of them and works
alone while the other idles. Measured with 32 keep-alive readers on 2 workers: splits of
36/0 and 35/1 happened, and halved the throughput of a 20/16 split. Here every worker binds
its own socket with SO_REUSEPORT, so the kernel spreads new connections across workers.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event as EventType
from types import FrameType

from .protections import DEFAULT_MAX_BODY

PR_SET_PDEATHSIG = 1  # prctl(2)
STOP_WAIT_S = 30  # how long a worker may take to finish its requests once told to stop


class PortInUse(ValueError):
    """The address is taken by another program (or another server): bad input."""


class ServerFailed(Exception):
    """The workers could not be kept running."""


def _address(host: str, port: int) -> tuple[socket.AddressFamily, tuple[str, int]]:
    family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                  flags=socket.AI_PASSIVE)[0]
    return family, (str(address[0]), int(address[1]))


def check_port(host: str, port: int) -> None:
    """Raise :class:`PortInUse` if ``host:port`` cannot be listened on.

    Bound without SO_REUSEPORT on purpose: a running server's workers share the port with
    one another, and this check must not let a second server join them."""
    family, address = _address(host, port)
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise PortInUse(f"cannot listen on {host}:{port}: {exc.strerror}") from exc


def _end_with_parent(parent: int) -> None:
    """Have the kernel stop this worker when the server process dies, even by SIGKILL:
    an orphaned worker would go on serving and hold the port."""
    with contextlib.suppress(OSError, AttributeError):  # Linux only; elsewhere, orphans
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # it died before that took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _serve_one(location: str, host: str, port: int, ready: EventType, go: EventType,
               parent: int, max_body: int, prepare_ahead: bool) -> None:
    _end_with_parent(parent)
    import uvicorn

    from .app import create_app
    from .throttle import log_to_stderr

    log_to_stderr()
    family, address = _address(host, port)
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    config = uvicorn.Config(create_app(location, max_body, prepare_ahead=prepare_ahead),
                            log_level="warning")
    ready.set()
    # Listening starts together: a worker that listened alone for a moment would take the
    # first burst of connections, and keep-alive clients stay where they land.
    go.wait()
    # Ctrl-C reaches every worker; uvicorn has stopped by the time it is raised again
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(config).run(sockets=[sock])


def run_workers(location: str, host: str, port: int, workers: int,
                tell: Callable[[str], None], max_body: int = DEFAULT_MAX_BODY,
                prepare_ahead: bool = False) -> None:
    """Serve the ledger at ``location`` from ``workers`` processes until SIGTERM or SIGINT;
    a worker that dies is replaced. Returns once every worker has stopped."""
    check_port(host, port)
    context = multiprocessing.get_context("spawn")
    stopping = False
    failed: str | None = None

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}

    go = context.Event()

    def start() -> tuple[BaseProcess, EventType]:
        ready = context.Event()
        process = context.Process(target=_serve_one, daemon=True,
                                  args=(location, host, port, ready, go, os.getpid(),
                                        max_body, prepare_ahead))
        process.start()
        return process, ready

    running = [start() for _ in range(workers)]
    try:
        while not stopping and not all(ready.is_set() or not process.is_alive()
                                       for process, ready in running):
            time.sleep(0.05)
        go.set()
        while not stopping:
            multiprocessing.connection.wait([p.sentinel for p, _ in running], timeout=0.5)
            for i, (process, ready) in enumerate(running):
                if process.is_alive() or stopping:
                    continue
                if not ready.is_set():  # it never got to serving: another try would fail too
                    stopping = True
                    failed = (f"a server worker failed on start (exit code "
                              f"{process.exitcode}); see its message above")
                    break
                tell(f"server worker {process.pid} stopped (exit code {process.exitcode}); "
                    "starting another")
                running[i] = start()
    finally:
        for process, _ in running:
            if process.is_alive():
                process.terminate()  # uvicorn finishes the requests in hand, then exits
        deadline = time.monotonic() + STOP_WAIT_S
        for process, _ in running:
            process.join(max(deadline - time.monotonic(), 0))
            if process.is_alive():
                process.kill()
                process.join()
        for s, handler in previous.items():
            signal.signal(s, handler)
    if failed:
        raise ServerFailed(failed)
