"""Sign-in rate limit: at most N failed attempts per (user, address) in a sliding window.

In memory, per server process (a restart forgets it; several processes behind a balancer
each count their own). A success clears the key's failures.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class LoginLimiter:
    """Count failed sign-ins per key and refuse more than ``attempts`` per ``window_s``."""

    def __init__(
        self, attempts: int, window_s: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.attempts = attempts
        self.window_s = window_s
        self.clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, user: str, address: str) -> float | None:
        """Seconds until ``user`` may try again from ``address``, or ``None`` if they may now."""
        with self._lock:
            failures = self._recent((user.lower(), address))
            if len(failures) < self.attempts:
                return None
            return max(0.0, failures[0] + self.window_s - self.clock())

    def failed(self, user: str, address: str) -> None:
        """Record one failed attempt."""
        with self._lock:
            self._recent((user.lower(), address)).append(self.clock())

    def succeeded(self, user: str, address: str) -> None:
        """Forget the key's failures."""
        with self._lock:
            self._failures.pop((user.lower(), address), None)

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        horizon = self.clock() - self.window_s
        while failures and failures[0] <= horizon:
            failures.popleft()
        return failures
