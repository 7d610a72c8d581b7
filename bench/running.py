"""Runs-small/large detection against the simulator's mis-charted items, on seeds it was not tuned on.

``python -m bench.running [--orders 200000] [--seeds 201 202 203] [--min-orders 50]``: for each seed,
simulate a shop to month-partitioned Parquet, run the DuckDB detector (FDR 5 %) and compare its flags
with the items whose true offset makes them run small or large, among items with at least
``--min-orders`` orders. Prints one JSON line: per seed and pooled, precision and recall.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import pandas as pd

from sizing import analytics_duckdb, running
from sizing.simulate.config import SimConfig
from sizing.simulate.run import stream

ROOT = Path(__file__).resolve().parents[1]


def score(folder: Path, min_orders: int) -> dict[str, int]:
    """Flagged, truly mis-charted and correctly flagged items (both directions) of one simulated shop."""
    items = pd.read_parquet(folder / "items.parquet").set_index("item_id")
    lines = analytics_duckdb.Lines.parquet(folder)
    found = analytics_duckdb.items_running(lines, min_orders=min_orders)
    eligible = analytics_duckdb.item_evidence(lines).query("orders >= @min_orders")["item_id"]
    offset = items.loc[eligible, "true_offset_steps"]
    truth: dict[running.Direction, set[str]] = {
        "small": set(offset.index[offset < 0]),
        "large": set(offset.index[offset > 0]),
    }
    return {
        "eligible": len(eligible),
        "mis_charted": sum(len(t) for t in truth.values()),
        "flagged": sum(len(found[d]) for d in truth),
        "correct": sum(len(truth[d] & set(found[d]["item_id"])) for d in truth),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[201, 202, 203])
    parser.add_argument("--min-orders", type=int, default=50)
    args = parser.parse_args()
    per_seed = {}
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as tmp:
            stream(SimConfig(n_orders=args.orders, seed=seed), Path(tmp), ansur_dir=ROOT / "data" / "ansur2")
            counts = score(Path(tmp), args.min_orders)
        per_seed[seed] = {**counts, "precision": round(counts["correct"] / max(counts["flagged"], 1), 3),
                          "recall": round(counts["correct"] / max(counts["mis_charted"], 1), 3)}  # fmt: skip
    pooled = {k: sum(s[k] for s in per_seed.values()) for k in ("flagged", "mis_charted", "correct")}
    result = {
        "orders": args.orders,
        "min_orders": args.min_orders,
        "seeds": per_seed,
        "precision": round(pooled["correct"] / max(pooled["flagged"], 1), 3),
        "recall": round(pooled["correct"] / max(pooled["mis_charted"], 1), 3),
        "worst_precision": min(s["precision"] for s in per_seed.values()),
        "worst_recall": min(s["recall"] for s in per_seed.values()),
    }
    print(json.dumps(result))  # noqa: T201 (a bench script's output)


if __name__ == "__main__":
    main()
