"""Local vs Dask training at growing size: wall time, peak memory per process, macro AUC, rec_top1.

``python -m bench.dask_train --rows 1000000 3000000 10000000 [--workers 2 | --scheduler tcp://H:P]``

Each size is simulated once into month-partitioned Parquet (``var/bench/sim-<rows>``, the layout of
``fitroom sizing simulate``). A hashed 10 % of order ids is held out. Each (size, engine) runs in its own
child process, and a sampler records the peak resident memory of every process of its tree (the client,
and for Dask the scheduler's nanny and workers): a run that dies of memory is reported as such. Both
engines are scored by the same code on the same held-out lines: macro AUC on all of them, ``rec_top1``
(against the simulator's truth) on a fixed 20,000-line sample. Writes ``bench/results/dask_train.json``
and the log-log plot ``docs/img/dask_train_cost.png``; prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import psutil

ROOT = Path(__file__).resolve().parents[1]
RESULTS: Final = ROOT / "bench" / "results" / "dask_train.json"
PLOT: Final = ROOT / "docs" / "img" / "dask_train_cost.png"
HOLD_OUT: Final = 0.1
REC_SAMPLE: Final = 20_000
SAMPLE_EVERY_S: Final = 0.5


def _data(rows: int, seed: int) -> Path:
    from sizing.simulate import SimConfig, stream

    out = ROOT / "var" / "bench" / f"sim-{rows}"
    if not (out / "size_charts.parquet").is_file():
        stream(SimConfig(n_orders=rows, seed=seed), out, ansur_dir=ROOT / "data" / "ansur2")
    return out


def _held_out(part: pd.DataFrame) -> np.ndarray:
    from sizing.distributed.features import hash_unit

    return hash_unit(part["order_id"], 0, 9) < HOLD_OUT


def _split(frame: Any, test: bool) -> Any:
    return frame.map_partitions(lambda p: p[_held_out(p) == test], meta=frame._meta)


def _score(model: Any, data: Path, test: pd.DataFrame, train_sample: pd.DataFrame) -> dict[str, float]:
    from sizing.evaluate import metrics
    from sizing.rec_metrics import offered_sizes, recommendation_metrics

    out = metrics(test["fit"].to_numpy(dtype=object), model.predict_proba(test))
    sample = test.sample(n=min(REC_SAMPLE, len(test)), random_state=0)
    charts = pd.read_parquet(data / "size_charts.parquet")
    items = pd.read_parquet(data / "items.parquet")
    truth = pd.read_parquet(data / "truth", filters=[("order_id", "in", list(sample["order_id"]))])
    rec = recommendation_metrics(model, train_sample, sample, offered_sizes(sample, charts, items), truth)
    return {"macro_auc": out["macro_auc"], "rec_top1": round(float(rec["rec_top1"]), 4)}


def run_one(engine: str, data: Path, workers: int, scheduler: str | None) -> dict[str, Any]:
    """Train one engine on the non-held-out lines of ``data`` and score it (child process)."""
    from sizing.distributed.parquet import read_labelled
    from sizing.model import SizeFitModel

    frame = read_labelled(data)
    test = _split(frame, True).compute(scheduler="synchronous").reset_index(drop=True)
    started = time.perf_counter()
    if engine == "local":
        train = _split(frame, False).compute(scheduler="synchronous").reset_index(drop=True)
        model = SizeFitModel.fit(train, train["fit"], params={"random_state": 0})
        sample = train.sample(n=min(200_000, len(train)), random_state=0)
        del train
    else:
        from sizing.distributed.cluster import dask_client
        from sizing.distributed.fit import fit_dask

        with dask_client(scheduler, local_workers=workers) as client:
            train = _split(frame, False)
            model = fit_dask(client, train, params={"random_state": 0})
            sample = train.partitions[:4].compute()
    seconds = time.perf_counter() - started
    return {"train_seconds": round(seconds, 1), "n_test": len(test), **_score(model, data, test, sample)}


def _measure(argv: list[str]) -> dict[str, Any]:
    """Run a child, sampling the peak RSS of each process in its tree."""
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    root = psutil.Process(child.pid)
    peaks: dict[int, float] = {}
    total = 0.0
    while child.poll() is None:
        try:
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        now = 0.0
        for p in procs:
            try:
                rss = p.memory_info().rss / 2**30
            except psutil.NoSuchProcess:
                continue
            peaks[p.pid] = max(peaks.get(p.pid, 0.0), rss)
            now += rss
        total = max(total, now)
        time.sleep(SAMPLE_EVERY_S)
    out, _ = child.communicate()
    lines = [line for line in out.splitlines() if line.startswith("{")]
    result: dict[str, Any] = json.loads(lines[-1]) if child.returncode == 0 and lines else {}
    result |= {
        "exit_code": child.returncode,
        "out_of_memory": child.returncode in (-9, 137) or "MemoryError" in out,
        "peak_gb_per_process": sorted((round(v, 2) for v in peaks.values()), reverse=True),
        "peak_gb_total": round(total, 2),
    }
    return result


def _plot(runs: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for engine, marker in (("local", "o"), ("dask", "s")):
        done = [r for r in runs if r["engine"] == engine and r.get("train_seconds")]
        if not done:
            continue
        rows = [r["rows"] for r in done]
        axes[0].loglog(rows, [r["train_seconds"] for r in done], marker=marker, label=engine)
        axes[1].loglog(rows, [r["peak_gb_total"] for r in done], marker=marker, label=engine)
    axes[0].set(xlabel="order lines", ylabel="training wall time (s)")
    axes[1].set(xlabel="order lines", ylabel="peak memory, all processes (GB)")
    for ax in axes:
        ax.legend()
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 3_000_000, 10_000_000])
    parser.add_argument("--engines", nargs="+", default=["local", "dask"], choices=["local", "dask"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scheduler", default=None, help="a running Dask scheduler, tcp://HOST:PORT")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.one:
        print(json.dumps(run_one(args.one, args.data, args.workers, args.scheduler)))  # noqa: T201
        return
    runs = []
    for rows in args.rows:
        data = _data(rows, args.seed)
        for engine in args.engines:
            argv = [sys.executable, "-m", "bench.dask_train", "--one", engine, "--data", str(data)]
            argv += ["--workers", str(args.workers)] + (
                ["--scheduler", args.scheduler] if args.scheduler else []
            )
            runs.append({"rows": rows, "engine": engine, **_measure(argv)})
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            RESULTS.write_text(json.dumps(runs, indent=2) + "\n")
    _plot(runs, PLOT)
    print(json.dumps(runs))  # noqa: T201 (a bench script's output)


if __name__ == "__main__":
    main()
