"""Time the shop simulator: ``python -m bench.simulate [--orders N] [--seed S] [--repeat R]``.

Prints one JSON line: order lines, best and median wall time of ``simulate`` (in memory, ANSUR II
loaded once before timing, as a long-running process would), and lines per second.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from sizing.simulate import SimConfig, simulate
from sizing.simulate.bodies import load_ansur

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--ansur-dir", type=Path, default=ROOT / "data" / "ansur2")
    args = parser.parse_args()
    load_ansur(args.ansur_dir)
    times = []
    for r in range(args.repeat):
        start = time.perf_counter()
        sim = simulate(SimConfig(n_orders=args.orders, seed=args.seed + r), ansur_dir=args.ansur_dir)
        times.append(time.perf_counter() - start)
        assert len(sim.transactions) == args.orders
    result = {
        "orders": args.orders,
        "best_s": round(min(times), 2),
        "median_s": round(statistics.median(times), 2),
        "lines_per_s": round(args.orders / min(times)),
    }
    print(json.dumps(result))  # noqa: T201 (a bench script's output)


if __name__ == "__main__":
    main()
