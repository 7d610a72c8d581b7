"""Open-loop load test of a running service on this machine: recommend, batch check, avatar creation
from measurements and from a photo, each at a fixed rate, for a bounded time and request count.

    python -m bench.load --url http://127.0.0.1:8000 --key-file var/keys/load.key --seconds 30

Loopback only (the URL must name 127.0.0.1, ::1 or localhost). The key must be allowed to recommend,
check and create avatars (a shopper key); start the server with rate limits above the rates asked
for (FITROOM_RATE_LIMIT_PER_MINUTE, FITROOM_AVATAR_CREATE_PER_MINUTE). Requests are sent on schedule
whether or not earlier ones answered (open loop), so a saturated server shows as latency and errors,
not as a slower client. Prints one JSON document: per kind sent, answered, errors, 5xx, throughput,
p50 and p99 latency.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import numpy as np

log = logging.getLogger(__name__)
LOOPBACK = {"127.0.0.1", "::1", "localhost"}
MAX_SECONDS = 300
MAX_REQUESTS = 100_000
PHOTO = Path(__file__).resolve().parents[1] / "data" / "faces" / "frontal_female_astronaut_collins.png"


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    sent: int = 0

    def add(self, status: str, seconds: float) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if status.isdigit():
            self.latencies.append(seconds)

    def summary(self, wall_s: float) -> dict[str, Any]:
        ok = sum(n for s, n in self.statuses.items() if s.startswith("2"))
        lat = np.array(self.latencies) * 1000 if self.latencies else np.zeros(1)
        return {
            "sent": self.sent,
            "ok": ok,
            "errors": self.sent - ok,
            "5xx": sum(n for s, n in self.statuses.items() if s.startswith("5")),
            "statuses": dict(sorted(self.statuses.items())),
            "throughput_rps": round(ok / wall_s, 2),
            "p50_ms": round(float(np.percentile(lat, 50)), 1),
            "p99_ms": round(float(np.percentile(lat, 99)), 1),
        }


PATHS = {"recommend": "/v1/sizes/recommend", "batch": "/v1/fit/check/batch", "avatar": "/v1/avatars"}


def _bodies(items: dict[str, list[str]], rng: random.Random) -> dict[str, Any]:
    """Request body makers: random shoppers (height, weight) on the service's own items and sizes."""
    ids = sorted(items)

    def shopper() -> dict[str, float]:
        return {"stature_cm": round(rng.uniform(150, 190), 1), "body_mass_kg": round(rng.uniform(48, 95), 1)}

    def recommend() -> dict[str, Any]:
        return {"item_id": rng.choice(ids), "measurements": shopper()}

    def line() -> dict[str, Any]:
        body = recommend()
        return {**body, "size": rng.choice(items[body["item_id"]])}

    def avatar() -> dict[str, Any]:
        return {**shopper(), "sex": rng.choice(["female", "male"])}

    return {"recommend": recommend, "batch": lambda: {"lines": [line() for _ in range(20)]}, "avatar": avatar}


async def _one(client: httpx.AsyncClient, kind: str, make: Any, tally: Tally) -> None:
    start = time.perf_counter()
    try:
        if kind == "photo":
            files = {"photo": ("me.png", PHOTO.read_bytes(), "image/png")}
            r = await client.post("/v1/avatars", files=files, data={"body": json.dumps(make["avatar"]())})
        else:
            r = await client.post(PATHS[kind], json=make[kind]())
        status = str(r.status_code)
    except httpx.HTTPError as exc:
        status = type(exc).__name__
    tally.add(status, time.perf_counter() - start)


async def run(url: str, key: str, rates: dict[str, float], seconds: float, seed: int) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120, limits=limits) as client:
        listed = await client.get("/v1/items", params={"limit": 40})
        listed.raise_for_status()
        items = {i["item_id"]: i["sizes"] for i in listed.json()["data"] if i["sizes"]}
        make = _bodies(items, random.Random(seed))
        tallies = {k: Tally() for k, r in rates.items() if r > 0}
        schedule = sorted(
            (i / rate, kind) for kind, rate in rates.items() if rate > 0 for i in range(int(rate * seconds))
        )[:MAX_REQUESTS]
        start = time.perf_counter()
        tasks = []
        for at, kind in schedule:
            delay = start + at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tallies[kind].sent += 1
            tasks.append(asyncio.create_task(_one(client, kind, make, tallies[kind])))
        await asyncio.gather(*tasks)
        wall = time.perf_counter() - start
    return {
        "url": url,
        "seconds": seconds,
        "rates_rps": rates,
        "wall_s": round(wall, 1),
        **{k: t.summary(wall) for k, t in tallies.items()},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://127.0.0.1:8000")
    ap.add_argument("--key-file", type=Path, required=True, help="File holding a shopper key.")
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--recommend-rps", type=float, default=200)
    ap.add_argument("--batch-rps", type=float, default=2, help="Batch checks of 20 lines per second.")
    ap.add_argument("--avatar-rps", type=float, default=2, help="Avatars from measurements per second.")
    ap.add_argument("--photo-rps", type=float, default=0.5, help="Avatars from a face photo per second.")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    host = urlparse(args.url).hostname
    if host not in LOOPBACK:
        ap.error(f"--url must be loopback ({', '.join(sorted(LOOPBACK))}), got {host}")
    if not 0 < args.seconds <= MAX_SECONDS:
        ap.error(f"--seconds must be in (0, {MAX_SECONDS}]")
    rates = {
        "recommend": args.recommend_rps, "batch": args.batch_rps,
        "avatar": args.avatar_rps, "photo": args.photo_rps,
    }
    result = asyncio.run(run(args.url, args.key_file.read_text().strip(), rates, args.seconds, args.seed))
    print(json.dumps(result, indent=2))  # noqa: T201 - a bench script's report


if __name__ == "__main__":
    main()
