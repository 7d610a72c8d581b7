"""Prometheus metrics (``GET /metrics``, admin key): requests and latency per route and status, the
size model in use, avatar creation stage times and photo refusals by code.

With several workers (``fitroom serve --workers N``) each process writes its samples under
``PROMETHEUS_MULTIPROC_DIR`` (set by ``fitroom serve``) and ``/metrics`` adds them up.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.registry import REGISTRY

REQUESTS = Counter("fitroom_http_requests_total", "HTTP requests.", ["method", "route", "status"])
LATENCY = Histogram(
    "fitroom_http_request_duration_seconds",
    "HTTP request latency.",
    ["method", "route", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
MODEL = Gauge(
    "fitroom_size_model_info",
    "The size model this process serves (1 = in use).",
    ["version"],
    multiprocess_mode="liveall",
)
AVATAR_STAGE = Histogram(
    "fitroom_avatar_stage_seconds",
    "Avatar creation time per stage.",
    ["stage"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 60),
)
PHOTO_REFUSALS = Counter("fitroom_photo_refusals_total", "Face photos refused, by code.", ["code"])
CONTENT_TYPE = CONTENT_TYPE_LATEST


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route, str(status)).observe(seconds)


def model_in_use(version: str, previous: str | None) -> None:
    if previous is not None and previous != version:
        MODEL.remove(previous)
    MODEL.labels(version).set(1)


def avatar_stages(timings: Mapping[str, float]) -> None:
    """``{"fit_s": 1.2, ...}`` as returned in an avatar creation summary."""
    for name, seconds in timings.items():
        AVATAR_STAGE.labels(name.removesuffix("_s")).observe(seconds)


def photo_refused(code: str) -> None:
    PHOTO_REFUSALS.labels(code).inc()


def exposition() -> bytes:
    """The text format, summed over worker processes when running multi-process."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)
