"""Run the simulator: in memory (:func:`simulate`), to files (:func:`write`), or streamed by chunk to
month-partitioned Parquet (:func:`stream`) for runs too large to hold.

Seeds: the catalogue, the shoppers and each chunk draw from their own ``SeedSequence([seed, part])``,
so a run is reproducible and ``stream`` with one chunk writes exactly what ``simulate`` returns.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from sizing.simulate.catalogue import Catalogue, build
from sizing.simulate.config import SimConfig, Simulated
from sizing.simulate.orders import Chunk, generate
from sizing.simulate.shoppers import Shoppers, build_shoppers

Format = Literal["csv", "parquet"]


def _rng(seed: int, *part: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, *part]))


def _population(config: SimConfig, ansur_dir: Path) -> tuple[Catalogue, Shoppers]:
    catalogue = build(
        config.items,
        config.brands,
        _rng(config.seed, 1),
        ansur_dir,
        female_share=config.female_share,
        mis_charted_share=config.mis_charted_share,
        chart_share=config.chart_share,
    )
    shoppers = build_shoppers(config.shoppers, _rng(config.seed, 2), ansur_dir, config.female_share)
    return catalogue, shoppers


def _chunks(config: SimConfig, chunk_orders: int) -> list[tuple[int, tuple[int, int]]]:
    """(lines, time window in epoch µs) per chunk: equal slices of the period, in time order."""
    n_chunks = max(1, math.ceil(config.n_orders / chunk_orders))
    start = pd.Timestamp(config.start).value // 1000
    span = config.days * 86_400_000_000
    edges = [start + span * k // n_chunks for k in range(n_chunks + 1)]
    sizes = [config.n_orders * (k + 1) // n_chunks - config.n_orders * k // n_chunks for k in range(n_chunks)]
    return [(sizes[k], (edges[k], edges[k + 1])) for k in range(n_chunks)]


def _chunk(
    config: SimConfig, catalogue: Catalogue, shoppers: Shoppers, k: int, n: int, window: tuple[int, int]
) -> Chunk:
    return generate(shoppers, catalogue, config, n, window, f"sim-{k:05d}-", _rng(config.seed, 3, k))


def _sold(catalogue: Catalogue, chunk: Chunk) -> np.ndarray:
    """Which items the chunk sold (a hash lookup: ``np.isin`` on strings is quadratic)."""
    return np.asarray(pd.Index(catalogue.item_id).isin(chunk.transactions["item_id"].unique()))


def simulate(config: SimConfig, *, ansur_dir: Path) -> Simulated:
    """The whole simulated shop in memory (one chunk)."""
    catalogue, shoppers = _population(config, Path(ansur_dir))
    ((n, window),) = _chunks(config, config.n_orders)
    chunk = _chunk(config, catalogue, shoppers, 0, n, window)
    return Simulated(
        transactions=chunk.transactions,
        size_charts=catalogue.size_charts_frame(_sold(catalogue, chunk)),
        truth=chunk.truth,
        items=catalogue.items_frame(),
        returns=chunk.returns,
        reviews=chunk.reviews,
    )


def _tables(sim: Simulated) -> dict[str, pd.DataFrame]:
    return {
        "orders": sim.transactions,
        "returns": sim.returns,
        "reviews": sim.reviews,
        "size_charts": sim.size_charts,
        "truth": sim.truth,
        "items": sim.items,
    }


def write(sim: Simulated, out: Path, fmt: Format) -> list[Path]:
    """One file per table (orders, returns, reviews, size_charts, truth, items) in ``out``.

    ``orders`` carries its outcomes too, so it serves alone as a canonical file with outcomes; the
    returns and reviews files give the same outcomes the way a shop's systems export them.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, frame in _tables(sim).items():
        path = out / f"{name}.{fmt}"
        if fmt == "csv":
            frame.to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%S")
        elif fmt == "parquet":
            frame.to_parquet(path, index=False)
        else:
            raise ValueError(f"format {fmt!r} is not csv or parquet")
        paths.append(path)
    return paths


def stream(
    config: SimConfig,
    out: Path,
    *,
    ansur_dir: Path,
    chunk_orders: int = 500_000,
    on_chunk: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """Write the shop chunk by chunk to Hive-partitioned Parquet: ``<table>/month=YYYY-MM/part-NNNNN.parquet``
    for orders, returns, reviews and truth, plus ``items.parquet`` and (last) ``size_charts.parquet``.

    Only one chunk is held at a time. ``on_chunk(lines_done, lines_total)`` reports progress.
    """
    if chunk_orders < 1:
        raise ValueError(f"chunk_orders is {chunk_orders}; must be at least 1")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    catalogue, shoppers = _population(config, Path(ansur_dir))
    paths = [out / "items.parquet"]
    catalogue.items_frame().to_parquet(paths[0], index=False)
    sold = np.zeros(len(catalogue.item_id), dtype=bool)
    done = 0
    for k, (n, window) in enumerate(_chunks(config, chunk_orders)):
        chunk = _chunk(config, catalogue, shoppers, k, n, window)
        sold |= _sold(catalogue, chunk)
        months = {
            "orders": chunk.transactions["ordered_at"],
            "returns": chunk.returns["returned_at"],
            "reviews": chunk.reviews["reviewed_at"],
            "truth": chunk.transactions["ordered_at"],
        }
        frames = {"orders": chunk.transactions, "returns": chunk.returns, "reviews": chunk.reviews,
                  "truth": chunk.truth}  # fmt: skip
        for name, frame in frames.items():
            month = months[name].dt.strftime("%Y-%m").to_numpy()
            for value in np.unique(month):
                folder = out / name / f"month={value}"
                folder.mkdir(parents=True, exist_ok=True)
                path = folder / f"part-{k:05d}.parquet"
                frame[month == value].to_parquet(path, index=False)
                paths.append(path)
        done += n
        if on_chunk is not None:
            on_chunk(done, config.n_orders)
    paths.append(out / "size_charts.parquet")
    catalogue.size_charts_frame(sold).to_parquet(paths[-1], index=False)
    return paths
