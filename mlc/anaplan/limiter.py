"""One request limiter per Anaplan tenant, shared by every connection and model of that tenant.

Anaplan limits the Integration API to 600 requests per minute per tenant (reference §3; the number
comes from a third-party profile and is unconfirmed in Anaplan's own text, so it is configurable).
The limit is per *tenant*, so every client of the tenant must draw from one limiter: two model
actors with their own 600/min limiters would together send 1,200.

``aiolimiter.AsyncLimiter(max_rate, period)`` is a leaky bucket: it admits a burst of
``max_rate`` and then leaks at ``max_rate / period`` per second, so ``AsyncLimiter(600, 60)``
admits up to 1,200 requests in a rolling minute (600 at once, 600 more as it drains). A bucket of
capacity ``b`` leaking ``r`` per second admits at most ``b + r·W`` in any window ``W``; choosing
``b = N/20`` and ``r = (N - b)/W`` keeps every rolling window at ``N`` or below, while still
letting a short burst through without waiting.
"""

from __future__ import annotations

from aiolimiter import AsyncLimiter

#: Anaplan's documented-by-others budget: requests per rolling minute per tenant.
TENANT_REQUESTS_PER_MINUTE = 600


def rolling_window_limiter(max_requests: int, period: float = 60.0) -> AsyncLimiter:
    """A limiter that never admits more than ``max_requests`` in any ``period`` seconds.

    :raises ValueError: ``max_requests`` < 1 or ``period`` <= 0.
    """
    if max_requests < 1 or not period > 0:
        raise ValueError(
            f"a request budget needs max_requests >= 1 and period > 0, got {max_requests}/{period}"
        )
    burst = max(1, max_requests // 20)
    if burst == max_requests:
        return AsyncLimiter(1, period / max_requests)
    leak_per_second = (max_requests - burst) / period
    return AsyncLimiter(burst, burst / leak_per_second)


class TenantLimiters:
    """The process's limiters, one per tenant key; create one registry and pass it around.

    A registry object rather than a module-level dict: an ``AsyncLimiter`` binds to the event loop
    that first uses it, and a process (or a test session) may run more than one loop.
    """

    def __init__(self) -> None:
        self._limiters: dict[str, AsyncLimiter] = {}

    def for_tenant(
        self,
        tenant_key: str,
        max_requests: int = TENANT_REQUESTS_PER_MINUTE,
        period: float = 60.0,
    ) -> AsyncLimiter:
        """The tenant's limiter, created on first use with the given budget.

        Later calls for the same tenant get the same object whatever budget they pass: the first
        configuration wins, as the budget belongs to the tenant, not to one connection.
        """
        limiter = self._limiters.get(tenant_key)
        if limiter is None:
            limiter = self._limiters[tenant_key] = rolling_window_limiter(max_requests, period)
        return limiter
