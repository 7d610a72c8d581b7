"""A Dask client for training: a remote scheduler by address, or a local cluster of worker processes.

A scheduler that cannot be reached fails within ``timeout`` seconds with an error naming the address,
never a hang.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from distributed import Client, LocalCluster

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S: Final = 10.0


@contextmanager
def dask_client(
    scheduler: str | None = None, *, local_workers: int = 2, timeout: float = CONNECT_TIMEOUT_S
) -> Iterator[Client]:
    """Connect to ``scheduler`` (``tcp://HOST:PORT``) or start ``local_workers`` single-thread processes."""
    if scheduler is not None:
        if not scheduler.startswith(("tcp://", "tls://", "ws://", "wss://")):
            raise ValueError(f"--scheduler must look like tcp://HOST:PORT, got {scheduler!r}")
        try:
            client = Client(scheduler, timeout=timeout)
        except (OSError, TimeoutError) as exc:
            raise ConnectionError(
                f"cannot reach the Dask scheduler at {scheduler} within {timeout:g} s: {exc}"
            ) from exc
        with client:
            log.info("connected to %s (%d workers)", scheduler, len(client.scheduler_info()["workers"]))
            yield client
        return
    if local_workers < 1:
        raise ValueError(f"--local-workers must be at least 1, got {local_workers}")
    # one thread per process: LightGBM's own threads and the GIL-bound feature code then share cores fairly
    with (
        LocalCluster(
            n_workers=local_workers, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        log.info("local Dask cluster with %d worker processes", local_workers)
        yield client
