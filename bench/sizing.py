"""Size-fit benchmark (a script, not a timed test): ``fitroom bench sizing`` or ``python -m bench.sizing``.

Measures, on this machine:
- the training wall time of the serving model on all RentTheRunway data;
- in-process single-recommendation latency (every offered size scored, explanation included), p50/p99;
- over-HTTP recommendation latency at a fixed concurrency against a real uvicorn on 127.0.0.1, p50/p99;
- batch mismatch-check throughput in order lines per second, in process and over HTTP.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
from rich.console import Console
from rich.progress import track
from rich.table import Table

from api.model_store import size_model_dir
from api.settings import Settings, get_settings
from sizing import recommend as rec
from sizing.datasets import load_rtr
from sizing.train import DEFAULT_NAME, load, train

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent


def _pct(samples: list[float]) -> dict[str, float]:
    ms = np.asarray(samples) * 1000.0
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
    }


def _cases(frame: pd.DataFrame, n: int, seed: int) -> list[tuple[rec.Shopper, rec.Item, str]]:
    """``n`` real (shopper, item, ordered size) triples; offered sizes are the sizes the item sold in."""
    sizes = frame.drop_duplicates(["item_id", "size"]).groupby("item_id")[["size", "size_num"]]
    offered = {item: list(zip(g["size"], g["size_num"], strict=True)) for item, g in sizes}
    picked = frame.sample(n=n, random_state=seed)
    out = []
    for row in picked.itertuples(index=False):
        body = {k: getattr(row, k) for k in rec.BODY_FIELDS}
        body = {
            k: (None if v is None or (isinstance(v, float) and np.isnan(v)) else v) for k, v in body.items()
        }
        item = rec.Item(row.item_id, row.category, None, offered[row.item_id])
        out.append((rec.Shopper(row.shopper_id, body), item, str(row.size)))
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _http(
    settings: Settings,
    models_dir: Path,
    cases: list[Any],
    concurrency: int,
    console: Console,
) -> dict[str, Any]:
    """Start uvicorn on 127.0.0.1, replay the cases at ``concurrency``, then stop the server we started."""
    from api.commands.sizing_import import ensure_rtr_in_database

    ensure_rtr_in_database(settings)  # the service looks shoppers and items up in its database
    port = _free_port()
    env = {
        **os.environ,
        "FITROOM_MODELS_DIR": str(models_dir),
        "FITROOM_DATABASE_URL": settings.sqlalchemy_url,
    }
    cmd = [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen([*cmd, "--log-level", "warning"], env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("uvicorn did not become healthy within 120 s")
            time.sleep(0.3)
        bodies = [{"item_id": i.item_id, "shopper_id": s.shopper_id} for s, i, _ in cases]
        with httpx.Client(base_url=base, timeout=30) as client:
            for body in bodies[:20]:  # warm-up: model load, connection pool
                client.post("/v1/sizes/recommend", json=body).raise_for_status()

        # one keep-alive connection per client thread, as a real caller keeps: building an httpx.Client
        # (TLS context included) per request costs the client several ms of the same 2 CPUs
        local = threading.local()
        clients: list[httpx.Client] = []

        def one(body: dict[str, Any]) -> float:
            client = getattr(local, "client", None)
            if client is None:
                client = local.client = httpx.Client(base_url=base, timeout=30)
                clients.append(client)
            started = time.perf_counter()
            client.post("/v1/sizes/recommend", json=body).raise_for_status()
            return time.perf_counter() - started

        started = time.perf_counter()
        try:
            with ThreadPoolExecutor(concurrency) as pool:
                latencies = list(
                    track(pool.map(one, bodies), total=len(bodies), description="HTTP", console=console)
                )
        finally:
            for client in clients:
                client.close()
        wall = time.perf_counter() - started
        lines = [{"item_id": i.item_id, "shopper_id": s.shopper_id, "size": z} for s, i, z in cases][:1000]
        with httpx.Client(base_url=base, timeout=120) as client:
            started = time.perf_counter()
            client.post("/v1/fit/check/batch", json={"lines": lines}).raise_for_status()
            batch_wall = time.perf_counter() - started
        return {
            "http_concurrency": concurrency,
            "http_requests": len(bodies),
            **{f"http_{k}": v for k, v in _pct(latencies).items()},
            "http_requests_per_s": round(len(bodies) / wall, 1),
            "http_batch_rows_per_s": round(len(lines) / batch_wall, 1),
        }
    finally:
        server.terminate()
        server.wait(timeout=30)


def run(
    settings: Settings,
    *,
    train_model: bool = True,
    requests: int = 400,
    concurrency: int = 4,
    batch_rows: int = 5000,
    seed: int = 0,
    console: Console | None = None,
) -> dict[str, Any]:
    """Run every measurement and return the figures (seconds, milliseconds, rows per second).

    The 1-minute load average before and after is part of the result: on a shared machine the
    latencies mean little without it.
    """
    console = console or Console(stderr=True)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one log line per request would skew the timing
    frame = load_rtr(settings.data_dir)
    result: dict[str, Any] = {
        "rows": len(frame),
        "cpus": os.cpu_count(),
        "load_1m_before": round(os.getloadavg()[0], 2),
    }
    with tempfile.TemporaryDirectory(prefix="fitroom-bench-") as tmp:
        if train_model:
            console.print("training on all RentTheRunway data …")
            started = time.perf_counter()
            trained = train(frame, Path(tmp) / DEFAULT_NAME, dataset="rtr")
            result["train_seconds"] = round(time.perf_counter() - started, 1)
            model, models_dir = trained.model, Path(tmp)
        else:
            model, _ = load(size_model_dir(settings))
            models_dir = settings.models_dir
        cases = _cases(frame, requests, seed)
        for shopper, item, _ in cases[:20]:
            rec.recommend(model, shopper, item)
        single = []
        for shopper, item, _ in track(cases, description="in-process", console=console):
            started = time.perf_counter()
            rec.recommend(model, shopper, item)
            single.append(time.perf_counter() - started)
        result.update({f"inproc_{k}": v for k, v in _pct(single).items()})
        lines = _cases(frame, batch_rows, seed + 1)
        started = time.perf_counter()
        rec.check_many(model, lines)
        result["batch_rows"] = batch_rows
        result["batch_rows_per_s"] = round(batch_rows / (time.perf_counter() - started), 1)
        result.update(_http(settings, models_dir, cases, concurrency, console))
    result["load_1m_after"] = round(os.getloadavg()[0], 2)
    return result


def report(result: dict[str, Any], console: Console) -> None:
    table = Table(title="fitroom bench sizing")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in result.items():
        table.add_row(key, str(value))
    console.print(table)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    out = run(get_settings())
    report(out, Console(stderr=True))
    sys.stdout.write(json.dumps(out) + "\n")
