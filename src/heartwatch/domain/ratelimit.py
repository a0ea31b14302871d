"""Counting failures per client, with no I/O: how many times something (a client address,
a user name) failed within the last window, and how long it must wait when that is too
many.

A sliding window, exact: each tracked client keeps the moments of its last `limit`
failures, no more. A client is held back while its `limit`-th latest failure is less
than `window_s` old, until that failure leaves the window. Moments are monotonic seconds
(`time.monotonic()`), passed in like every rule's `now`.

Memory is bounded: at most `max_tracked` clients are kept. Past that, the clients whose
failures have all left the window are dropped first, then the least recently failed
(someone sending from more addresses than that can spread their tries out anyway, and
IPv6 addresses are counted per /64, see `client_bucket`).
"""

from __future__ import annotations

import ipaddress
import math
from collections import OrderedDict, deque


class FailureWindow:
    """At most `limit` failures per `window_s` seconds per client."""

    def __init__(self, limit: int, window_s: float, max_tracked: int = 10_000) -> None:
        if limit < 1 or window_s <= 0 or max_tracked < 1:
            raise ValueError("limit, window and max_tracked must be positive")
        self.limit = limit
        self.window_s = window_s
        self.max_tracked = max_tracked
        # Least recently failed first.
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, who: str, now: float) -> float | None:
        """Seconds `who` must wait before trying again; None: it may try now."""
        failures = self._failures.get(who)
        if failures is None or len(failures) < self.limit:
            return None
        wait = failures[0] + self.window_s - now
        return wait if wait > 0 else None

    def failed(self, who: str, now: float) -> None:
        """Count one failure of `who` at `now`."""
        failures = self._failures.get(who)
        if failures is None:
            if len(self._failures) >= self.max_tracked:
                self._make_room(now)
            failures = self._failures[who] = deque(maxlen=self.limit)
        else:
            self._failures.move_to_end(who)
        failures.append(now)

    def forget(self, who: str) -> None:
        """Clear `who`'s failures (a log-in that succeeded)."""
        self._failures.pop(who, None)

    def tracked(self) -> int:
        return len(self._failures)

    def _make_room(self, now: float) -> None:
        horizon = now - self.window_s
        self._failures = OrderedDict(
            (who, failures) for who, failures in self._failures.items() if failures[-1] > horizon
        )
        while len(self._failures) >= self.max_tracked:
            self._failures.popitem(last=False)


def retry_after_header(seconds: float) -> str:
    """`Retry-After` is whole seconds; rounded up, so a client that waits that long is
    let through."""
    return str(max(1, math.ceil(seconds)))


def client_bucket(address: str | None) -> str:
    """Whom a request's failures are counted against: its IPv4 address, or the /64 of
    its IPv6 address (one host usually holds a whole /64, and could otherwise try from a
    new address every time). An IPv4 address mapped into IPv6 counts as the IPv4 one.
    Anything else (a Unix socket, no address) is counted as it is."""
    if not address:
        return "-"
    if ":" not in address:  # IPv4 (or a name): kept as it is, not parsed on every request
        return address
    try:
        ip = ipaddress.IPv6Address(address)
    except ValueError:
        return address
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.IPv6Network((ip, 64), strict=False))
