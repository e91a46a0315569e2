"""Per-partner rate and concurrency limits, and throttling of repeated bad tokens.

* :class:`RateLimiter`: a token bucket per key (partner name): ``rate_per_s`` sustained, ``burst``
  at once; over it, :meth:`RateLimiter.check` gives the seconds to wait (answered 429 with
  ``Retry-After``).
* :class:`ConcurrencyLimiter`: at most ``limit`` queries of one partner running at once; a further
  one waits up to ``wait_s`` for a slot, then gets 429.
* :class:`FailureThrottle`: failed authentications counted per client address in a sliding window;
  past ``max_failures`` the address is refused (429) until the window has passed, *before* the
  token is checked, and the lock-out is logged (WARNING, once per window and key). Failures per
  token id are counted and logged the same way but never lock the token id: secrets have 256 bits
  (brute force is hopeless), and a lock per token id would let anyone lock a partner out.

All are thread-safe and in memory (one service process); keys are bounded (oldest forgotten).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

MAX_KEYS = 10_000


class Limited(Exception):
    """A limit was reached: answer 429 with ``Retry-After: retry_after_s``."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, math.ceil(retry_after_s))


class RateLimiter:
    """Token buckets per key; ``rate_per_s <= 0`` means unlimited."""

    def __init__(self, rate_per_s: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate_per_s
        self.burst = max(burst, 1.0)
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        """Take one token for ``key`` or raise :class:`Limited`."""
        if self.rate <= 0:
            return
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                raise Limited(f"rate limit: at most {self.rate:g} requests/s ({self.burst:g} at once)",
                              (1.0 - tokens) / self.rate)
            self._buckets[key] = (tokens - 1.0, now)
            self._buckets.move_to_end(key)
            while len(self._buckets) > MAX_KEYS:
                self._buckets.popitem(last=False)


class ConcurrencyLimiter:
    """At most ``limit`` holders per key at once; ``limit <= 0`` means unlimited."""

    def __init__(self, limit: int, wait_s: float) -> None:
        self.limit = limit
        self.wait_s = wait_s
        self._cond = threading.Condition()
        self._running: dict[str, int] = {}

    @contextmanager
    def slot(self, key: str) -> Iterator[None]:
        """Hold one of ``key``'s slots (waiting up to ``wait_s``) or raise :class:`Limited`."""
        if self.limit <= 0:
            yield
            return
        deadline = time.monotonic() + self.wait_s
        with self._cond:
            while self._running.get(key, 0) >= self.limit:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Limited(f"at most {self.limit} queries of one partner run at once; retry when one ends",
                                  min(self.wait_s, 5.0))
                self._cond.wait(left)
            self._running[key] = self._running.get(key, 0) + 1
        try:
            yield
        finally:
            with self._cond:
                n = self._running.get(key, 1) - 1
                if n:
                    self._running[key] = n
                else:
                    self._running.pop(key, None)
                self._cond.notify_all()


class FailureThrottle:
    """Refuse keys with more than ``max_failures`` failures in the last ``window_s`` seconds."""

    def __init__(self, max_failures: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.clock = clock
        self._fails: OrderedDict[str, deque[float]] = OrderedDict()
        self._logged: dict[str, float] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._fails.get(key)
        if q is None:
            return deque()
        while q and q[0] <= now - self.window_s:
            q.popleft()
        return q

    def check(self, *keys: str) -> None:
        """Raise :class:`Limited` when any of ``keys`` is locked out."""
        if self.max_failures <= 0:
            return
        now = self.clock()
        with self._lock:
            for key in keys:
                q = self._recent(key, now)
                if len(q) >= self.max_failures:
                    if now - self._logged.get(key, -math.inf) >= self.window_s:
                        self._logged[key] = now
                        log.warning("authentication throttled for %s: %d failed attempts in %g s",
                                    key, len(q), self.window_s)
                    raise Limited(f"too many failed authentications; retry in {self.window_s:g} s",
                                  q[0] + self.window_s - now)

    def failed(self, *keys: str) -> None:
        """Count one failed authentication for each of ``keys`` (logged once a window past the limit)."""
        now = self.clock()
        with self._lock:
            for key in keys:
                q = self._recent(key, now)
                q.append(now)
                self._fails[key] = q
                self._fails.move_to_end(key)
                if len(q) >= self.max_failures > 0 and now - self._logged.get(key, -math.inf) >= self.window_s:
                    self._logged[key] = now
                    log.warning("repeated bad tokens from %s: %d failed attempts in %g s", key, len(q), self.window_s)
            while len(self._fails) > MAX_KEYS:
                self._fails.popitem(last=False)
