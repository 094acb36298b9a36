"""Shared limits on a build's LLM traffic: requests per minute and tokens per minute.

What the libraries already do is used as is:

* requests per minute — langchain's :class:`~langchain_core.rate_limiters.InMemoryRateLimiter`
  (a thread-safe token bucket) attached to the chat model, so every request of every worker
  thread, repair turns included, waits for a slot;
* 429 and 5xx replies — the openai SDK's retries with exponential backoff that honours
  ``Retry-After`` / ``retry-after-ms`` (``rate_limit.max_retries`` of the manifest).

What they lack is a tokens-per-minute budget, :class:`TokenBudget`: a sliding 60-second
window of the tokens actually spent (from each draft's ``Usage``). A worker waits before
drafting while the window is full. Token counts are only known after a call, so a minute
may overshoot by the drafts already in flight (at most ``concurrency`` drafts).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from langchain_core.rate_limiters import InMemoryRateLimiter

WINDOW_S = 60.0


def request_limiter(requests_per_minute: float | None) -> InMemoryRateLimiter | None:
    """A shared limiter for ``requests_per_minute`` (None = no limit)."""
    if requests_per_minute is None:
        return None
    return InMemoryRateLimiter(
        requests_per_second=requests_per_minute / WINDOW_S,
        check_every_n_seconds=0.05,
        max_bucket_size=1,
    )


class TokenBudget:
    """At most ``tokens_per_minute`` tokens spent in any 60-second window (see module doc)."""

    def __init__(
        self,
        tokens_per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limit = tokens_per_minute
        self._clock = clock
        self._sleep = sleep
        self._spent: deque[tuple[float, int]] = deque()
        self._lock = threading.Lock()

    def _used(self, now: float) -> int:
        while self._spent and now - self._spent[0][0] >= WINDOW_S:
            self._spent.popleft()
        return sum(n for _, n in self._spent)

    def wait(self) -> float:
        """Block until the window has room; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                if self._used(now) < self.limit:
                    return waited
                pause = max(0.01, WINDOW_S - (now - self._spent[0][0]))
            self._sleep(pause)
            waited += pause

    def spend(self, tokens: int) -> None:
        """Record ``tokens`` spent now."""
        if tokens > 0:
            with self._lock:
                self._spent.append((self._clock(), tokens))
