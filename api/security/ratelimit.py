"""Fixed-window request counters per key and route: in this process by default, in Redis (shared by
every worker and host) when ``FITROOM_REDIS_URL`` is set."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import defaultdict
from functools import lru_cache
from typing import Any, Protocol


class Limiter(Protocol):
    async def hit(self, bucket: str, limit: int, window_s: int) -> float | None:
        """Count one request; None when allowed, else the seconds until the window resets."""


class MemoryLimiter:
    """Counters in a dict; windows older than the current one are dropped as time moves on."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = defaultdict(int)
        self._lock = threading.Lock()
        self._window = -1

    async def hit(self, bucket: str, limit: int, window_s: int) -> float | None:
        now = time.time()
        index = int(now // window_s)
        with self._lock:
            if index != self._window:
                self._counts = defaultdict(int, {k: v for k, v in self._counts.items() if k[1] >= index})
                self._window = index
            self._counts[(bucket, index)] += 1
            over = self._counts[(bucket, index)] > limit
        return (index + 1) * window_s - now if over else None


class RedisLimiter:
    """INCR plus EXPIRE on one key per bucket and window, in one round trip. An asyncio client is
    bound to its event loop, so a new loop (a new test client) gets a new client."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._clients: dict[int, Any] = {}

    def _client(self) -> Any:
        import redis.asyncio as redis

        loop = id(asyncio.get_running_loop())
        if loop not in self._clients:
            self._clients = {loop: redis.from_url(self._url)}
        return self._clients[loop]

    async def hit(self, bucket: str, limit: int, window_s: int) -> float | None:
        now = time.time()
        index = int(now // window_s)
        key = f"fitroom:rl:{bucket}:{index}"
        async with self._client().pipeline(transaction=True) as pipe:
            count, _ = await pipe.incr(key).expire(key, window_s + 1).execute()
        return (index + 1) * window_s - now if int(count) > limit else None


@lru_cache(maxsize=4)
def limiter_for(redis_url: str | None) -> Limiter:
    """One limiter per process and backend."""
    return RedisLimiter(redis_url) if redis_url else MemoryLimiter()


def retry_after(seconds: float) -> int:
    return max(1, math.ceil(seconds))
