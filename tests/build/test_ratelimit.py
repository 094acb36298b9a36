"""The tokens-per-minute budget (a fake clock) and the request limiter factory."""

from __future__ import annotations

from langchain_core.rate_limiters import InMemoryRateLimiter

from pipeline.build.ratelimit import TokenBudget, request_limiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_budget_waits_until_the_window_frees() -> None:
    clock = FakeClock()
    budget = TokenBudget(1000, clock=clock, sleep=clock.sleep)
    assert budget.wait() == 0.0
    budget.spend(600)
    clock.now = 10.0
    assert budget.wait() == 0.0  # 600 < 1000
    budget.spend(500)  # 1100 spent within the minute
    clock.now = 20.0
    waited = budget.wait()
    assert waited == 40.0  # until the first spend (t=0) leaves the window at t=60
    assert clock.now == 60.0
    budget.spend(2000)
    assert budget.wait() > 0  # one spend larger than the limit still blocks for a minute


def test_request_limiter() -> None:
    assert request_limiter(None) is None
    limiter = request_limiter(120)
    assert isinstance(limiter, InMemoryRateLimiter)
    assert limiter.requests_per_second == 2.0
