"""Sign-in throttling per client address and per user name, with doubling backoff.

Two counts of failed sign-ins over a sliding window (``web.login_window_s``):

* **per address**, whatever names it tries: after ``web.address_attempts`` failures every
  further try from that address waits 1, 2, 4 … seconds (capped at the window). Guessing
  many names from one place is slowed down, not only guessing one name.
* **per name**, whatever address it comes from: after ``web.login_attempts`` failures a
  further try for that name waits the same way, *but only from an address that is itself
  failing*. A correct password from an address with no recent failures always gets
  through, so nobody can lock a reviewer out by failing on purpose under their name.

Both apply to the client's real address: behind a reverse proxy, set ``web.trusted_proxies``
so :func:`client_address` reads it from ``X-Forwarded-For`` (otherwise every client would
share the proxy's address and its count). A success forgets that name's failures from that
address. In memory, per server process (a restart forgets it).
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from starlette.requests import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class _Failure:
    at: float
    name: str
    address: str


class LoginLimiter:
    """Count failed sign-ins per address and per name; say how long the next try waits."""

    def __init__(
        self,
        attempts: int,
        window_s: float,
        *,
        address_attempts: int | None = None,
        base_delay_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.attempts = attempts
        self.address_attempts = address_attempts if address_attempts is not None else 4 * attempts
        self.window_s = window_s
        self.base_delay_s = base_delay_s
        self.clock = clock
        self._failures: deque[_Failure] = deque()
        self._lock = threading.Lock()

    def retry_after(self, user: str, address: str) -> float | None:
        """Seconds until ``user`` may try again from ``address``, or ``None`` if they may now."""
        name = user.lower()
        with self._lock:
            now = self._prune()
            from_address = [f for f in self._failures if f.address == address]
            waits = [self._wait(from_address, self.address_attempts, now)]
            if from_address:  # a clean address is never held back by the name's count
                for_name = [f for f in self._failures if f.name == name]
                waits.append(self._wait(for_name, self.attempts, now))
        longest = max((w for w in waits if w is not None), default=None)
        return longest

    def failed(self, user: str, address: str) -> None:
        """Record one failed attempt."""
        with self._lock:
            self._failures.append(_Failure(self.clock(), user.lower(), address))

    def succeeded(self, user: str, address: str) -> None:
        """Forget the failures of ``user`` from ``address`` (their own typos)."""
        name = user.lower()
        with self._lock:
            kept = [f for f in self._failures if not (f.name == name and f.address == address)]
            self._failures = deque(kept)

    def _wait(self, failures: list[_Failure], allowed: int, now: float) -> float | None:
        if len(failures) < allowed:
            return None
        delay = min(self.window_s, self.base_delay_s * 2 ** (len(failures) - allowed))
        left = failures[-1].at + delay - now
        return left if left > 0 else None

    def _prune(self) -> float:
        now = self.clock()
        while self._failures and self._failures[0].at <= now - self.window_s:
            self._failures.popleft()
        return now


def trusted_networks(entries: Iterable[str]) -> list[Network]:
    """``web.trusted_proxies`` as networks (a bare address is a /32 or /128)."""
    return [ipaddress.ip_network(entry.strip(), strict=False) for entry in entries]


def _in(address: str, networks: list[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request: Request, proxies: list[Network]) -> str:
    """The client's address: the connection's, or, when that is a trusted proxy, the
    right-most ``X-Forwarded-For`` entry that is not itself a trusted proxy."""
    peer = request.client.host if request.client else "unknown"
    if not proxies or not _in(peer, proxies):
        return peer
    forwarded = [a.strip() for a in request.headers.get("x-forwarded-for", "").split(",")]
    for address in reversed([a for a in forwarded if a]):
        if not _in(address, proxies):
            try:
                return str(ipaddress.ip_address(address))
            except ValueError:
                return peer  # a malformed entry: trust nothing it says
    return peer
