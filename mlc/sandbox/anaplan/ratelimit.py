"""600 requests per rolling minute per tenant, across every Anaplan host, then 429.

Sources: the number comes only from the apis.io rate-limit profile of Anaplan (600/min/tenant,
"applies across all workspaces in a single tenant"); Anaplan confirms 429 = "rate limit exceeded;
retry with backoff" (help 721d3176). Decisions, all unverified:

* a *rolling* window of 60 s of sandbox time, counting only admitted requests (a rejected request
  does not push the window further out); the sandbox holds one tenant, so every emulated request on
  the auth, API, OAuth and CloudWorks hosts counts (never the ``/_sandbox/`` routes);
* no ``Retry-After`` header by default: whether Anaplan sends one is unverified, and anaplan-sdk
  ignores it while Anaplan Connect honours it *if present* — so the strict default makes clients
  back off on their own. ``retry_after=True`` (option, or ``POST /_sandbox/anaplan/ratelimit``) adds
  ``Retry-After`` with the whole seconds until the oldest counted request leaves the window;
* the 429 body is each host's usual error body (the Integration API envelope on the API host).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

WINDOW_SECONDS = 60.0


class RateLimiter:
    def __init__(
        self, per_minute: int, clock: Callable[[], float], retry_after: bool = False
    ) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self.retry_after = retry_after
        self._admitted: deque[float] = deque()

    def admit(self) -> float | None:
        """None when the request may proceed, else the seconds until a slot frees up."""
        now = self.clock()
        while self._admitted and self._admitted[0] <= now - WINDOW_SECONDS:
            self._admitted.popleft()
        if self.per_minute > 0 and len(self._admitted) >= self.per_minute:
            return max(0.0, self._admitted[0] + WINDOW_SECONDS - now)
        self._admitted.append(now)
        return None

    def retry_after_header(self, wait: float) -> dict[str, str]:
        if not self.retry_after:
            return {}
        return {"Retry-After": str(max(1, math.ceil(wait)))}

    def reset(self) -> None:
        self._admitted.clear()
