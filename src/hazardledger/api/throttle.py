"""Slowing down token guessing, and remembering when tokens were used.

A token has 256 bits of entropy, so guessing one is hopeless; what repeated failures from
one address show is a misconfigured client or someone probing, and both are worth a line
in the log and a pause. Each server process keeps its own counts (with ``--workers N`` an
address may fail up to N times the limit before every worker answers 429), in memory, so
a restart forgets them. Behind a reverse proxy every client has the proxy's address: set
the limit there too.
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict, deque
from dataclasses import dataclass, field

LOG = logging.getLogger("hazardledger.api")

FAILURES_ALLOWED = 10  # failed authentications from one address ...
WINDOW_S = 60.0  # ... within this many seconds, after which it gets 429 until they age out
MAX_ADDRESSES = 10_000  # addresses tracked at once; the longest quiet are forgotten first
USE_RECORD_INTERVAL_S = 60.0  # a token's last use is written at most this often


def log_to_stderr() -> None:
    """Show the server's warnings (such as an address being slowed) on standard error, in
    the server process and in each worker."""
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        level=logging.WARNING)


@dataclass
class FailedLogins:
    """Failed authentications per client address within a sliding window."""

    allowed: int = FAILURES_ALLOWED
    window_s: float = WINDOW_S
    max_addresses: int = MAX_ADDRESSES
    _failures: OrderedDict[str, deque[float]] = field(default_factory=OrderedDict)

    def wait_s(self, address: str, now: float) -> int:
        """Whole seconds ``address`` must wait before its credentials are checked again;
        0 if it may try now."""
        times = self._failures.get(address)
        if times is None:
            return 0
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[address]
            return 0
        if len(times) < self.allowed:
            return 0
        return max(1, math.ceil(times[0] + self.window_s - now))

    def failed(self, address: str, now: float) -> None:
        """Count a failed authentication; the first that reaches the limit is logged."""
        times = self._failures.pop(address, None) or deque(maxlen=self.allowed)
        times.append(now)
        self._failures[address] = times  # most recent last, so the oldest go first
        while len(self._failures) > self.max_addresses:
            self._failures.popitem(last=False)
        if len(times) == self.allowed:
            LOG.warning("%d failed authentications from %s within %.0f s: its requests are "
                        "answered 429 until the first of them is %.0f s old", self.allowed,
                        address, self.window_s, self.window_s)


@dataclass
class TokenUse:
    """When each user's last use was written, so that a busy client costs one write a
    minute, not one a request."""

    interval_s: float = USE_RECORD_INTERVAL_S
    _written: dict[str, float] = field(default_factory=dict)

    def due(self, name: str, now: float) -> bool:
        """Whether ``name``'s use should be written now (and, if so, note that it is)."""
        last = self._written.get(name)
        if last is not None and now - last < self.interval_s:
            return False
        self._written[name] = now
        return True
